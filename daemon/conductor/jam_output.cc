// What an offline jam leaves behind: the multi-track MIDI file and the per-bar JSON report
// (heard chords, the band's chords, tokens, generation time, reactions).
#include <algorithm>
#include <array>
#include <bit>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "daemon/conductor/offline_jam.h"
#include "models/tokenizer/harmony.h"
#include "realtime/midi/midi_file.h"

namespace jamd {
namespace {

void add_meta(realtime::MidiTrack& track, uint64_t tick, uint8_t type, std::vector<uint8_t> data) {
  track.events.push_back(realtime::MidiEvent{tick, 0xFF, type, std::move(data)});
}

std::vector<uint8_t> bytes_of(const std::string& text) {
  return std::vector<uint8_t>(text.begin(), text.end());
}

realtime::MidiTrack notes_track(const std::string& name, int channel, int program,
                                const std::vector<TimedNote>& notes, int part) {
  realtime::MidiTrack track;
  add_meta(track, 0, realtime::kMetaTrackName, bytes_of(name));
  if (program >= 0) {
    track.events.push_back(
        {0, static_cast<uint8_t>(0xC0 | channel), 0, {static_cast<uint8_t>(program)}});
  }
  // (tick, 0 = off before 1 = on, pitch, velocity)
  std::vector<std::array<int64_t, 4>> edges;
  for (const TimedNote& n : notes) {
    if (n.part != part) continue;
    edges.push_back({n.tick, 1, n.pitch, n.velocity});
    edges.push_back({n.tick + std::max<int64_t>(1, n.duration_ticks), 0, n.pitch, 0});
  }
  std::sort(edges.begin(), edges.end());
  for (const auto& e : edges) {
    const auto status = static_cast<uint8_t>((e[1] == 1 ? 0x90 : 0x80) | channel);
    track.events.push_back({static_cast<uint64_t>(e[0]),
                            status,
                            0,
                            {static_cast<uint8_t>(e[2]), static_cast<uint8_t>(e[3])}});
  }
  track.end_tick = track.events.back().tick;
  return track;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// The share of the band's bass and keys notes that are tones of the chord heard on their beat
// (beats without a heard chord are left out); -1 when no note qualifies.
std::array<double, 2> heard_chord_tone_ratio(const OfflineJamResult& jam) {
  const int64_t beat = kConductorTicksPerQuarter;
  std::map<int64_t, realtime::Chord> heard;  // beat index -> chord
  for (const HeardChord& c : jam.record.heard_chords) {
    if (c.chord.quality != realtime::ChordQuality::kNone) {
      heard[c.bar * jam.beats_per_bar + c.beat] = c.chord;
    }
  }
  std::array<int, 2> tones{}, total{};
  for (const TimedNote& n : jam.record.band_notes) {
    if (n.part != kPartBass && n.part != kPartKeys) continue;
    const auto it = heard.find(n.tick / beat);
    if (it == heard.end()) continue;
    int intervals[4];
    const int count = realtime::chord_intervals(it->second.quality, intervals);
    const int interval = ((n.pitch - it->second.root_pc) % 12 + 12) % 12;
    const size_t k = n.part == kPartBass ? 0 : 1;
    ++total[k];
    tones[k] += std::find(intervals, intervals + count, interval) != intervals + count;
  }
  return {total[0] ? static_cast<double>(tones[0]) / total[0] : -1.0,
          total[1] ? static_cast<double>(tones[1]) / total[1] : -1.0};
}

}  // namespace

std::string band_chord_name(const std::vector<TimedNote>& notes, int64_t begin_tick,
                            int64_t end_tick) {
  std::vector<models::Note> pitched;
  int lowest = 128;
  for (const TimedNote& n : notes) {
    if (n.part != kPartBass && n.part != kPartKeys) continue;
    if (n.tick >= end_tick || n.tick + n.duration_ticks <= begin_tick) continue;
    pitched.push_back(
        models::Note{n.tick, n.duration_ticks, n.pitch, n.velocity, models::Role::kKeys});
    lowest = std::min(lowest, n.pitch);
  }
  if (pitched.empty()) return "N";
  const std::array<double, 12> weights = models::pitch_class_weights(pitched, begin_tick, end_tick);
  return models::chord_name(models::best_chord(weights, lowest % 12));
}

absl::Status write_jam_midi(const std::string& path, const OfflineJamResult& jam) {
  realtime::MidiFile midi;
  midi.format = 1;
  midi.ticks_per_quarter = kConductorTicksPerQuarter;
  const auto end_tick =
      static_cast<uint64_t>(jam.bars * jam.beats_per_bar * kConductorTicksPerQuarter);
  realtime::MidiTrack conductor;
  add_meta(conductor, 0, realtime::kMetaTrackName, bytes_of("jamd jam"));
  add_meta(conductor, 0, realtime::kMetaTimeSignature,
           {static_cast<uint8_t>(jam.beats_per_bar), 2, 24, 8});
  const auto us = static_cast<uint32_t>(60'000'000.0 / jam.tempo_bpm + 0.5);
  add_meta(
      conductor, 0, realtime::kMetaTempo,
      {static_cast<uint8_t>(us >> 16), static_cast<uint8_t>(us >> 8), static_cast<uint8_t>(us)});
  conductor.end_tick = end_tick;
  midi.tracks.push_back(std::move(conductor));
  if (!jam.record.human_notes.empty()) {
    midi.tracks.push_back(notes_track("musician", kHumanChannel, -1, jam.record.human_notes, -1));
  }
  const JamState defaults;
  for (int p = 0; p < kNumParts; ++p) {
    const bool played = std::any_of(jam.record.band_notes.begin(), jam.record.band_notes.end(),
                                    [&](const TimedNote& n) { return n.part == p; });
    if (!played) continue;
    midi.tracks.push_back(
        notes_track(kPartNames[static_cast<size_t>(p)], kPartChannel[static_cast<size_t>(p)],
                    p == kPartDrums ? -1 : defaults.parts[static_cast<size_t>(p)].gm_program,
                    jam.record.band_notes, p));
  }
  for (realtime::MidiTrack& t : midi.tracks) t.end_tick = std::max(t.end_tick, end_tick);
  return realtime::write_midi_file(path, midi);
}

std::string jam_report_json(const OfflineJamResult& jam) {
  const JamRecord& r = jam.record;
  const int64_t beat = kConductorTicksPerQuarter;
  const int64_t bar_ticks = jam.beats_per_bar * beat;
  std::map<int64_t, std::vector<std::string>> heard;
  for (const HeardChord& c : r.heard_chords) {
    heard[c.bar].push_back(absl::StrCat(c.beat, ":", realtime::chord_name(c.chord)));
  }
  const std::array<double, 2> tone_ratio = heard_chord_tone_ratio(jam);
  std::string out = absl::StrFormat(
      "{\n  \"tempo_bpm\": %.3f,\n  \"beats_per_bar\": %d,\n  \"bars\": %d,\n  \"backend\": %s,\n"
      "  \"audio_seconds\": %.3f,\n  \"wall_seconds\": %.3f,\n  \"x_real_time\": %.2f,\n"
      "  \"tokens_generated\": %d,\n  \"generation_ms\": %.2f,\n  \"notes_refused\": %d,\n"
      "  \"bass_chord_tone_ratio\": %.3f,\n  \"keys_chord_tone_ratio\": %.3f,\n"
      "  \"per_bar\": [\n",
      jam.tempo_bpm, jam.beats_per_bar, jam.bars, json_string(jam.backend),
      static_cast<double>(jam.render.frames) / jam.sample_rate_hz, jam.render.wall_seconds,
      jam.render.speed_x_real_time, jam.tokens_generated, jam.generation_ms, r.notes_refused,
      tone_ratio[0], tone_ratio[1]);
  for (int64_t bar = 0; bar < jam.bars; ++bar) {
    std::string band;
    for (int b = 0; b < jam.beats_per_bar; ++b) {
      const int64_t t = bar * bar_ticks + b * beat;
      absl::StrAppend(&band, b ? ", " : "",
                      json_string(band_chord_name(r.band_notes, t, t + beat)));
    }
    std::string heard_list;
    for (const std::string& h : heard[bar]) {
      absl::StrAppend(&heard_list, heard_list.empty() ? "" : ", ", json_string(h));
    }
    const auto rec = r.bars.find(bar);
    const BarRecord b = rec == r.bars.end() ? BarRecord{} : rec->second;
    absl::StrAppendFormat(&out,
                          "    {\"bar\": %d, \"heard_chords\": [%s], \"band_chords\": [%s], "
                          "\"tokens\": %d, \"generation_ms\": %.2f, \"regenerations\": %d}%s\n",
                          bar, heard_list, band, b.tokens_generated, b.generation_ms,
                          b.regenerations, bar + 1 < jam.bars ? "," : "");
  }
  absl::StrAppend(&out, "  ],\n  \"reactions\": [\n");
  for (size_t i = 0; i < r.reactions.size(); ++i) {
    absl::StrAppendFormat(&out, "    {\"cause\": %s, \"event_frame\": %d, \"ms\": %.1f}%s\n",
                          json_string(r.reactions[i].cause), r.reactions[i].event_frame,
                          r.reactions[i].ms, i + 1 < r.reactions.size() ? "," : "");
  }
  absl::StrAppend(&out, "  ]\n}\n");
  return out;
}

}  // namespace jamd
