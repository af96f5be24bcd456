// MoodEditor: this participant's own mood prompts (text and weight). Sending replaces all of
// one's prompts (jam.v1 Steer "mood"); the merged mood of everyone is shown beside it.
export class MoodEditor {
  constructor({ container, merged, onSteer }) {
    this.container = container;
    this.merged = merged;
    this.onSteer = onSteer;
    this.list = document.createElement('ul');
    this.list.className = 'mood-list';
    const add = document.createElement('button');
    add.type = 'button';
    add.textContent = 'add prompt';
    add.addEventListener('click', () => this.addRow('', 1));
    const send = document.createElement('button');
    send.type = 'button';
    send.textContent = 'send mood';
    send.setAttribute('data-testid', 'mood-send');
    send.addEventListener('click', () => this.send());
    container.append(this.list, add, send);
    this.controls = [add, send];
  }

  addRow(text, weight) {
    const li = document.createElement('li');
    const word = Object.assign(document.createElement('input'), { value: text, placeholder: 'e.g. dark, very calm', maxLength: 64 });
    word.setAttribute('data-testid', 'mood-text');
    const w = Object.assign(document.createElement('input'), { type: 'number', min: 0.1, max: 100, step: 0.1, value: weight });
    w.setAttribute('data-testid', 'mood-weight');
    const remove = Object.assign(document.createElement('button'), { type: 'button', textContent: '×', title: 'remove' });
    remove.addEventListener('click', () => li.remove());
    li.append(word, w, remove);
    this.list.append(li);
    return li;
  }

  send() {
    const mood = [...this.list.children].map((li) => {
      const [text, weight] = li.querySelectorAll('input');
      return { text: text.value.trim(), weight: Number(weight.value) };
    }).filter((p) => p.text);
    this.onSteer('mood', { mood });
  }

  setEnabled(enabled) {
    for (const c of this.controls) c.disabled = !enabled;
  }

  showMerged(mood, locked) {
    this.merged.textContent = mood.length
      ? mood.map((p) => `${p.text} ×${Number(p.weight).toFixed(1)}`).join(', ')
      : '(none)';
    if (locked) this.merged.textContent += ' (locked)';
  }
}
