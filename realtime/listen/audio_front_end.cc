// The listener's audio DSP: resampling, spectral flux, chroma, aubio onsets and pitch, and the
// pitch-to-note logic.
#include "realtime/listen/audio_front_end.h"

#include <aubio/aubio.h>
#include <samplerate.h>

#include <algorithm>
#include <cassert>
#include <cmath>

namespace jamd::realtime {
namespace {

constexpr uint32_t kFluxWindow = 1024;    // 46 ms: onsets sharp enough for beats
constexpr uint32_t kChromaWindow = 4096;  // 186 ms: 5.4 Hz bins, a semitone apart from ~90 Hz
constexpr uint32_t kPitchWindow = 1024;   // 46 ms: YIN down to ~45 Hz, mostly the new note
// 23 ms: YIN down to ~86 Hz, all new note a hop after the onset: the early pitch decision.
constexpr uint32_t kEarlyPitchWindow = 512;
// 11.6 ms: one hop, all new note in the onset's own hop; YIN down to ~172 Hz only, so it decides
// notes above kFirstPitchLowestMidi (F3, with a margin) and leaves lower ones to the others.
constexpr uint32_t kFirstPitchWindow = 256;
constexpr float kFirstPitchLowestMidi = 55.0f;
// aubio 0.4.9's YIN-FFT reports no confidence; fast YIN does (1 - the dip of its difference
// function), with this tolerance on the dip.
constexpr float kPitchTolerance = 0.3f;
constexpr double kDcCutoffHz = 10.0;
constexpr float kChromaLowHz = 100.0f, kChromaHighHz = 2100.0f;
constexpr float kBassLowHz = 80.0f, kBassHighHz = 250.0f;
// The spectral floor under a bin: the mean over +-12 bins (+-65 Hz), times this factor.
constexpr uint32_t kFloorBins = 12;
constexpr float kFloorFactor = 1.5f;
constexpr float kFluxCompression = 100.0f;  // log(1 + 100 |X|): soft notes count too
// Bass notes and kicks mark beats more often than upper voices: flux below this weighs more.
constexpr float kBassFluxHz = 300.0f;
constexpr float kBassFluxWeight = 10.0f;
// Pitch to notes: a note starts on the first hop where the onset strength rises well above its
// recent level (~23 ms after the sound starts), and the short pitch window's first confident
// pitch there decides it (~35-45 ms from the sound to the note); the long window corrects it if
// a different pitch holds in the hops just after. Hops the long window may take to decide when
// the short one hears only the note before, the hops a correction may come in, the YIN
// confidence a note needs, and how many hops of unvoiced or different pitch end it.
constexpr int kNoteDecisionHops = 2;
constexpr int kCorrectionHops = 5;
constexpr float kVoicedConfidence = 0.85f;
constexpr int kUnvoicedHopsToEnd = 3;
constexpr int kChangedHopsToRestart = 4;
// Note onsets: a peak this many times the smoothed onset strength (time constant ~0.3 s), and
// where the sound began relative to the peak (half the flux window).
constexpr float kNoteOnsetRatio = 2.5f;
constexpr float kLevelSmoothing = 0.04f;
constexpr double kFluxPeakDelaySamples = 512;
constexpr float kRiseFloor = 0.25f;  // the rise starts where the strength passes this share
// Swells: the level rising this much above the last kDipHops' minimum, after falling this far
// below the recent maximum, starts a note too (a flute's soft attack barely moves the flux).
constexpr float kSwellRiseDb = 3.0f;
constexpr float kSwellDipDb = 5.0f;
constexpr size_t kDipHops = 4;
// The one-hop window hears only the new note at its onset but is noisier: a lower confidence
// decides there, and a later hop's long window may still correct it.
constexpr float kFirstPitchConfidence = 0.75f;
// A mix of the old and the new note in one window can look periodic at their common
// fundamental: a candidate an integer ratio (2..8) below the ringing note, within this many
// semitones, is not taken.
constexpr float kSubharmonicToleranceSemitones = 0.4f;

float pitch_of_hz(float hz) { return 69.0f + 12.0f * std::log2(hz / 440.0f); }

template <typename T, void (*Del)(T*)>
struct AubioPtr {
  T* p = nullptr;
  AubioPtr() = default;
  explicit AubioPtr(T* q) : p(q) { assert(p != nullptr); }
  AubioPtr(AubioPtr&& o) noexcept : p(o.p) { o.p = nullptr; }
  AubioPtr& operator=(AubioPtr&& o) noexcept {
    std::swap(p, o.p);
    return *this;
  }
  ~AubioPtr() {
    if (p) Del(p);
  }
  T* get() const { return p; }
};

// The magnitude spectrum of the last `window` samples, slid by one hop a call: aubio_pvoc_do
// without the phase. The phase vocoder also computes every bin's phase (atan2f: ~18 % of the
// listener's CPU) that nothing here reads. The window ("hanningz"), the zero-phase shift and the
// FFT are aubio's own, in the same order, so the magnitudes are the phase vocoder's.
class MagnitudeSpectrum {
 public:
  MagnitudeSpectrum(uint32_t window, uint32_t hop)
      : hop_(hop), history_(window, 0.0f), fft_(new_aubio_fft(window)) {
    assert(window % 2 == 0);
    char window_type[] = "hanningz";
    window_ = AubioPtr<fvec_t, del_fvec>(new_aubio_window(window_type, window));
  }
  const cvec_t* slide(const fvec_t* hop) {
    assert(hop->length == hop_);
    std::copy(history_.begin() + hop_, history_.end(), history_.begin());
    std::copy(hop->data, hop->data + hop_, history_.end() - hop_);
    // Windowed, and its halves swapped (aubio's fvec_shift: zero phase at the window's centre).
    const size_t n = history_.size(), half = n / 2;
    for (size_t j = 0; j < n; ++j) {
      const size_t from = (j + half) % n;
      frame_.get()->data[j] = history_[from] * window_.get()->data[from];
    }
    aubio_fft_do_complex(fft_.get(), frame_.get(), spectrum_.get());
    aubio_fft_get_norm(spectrum_.get(), grain_.get());
    return grain_.get();
  }

