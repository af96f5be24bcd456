// AudioFrontEnd: the listener's audio DSP. Mixes input to mono, resamples it to the analysis
// rate (libsamplerate), and per analysis hop computes onset strength (log spectral flux), level,
// chroma and bass chroma (aubio's phase vocoder), onsets (aubio_onset) and monophonic notes
// (aubio's fast YIN pitch, turned into notes here).
//
//   AudioFrontEnd fe({.input_rate_hz = 48000});
//   fe.feed(left, right, [&](const AudioHop& hop) { ... });   // once per analysis hop
//
// Thread safety: one owner thread (the listener thread); never on the RT thread (it allocates
// at construction and resamples).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "realtime/listen/harmony.h"

namespace jamd::realtime {

inline constexpr uint32_t kAnalysisRateHz = 22050;
inline constexpr uint32_t kAnalysisHopSamples = 256;  // 11.6 ms at 22.05 kHz

struct AudioFrontEndOptions {
  uint32_t input_rate_hz = 48000;
  float silence_dbfs = -55.0f;  // below this level a hop is quiet
};

// A note the pitch tracker heard; times are analysis samples.
struct HeardNote {
  bool on = true;  // false: note off
  int pitch = 0;
  int velocity = 0;
  double sample = 0;  // when it started (on) or ended (off)
  float confidence = 0;
};

struct AudioHop {
  int64_t index = 0;      // hop number since start
  double end_sample = 0;  // analysis-rate sample where the hop ends
  float onset_strength = 0;
  float level_dbfs = -120;
  Chroma chroma{};  // 65 Hz .. 2.1 kHz
  Chroma bass{};    // 55 .. 200 Hz
  bool onset = false;
  double onset_sample = 0;  // analysis-rate sample of the onset (aubio corrects its own delay)
  std::vector<HeardNote> notes;
  // What the pitch trackers heard (MIDI pitch, 0 none; YIN confidence): the long and the short
  // window, and the one-hop window. For analysis tools; the notes above are what they mean.
  float pitch_midi = 0, pitch_confidence = 0;
  float early_pitch_midi = 0, early_pitch_confidence = 0;
  float first_pitch_midi = 0, first_pitch_confidence = 0;
  bool notes_only = false;  // finish(): carries the last note-off, no new audio
};

class AudioFrontEnd {
 public:
  explicit AudioFrontEnd(const AudioFrontEndOptions& options);
  ~AudioFrontEnd();
  AudioFrontEnd(const AudioFrontEnd&) = delete;
  AudioFrontEnd& operator=(const AudioFrontEnd&) = delete;

  // Input frames; right may be empty (mono). Calls on_hop for each complete analysis hop.
  void feed(std::span<const float> left, std::span<const float> right,
            const std::function<void(const AudioHop&)>& on_hop);  // thread: listener
  // Ends a sounding note (end of input). thread: listener
  void finish(const std::function<void(const AudioHop&)>& on_hop);

  // Analysis samples per input frame.
  double ratio() const { return ratio_; }

 private:
  struct Aubio;
  void process_hop(const std::function<void(const AudioHop&)>& on_hop);
  struct Pitch {
    float midi = 0;  // 0: none
    float confidence = 0;
  };
  // heard: the long pitch window (steady, follows the note); early: the short one (decides a
  // new note's pitch as soon as it is heard).
  void track_notes(AudioHop& hop, Pitch heard, Pitch early, Pitch first);
  // A pitch the note decision may take at an onset: confident, and not the note before still
  // ringing in the window (or the common fundamental of the old and the new note).
  bool new_pitch(Pitch candidate, float min_confidence) const;
  void end_note(AudioHop& hop, double sample);
  void detect_note_onset(const AudioHop& hop);

  AudioFrontEndOptions options_;
  double ratio_;
  std::unique_ptr<Aubio> aubio_;
  float dc_pole_;
  float dc_in_ = 0, dc_out_ = 0;  // the DC blocker's last input and output
  bool dc_primed_ = false;
  std::vector<float> mono_;
  std::vector<float> resampled_;
  std::vector<float> pending_;  // analysis samples not yet a full hop
  std::vector<float> last_log_mag_;
  std::vector<double> local_sum_;
  std::vector<int8_t> bin_pc_;
  std::vector<float> bin_weight_;
  std::vector<int8_t> bass_pc_;
  int64_t hop_index_ = 0;
  // Note tracking.
  static constexpr size_t kRiseHops = 8;
  float recent_strength_[kRiseHops] = {};  // onset strength, newest first
  float strength_level_ = 0;
  bool note_onset_ = false;
  bool armed_ = true;  // a new note onset may start (the last one's peak has passed)
  double note_onset_sample_ = 0;
  // The level of recent hops, newest first, for onsets that swell rather than strike (a flute
  // re-articulating); armed while the level is in a dip.
  static constexpr size_t kLevelHops = 12;
  float recent_level_[kLevelHops];
  bool level_armed_ = false;
  float level_since_onset_ = -120.0f;  // the highest level since the last onset
  bool onset_after_dip_ = false;       // this hop's onset is a swell after a dip
  bool dip_onset_ = false;             // the pending onset's: the same pitch again is a new note
  int note_pitch_ = -1;                // sounding note, -1 none
  int pending_onset_frames_ = -1;      // hops since an onset whose pitch is being collected
  double pending_onset_sample_ = 0;
  int last_voiced_pitch_ = -1;
  int ringing_pitch_ = -1;   // the pitch before an onset, maybe still in the pitch window
  int correcting_hops_ = 0;  // hops left in which an early pitch decision may be corrected
  int correction_pitch_ = -1;
  int unvoiced_frames_ = 0;
  int changed_frames_ = 0;
  int changed_pitch_ = -1;
  double changed_since_ = 0;
};

}  // namespace jamd::realtime
