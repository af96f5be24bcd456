#!/usr/bin/env python3
"""Writes daemon/data/demo.mid, the bundled song that `jamd play` renders by default, and
daemon/data/demo_musician.mid, the bundled musician's take that `scripts/jam.sh` jams with.

An 8-bar, 100 BPM, 4/4 band arrangement in C major over I-vi-IV-V (twice): drums (channel 10),
bass, keys, pad and lead, each on its own track and channel with a General MIDI program change.
Pure Python (standard library only) so it runs on a bare machine:

    python3 scripts/make_demo_midi.py [output_path [musician_output_path]]

The musician's take is the same song's keys and lead only, with bars 5 and 6 left silent: the
band should accompany the first four bars, keep going through the rest and follow again after.
"""

import os
import struct
import sys

TICKS_PER_QUARTER = 480
TEMPO_BPM = 100
BEATS_PER_BAR = 4
N_BARS = 8
BAR_TICKS = TICKS_PER_QUARTER * BEATS_PER_BAR

# I-vi-IV-V in C major, as (root MIDI note in the bass register, chord tones as MIDI notes).
PROGRESSION = [
    ("C", 36, [60, 64, 67]),
    ("Am", 45, [57, 60, 64]),
    ("F", 41, [57, 60, 65]),
    ("G", 43, [55, 59, 62]),
]

# General MIDI percussion keys (channel 10).
KICK, SNARE, CLOSED_HAT, OPEN_HAT, CRASH = 36, 38, 42, 46, 49

# (track name, zero-based MIDI channel, GM program or None for drums).
PARTS = {
    "drums": ("Drums", 9, None),
    "bass": ("Bass", 0, 33),   # Electric Bass (finger)
    "keys": ("Keys", 1, 0),    # Acoustic Grand Piano
    "pad": ("Pad", 2, 89),     # Pad 2 (warm)
    "lead": ("Lead", 3, 81),   # Lead 2 (sawtooth)
}


