// Synth: the band's General MIDI synthesizer, FluidSynth with a SoundFont, rendering float
// stereo inside the RT callback. Sixteen MIDI channels, one per part; channel 10 (index 9) is GM
// drums.
//
//   absl::StatusOr<std::unique_ptr<Synth>> synth = Synth::create({.soundfont = "default"});
//   if (!synth.ok()) { /* one line: which SoundFont, what is wrong, what to do */ }
//   (*synth)->handle(note_on_message);          // thread: rt
//   (*synth)->render(left, right, n_frames);    // thread: rt
//
// Thread safety: create() on a control thread (it loads the SoundFont and allocates). After
// that, exactly one thread at a time — the RT thread while audio runs — calls handle() and
// render(): FluidSynth's own API lock is turned off, so nothing here locks. FluidSynth starts no
// audio driver and no threads of its own, and its reverb and chorus are off (see Band).
// Timing: FluidSynth renders in 64-frame blocks and starts a voice at the next block boundary of
// its output, so a note lands up to 63 frames after the offset it was handled at (1.3 ms at
// 48 kHz); MIDI out and the scheduler are exact to the frame.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "realtime/core/c_handles.h"
#include "realtime/io/audio_io.h"
#include "realtime/synth/chorus.h"
#include "realtime/synth/reverb.h"

namespace jamd::realtime {

inline constexpr int kGmDrumChannel = 9;  // MIDI channel 10
inline constexpr const char* kDefaultSoundFontPath = "/usr/share/sounds/sf2/TimGM6mb.sf2";
inline constexpr const char* kFluidR3SoundFontPath = "/usr/share/sounds/sf2/FluidR3_GM.sf2";
// FluidSynth's internal block: events take effect on its boundaries.
inline constexpr uint32_t kSynthBlockFrames = 64;

// How a voice reads its sample between stored points: the largest share of FluidSynth's time.
// jamd defaults to linear, which takes 25 % fewer instructions per period than FluidSynth's own
// default, 4th order (callgrind, 32 dense parts: docs/PERFORMANCE.md), and is what brings the
// RT callback under its target; 4th order is a little cleaner on notes pitched far above their
// sample (less aliasing), worth it for an offline render.
enum class Interpolation { kNone = 0, kLinear = 1, kFourthOrder = 4, kSeventhOrder = 7 };

struct SynthOptions {
  // "default" (or empty): Debian's TimGM6mb; "fluidr3": FluidR3_GM when installed; else a path.
  std::string soundfont = "default";
  uint32_t sample_rate_hz = 48000;
  // Voices; past it FluidSynth steals (released voices first). It bounds the RT callback's
  // worst case, which grows with it: at 128, 32 dense parts stay near 25 % of a 64-frame period
  // (at 256 they took ~40 %), and 8 dense parts (~120 voices) barely reach it
  // (docs/PERFORMANCE.md). GM sound modules offer 64 to 128.
  int polyphony = 128;
  float gain = 0.4f;  // master gain; 0.4 keeps a dense five-part band below clipping
  Interpolation interpolation = Interpolation::kLinear;
  // The band's own effects, applied to the mix by Band (FluidSynth's are always off: they
  // allocate on the RT thread in Debian's OpenMP build).
  ReverbSettings reverb{};
  ChorusSettings chorus{};
};

// The .sf2 path a SoundFont name means, or a one-line error saying what to install or pass.
absl::StatusOr<std::string> resolve_soundfont(std::string_view name);

class Synth {
 public:
  static absl::StatusOr<std::unique_ptr<Synth>> create(const SynthOptions& options);

  Synth(const Synth&) = delete;
  Synth& operator=(const Synth&) = delete;

  // Applies a channel message (note on/off, control or program change, pitch bend, pressure).
  void handle(const MidiMessage& message);  // thread: rt
  // Renders n_frames of float stereo, adding nothing: the buffers are overwritten.
  void render(float* left, float* right, uint32_t n_frames);  // thread: rt
  // Voices sounding now (a snapshot for tests and meters).
  int active_voices() const;  // thread: rt, or while the RT thread is stopped

  const std::string& soundfont_path() const { return soundfont_path_; }
  uint32_t sample_rate_hz() const { return options_.sample_rate_hz; }
  // The options it was created with (Band reads the effect settings from here).
  const SynthOptions& options() const { return options_; }

 private:
  Synth() = default;

  FluidSettingsPtr settings_;  // outlives synth_ (members are destroyed in reverse order)
  FluidSynthPtr synth_;
  std::string soundfont_path_;
  SynthOptions options_;
};

}  // namespace jamd::realtime
