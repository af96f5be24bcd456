// PianoRoll: the heard and generated notes on a canvas, scrolling with the playhead (the line at
// three quarters of the width): the past to its left, notes the band has generated but not yet
// played to its right. The playhead follows the audio being heard; without audio it runs on the
// wall clock from the notes' own frames.
import { jam } from 'jamd-gen/jam_pb.js';

const WINDOW_S = 8;
const PLAYHEAD_AT = 0.75;
const LOW_PITCH = 21; // A0
const HIGH_PITCH = 108; // C8
const MAX_NOTES = 4000;
const PART_COLORS = {
  human: '#f4f4f4', drums: '#e0a030', bass: '#4fa3e0', keys: '#6fcf73', pad: '#a783e0', lead: '#ef6f6f',
};

export class PianoRoll {
  constructor(canvas, audio) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d');
    this.audio = audio;
    this.notes = [];
    this.sampleRateHz = 48000;
    this.clock = null; // { frame, atMs } when no audio plays
    this.nNotes = 0;
    const draw = () => { this.draw(); requestAnimationFrame(draw); };
    requestAnimationFrame(draw);
  }

  add(note) {
    this.nNotes++;
    this.sampleRateHz = note.sampleRateHz || 48000;
    const n = {
      onset: Number(note.onsetFrames), duration: Number(note.durationFrames), pitch: note.pitch,
      velocity: note.velocity, part: note.part, heard: note.source === jam.v1.NoteSource.NOTE_SOURCE_HEARD,
    };
    this.notes.push(n);
    if (this.notes.length > MAX_NOTES) this.notes.splice(0, this.notes.length - MAX_NOTES);
    // Heard notes arrive after they sounded, so they anchor the clock; generated ones arrive
    // ahead of time and only start it.
    const now = performance.now();
    if (!this.clock || (n.heard && n.onset > this.playheadFrame(now))) this.clock = { frame: n.onset, atMs: now };
  }

  playheadFrame(nowMs) {
    const anchor = this.audio.playhead ?? this.clock;
    if (!anchor) return 0;
    return anchor.frame + ((nowMs - anchor.atMs) / 1000) * this.sampleRateHz;
  }

  draw() {
    const { canvas, ctx } = this;
    const w = canvas.width;
    const h = canvas.height;
    ctx.fillStyle = '#16181d';
    ctx.fillRect(0, 0, w, h);
    const sr = this.sampleRateHz;
    const playhead = this.playheadFrame(performance.now());
    const start = playhead - WINDOW_S * PLAYHEAD_AT * sr;
    const xOf = (frame) => ((frame - start) / (WINDOW_S * sr)) * w;
    const rowH = h / (HIGH_PITCH - LOW_PITCH + 1);
    ctx.fillStyle = '#1f232b';
    for (let p = LOW_PITCH; p <= HIGH_PITCH; p++) {
      if ([1, 3, 6, 8, 10].includes(p % 12)) ctx.fillRect(0, (HIGH_PITCH - p) * rowH, w, rowH);
    }
    for (const n of this.notes) {
      const x0 = xOf(n.onset);
      const x1 = xOf(n.onset + Math.max(n.duration, sr / 50));
      if (x1 < 0 || x0 > w) continue;
      const y = (HIGH_PITCH - Math.min(HIGH_PITCH, Math.max(LOW_PITCH, n.pitch))) * rowH;
      ctx.globalAlpha = 0.35 + (0.65 * n.velocity) / 127;
      ctx.fillStyle = PART_COLORS[n.part] ?? '#ccc';
      ctx.fillRect(x0, y, Math.max(2, x1 - x0), Math.max(2, rowH));
      if (n.heard) {
        ctx.strokeStyle = '#fff';
        ctx.strokeRect(x0, y, Math.max(2, x1 - x0), Math.max(2, rowH));
      }
    }
    ctx.globalAlpha = 1;
    ctx.fillStyle = '#fff';
    ctx.fillRect(w * PLAYHEAD_AT, 0, 2, h);
    let x = 8;
    ctx.font = '12px sans-serif';
    for (const [part, color] of Object.entries(PART_COLORS)) {
      ctx.fillStyle = color;
      ctx.fillText(part, x, 14);
      x += ctx.measureText(part).width + 12;
    }
  }
}