 private:
  uint32_t hop_;
  std::vector<float> history_;
  AubioPtr<aubio_fft_t, del_aubio_fft> fft_;
  AubioPtr<fvec_t, del_fvec> window_;
  AubioPtr<fvec_t, del_fvec> frame_{new_fvec(static_cast<uint_t>(history_.size()))};
  AubioPtr<fvec_t, del_fvec> spectrum_{new_fvec(static_cast<uint_t>(history_.size()))};
  AubioPtr<cvec_t, del_cvec> grain_{new_cvec(static_cast<uint_t>(history_.size()))};
};

}  // namespace

// The aubio and libsamplerate handles, each released exactly once.
struct AudioFrontEnd::Aubio {
  MagnitudeSpectrum flux_spectrum{kFluxWindow, kAnalysisHopSamples};
  MagnitudeSpectrum chroma_spectrum{kChromaWindow, kAnalysisHopSamples};
  AubioPtr<aubio_onset_t, del_aubio_onset> onset{
      new_aubio_onset("default", kFluxWindow, kAnalysisHopSamples, kAnalysisRateHz)};
  AubioPtr<aubio_pitch_t, del_aubio_pitch> pitch{
      new_aubio_pitch("yinfast", kPitchWindow, kAnalysisHopSamples, kAnalysisRateHz)};
  AubioPtr<aubio_pitch_t, del_aubio_pitch> early_pitch{
      new_aubio_pitch("yinfast", kEarlyPitchWindow, kAnalysisHopSamples, kAnalysisRateHz)};
  AubioPtr<aubio_pitch_t, del_aubio_pitch> first_pitch{
      new_aubio_pitch("yinfast", kFirstPitchWindow, kAnalysisHopSamples, kAnalysisRateHz)};
  AubioPtr<fvec_t, del_fvec> hop{new_fvec(kAnalysisHopSamples)};
  AubioPtr<fvec_t, del_fvec> out{new_fvec(1)};
  SRC_STATE* src = nullptr;
  ~Aubio() {
    if (src) src_delete(src);
  }
};

AudioFrontEnd::AudioFrontEnd(const AudioFrontEndOptions& options)
    : options_(options),
      ratio_(static_cast<double>(kAnalysisRateHz) / options.input_rate_hz),
      aubio_(std::make_unique<Aubio>()),
      dc_pole_(static_cast<float>(
          std::exp(-2.0 * 3.14159265358979 * kDcCutoffHz / options.input_rate_hz))) {
  assert(options.input_rate_hz >= 4000 && options.input_rate_hz <= 768000);
  if (options.input_rate_hz != kAnalysisRateHz) {
    int error = 0;
    aubio_->src = src_new(SRC_SINC_FASTEST, 1, &error);
    assert(aubio_->src != nullptr && "libsamplerate could not start");
  }
  for (aubio_pitch_t* p :
       {aubio_->pitch.get(), aubio_->early_pitch.get(), aubio_->first_pitch.get()}) {
    aubio_pitch_set_unit(p, "Hz");
    aubio_pitch_set_tolerance(p, kPitchTolerance);
    aubio_pitch_set_silence(p, options.silence_dbfs);
  }
  aubio_onset_set_silence(aubio_->onset.get(), options.silence_dbfs);
  aubio_onset_set_minioi_ms(aubio_->onset.get(), 50.0f);
  std::fill(std::begin(recent_level_), std::end(recent_level_), -120.0f);
  last_log_mag_.assign(kFluxWindow / 2 + 1, 0.0f);
  const size_t n_bins = kChromaWindow / 2 + 1;
  bin_pc_.assign(n_bins, -1);
  bin_weight_.assign(n_bins, 0.0f);
  bass_pc_.assign(n_bins, -1);
  for (size_t k = 1; k < n_bins; ++k) {
    const float hz = static_cast<float>(k) * kAnalysisRateHz / kChromaWindow;
    const float p = pitch_of_hz(hz);
    const float nearest = std::round(p);
    const int pc = static_cast<int>(static_cast<int64_t>(nearest) % 12);
    if (hz >= kChromaLowHz && hz <= kChromaHighHz) {
      bin_pc_[k] = static_cast<int8_t>(pc);
      bin_weight_[k] = std::max(0.0f, 1.0f - 2.0f * std::abs(p - nearest));
    }
    if (hz >= kBassLowHz && hz <= kBassHighHz) bass_pc_[k] = static_cast<int8_t>(pc);
  }
}

AudioFrontEnd::~AudioFrontEnd() = default;

void AudioFrontEnd::feed(std::span<const float> left, std::span<const float> right,
                         const std::function<void(const AudioHop&)>& on_hop) {
  assert(right.empty() || right.size() == left.size());
  mono_.resize(left.size());
  for (size_t i = 0; i < left.size(); ++i) {
    const float l = std::isfinite(left[i]) ? left[i] : 0.0f;
    const float r = right.empty() ? l : (std::isfinite(right[i]) ? right[i] : 0.0f);
    // DC blocker (one-pole high-pass at kDcCutoffHz): an offset would hide silence (the level
    // never drops) and leak into the lowest bins.
    const float x = 0.5f * (l + r);
    if (!dc_primed_) dc_in_ = x, dc_primed_ = true;  // an offset from the start is no step
    dc_out_ = x - dc_in_ + dc_pole_ * dc_out_;
    dc_in_ = x;
    mono_[i] = dc_out_;
  }
  if (aubio_->src == nullptr) {
    pending_.insert(pending_.end(), mono_.begin(), mono_.end());
  } else {
    resampled_.resize(static_cast<size_t>(std::ceil(mono_.size() * ratio_)) + 64);
    size_t used = 0;
    while (used < mono_.size()) {
      SRC_DATA data{};
      data.data_in = mono_.data() + used;
      data.input_frames = static_cast<long>(mono_.size() - used);
      data.data_out = resampled_.data();
      data.output_frames = static_cast<long>(resampled_.size());
      data.src_ratio = ratio_;
      data.end_of_input = 0;
      const int error = src_process(aubio_->src, &data);
      assert(error == 0 && "libsamplerate failed on valid input");
      (void)error;
      used += static_cast<size_t>(data.input_frames_used);
      pending_.insert(pending_.end(), resampled_.begin(),
                      resampled_.begin() + data.output_frames_gen);
      if (data.input_frames_used == 0 && data.output_frames_gen == 0) break;
    }
  }
  size_t offset = 0;
  while (pending_.size() - offset >= kAnalysisHopSamples) {
    std::copy_n(pending_.begin() + static_cast<std::ptrdiff_t>(offset), kAnalysisHopSamples,
                aubio_->hop.get()->data);
    offset += kAnalysisHopSamples;
    process_hop(on_hop);
  }
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(offset));
}

