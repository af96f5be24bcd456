// Test helpers: WAV reading with libsndfile and two simple onset detectors.
#include "tests/realtime/synth/wav_analysis.h"

#include <sndfile.h>

#include <cmath>

namespace jamd::realtime {

WavData read_wav(const std::string& path) {
  WavData wav;
  SF_INFO info{};
  SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
  if (f == nullptr) return wav;
  std::vector<float> interleaved(static_cast<size_t>(info.frames) * info.channels);
  const sf_count_t got = sf_readf_float(f, interleaved.data(), info.frames);
  sf_close(f);
  wav.sample_rate_hz = info.samplerate;
  wav.n_channels = info.channels;
  wav.mono.resize(static_cast<size_t>(got));
  for (sf_count_t i = 0; i < got; ++i) {
    float sum = 0;
    for (int c = 0; c < info.channels; ++c) sum += interleaved[i * info.channels + c];
    wav.mono[i] = sum / info.channels;
  }
  return wav;
}

std::vector<int64_t> onsets_after_silence(const std::vector<float>& mono, float threshold,
                                          int64_t min_gap_frames) {
  std::vector<int64_t> onsets;
  int64_t quiet_frames = min_gap_frames;  // the start counts as silence
  for (size_t i = 0; i < mono.size(); ++i) {
    if (std::fabs(mono[i]) >= threshold) {
      if (quiet_frames >= min_gap_frames) onsets.push_back(static_cast<int64_t>(i));
      quiet_frames = 0;
    } else {
      ++quiet_frames;
    }
  }
  return onsets;
}

std::vector<int64_t> onsets_by_energy_rise(const std::vector<float>& mono, double rise,
                                           int history_hops) {
  constexpr size_t kHop = 64;
  constexpr double kFloor = 1e-7;  // mean square: about -70 dBFS
  std::vector<double> energy;
  for (size_t start = 0; start + kHop <= mono.size(); start += kHop) {
    double e = 0;
    for (size_t i = start; i < start + kHop; ++i) e += static_cast<double>(mono[i]) * mono[i];
    energy.push_back(e / kHop);
  }
  std::vector<int64_t> onsets;
  for (size_t h = 0; h < energy.size(); ++h) {
    double before = 0;
    int n = 0;
    for (size_t k = h >= static_cast<size_t>(history_hops) ? h - history_hops : 0; k < h; ++k) {
      before += energy[k];
      ++n;
    }
    before = n > 0 ? before / n : 0.0;
    const bool rose = energy[h] > kFloor && energy[h] > rise * before;
    // One onset per rise: skip hops that continue the same attack.
    if (rose && (onsets.empty() || static_cast<int64_t>(h * kHop) - onsets.back() >
                                       static_cast<int64_t>(history_hops * kHop))) {
      onsets.push_back(static_cast<int64_t>(h * kHop));
    }
  }
  return onsets;
}

}  // namespace jamd::realtime
