// POP909 and Groove readers: MIDI through midi_score, annotations from their text files.
#include "models/data/corpora.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "models/data/midi_score.h"
#include "models/tokenizer/controls.h"
#include "models/tokenizer/harmony.h"
#include "models/vocab/vocabulary.h"
#include "realtime/midi/midi_file.h"

namespace jamd::models::data {
namespace {

absl::StatusOr<std::vector<std::vector<std::string>>> read_rows(const std::string& path,
                                                                const char* separators,
                                                                bool keep_empty = false) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot open ", path, "; is the corpus unpacked?"));
  }
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::vector<std::string> fields =
        keep_empty ? std::vector<std::string>(absl::StrSplit(line, absl::ByAnyChar(separators)))
                   : std::vector<std::string>(
                         absl::StrSplit(line, absl::ByAnyChar(separators), absl::SkipEmpty()));
    if (!fields.empty()) rows.push_back(std::move(fields));
  }
  return rows;
}

std::optional<int> pitch_class_of(absl::string_view name) {
  static const std::map<char, int> kNatural = {{'C', 0}, {'D', 2}, {'E', 4}, {'F', 5},
                                               {'G', 7}, {'A', 9}, {'B', 11}};
  if (name.empty() || !kNatural.count(name[0])) return std::nullopt;
  int pc = kNatural.at(name[0]);
  for (char c : name.substr(1)) {
    if (c == '#')
      ++pc;
    else if (c == 'b')
      --pc;
    else
      return std::nullopt;
  }
  return (pc % 12 + 12) % 12;
}

// The key ("Gb:maj", "A:min") in force at each bar's downbeat, from key_audio.txt.
absl::Status set_pop909_keys(const std::string& dir, const realtime::MidiFile& midi, int64_t shift,
                             Score* score) {
  absl::StatusOr<std::vector<std::vector<std::string>>> rows =
      read_rows(dir + "/key_audio.txt", " \t");
  if (!rows.ok()) return rows.status();
  std::vector<std::pair<int64_t, int>> keys;  // start tick, key
  for (const auto& row : *rows) {
    double start_s = 0.0;
    if (row.size() < 3 || !absl::SimpleAtod(row[0], &start_s)) continue;
    std::vector<std::string> parts = absl::StrSplit(row[2], ':');
    const std::optional<int> tonic = pitch_class_of(parts[0]);
    if (!tonic || parts.size() < 2) continue;
    keys.emplace_back(seconds_to_ticks(midi, start_s) + shift,
                      *tonic + (parts[1].rfind("min", 0) == 0 ? 12 : 0));
  }
  if (keys.empty()) return absl::OkStatus();  // key stays "any"
  const std::vector<int64_t> starts = bar_start_ticks(*score);
  for (size_t b = 0; b < score->bars.size(); ++b) {
    int key = keys.front().second;
    for (const auto& [tick, k] : keys) {
      if (tick <= starts[b]) key = k;
    }
    score->bars[b].controls.key = key;
  }
  return absl::OkStatus();
}

struct Downbeats {
  int64_t shift_ticks = 0;  // to add so the first annotated downbeat lands on a bar line
  TimeSignature metre;      // quarters between downbeats, most often seen
};

// POP909's MIDI time signatures are unreliable (most files say 1/4); its downbeat annotation in
// beat_midi.txt (time, beat flag, downbeat flag) is what places the bars.
absl::StatusOr<Downbeats> pop909_downbeats(const std::string& dir, const realtime::MidiFile& midi) {
  absl::StatusOr<std::vector<std::vector<std::string>>> rows =
      read_rows(dir + "/beat_midi.txt", " \t");
  if (!rows.ok()) return rows.status();
  std::vector<int64_t> ticks;
  for (const auto& row : *rows) {
    double t = 0.0;
    double downbeat = 0.0;
    if (row.size() >= 3 && absl::SimpleAtod(row[0], &t) && absl::SimpleAtod(row[2], &downbeat) &&
        downbeat > 0.5) {
      ticks.push_back(seconds_to_ticks(midi, t));
    }
  }
  Downbeats out;
  std::map<int64_t, int> quarters_seen;
  for (size_t i = 1; i < ticks.size(); ++i) {
    const int64_t q =
        (ticks[i] - ticks[i - 1] + midi.ticks_per_quarter / 2) / midi.ticks_per_quarter;
    ++quarters_seen[q];
  }
  int best = 0;
  for (const auto& [q, n] : quarters_seen) {
    if (n > best && meter_index(TimeSignature{static_cast<int>(q), 4}) >= 0) {
      best = n;
      out.metre = TimeSignature{static_cast<int>(q), 4};
    }
  }
  if (!ticks.empty()) {
    const int64_t bar = bar_length_ticks(out.metre, midi.ticks_per_quarter);
    out.shift_ticks = (bar - ticks.front() % bar) % bar;
  }
  return out;
}

}  // namespace