void AudioFrontEnd::process_hop(const std::function<void(const AudioHop&)>& on_hop) {
  Aubio& a = *aubio_;
  AudioHop hop;
  hop.index = hop_index_++;
  hop.end_sample = static_cast<double>(hop_index_) * kAnalysisHopSamples;
  const float* x = a.hop.get()->data;
  double energy = 0;
  for (uint32_t i = 0; i < kAnalysisHopSamples; ++i) energy += static_cast<double>(x[i]) * x[i];
  const double rms = std::sqrt(energy / kAnalysisHopSamples);
  hop.level_dbfs = static_cast<float>(20.0 * std::log10(std::max(rms, 1e-6)));

  const cvec_t* g = a.flux_spectrum.slide(a.hop.get());
  double flux = 0;
  const uint32_t bass_bins = static_cast<uint32_t>(kBassFluxHz * kFluxWindow / kAnalysisRateHz);
  for (uint32_t k = 0; k < g->length; ++k) {
    const float lm = std::log1p(kFluxCompression * g->norm[k]);
    flux += (k < bass_bins ? kBassFluxWeight : 1.0f) * std::max(0.0f, lm - last_log_mag_[k]);
    last_log_mag_[k] = lm;
  }
  hop.onset_strength = static_cast<float>(flux / g->length);

  const cvec_t* c = a.chroma_spectrum.slide(a.hop.get());
  // Only what stands above the local spectral floor counts: partials, not noise.
  local_sum_.resize(c->length + 1);
  local_sum_[0] = 0;
  for (uint32_t k = 0; k < c->length; ++k) local_sum_[k + 1] = local_sum_[k] + c->norm[k];
  for (uint32_t k = 0; k < c->length; ++k) {
    if (bin_pc_[k] < 0 && bass_pc_[k] < 0) continue;
    const uint32_t lo = k > kFloorBins ? k - kFloorBins : 0;
    const uint32_t hi = std::min<uint32_t>(c->length, k + kFloorBins + 1);
    const float floor = static_cast<float>((local_sum_[hi] - local_sum_[lo]) / (hi - lo));
    const float peak = std::max(0.0f, c->norm[k] - kFloorFactor * floor);
    if (bin_pc_[k] >= 0) hop.chroma[static_cast<size_t>(bin_pc_[k])] += bin_weight_[k] * peak;
    if (bass_pc_[k] >= 0) hop.bass[static_cast<size_t>(bass_pc_[k])] += peak;
  }

  aubio_onset_do(a.onset.get(), a.hop.get(), a.out.get());
  if (a.out.get()->data[0] > 0) {
    hop.onset = true;
    hop.onset_sample = static_cast<double>(aubio_onset_get_last(a.onset.get()));
  }
  detect_note_onset(hop);
  aubio_pitch_do(a.pitch.get(), a.hop.get(), a.out.get());
  const float hz = a.out.get()->data[0];
  const float confidence = aubio_pitch_get_confidence(a.pitch.get());
  const float pitch = hz > 20.0f ? pitch_of_hz(hz) : 0.0f;
  aubio_pitch_do(a.early_pitch.get(), a.hop.get(), a.out.get());
  const float early_hz = a.out.get()->data[0];
  const Pitch early{early_hz > 20.0f ? pitch_of_hz(early_hz) : 0.0f,
                    aubio_pitch_get_confidence(a.early_pitch.get())};
  aubio_pitch_do(a.first_pitch.get(), a.hop.get(), a.out.get());
  const float first_hz = a.out.get()->data[0];
  Pitch first{first_hz > 20.0f ? pitch_of_hz(first_hz) : 0.0f,
              aubio_pitch_get_confidence(a.first_pitch.get())};
  if (first.midi < kFirstPitchLowestMidi) first = {};
  hop.first_pitch_midi = first.midi, hop.first_pitch_confidence = first.confidence;
  hop.pitch_midi = pitch, hop.pitch_confidence = confidence;
  hop.early_pitch_midi = early.midi, hop.early_pitch_confidence = early.confidence;
  if (hop.level_dbfs < options_.silence_dbfs) {
    track_notes(hop, {}, {}, {});
  } else {
    track_notes(hop, {pitch, confidence}, early, first);
  }
  on_hop(hop);
}

