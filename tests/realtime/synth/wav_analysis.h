// Test helpers: read a WAV back, and find note onsets in it from its energy.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace jamd::realtime {

struct WavData {
  int sample_rate_hz = 0;
  int n_channels = 0;
  std::vector<float> mono;  // the channels averaged
};

// Empty mono (and sample_rate_hz 0) when the file cannot be read.
WavData read_wav(const std::string& path);

// The first frame of each sound that rises out of near-silence: a frame whose level crosses
// `threshold` after at least `min_gap_frames` frames below it.
std::vector<int64_t> onsets_after_silence(const std::vector<float>& mono, float threshold,
                                          int64_t min_gap_frames);

// Onsets by energy rise, robust to reverb tails: the first frame of a 64-frame hop whose energy
// is `rise` times the mean of the previous `history_hops` hops (and above a floor).
std::vector<int64_t> onsets_by_energy_rise(const std::vector<float>& mono, double rise,
                                           int history_hops);

}  // namespace jamd::realtime
