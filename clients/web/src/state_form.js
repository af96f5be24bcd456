// StateForm: the shared state as inputs. Every edit steers exactly one leaf path; every event
// repaints from the jam's state, so all pages converge on what jamd says. Locked paths are
// shown locked: disabled for players, a lock toggle for the host.
import {
  GLOBAL_FIELDS, PART_FIELDS, PART_NAMES, GM_PROGRAMS, partialState, valueAt,
} from './state_fields.js';

export class StateForm {
  // onSteer(path, partialState) and onLock(path, locked) return promises.
  constructor({ form, partsTable, onSteer, onLock }) {
    this.inputs = new Map(); // leaf path -> { input, lock, auto, row }
    this.onSteer = onSteer;
    this.onLock = onLock;
    this.isHost = false;
    this.canSteer = false;
    this.appliedAtMs = {}; // leaf path -> Date.now() when an event last changed it here
    for (const f of GLOBAL_FIELDS) form.append(this.row(f.path, f.label, f));
    this.buildParts(partsTable);
  }

  setRole(role) {
    this.isHost = role === 'ROLE_HOST' || role === 1;
    this.canSteer = this.isHost || role === 'ROLE_PLAYER' || role === 2;
    for (const entry of this.inputs.values()) entry.lock.hidden = !this.isHost;
  }

  row(path, label, field) {
    const row = document.createElement('div');
    row.className = 'field';
    const name = document.createElement('label');
    name.textContent = label;
    row.append(name, this.control(path, field));
    return row;
  }

  buildParts(table) {
    const head = table.insertRow();
    for (const h of ['part', ...PART_FIELDS.map((f) => f.label)]) {
      const th = document.createElement('th');
      th.textContent = h;
      head.append(th);
    }
    for (const part of PART_NAMES) {
      const tr = table.insertRow();
      tr.insertCell().textContent = part;
      for (const f of PART_FIELDS) {
        if (part === 'drums' && f.field === 'gm_program') {
          tr.insertCell().textContent = 'GM drum kit';
          continue;
        }
        tr.insertCell().append(this.control(`parts.${part}.${f.field}`, f));
      }
    }
  }

  // One input for one leaf path, with its lock toggle and, for "-1: the model chooses"
  // fields, an "auto" box.
  control(path, field) {
    const wrap = document.createElement('span');
    wrap.className = 'control';
    wrap.dataset.path = path;
    const input = field.kind === 'select' || field.kind === 'program'
      ? document.createElement('select') : document.createElement('input');
    input.dataset.testid = `field-${path}`;
    input.setAttribute('data-testid', `field-${path}`);
    if (field.kind === 'bool') input.type = 'checkbox';
    if (field.kind === 'number') Object.assign(input, { type: 'number', min: field.min, max: field.max, step: field.step });
    if (field.kind === 'range' || field.kind === 'auto-range') Object.assign(input, { type: 'range', min: field.min, max: field.max, step: field.step });
    const options = field.kind === 'program' ? GM_PROGRAMS.map((n, i) => [i, `${i} ${n}`]) : field.options;
    for (const [value, text] of options ?? []) input.add(new Option(text, value));
    let auto = null;
    if (field.kind === 'auto-range') {
      auto = document.createElement('input');
      auto.type = 'checkbox';
      auto.title = 'the model chooses';
      auto.setAttribute('data-testid', `auto-${path}`);
      auto.addEventListener('change', () => this.steer(path, auto.checked ? -1 : Number(input.value)));
    }
    input.addEventListener('change', () => this.steer(path, this.read(input, field)));
    const lock = document.createElement('button');
    lock.type = 'button';
    lock.className = 'lock';
    lock.hidden = true;
    lock.setAttribute('data-testid', `lock-${path}`);
    lock.addEventListener('click', () => this.onLock(path, !lock.classList.contains('locked')));
    const badge = document.createElement('span');
    badge.className = 'locked-badge';
    badge.textContent = 'locked';
    badge.title = 'locked by the host';
    badge.hidden = true;
    wrap.append(input);
    if (auto) wrap.append(auto, document.createTextNode('auto'));
    wrap.append(lock, badge);
    this.inputs.set(path, { input, auto, lock, badge, field });
    return wrap;
  }

  read(input, field) {
    if (field.kind === 'bool') return input.checked;
    return Number(input.value);
  }

  steer(path, value) {
    this.onSteer(path, partialState(path, value));
  }

  // Repaints from a full state and the locked paths; `changed` are the paths an event named.
  show(state, lockedPaths, changed = []) {
    const now = Date.now();
    for (const path of changed) this.appliedAtMs[path] = now;
    const locked = new Set(lockedPaths);
    for (const [path, { input, auto, lock, badge, field }] of this.inputs) {
      const value = valueAt(state, path);
      const isLocked = locked.has(path);
      if (document.activeElement !== input || changed.includes(path)) {
        if (field.kind === 'bool') input.checked = Boolean(value);
        else if (field.kind === 'auto-range' && value < 0) input.value = (field.min + field.max) / 2;
        else input.value = String(value ?? 0);
      }
      if (auto) auto.checked = value < 0;
      input.disabled = !this.canSteer || (isLocked && !this.isHost) || (auto?.checked ?? false);
      if (auto) auto.disabled = !this.canSteer || (isLocked && !this.isHost);
      lock.classList.toggle('locked', isLocked);
      lock.textContent = isLocked ? 'unlock' : 'lock';
      badge.hidden = !isLocked;
      input.closest('.control').classList.toggle('is-locked', isLocked);
    }
  }
}