// The onset strength rising well above its recent level starts a note, on the first hop of
// the rise that passes the threshold (not at the peak a hop or two later); the next onset waits
// until the strength has fallen past that peak. The note began where the rise began (a flute
// or a bowed note swells for 50 ms+).
void AudioFrontEnd::detect_note_onset(const AudioHop& hop) {
  const float now = hop.onset_strength;
  note_onset_ = armed_ && now > recent_strength_[0] && now > kNoteOnsetRatio * strength_level_ &&
                hop.level_dbfs >= options_.silence_dbfs;
  if (note_onset_) {
    armed_ = false;
    size_t back = 0;  // hops before this one where the rise began
    float later = now;
    while (back < kRiseHops && recent_strength_[back] < later &&
           recent_strength_[back] > kRiseFloor * now) {
      later = recent_strength_[back++];
    }
    note_onset_sample_ =
        hop.end_sample - static_cast<double>(back * kAnalysisHopSamples) - kFluxPeakDelaySamples;
  } else if (!armed_ && now < recent_strength_[0]) {
    armed_ = true;  // past the peak
  }
  // A swell after a dip: the level rises kSwellRiseDb over the dip's floor.
  const float level = hop.level_dbfs;
  const float dip = *std::min_element(recent_level_, recent_level_ + kDipHops);
  const float peak = *std::max_element(recent_level_, recent_level_ + kLevelHops);
  onset_after_dip_ = false;
  if (!note_onset_ && level_armed_ && level - dip >= kSwellRiseDb && peak - dip >= kSwellDipDb &&
      level >= options_.silence_dbfs) {
    note_onset_ = true;
    onset_after_dip_ = true;
    note_onset_sample_ = hop.end_sample - kAnalysisHopSamples;  // the rise began in this hop
  }
  // Armed again once the level has fallen well below its peak since the last onset.
  if (note_onset_) {
    level_armed_ = false;
    level_since_onset_ = level;
  }
  level_since_onset_ = std::max(level_since_onset_, level);
  if (level <= level_since_onset_ - kSwellDipDb) level_armed_ = true;
  strength_level_ += kLevelSmoothing * (now - strength_level_);
  for (size_t i = kRiseHops - 1; i > 0; --i) recent_strength_[i] = recent_strength_[i - 1];
  recent_strength_[0] = now;
  for (size_t i = kLevelHops - 1; i > 0; --i) recent_level_[i] = recent_level_[i - 1];
  recent_level_[0] = level;
}