absl::StatusOr<ChordSpan> parse_harte_chord(absl::string_view label) {
  ChordSpan span;
  if (label == "N" || label == "X") return span;
  const size_t colon = label.find(':');
  const std::optional<int> root = pitch_class_of(label.substr(0, colon));
  if (!root) {
    return absl::InvalidArgumentError(absl::StrCat("chord label '", label, "' has no root"));
  }
  span.root_pitch_class = *root;
  absl::string_view quality = colon == absl::string_view::npos ? "maj" : label.substr(colon + 1);
  quality = quality.substr(0, quality.find('/'));  // inversion
  quality = quality.substr(0, quality.find('('));  // added or omitted tones
  static const std::map<std::string, ChordQuality, std::less<>> kQualities = {
      {"maj", ChordQuality::kMaj},     {"min", ChordQuality::kMin},
      {"7", ChordQuality::kDom7},      {"min7", ChordQuality::kMin7},
      {"maj7", ChordQuality::kMaj7},   {"dim", ChordQuality::kDim},
      {"dim7", ChordQuality::kDim},    {"hdim7", ChordQuality::kMin7},
      {"aug", ChordQuality::kMaj},     {"sus2", ChordQuality::kMaj},
      {"sus4", ChordQuality::kMaj},    {"maj6", ChordQuality::kMaj},
      {"min6", ChordQuality::kMin},    {"9", ChordQuality::kDom7},
      {"maj9", ChordQuality::kMaj7},   {"min9", ChordQuality::kMin7},
      {"11", ChordQuality::kDom7},     {"13", ChordQuality::kDom7},
      {"minmaj7", ChordQuality::kMin}, {"", ChordQuality::kMaj}};
  auto it = kQualities.find(quality);
  span.quality = it == kQualities.end() ? ChordQuality::kMaj : it->second;
  return span;
}

void split_piano_bass(Score* score) {
  std::vector<Note*> piano;
  for (Note& n : score->notes) {
    if (n.role == Role::kKeys) piano.push_back(&n);
  }
  std::stable_sort(piano.begin(), piano.end(),
                   [](const Note* a, const Note* b) { return a->start_ticks < b->start_ticks; });
  std::vector<bool> is_bass(piano.size(), false);
  for (size_t i = 0; i < piano.size(); ++i) {
    const Note& n = *piano[i];
    if (n.pitch >= kBassMaxPitch) continue;
    bool lowest = true;
    // Earlier notes still sounding, and later notes starting at the same tick.
    for (size_t j = i; j-- > 0 && lowest;) {
      if (piano[j]->start_ticks + piano[j]->duration_ticks > n.start_ticks &&
          piano[j]->pitch < n.pitch) {
        lowest = false;
      }
      if (n.start_ticks - piano[j]->start_ticks > 16 * score->ticks_per_beat) break;
    }
    for (size_t j = i + 1; j < piano.size() && piano[j]->start_ticks == n.start_ticks; ++j) {
      if (piano[j]->pitch < n.pitch) lowest = false;
    }
    is_bass[i] = lowest;
  }
  for (size_t i = 0; i < piano.size(); ++i) {
    if (is_bass[i]) piano[i]->role = Role::kBass;
  }
}

absl::StatusOr<Score> load_pop909_song(const std::string& dir) {
  const std::string id = dir.substr(dir.find_last_of('/') + 1);
  absl::StatusOr<realtime::MidiFile> midi = realtime::read_midi_file(dir + "/" + id + ".mid");
  if (!midi.ok()) return midi.status();
  MidiImport import;
  for (const realtime::MidiTrack& track : midi->tracks) {
    const std::string name = track_name(track);
    import.track_roles.push_back(name == "MELODY"   ? std::optional(Role::kLead)
                                 : name == "BRIDGE" ? std::optional(Role::kPad)
                                 : name == "PIANO"  ? std::optional(Role::kKeys)
                                                    : std::nullopt);
  }
  absl::StatusOr<Downbeats> downbeats = pop909_downbeats(dir, *midi);
  if (!downbeats.ok()) return downbeats.status();
  import.shift_ticks = downbeats->shift_ticks;
  import.time_signature = downbeats->metre;
  const int64_t shift = downbeats->shift_ticks;
  absl::StatusOr<Score> score = midi_to_score(*midi, import);
  if (!score.ok()) return score.status();
  split_piano_bass(&*score);

  absl::StatusOr<std::vector<std::vector<std::string>>> rows =
      read_rows(dir + "/chord_midi.txt", " \t");
  if (!rows.ok()) return rows.status();
  for (const auto& row : *rows) {
    double start_s = 0.0;
    if (row.size() < 3 || !absl::SimpleAtod(row[0], &start_s)) continue;
    absl::StatusOr<ChordSpan> chord = parse_harte_chord(row[2]);
    if (!chord.ok()) return chord.status();
    chord->start_ticks = seconds_to_ticks(*midi, start_s) + shift;
    score->chords.push_back(*chord);
  }
  if (absl::Status s = set_pop909_keys(dir, *midi, shift, &*score); !s.ok()) return s;
  for (BarInfo& bar : score->bars) bar.controls.style = style_index("pop");
  compute_controls(&*score);
  return score;
}

