// The steerable fields of jam.v1.JamState as the page shows them: the field-mask path (proto
// name), the protobuf.js property, and how to edit it. One table, so the form, the locks and
// the feed agree on names.
export const KEY_NAMES = ['C', 'C♯', 'D', 'E♭', 'E', 'F', 'F♯', 'G', 'A♭', 'A', 'B♭', 'B'];

export const GLOBAL_FIELDS = [
  { path: 'playing', key: 'playing', label: 'Playing', kind: 'bool' },
  { path: 'tempo_bpm', key: 'tempoBpm', label: 'Tempo (BPM)', kind: 'number', min: 30, max: 300, step: 1 },
  {
    path: 'key_tonic', key: 'keyTonic', label: 'Key', kind: 'select',
    options: [[-1, 'model chooses'], ...KEY_NAMES.map((n, i) => [i, n])],
  },
  { path: 'scale', key: 'scale', label: 'Scale', kind: 'select', options: [[1, 'major'], [2, 'minor']] },
  {
    path: 'mode', key: 'mode', label: 'Mode', kind: 'select',
    options: [[1, 'accompany'], [2, 'continue'], [3, 'call and response'], [4, 'auto']],
  },
  { path: 'density', key: 'density', label: 'Density', kind: 'auto-range', min: 0, max: 1, step: 0.05 },
  { path: 'energy', key: 'energy', label: 'Energy', kind: 'auto-range', min: 0, max: 1, step: 0.05 },
  { path: 'brightness', key: 'brightness', label: 'Brightness', kind: 'auto-range', min: 0, max: 1, step: 0.05 },
  { path: 'temperature', key: 'temperature', label: 'Temperature', kind: 'range', min: 0.1, max: 2, step: 0.05 },
  { path: 'master_volume', key: 'masterVolume', label: 'Volume', kind: 'range', min: 0, max: 1, step: 0.05 },
  {
    path: 'monitor_volume', key: 'monitorVolume', label: 'Monitor volume', kind: 'range',
    min: 0, max: 1, step: 0.05,
  },
];

export const PART_NAMES = ['drums', 'bass', 'keys', 'pad', 'lead'];

export const PART_FIELDS = [
  { field: 'enabled', key: 'enabled', label: 'on', kind: 'bool' },
  { field: 'muted', key: 'muted', label: 'mute', kind: 'bool' },
  { field: 'gm_program', key: 'gmProgram', label: 'GM program', kind: 'program' },
  { field: 'volume', key: 'volume', label: 'volume', kind: 'range', min: 0, max: 1, step: 0.05 },
];

// Builds the partial JamState for one leaf path and value, e.g. ("parts.bass.volume", 0.5).
export function partialState(path, value) {
  const parts = path.split('.');
  if (parts[0] !== 'parts') {
    const field = GLOBAL_FIELDS.find((f) => f.path === path);
    return { [field.key]: value };
  }
  const field = PART_FIELDS.find((f) => f.field === parts[2]);
  return { parts: { [parts[1]]: { [field.key]: value } } };
}

// Reads one leaf path's value out of a decoded JamState.
export function valueAt(state, path) {
  const parts = path.split('.');
  if (parts[0] !== 'parts') return state[GLOBAL_FIELDS.find((f) => f.path === path).key];
  const part = state.parts?.[parts[1]];
  return part?.[PART_FIELDS.find((f) => f.field === parts[2]).key];
}

// The 128 General MIDI program names, for the parts' sound pickers.
export const GM_PROGRAMS = [
  'Acoustic Grand Piano', 'Bright Acoustic Piano', 'Electric Grand Piano', 'Honky-tonk Piano',
  'Electric Piano 1', 'Electric Piano 2', 'Harpsichord', 'Clavinet', 'Celesta', 'Glockenspiel',
  'Music Box', 'Vibraphone', 'Marimba', 'Xylophone', 'Tubular Bells', 'Dulcimer', 'Drawbar Organ',
  'Percussive Organ', 'Rock Organ', 'Church Organ', 'Reed Organ', 'Accordion', 'Harmonica',
  'Tango Accordion', 'Acoustic Guitar (nylon)', 'Acoustic Guitar (steel)', 'Electric Guitar (jazz)',
  'Electric Guitar (clean)', 'Electric Guitar (muted)', 'Overdriven Guitar', 'Distortion Guitar',
  'Guitar Harmonics', 'Acoustic Bass', 'Electric Bass (finger)', 'Electric Bass (pick)',
  'Fretless Bass', 'Slap Bass 1', 'Slap Bass 2', 'Synth Bass 1', 'Synth Bass 2', 'Violin', 'Viola',
  'Cello', 'Contrabass', 'Tremolo Strings', 'Pizzicato Strings', 'Orchestral Harp', 'Timpani',
  'String Ensemble 1', 'String Ensemble 2', 'Synth Strings 1', 'Synth Strings 2', 'Choir Aahs',
  'Voice Oohs', 'Synth Voice', 'Orchestra Hit', 'Trumpet', 'Trombone', 'Tuba', 'Muted Trumpet',
  'French Horn', 'Brass Section', 'Synth Brass 1', 'Synth Brass 2', 'Soprano Sax', 'Alto Sax',
  'Tenor Sax', 'Baritone Sax', 'Oboe', 'English Horn', 'Bassoon', 'Clarinet', 'Piccolo', 'Flute',
  'Recorder', 'Pan Flute', 'Blown Bottle', 'Shakuhachi', 'Whistle', 'Ocarina', 'Lead 1 (square)',
  'Lead 2 (sawtooth)', 'Lead 3 (calliope)', 'Lead 4 (chiff)', 'Lead 5 (charang)', 'Lead 6 (voice)',
  'Lead 7 (fifths)', 'Lead 8 (bass + lead)', 'Pad 1 (new age)', 'Pad 2 (warm)', 'Pad 3 (polysynth)',
  'Pad 4 (choir)', 'Pad 5 (bowed)', 'Pad 6 (metallic)', 'Pad 7 (halo)', 'Pad 8 (sweep)',
  'FX 1 (rain)', 'FX 2 (soundtrack)', 'FX 3 (crystal)', 'FX 4 (atmosphere)', 'FX 5 (brightness)',
  'FX 6 (goblins)', 'FX 7 (echoes)', 'FX 8 (sci-fi)', 'Sitar', 'Banjo', 'Shamisen', 'Koto',
  'Kalimba', 'Bagpipe', 'Fiddle', 'Shanai', 'Tinkle Bell', 'Agogo', 'Steel Drums', 'Woodblock',
  'Taiko Drum', 'Melodic Tom', 'Synth Drum', 'Reverse Cymbal', 'Guitar Fret Noise', 'Breath Noise',
  'Seashore', 'Bird Tweet', 'Telephone Ring', 'Helicopter', 'Applause', 'Gunshot',
];
