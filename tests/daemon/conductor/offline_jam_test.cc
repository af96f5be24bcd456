// The offline jam on the bundled model and the real synth: a musician's MIDI with known chords
// and tempo goes in; the band must follow the chords, keep the tempo, keep playing through the
// musician's rests, honour the part mask and steering, and repeat itself under a seed.
#include "daemon/conductor/offline_jam.h"

#include <gtest/gtest.h>
#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "realtime/core/song.h"
#include "realtime/midi/midi_file.h"
#include "realtime/synth/master_limiter.h"
#include "realtime/synth/song_render.h"
#include "tests/daemon/conductor/chord_take.h"

namespace jamd {
namespace {

constexpr int kTpq = 480;

struct BarChord {
  int root = 0;
  bool minor = false;
};

// C G Am F: one chord a bar.
const std::vector<BarChord> kProgression = {{0, false}, {7, false}, {9, true}, {5, false}};

std::string temp_path(const std::string& name) {
  return (std::filesystem::path(::testing::TempDir()) / name).string();
}

// A keyboard player: the bar's triad (root position around middle C) on every beat of bars
// [0, play_bars), then silence up to total_bars.
std::string write_musician(const std::string& name, double tempo_bpm, int play_bars,
                           int total_bars) {
  std::vector<TakeChord> chords;
  for (int bar = 0; bar < play_bars; ++bar) {
    const BarChord c = kProgression[static_cast<size_t>(bar) % kProgression.size()];
    chords.push_back({c.root, c.minor, 4});
  }
  const std::string path = temp_path(name);
  EXPECT_TRUE(
      realtime::write_midi_file(path, block_chord_take(tempo_bpm, chords, total_bars * 4)).ok());
  return path;
}

OfflineJamOptions jam_options(const std::string& input, uint64_t seed) {
  OfflineJamOptions o;
  o.input_path = input;
  o.model_path = JAMD_SOURCE_DIR "/models/band.jamd";
  o.state.seed = seed;
  o.state.key_tonic = -1;
  o.state.density = 0.5f;
  o.state.parts[kPartPad].enabled = false;
  o.state.parts[kPartLead].enabled = false;
  return o;
}

OfflineJamResult render(const OfflineJamOptions& o) {
  absl::StatusOr<OfflineJamResult> r = render_jam(o);
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return {};
  std::printf(
      "  [render] %lld bars, %.1f s of audio in %.2f s: %.1fx real time; %lld tokens in "
      "%.0f ms\n",
      static_cast<long long>(r->bars), static_cast<double>(r->render.frames) / r->sample_rate_hz,
      r->render.wall_seconds, r->render.speed_x_real_time,
      static_cast<long long>(r->tokens_generated), r->generation_ms);
  return *r;
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

int64_t bar_of(const TimedNote& n) { return n.tick / (4 * kTpq); }

// The musician as audio: the block-chord take of `bars` bars at 100 BPM rendered by the synth
// into NAME.wav. Empty on failure (reported).
std::string write_audio_take(const std::string& name, int bars) {
  const std::string midi = write_musician(name + ".mid", 100.0, bars, bars);
  absl::StatusOr<realtime::MidiFile> file = realtime::read_midi_file(midi);
  EXPECT_TRUE(file.ok()) << file.status();
  if (!file.ok()) return "";
  absl::StatusOr<realtime::Song> song = realtime::song_from_midi(*file);
  EXPECT_TRUE(song.ok()) << song.status();
  if (!song.ok()) return "";
  const std::string take = temp_path(name + ".wav");
  const auto rendered =
      realtime::render_song_to_wav(*song, {.wav_path = take, .tail_seconds = 0.0});
  EXPECT_TRUE(rendered.ok()) << rendered.status();
  return rendered.ok() ? take : "";
}

TEST(OfflineJamTest, SameSeedGivesTheSameWavAndMidi) {
  const std::string human = write_musician("det_human.mid", 110.0, 4, 4);
  std::string wav[2], mid[2];
  for (int i = 0; i < 2; ++i) {
    OfflineJamOptions o = jam_options(human, 7);
    o.wav_path = temp_path("det_" + std::to_string(i) + ".wav");
    const OfflineJamResult r = render(o);
    mid[i] = temp_path("det_" + std::to_string(i) + ".mid");
    ASSERT_TRUE(write_jam_midi(mid[i], r).ok());
    ASSERT_GT(r.record.band_notes.size(), 0u);
    wav[i] = o.wav_path;
  }
  EXPECT_EQ(file_bytes(wav[0]), file_bytes(wav[1]));
  EXPECT_EQ(file_bytes(mid[0]), file_bytes(mid[1]));
  EXPECT_GT(file_bytes(wav[0]).size(), 1000u);
}

TEST(OfflineJamTest, BandKeepsPlayingWhileTheMusicianRests) {
  const std::string human = write_musician("rest_human.mid", 120.0, 3, 8);
  const OfflineJamResult r = render(jam_options(human, 3));
  ASSERT_EQ(r.bars, 8);
  std::vector<int> notes_per_bar(8, 0);
  for (const TimedNote& n : r.record.band_notes) {
    if (bar_of(n) < 8) ++notes_per_bar[static_cast<size_t>(bar_of(n))];
  }
  for (int bar = 3; bar < 8; ++bar) {
    EXPECT_GT(notes_per_bar[static_cast<size_t>(bar)], 0) << "bar " << bar << " (musician silent)";
  }
}

// Share of the band's bass and keys notes whose pitch class belongs to the musician's chord at
// their onset.
struct ChordToneRatio {
  double bass = 0, keys = 0;
  int n_bass = 0, n_keys = 0;
};

ChordToneRatio chord_tone_ratio(const OfflineJamResult& r, int first_bar, int last_bar) {
  ChordToneRatio out;
  int in_bass = 0, in_keys = 0;
  for (const TimedNote& n : r.record.band_notes) {
    const int64_t bar = bar_of(n);
    if (bar < first_bar || bar >= last_bar) continue;
    const BarChord c = kProgression[static_cast<size_t>(bar) % kProgression.size()];
    const int interval = ((n.pitch - c.root) % 12 + 12) % 12;
    const bool tone = interval == 0 || interval == 7 || interval == (c.minor ? 3 : 4);
    if (n.part == kPartBass) {
      ++out.n_bass;
      in_bass += tone;
    } else if (n.part == kPartKeys) {
      ++out.n_keys;
      in_keys += tone;
    }
  }
  out.bass = out.n_bass ? static_cast<double>(in_bass) / out.n_bass : 0;
  out.keys = out.n_keys ? static_cast<double>(in_keys) / out.n_keys : 0;
  return out;
}

// C G Am F for 12 bars at 100 BPM, seed 11, a 50 ms commit horizon: rendered once, read by the
// tests below.
const OfflineJamResult& loop_jam() {
  static const OfflineJamResult jam = [] {
    const std::string human = write_musician("chords_human.mid", 100.0, 12, 12);
    OfflineJamOptions o = jam_options(human, 11);
    o.horizons.commit_horizon_ms = 50;
    return render(o);
  }();
  return jam;
}

TEST(OfflineJamTest, BassAndKeysPlayTheMusiciansChords) {
  const OfflineJamResult& r = loop_jam();
  // From bar 1: bar 0 is played before anything has been heard. From bar 5 on the loop is
  // predicted (bar 4's first beat repeats bar 0); bars 6-11 were the steady state before that.
  const ChordToneRatio ratio = chord_tone_ratio(r, 1, 12);
  const ChordToneRatio steady = chord_tone_ratio(r, 6, 12);
  std::printf(
      "  [chord tones] bars 1-11: bass %.3f (%d notes), keys %.3f (%d notes); bars 6-11: "
      "bass %.3f, keys %.3f; real data 0.976 / 0.958; a random pitch hits a triad 0.25 "
      "of the time\n",
      ratio.bass, ratio.n_bass, ratio.keys, ratio.n_keys, steady.bass, steady.keys);
  ASSERT_GT(ratio.n_bass + ratio.n_keys, 20);
  // The targets are real data - 0.05 = 0.926 / 0.908. Over seeds 1-18 of this take (2026-11-23,
  // docs/conductor.md) bars 1-11 pool to 0.94 / 0.94, one seed 0.91-0.97 / 0.89-1.00 (the first
  // pass of the loop, bars 1-3, is the model's guess); bars 6-11 1.000 / 0.976-1.000. Seed 11:
  // 0.915 / 0.914, 1.000 / 0.988. The floors leave two bass notes of 47 for one seed's noise.
  EXPECT_GT(ratio.bass, 0.87);
  EXPECT_GT(ratio.keys, 0.87);
  EXPECT_GT(steady.bass, 0.95);
  EXPECT_GT(steady.keys, 0.95);
}

TEST(OfflineJamTest, TheLoopIsPredictedFromTheFirstBeatOfItsRepeat) {
  // C G Am F: bar 4's first beat repeats bar 0, so bar 5 is predicted (G) while bar 4 plays,
  // before bar 5 sounds; and the loop stays predicted through bar 11 although the listener
  // hears the first F bar as Am F F F and the later ones as F F F F.
  const std::map<int64_t, int64_t>& predicted = loop_jam().record.predicted_bars;
  ASSERT_TRUE(predicted.contains(5));
  EXPECT_EQ(predicted.at(5), 4) << "bar 5's chords predicted while bar 4 plays";
  for (int64_t bar = 6; bar < 12; ++bar) EXPECT_TRUE(predicted.contains(bar)) << "bar " << bar;
  // The first pass cannot be predicted.
  for (int64_t bar = 0; bar < 4; ++bar) EXPECT_FALSE(predicted.contains(bar)) << "bar " << bar;
}

TEST(OfflineJamTest, AudioTakeIsHeardAndAccompanied) {
  // The musician as audio: the keyboard part rendered by the synth into a WAV.
  const std::string take = write_audio_take("take_human", 8);
  ASSERT_FALSE(take.empty());
  OfflineJamOptions o = jam_options(take, 11);
  o.horizons.commit_horizon_ms = 50;
  const OfflineJamResult r = render(o);
  EXPECT_NEAR(r.tempo_bpm, 100.0, 2.0);  // the listener's beats, not a file's tempo map
  EXPECT_FALSE(r.record.heard_chords.empty());
  const ChordToneRatio ratio = chord_tone_ratio(r, 1, 8);
  std::printf("  [audio take] chord tones bars 1-7: bass %.3f (%d notes), keys %.3f (%d notes)\n",
              ratio.bass, ratio.n_bass, ratio.keys, ratio.n_keys);
  ASSERT_GT(ratio.n_bass + ratio.n_keys, 20);
  // Measured 0.947 / 0.916 (seed 11; 0.76-0.86 / 0.70-0.75 before the loop was predicted from
  // its repeat's first beat and the key taken from the chords); the audio listener's slips vary.
  EXPECT_GT(ratio.bass, 0.75);
  EXPECT_GT(ratio.keys, 0.75);
}

// A WAV's interleaved samples as floats (empty if it cannot be read: reported), and its format.
std::vector<float> read_wav(const std::string& path, SF_INFO& info) {
  info = {};
  SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
  EXPECT_NE(f, nullptr) << path;
  if (f == nullptr) return {};
  std::vector<float> frames(static_cast<size_t>(info.frames * info.channels));
  sf_readf_float(f, frames.data(), info.frames);
  sf_close(f);
  return frames;
}

// Root mean square of a WAV's frames [begin_s, end_s), both channels.
double wav_rms(const std::string& path, double begin_s, double end_s) {
  SF_INFO info;
  const std::vector<float> frames = read_wav(path, info);
  if (frames.empty()) return -1;
  double sum = 0;
  size_t n = 0;
  for (auto i = static_cast<size_t>(begin_s * info.samplerate * info.channels);
       i < std::min(frames.size(), static_cast<size_t>(end_s * info.samplerate * info.channels));
       ++i, ++n) {
    sum += static_cast<double>(frames[i]) * frames[i];
  }
  return n ? std::sqrt(sum / static_cast<double>(n)) : 0.0;
}

// Largest absolute sample of a WAV, both channels.
float wav_peak(const std::string& path) {
  SF_INFO info;
  const std::vector<float> frames = read_wav(path, info);
  if (frames.empty()) return -1;
  float peak = 0;
  for (const float x : frames) peak = std::max(peak, std::abs(x));
  return peak;
}

// The band's master stage already brings its peaks to the ceiling: the take added on top must
// not push the sum past it (it did: 0.904 against 0.891 here), or a loud take clips the WAV.
TEST(OfflineJamTest, TheTakeAndTheBandTogetherStayUnderTheCeiling) {
  const std::string take = write_audio_take("loud_take_human", 4);
  ASSERT_FALSE(take.empty());
  OfflineJamOptions o = jam_options(take, 5);
  o.wav_path = temp_path("loud_take_jam.wav");
  const OfflineJamResult r = render(o);
  ASSERT_GT(r.bars, 0);
  const float ceiling = std::pow(10.0f, realtime::MasterSettings{}.ceiling_dbfs / 20.0f);
  const float peak = wav_peak(o.wav_path);
  std::printf("  [take + band] peak %.4f, take alone %.4f, ceiling %.4f\n", peak, wav_peak(take),
              ceiling);
  EXPECT_GT(peak, 0.3f);                    // both are there
  EXPECT_LE(peak, ceiling + 1.0f / 32768);  // one 16-bit step of rounding
}

TEST(OfflineJamTest, MuteSilencesThePartButKeepsGeneratingIt) {
  OfflineJamOptions o = jam_options("", 6);
  o.bars = 4;
  o.state.tempo_bpm = 120.0;  // a bar is 2 s
  o.state.parts[kPartDrums].enabled = false;
  o.state.parts[kPartBass].enabled = false;
  o.wav_path = temp_path("mute.wav");
  JamState muted = o.state;
  muted.parts[kPartKeys].muted = true;
  o.steering.push_back({2, muted});
  const OfflineJamResult r = render(o);
  int keys_after = 0;
  for (const TimedNote& n : r.record.band_notes)
    keys_after += n.part == kPartKeys && bar_of(n) >= 2;
  EXPECT_GT(keys_after, 0) << "a muted part is still generated (unmuting brings it back at once)";
  // The same jam without the mute is the control: same seed, same notes.
  OfflineJamOptions control = o;
  control.steering.clear();
  control.wav_path = temp_path("mute_control.wav");
  render(control);
  const double after = wav_rms(o.wav_path, 5.0, 8.0);  // from half a bar after the mute
  const double unmuted = wav_rms(control.wav_path, 5.0, 8.0);
  std::printf("  [mute] rms of bars 2.5-4: muted %.6f, not muted %.6f\n", after, unmuted);
  EXPECT_GT(unmuted, 0.0001);
  EXPECT_LT(after, unmuted * 0.1);
}

TEST(OfflineJamTest, BandKeepsTheMusiciansTempo) {
  const std::string human = write_musician("tempo_human.mid", 93.0, 4, 4);
  const OfflineJamResult r = render(jam_options(human, 5));
  EXPECT_NEAR(r.tempo_bpm, 93.0, 1e-3);
  ASSERT_GT(r.record.band_notes.size(), 0u);
  // The band's MIDI out: every onset on the musician's grid (12 per beat at 93 BPM), and the
  // band's bars line up with the musician's four bars.
  const std::string mid = temp_path("tempo_band.mid");
  ASSERT_TRUE(write_jam_midi(mid, r).ok());
  absl::StatusOr<realtime::MidiFile> file = realtime::read_midi_file(mid);
  ASSERT_TRUE(file.ok()) << file.status();
  bool tempo_found = false;
  for (const realtime::MidiEvent& e : file->tracks[0].events) {
    if (e.is_meta() && e.meta_type == realtime::kMetaTempo) {
      const uint32_t us = (uint32_t{e.data[0]} << 16) | (uint32_t{e.data[1]} << 8) | e.data[2];
      EXPECT_NEAR(60'000'000.0 / us, 93.0, 0.01);
      tempo_found = true;
    }
  }
  EXPECT_TRUE(tempo_found);
  for (const TimedNote& n : r.record.band_notes) {
    EXPECT_EQ(n.tick % (kTpq / 12), 0) << "onset off the beat grid at tick " << n.tick;
    EXPECT_LT(n.tick, 4 * 4 * kTpq);
  }
}

TEST(OfflineJamTest, DisabledPartsGetNoNotes) {
  OfflineJamOptions o = jam_options("", 9);
  o.bars = 4;
  o.state.parts[kPartDrums].enabled = false;
  const OfflineJamResult r = render(o);
  int bass_or_keys = 0;
  for (const TimedNote& n : r.record.band_notes) {
    EXPECT_NE(n.part, kPartDrums);
    EXPECT_NE(n.part, kPartPad);
    EXPECT_NE(n.part, kPartLead);
    bass_or_keys += n.part == kPartBass || n.part == kPartKeys;
  }
  EXPECT_GT(bass_or_keys, 0);
}

TEST(OfflineJamTest, SteeringMidRenderTakesEffectFromTheNextBar) {
  OfflineJamOptions o = jam_options("", 4);
  o.bars = 6;
  JamState later = o.state;
  later.parts[kPartKeys].enabled = false;
  later.parts[kPartDrums].enabled = false;
  o.steering.push_back({3, later});
  const OfflineJamResult r = render(o);
  int keys_before = 0, drums_before = 0, bass_after = 0;
  for (const TimedNote& n : r.record.band_notes) {
    if (bar_of(n) < 3) {
      keys_before += n.part == kPartKeys;
      drums_before += n.part == kPartDrums;
    } else if (bar_of(n) >= 4) {
      EXPECT_NE(n.part, kPartKeys) << "keys note in bar " << bar_of(n) << " after they were off";
      EXPECT_NE(n.part, kPartDrums) << "drum note in bar " << bar_of(n) << " after they were off";
      bass_after += n.part == kPartBass;
    }
  }
  EXPECT_GT(keys_before + drums_before, 0);
  EXPECT_GT(bass_after, 0);
  bool steering_reaction = false;
  for (const Reaction& reaction : r.record.reactions) {
    steering_reaction = steering_reaction || reaction.cause == "steering";
  }
  EXPECT_TRUE(steering_reaction);
}

}  // namespace
}  // namespace jamd