namespace {

// The key of the first key-signature event (sharps or flats, major or minor), or kAnyClass.
int key_signature(const realtime::MidiFile& midi) {
  for (const realtime::MidiTrack& track : midi.tracks) {
    for (const realtime::MidiEvent& e : track.events) {
      if (e.is_meta() && e.meta_type == realtime::kMetaKeySignature && e.data.size() == 2) {
        const int sharps = static_cast<int8_t>(e.data[0]);
        const int major_tonic = ((7 * sharps) % 12 + 12) % 12;
        return e.data[1] == 0 ? major_tonic : (major_tonic + 9) % 12 + 12;
      }
    }
  }
  return kAnyClass;
}

}  // namespace

absl::StatusOr<Score> load_nottingham_tune(const std::string& path) {
  absl::StatusOr<realtime::MidiFile> midi = realtime::read_midi_file(path);
  if (!midi.ok()) return midi.status();
  MidiImport import;
  import.track_roles = {Role::kLead, Role::kKeys};
  absl::StatusOr<Score> score = midi_to_score(*midi, import);
  if (!score.ok()) return score.status();
  split_piano_bass(&*score);
  Score accompaniment = *score;
  std::erase_if(accompaniment.notes, [](const Note& n) { return n.role == Role::kLead; });
  score->chords =
      estimate_chords(accompaniment.notes.empty() ? *score : accompaniment, score->ticks_per_beat);
  int key = key_signature(*midi);
  if (key == kAnyClass) key = estimate_key(score->notes);
  for (BarInfo& bar : score->bars) {
    bar.controls.key = key;
    bar.controls.style = style_index("folk");
  }
  compute_controls(&*score);
  return score;
}

int groove_to_gm_drum(int pitch) {
  switch (pitch) {
    case 22:
      return 42;  // hi-hat closed (edge) -> closed hi-hat
    case 26:
      return 46;  // hi-hat open (edge) -> open hi-hat
    case 58:
      return 43;  // floor tom rim -> high floor tom
    default:
      return pitch;
  }
}

absl::StatusOr<std::vector<GrooveEntry>> read_groove_index(const std::string& path) {
  absl::StatusOr<std::vector<std::vector<std::string>>> rows =
      read_rows(path, ",", /*keep_empty=*/true);
  if (!rows.ok()) return rows.status();
  std::vector<GrooveEntry> entries;
  for (size_t i = 1; i < rows->size(); ++i) {
    const std::vector<std::string>& row = (*rows)[i];
    if (row.size() < 11) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, " line ", i + 1, " has ", row.size(), " fields, expected 11"));
    }
    GrooveEntry e;
    e.style = row[3].substr(0, row[3].find('/'));
    e.fill = row[5] == "fill";
    std::vector<std::string> metre = absl::StrSplit(row[6], '-');
    if (metre.size() != 2 || !absl::SimpleAtoi(metre[0], &e.time_signature.numerator) ||
        !absl::SimpleAtoi(metre[1], &e.time_signature.denominator)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, " line ", i + 1, ": time signature '", row[6], "' is not like 4-4"));
    }
    e.midi_filename = row[7];
    e.split = row[10];
    entries.push_back(std::move(e));
  }
  return entries;
}

absl::StatusOr<Score> load_groove_performance(const std::string& dir, const GrooveEntry& entry) {
  absl::StatusOr<realtime::MidiFile> midi =
      realtime::read_midi_file(dir + "/" + entry.midi_filename);
  if (!midi.ok()) return midi.status();
  MidiImport import;
  import.track_roles.assign(midi->tracks.size(), Role::kDrums);
  import.time_signature = entry.time_signature;
  absl::StatusOr<Score> score = midi_to_score(*midi, import);
  if (!score.ok()) return score.status();
  for (Note& n : score->notes) n.pitch = groove_to_gm_drum(n.pitch);
  int style = style_index(entry.style);
  if (style < 0) style = style_index("other");
  for (BarInfo& bar : score->bars) bar.controls.style = style;
  compute_controls(&*score);
  return score;
}

Score transpose(const Score& score, int semitones) {
  Score out = score;
  out.notes.clear();
  for (Note n : score.notes) {
    if (n.role != Role::kDrums) n.pitch += semitones;
    if (n.pitch >= 0 && n.pitch <= 127) out.notes.push_back(n);
  }
  const int shift = ((semitones % 12) + 12) % 12;
  for (ChordSpan& c : out.chords) {
    if (c.root_pitch_class >= 0) c.root_pitch_class = (c.root_pitch_class + shift) % 12;
  }
  for (BarInfo& bar : out.bars) {
    int& key = bar.controls.key;
    if (key >= 0) key = (key % 12 + shift) % 12 + (key >= 12 ? 12 : 0);
  }
  return out;
}

void play_as_human(Score* score, Role part) {
  for (Note& n : score->notes) {
    if (n.role == part) n.role = Role::kHuman;
  }
  compute_controls(score);
}

}  // namespace jamd::models::data