bool AudioFrontEnd::new_pitch(Pitch candidate, float min_confidence) const {
  if (candidate.midi <= 0 || candidate.confidence < min_confidence) return false;
  const int p = static_cast<int>(std::lround(candidate.midi));
  if (ringing_pitch_ < 0) return true;
  if (p == ringing_pitch_) return dip_onset_;  // the same note again, after it faded
  const float below = static_cast<float>(ringing_pitch_) - candidate.midi;
  for (int n = 2; n <= 8; ++n) {
    if (std::abs(below - 12.0f * std::log2(static_cast<float>(n))) <
        kSubharmonicToleranceSemitones) {
      return false;
    }
  }
  return true;
}

void AudioFrontEnd::end_note(AudioHop& hop, double sample) {
  if (note_pitch_ < 0) return;
  hop.notes.push_back({false, note_pitch_, 0, sample, 1.0f});
  note_pitch_ = -1;
}

void AudioFrontEnd::track_notes(AudioHop& hop, Pitch heard, Pitch early, Pitch first) {
  const float pitch = heard.midi, confidence = heard.confidence;
  const bool voiced = pitch > 0 && confidence >= kVoicedConfidence;
  const int velocity =
      std::clamp(static_cast<int>((hop.level_dbfs + 60.0f) * 127.0f / 60.0f), 1, 127);
  const int p = voiced ? static_cast<int>(std::lround(pitch)) : -1;
  if (note_onset_) {
    ringing_pitch_ = last_voiced_pitch_;
    dip_onset_ = onset_after_dip_;
    end_note(hop, note_onset_sample_);
    pending_onset_frames_ = 0;
    pending_onset_sample_ = note_onset_sample_;
    correcting_hops_ = 0;
  }
  if (voiced) last_voiced_pitch_ = p;  // after the onset took the pitch before it
  if (pending_onset_frames_ >= 0) {
    // The one-hop window's first confident new pitch decides the note at once, else the short
    // window's; a pitch the old note may explain (still ringing through the window, or their
    // common fundamental) waits for the long window, a few hops later.
    ++pending_onset_frames_;
    const bool decide_first = new_pitch(first, kFirstPitchConfidence);
    const bool decide_early = decide_first || new_pitch(early, kVoicedConfidence);
    if (decide_early || (voiced && pending_onset_frames_ > kNoteDecisionHops)) {
      pending_onset_frames_ = -1;
      const Pitch chosen = decide_first ? first : decide_early ? early : heard;
      note_pitch_ = static_cast<int>(std::lround(chosen.midi));
      hop.notes.push_back({true, note_pitch_, velocity, pending_onset_sample_, chosen.confidence});
      unvoiced_frames_ = changed_frames_ = 0;
      correcting_hops_ = kCorrectionHops;
      correction_pitch_ = -1;
    } else if (pending_onset_frames_ > kNoteDecisionHops) {  // nothing confident: no note
      pending_onset_frames_ = -1;
    }
    return;
  }
  if (correcting_hops_ > 0) {
    // Early decisions are corrected: in the hops right after the onset, a different pitch that
    // the short and the one-hop window agree on, or that the long window holds for two hops,
    // replaces the note, from the same onset.
    --correcting_hops_;
    const int e =
        new_pitch(early, kVoicedConfidence) ? static_cast<int>(std::lround(early.midi)) : -1;
    const bool windows_agree = e >= 0 && e != note_pitch_ &&
                               first.confidence >= kVoicedConfidence &&
                               std::lround(first.midi) == e;
    if (windows_agree || (voiced && p != note_pitch_ && note_pitch_ >= 0)) {
      const int to = windows_agree ? e : p;
      if (windows_agree || p == correction_pitch_) {
        hop.notes.push_back({false, note_pitch_, 0, pending_onset_sample_, 1.0f});
        note_pitch_ = to;
        hop.notes.push_back({true, to, velocity, pending_onset_sample_,
                             windows_agree ? early.confidence : confidence});
        correcting_hops_ = 0;
      }
      correction_pitch_ = p;
      return;
    }
    correction_pitch_ = -1;
  }
  if (!voiced) {
    changed_frames_ = 0;
    if (note_pitch_ >= 0 && ++unvoiced_frames_ >= kUnvoicedHopsToEnd) {
      end_note(hop, hop.end_sample - kUnvoicedHopsToEnd * kAnalysisHopSamples);
    }
    return;
  }
  unvoiced_frames_ = 0;
  if (p == note_pitch_) {
    changed_frames_ = 0;
    return;
  }
  // A new pitch without an onset: legato, a slide, or a soft attack aubio missed.
  if (changed_frames_ == 0 || p != changed_pitch_) {
    changed_pitch_ = p;
    changed_frames_ = 0;
    changed_since_ = hop.end_sample - kAnalysisHopSamples;
  }
  if (++changed_frames_ >= kChangedHopsToRestart) {
    end_note(hop, changed_since_);
    note_pitch_ = p;
    hop.notes.push_back({true, p, velocity, changed_since_, confidence});
    changed_frames_ = 0;
  }
}

void AudioFrontEnd::finish(const std::function<void(const AudioHop&)>& on_hop) {
  AudioHop hop;
  hop.index = hop_index_;
  hop.notes_only = true;
  hop.end_sample = static_cast<double>(hop_index_) * kAnalysisHopSamples;
  end_note(hop, hop.end_sample);
  if (!hop.notes.empty()) on_hop(hop);
}

}  // namespace jamd::realtime
