// The jamd web page: reads the join token from the link's #fragment (never sent to any server
// by the browser), joins over the WebSocket, and wires the state form, mood, people, piano roll
// and audio to the jam's streams. window.jamd exposes counters for the browser tests.
import './style.css';
import { JamConnection } from './connection.js';
import { StateForm } from './state_form.js';
import { MoodEditor } from './mood_editor.js';
import { People } from './people.js';
import { PianoRoll } from './piano_roll.js';
import { AudioPlayer } from './audio_player.js';
import { valueAt, KEY_NAMES, GLOBAL_FIELDS } from './state_fields.js';
import { jam } from 'jamd-gen/jam_pb.js';

const $ = (id) => document.getElementById(id);
const ROLE_NAMES = { 1: 'host', 2: 'player', 3: 'listener' };
const Kind = jam.v1.EventKind;

const audio = new AudioPlayer();
const roll = new PianoRoll($('piano-roll'), audio);
const people = new People({ list: $('people'), feed: $('feed') });
const page = { state: null, locked: [], me: null, events: 0, notes: 0 };
window.jamd = { page, audio: audio.stats, roll, appliedAtMs: null };

function showError(error) {
  $('error').hidden = !error;
  $('error').textContent = error ? `${error.message}` : '';
}

const connection = new JamConnection({
  onEvent: (e) => applyEvent(e),
  onAudio: (p) => audio.push(p),
  onNote: (n) => { page.notes++; roll.add(n); },
  onClose: () => setConnection('disconnected: reload to join again'),
});

async function steer(path, partial) {
  try {
    showError(null);
    await connection.request({ steer: { state: partial, updateMask: { paths: [path] } } });
  } catch (e) {
    showError(e);
    if (page.state) form.show(page.state, page.locked); // back to what the jam says
  }
}

async function lock(path, locked) {
  try {
    showError(null);
    await connection.request({ lock: { paths: { paths: [path] }, locked } });
  } catch (e) {
    showError(e);
  }
}

const form = new StateForm({ form: $('state-form'), partsTable: $('parts-table'), onSteer: steer, onLock: lock });
window.jamd.appliedAtMs = form.appliedAtMs;
const mood = new MoodEditor({ container: $('mood-editor'), merged: $('mood-merged'), onSteer: steer });

function describeValue(state, path) {
  const v = valueAt(state, path === 'mood' ? 'tempo_bpm' : path);
  if (path === 'mood') return state.mood.map((p) => p.text).join(', ') || 'none';
  if (path === 'key_tonic') return v < 0 ? 'auto' : KEY_NAMES[v];
  const options = GLOBAL_FIELDS.find((f) => f.path === path)?.options;
  if (options) return options.find(([value]) => value === v)?.[1] ?? String(v);
  if (typeof v === 'number' && v < 0 && /density|energy|brightness/.test(path)) return 'auto';
  if (typeof v === 'number' && !Number.isInteger(v)) return v.toFixed(2);
  return String(v);
}

function applyEvent(e) {
  page.events++;
  page.state = e.state;
  page.locked = e.lockedPaths;
  form.show(e.state, e.lockedPaths, e.kind === Kind.EVENT_KIND_SNAPSHOT ? [] : e.changedPaths);
  mood.showMerged(e.state.mood, e.lockedPaths.includes('mood'));
  if (e.participants.length) {
    people.showParticipants(e.participants, page.me?.participantId, page.me?.role === 1 ? removeParticipant : null);
  }
  people.addEvent(e, describeValue);
  if (e.kind === Kind.EVENT_KIND_JAM_ENDED) setConnection('the jam ended');
  if (e.kind === Kind.EVENT_KIND_REMOVED && e.subjectParticipantId === page.me?.participantId) {
    setConnection('the host removed you from the jam');
  }
}

async function removeParticipant(participantId) {
  try {
    showError(null);
    await connection.request({ remove: { participantId } });
  } catch (e) {
    showError(e);
  }
}

$('end-jam').addEventListener('click', async () => {
  if (!window.confirm('End the jam for everyone?')) return;
  try {
    await connection.request({ end: {} });
  } catch (e) {
    showError(e);
  }
});

function setConnection(text) {
  $('connection').textContent = text;
}

async function join(token, name) {
  setConnection('connecting…');
  await connection.open();
  const joined = await connection.request({ join: { joinToken: token, displayName: name } });
  page.me = joined;
  $('jam-id').textContent = `jam ${joined.jamId}`;
  $('me').textContent = `you: ${name || joined.participantId} (${ROLE_NAMES[joined.role]})`;
  form.setRole(joined.role);
  $('end-jam').hidden = joined.role !== 1;
  mood.setEnabled(joined.role !== 3);
  $('join-panel').hidden = true;
  $('jam').hidden = false;
  setConnection('joined');
  await connection.request({ watch: {} });
  try {
    await connection.request({ listenNotes: {} });
  } catch (e) {
    $('piano-roll').title = `no notes: ${e.message}`;
  }
}

$('listen-button').addEventListener('click', async () => {
  $('listen-button').disabled = true;
  try {
    await audio.start();
  } catch (e) {
    showError(new Error(`cannot play audio here (${e.message}); decoding still runs`));
  }
  try {
    await connection.request({ listenAudio: {} });
    $('listen-button').textContent = 'Listening';
  } catch (e) {
    showError(e);
    $('listen-button').disabled = false;
  }
});

function renderAudioStats() {
  const s = audio.stats;
  const rows = [
    ['latency', `${audio.latencyMs().toFixed(0)} ms (jamd → decoded ${s.daemonToDecodedMs.toFixed(0)} + buffer ${s.bufferMs.toFixed(0)} + output ${s.outputLatencyMs.toFixed(0)})`],
    ['buffer health', `${s.playing ? 'playing' : 'buffering'}, ${s.underruns} underruns, ${s.skippedMs.toFixed(0)} ms skipped`],
    ['packets', `${s.packets} received, ${s.lostPackets} lost, ${s.decoderOutputs} decoded, ${s.decodeErrors} errors`],
    ['arrival jitter', `${s.arrivalJitterMs.toFixed(1)} ms (p95)`],
    ['notes', `${page.notes}`],
  ];
  $('audio-stats').replaceChildren(...rows.flatMap(([k, v]) => {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    dd.setAttribute('data-testid', `stat-${k.replace(' ', '-')}`);
    return [dt, dd];
  }));
}
setInterval(renderAudioStats, 250);

// "#join=TOKEN&name=ana" (what `jamd serve --demo` prints; "token=" works too), or the bare
// token after "#".
function tokenFromFragment() {
  const fragment = location.hash.slice(1);
  if (!fragment) return null;
  const params = new URLSearchParams(fragment);
  const token = params.get('join') ?? params.get('token') ?? (fragment.includes('=') ? null : fragment);
  return { token, name: params.get('name') ?? '' };
}

const link = tokenFromFragment();
if (link?.token) {
  join(link.token, link.name).catch((e) => { showError(e); setConnection('not joined'); });
} else {
  $('join-panel').hidden = false;
}
$('join-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  join($('join-token').value.trim(), $('join-name').value.trim()).catch((e) => showError(e));
});