def vlq(value):
    """Encodes a MIDI variable-length quantity (7 bits per byte, high bit = more follows)."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(out))


def meta(meta_type, payload):
    return bytes([0xFF, meta_type]) + vlq(len(payload)) + payload


def track_chunk(events):
    """events: list of (absolute tick, order, raw event bytes). Sorted, delta-encoded, EOT added."""
    events = sorted(events, key=lambda e: (e[0], e[1]))
    body = bytearray()
    last_tick = 0
    for tick, _, raw in events:
        body += vlq(tick - last_tick) + raw
        last_tick = tick
    end_tick = max(last_tick, N_BARS * BAR_TICKS)
    body += vlq(end_tick - last_tick) + meta(0x2F, b"")
    return b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


def note(events, channel, tick, length, pitch, velocity):
    # Note-offs sort before note-ons at the same tick (order 0 < 1) so repeated pitches retrigger.
    events.append((tick, 1, bytes([0x90 | channel, pitch, velocity])))
    events.append((tick + length, 0, bytes([0x80 | channel, pitch, 0])))


def part_header(part):
    name, channel, program = PARTS[part]
    events = [(0, -2, meta(0x03, name.encode("ascii")))]
    if program is not None:
        events.append((0, -1, bytes([0xC0 | channel, program])))
    return events, channel


def conductor_track():
    us_per_quarter = 60_000_000 // TEMPO_BPM
    events = [
        (0, 0, meta(0x03, b"jamd demo")),
        (0, 1, meta(0x58, bytes([4, 2, 24, 8]))),          # 4/4, 24 clocks per click
        (0, 2, meta(0x59, bytes([0, 0]))),                  # C major
        (0, 3, meta(0x51, struct.pack(">I", us_per_quarter)[1:])),
    ]
    return track_chunk(events)


def drums_track():
    events, ch = part_header("drums")
    eighth = TICKS_PER_QUARTER // 2
    for bar in range(N_BARS):
        start = bar * BAR_TICKS
        last_bar = bar == N_BARS - 1
        for step in range(8):
            t = start + step * eighth
            hat = OPEN_HAT if step == 7 and bar % 4 == 3 else CLOSED_HAT
            note(events, ch, t, eighth // 2, hat, 70 if step % 2 else 90)
        for beat in (0, 2):
            note(events, ch, start + beat * TICKS_PER_QUARTER, eighth, KICK, 110)
        note(events, ch, start + 2 * TICKS_PER_QUARTER + eighth, eighth, KICK, 85)
        for beat in (1, 3) if not last_bar else (1,):
            note(events, ch, start + beat * TICKS_PER_QUARTER, eighth, SNARE, 105)
        if bar % 4 == 0:
            note(events, ch, start, TICKS_PER_QUARTER, CRASH, 100)
        if last_bar:
            for i in range(4):  # a sixteenth-note snare fill into the loop point
                t = start + 3 * TICKS_PER_QUARTER + i * eighth // 2
                note(events, ch, t, eighth // 2, SNARE, 80 + 8 * i)
    return track_chunk(events)


def bass_track():
    events, ch = part_header("bass")
    for bar in range(N_BARS):
        _, root, _ = PROGRESSION[bar % 4]
        start = bar * BAR_TICKS
        pattern = [(0, root, 100), (2, root, 85), (3, root + 12, 80), (5, root + 7, 90),
                   (6, root, 85)]
        for eighth_index, pitch, vel in pattern:
            t = start + eighth_index * TICKS_PER_QUARTER // 2
            note(events, ch, t, TICKS_PER_QUARTER // 2 - 20, pitch, vel)
    return track_chunk(events)


# Bars (zero-based) the musician rests in their take.
MUSICIAN_REST_BARS = {4, 5}


def keys_track(rest_bars=frozenset()):
    events, ch = part_header("keys")
    for bar in range(N_BARS):
        if bar in rest_bars:
            continue
        _, _, chord = PROGRESSION[bar % 4]
        start = bar * BAR_TICKS
        for beat in range(BEATS_PER_BAR):  # quarter-note comping, accents on 1 and 3
            vel = 80 if beat % 2 == 0 else 64
            for pitch in chord:
                note(events, ch, start + beat * TICKS_PER_QUARTER, TICKS_PER_QUARTER - 60,
                     pitch, vel)
    return track_chunk(events)


def pad_track():
    events, ch = part_header("pad")
    for bar in range(N_BARS):
        _, root, chord = PROGRESSION[bar % 4]
        start = bar * BAR_TICKS
        for pitch in [root + 12] + [p + 12 for p in chord[1:]]:
            note(events, ch, start, BAR_TICKS - 10, pitch, 60)
    return track_chunk(events)


# Lead melody: per bar a list of (start in eighths, length in eighths, MIDI pitch), chord tones on
# strong beats, passing tones in C major between them; bars 5-8 vary bars 1-4 and end on C.
MELODY = [
    [(0, 2, 72), (2, 1, 74), (3, 1, 76), (4, 3, 79), (7, 1, 76)],
    [(0, 3, 76), (3, 1, 74), (4, 2, 72), (6, 2, 69)],
    [(0, 2, 69), (2, 2, 72), (4, 2, 77), (6, 1, 76), (7, 1, 74)],
    [(0, 4, 74), (4, 2, 71), (6, 2, 67)],
    [(0, 1, 72), (1, 1, 74), (2, 2, 76), (4, 2, 79), (6, 2, 84)],
    [(0, 2, 81), (2, 2, 79), (4, 2, 76), (6, 2, 72)],
    [(0, 2, 77), (2, 2, 76), (4, 2, 74), (6, 2, 72)],
    [(0, 2, 71), (2, 2, 74), (4, 4, 72)],
]


def lead_track(rest_bars=frozenset()):
    events, ch = part_header("lead")
    eighth = TICKS_PER_QUARTER // 2
    for bar, phrase in enumerate(MELODY):
        if bar in rest_bars:
            continue
        start = bar * BAR_TICKS
        for first, length, pitch in phrase:
            vel = 96 if first % 2 == 0 else 84
            note(events, ch, start + first * eighth, length * eighth - 30, pitch, vel)
    return track_chunk(events)


def midi_file_bytes(tracks):
    header = b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), TICKS_PER_QUARTER)
    return header + b"".join(tracks)


def demo_song_bytes():
    return midi_file_bytes([conductor_track(), drums_track(), bass_track(), keys_track(),
                            pad_track(), lead_track()])


def musician_take_bytes():
    return midi_file_bytes([conductor_track(), keys_track(MUSICIAN_REST_BARS),
                            lead_track(MUSICIAN_REST_BARS)])


def main():
    repo_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(repo_root, "daemon", "data",
                                                                  "demo.mid")
    musician_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        os.path.dirname(os.path.abspath(out_path)), "demo_musician.mid")
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "wb") as f:
        f.write(demo_song_bytes())
    with open(musician_path, "wb") as f:
        f.write(musician_take_bytes())
    print(f"wrote {out_path}: {N_BARS} bars at {TEMPO_BPM} BPM, {len(PARTS)} parts")
    print(f"wrote {musician_path}: keys and lead, resting in bars "
          f"{', '.join(str(b + 1) for b in sorted(MUSICIAN_REST_BARS))}")


if __name__ == "__main__":
    main()
