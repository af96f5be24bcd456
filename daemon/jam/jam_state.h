// The shared steering state of one jam: what every participant sees and steers, and what the
// conductor turns into model controls, masks and instant commands. ARCHITECTURE.md, "Steering
// with several people". Plain values: the session layer (gRPC/WebSocket) owns the merge rules
// and posts whole JamState snapshots to the conductor; nothing here knows protobuf.
//
//   JamState state;                        // the daemon's defaults
//   state.tempo_bpm = 96;
//   state.parts[kPartBass].gm_program = 33;
//   conductor.post(jam_id, state);        // thread: any; the conductor applies it at a beat
//
// Thread safety: a value type; copy it between threads.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace jamd {

// The band's parts, in the model's role order (models/tokenizer/score.h Role, without human).
enum PartIndex : int { kPartDrums = 0, kPartBass, kPartKeys, kPartPad, kPartLead, kNumParts };
inline constexpr std::array<const char*, kNumParts> kPartNames = {"drums", "bass", "keys", "pad",
                                                                  "lead"};

enum class JamMode {
  kAccompany,        // follow the musician's chords and tempo, leave room in their register
  kContinue,         // the musician is silent: keep going in the established style
  kCallAndResponse,  // the lead answers the musician's phrases in the gaps
  kAuto,             // accompany while the musician plays, continue while they rest
};

enum class Scale { kMajor, kMinor };

struct PartState {
  bool enabled = true;     // generated at all (a model mask: takes effect from the next bar)
  bool muted = false;      // instant: silenced at the next audio period, still generated
  int gm_program = 0;      // General MIDI program 0..127 (ignored for drums: channel 10 kit)
  float volume = 0.8f;     // 0..1, instant
  int density_class = -1;  // 0..5, or -1 for "the model chooses"
};

// A mood word or phrase with its weight; the lexicon (daemon/jam/mood_lexicon.h, to come) maps
// it to energy / valence / density / style controls.
struct MoodPrompt {
  std::string text;
  float weight = 1.0f;  // > 0
};

struct JamState {
  double tempo_bpm = 100.0;  // 30..300; changes ramp at beat boundaries
  int beats_per_bar = 4;     // time signature numerator (denominator 4 for now)
  int key_tonic = 0;         // pitch class 0..11 (C = 0), or -1 for "the model chooses"
  Scale scale = Scale::kMajor;
  std::vector<MoodPrompt> mood;  // blended by weight across players
  float density = -1.0f;         // 0..1 overall density, or < 0 for "the model chooses"
  float energy = -1.0f;          // 0..1, or < 0
  float brightness = -1.0f;      // 0..1 (register and velocity lean), or < 0
  JamMode mode = JamMode::kAuto;
  std::array<PartState, kNumParts> parts = {
      PartState{.gm_program = 0},   // drums (kit 0: standard)
      PartState{.gm_program = 33},  // bass: electric bass (finger)
      PartState{.gm_program = 0},   // keys: acoustic grand piano
      PartState{.gm_program = 89},  // pad: warm pad
      PartState{.gm_program = 81},  // lead: saw lead
  };
  float temperature = 1.0f;     // sampling temperature, 0.1..2
  uint64_t seed = 0;            // 0: pick one at start
  bool playing = true;          // false: stop (instant)
  float master_volume = 0.8f;   // 0..1, instant
  float monitor_volume = 0.8f;  // 0..1, instant: the musician's MIDI played by a live host
};

}  // namespace jamd
