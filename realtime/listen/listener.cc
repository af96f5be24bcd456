// The listener: merges the audio front end and the MIDI input into one analysis clock, runs the
// beat tracker, decides a chord per beat and the key, and tells silence apart from music.
#include "realtime/listen/listener.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace jamd::realtime {
namespace {

// The log-flux onset strength peaks when a new sound reaches the middle of the 1024-sample flux
// window, 512 analysis samples after it starts; the 4096-sample chroma window is centred 2048
// samples behind the hop's end, 6 hops behind the onset strength.
constexpr double kOnsetStrengthDelaySamples = 512;
constexpr int kChromaLagHops = 6;
// MIDI notes of the chord before may still be held in the beat's first hop (a beat estimate a
// few ms early): the beat's MIDI chroma starts one hop (11.6 ms) in.
constexpr int kMidiLagHops = 1;
constexpr int kFullChordPitchClasses = 3;  // struck together: a chord, not a line
// Before the pulse is known, a MIDI chord is the notes struck within this many hops (23 ms) of
// its first note-on: a hand's spread, not an arpeggio's next note.
constexpr int kStrikeHops = 2;
constexpr size_t kHistoryHops = 1024;       // 11.9 s of hop records
constexpr double kClockTimeoutS = 0.5;      // MIDI clock this quiet has stopped
constexpr int kClocksPerBeat = 24;          // MIDI beat clock: 24 per quarter note
constexpr double kQuietBeatFraction = 0.6;  // a beat this quiet has no chord
// Harmonic change compares pitch content over windows this long: longer than an arpeggio's
// notes, shorter than most chords.
constexpr double kHarmonyWindowS = 0.6;
constexpr float kBassMemory = 0.5f;          // per beat
constexpr float kKeyConfidenceNews = 0.25f;  // the same key this much surer (or less): emitted
constexpr int kMidiBassBelowKey = 60;        // middle C; the audio bass chroma stops at 250 Hz (B3)

HeardEvent make_event(HeardKind kind, HeardSource source, int64_t frame, int64_t decided_frame,
                      float confidence) {
  HeardEvent e;
  e.kind = kind;
  e.source = source;
  e.frame = frame;
  e.decided_frame = decided_frame;
  e.confidence = confidence;
  return e;
}

}  // namespace

void Listener::push(HeardKind kind, HeardSource source, int64_t frame, int64_t decided_frame,
                    float confidence) {
  events_.push_back(make_event(kind, source, frame, decided_frame, confidence));
}

Listener::Listener(const ListenerOptions& options)
    : options_(options),
      hop_frames_(static_cast<double>(kAnalysisHopSamples) * options.sample_rate_hz /
                  kAnalysisRateHz),
      delay_frames_(kOnsetStrengthDelaySamples * options.sample_rate_hz / kAnalysisRateHz),
      audio_(std::make_unique<AudioFrontEnd>(AudioFrontEndOptions{
          .input_rate_hz = options.sample_rate_hz, .silence_dbfs = options.silence_dbfs})),
      tracker_([&] {
        BeatTrackerOptions b = options.beat;
        b.frame_rate_hz = static_cast<double>(kAnalysisRateHz) / kAnalysisHopSamples;
        return b;
      }()),
      history_(kHistoryHops) {
  assert(options.chord_decision_beats > 0 && options.chord_decision_beats <= 1.0);
  assert(options.chord_full_decision_beats > 0);
  events_.reserve(256);
}

Listener::~Listener() = default;

double Listener::frame_of_t(double t) const {
  return static_cast<double>(options_.origin_frame) + (t + 1) * hop_frames_ - delay_frames_;
}
double Listener::t_of_frame(double frame) const {
  return (frame - static_cast<double>(options_.origin_frame) + delay_frames_) / hop_frames_ - 1;
}
int64_t Listener::frame_of_hop_end(int64_t hop_index) const {
  return options_.origin_frame +
         static_cast<int64_t>(std::llround(static_cast<double>(hop_index + 1) * hop_frames_));
}
int64_t Listener::frames_heard() const {
  return options_.origin_frame +
         static_cast<int64_t>(std::llround(static_cast<double>(hops_) * hop_frames_));
}
bool Listener::midi_active(int64_t hop_index) const {
  const double hop_s = static_cast<double>(kAnalysisHopSamples) / kAnalysisRateHz;
  return static_cast<double>(hop_index - last_midi_note_hop_) * hop_s <= options_.midi_active_s;
}
double Listener::tempo_bpm() const {
  if (clock_beats_ && clock_frames_.size() >= 2) {
    const double span = static_cast<double>(clock_frames_.back() - clock_frames_.front());
    return 60.0 * options_.sample_rate_hz * static_cast<double>(clock_frames_.size() - 1) /
           (kClocksPerBeat * span);
  }
  return tracker_.tempo_bpm();
}

std::vector<HeardEvent> Listener::drain() {
  std::vector<HeardEvent> out;
  out.swap(events_);
  events_.reserve(256);
  return out;
}

void Listener::feed_midi(std::span<const TimedMidiMessage> messages) {
  for (const TimedMidiMessage& m : messages) {
    const uint8_t status = m.message.bytes[0];
    const int64_t frame = static_cast<int64_t>(m.frame);
    if (status == 0xF8 || status == 0xFA || status == 0xFB || status == 0xFC) {
      handle_clock(m);
      continue;
    }
    const uint8_t type = status & 0xF0;
    if ((type != 0x90 && type != 0x80) || m.message.size < 3) continue;
    const int key = m.message.bytes[1] & 0x7F;
    const int velocity = m.message.bytes[2] & 0x7F;
    HeardEvent e;
    e.source = HeardSource::kMidi;
    e.frame = frame;
    e.decided_frame = frame;
    e.confidence = 1.0f;
    e.pitch = key;
    e.kind = (type == 0x90 && velocity > 0) ? HeardKind::kNoteOn : HeardKind::kNoteOff;
    e.velocity = e.kind == HeardKind::kNoteOn ? velocity : 0;
    push(e);
    midi_queue_.push_back(m);
  }
}

void Listener::handle_clock(const TimedMidiMessage& m) {
  const uint8_t status = m.message.bytes[0];
  const int64_t frame = static_cast<int64_t>(m.frame);
  const double timeout = kClockTimeoutS * options_.sample_rate_hz;
  if (status == 0xFA) {  // start: the next clock is beat one
    clock_count_ = 0;
    clock_frames_.clear();
    return;
  }
  if (status == 0xFC) {  // stop
    if (clock_beats_) push(HeardKind::kNoBeat, HeardSource::kMidiClock, frame, frame, 1.0f);
    clock_beats_ = false;
    return;
  }
  if (status != 0xF8) return;  // continue (0xFB) resumes counting where it was
  if (last_clock_frame_ >= 0 && static_cast<double>(frame - last_clock_frame_) > timeout) {
    clock_count_ = 0;
    clock_frames_.clear();
  }
  last_clock_frame_ = frame;
  clock_frames_.push_back(frame);
  if (clock_frames_.size() > kClocksPerBeat + 1) clock_frames_.pop_front();
  if (clock_count_++ % kClocksPerBeat != 0) return;
  if (!clock_beats_) clock_beat_index_ = 0;
  clock_beats_ = true;
  const double tempo = tempo_bpm();
  HeardEvent e = make_event(HeardKind::kBeat, HeardSource::kMidiClock, frame, frame,
                            clock_frames_.size() > 1 ? 1.0f : 0.5f);
  e.tempo_bpm = static_cast<float>(tempo);
  e.beat_index = clock_beat_index_++;
  push(e);
  if (tempo > 0) {
    const double period = 60.0 * options_.sample_rate_hz / tempo / hop_frames_;
    pending_chords_.push_back(
        {t_of_frame(static_cast<double>(frame)), period, e.beat_index, HeardSource::kMidiClock});
  }
}

void Listener::feed_audio(std::span<const float> left, std::span<const float> right) {
  audio_->feed(left, right, [this](const AudioHop& hop) { on_audio_hop(hop); });
}

void Listener::advance_to(int64_t frame) {
  while (frame_of_hop_end(hops_) <= frame) process_hop(nullptr);
}

void Listener::finish() {
  audio_->finish([this](const AudioHop& hop) { on_audio_hop(hop); });
  decide_chords(hops_, /*flush=*/true);
}

void Listener::on_audio_hop(const AudioHop& hop) {
  const double to_frames = 1.0 / audio_->ratio();
  const auto frame_of_sample = [&](double sample) {
    return options_.origin_frame + static_cast<int64_t>(std::llround(sample * to_frames));
  };
  const int64_t now = frame_of_sample(hop.end_sample);
  if (hop.onset && !hop.notes_only) {
    HeardEvent e = make_event(HeardKind::kOnset, HeardSource::kAudio,
                              frame_of_sample(hop.onset_sample), now, 1.0f);
    push(e);
  }
  for (const HeardNote& n : hop.notes) {
    HeardEvent e = make_event(n.on ? HeardKind::kNoteOn : HeardKind::kNoteOff, HeardSource::kAudio,
                              frame_of_sample(n.sample), now, n.confidence);
    e.pitch = n.pitch;
    e.velocity = n.velocity;
    push(e);
  }
  if (!hop.notes_only) process_hop(&hop);
}

void Listener::apply_midi(const TimedMidiMessage& m, HopRecord& record) {
  const uint8_t type = m.message.bytes[0] & 0xF0;
  const int channel = m.message.bytes[0] & 0x0F;
  const int key = m.message.bytes[1] & 0x7F;
  const int velocity = m.message.bytes[2] & 0x7F;
  int& count = held_count_[static_cast<size_t>(channel * 128 + key)];
  if (type == 0x90 && velocity > 0) {
    ++count;
    held_velocity_[static_cast<size_t>(key)] =
        std::max(held_velocity_[static_cast<size_t>(key)], velocity);
    midi_onset_strength_ += static_cast<float>(velocity) / 127.0f;
    record.midi_struck[static_cast<size_t>(key % 12)] +=
        0.5f + 0.5f * static_cast<float>(velocity) / 127.0f;
    record.midi_sounding = true;
    last_midi_note_hop_ = hops_;
    if (strike_hop_ < 0 && !pulse_known()) {
      strike_hop_ = hops_;
      strike_frame_ = static_cast<int64_t>(m.frame);
    }
  } else if (count > 0) {
    --count;
    bool still_held = false;
    for (int c = 0; c < 16; ++c) still_held |= held_count_[static_cast<size_t>(c * 128 + key)] > 0;
    if (!still_held) held_velocity_[static_cast<size_t>(key)] = 0;
    record.midi_sounding = true;  // a note sounded in this hop
  }
}

void Listener::apply_midi_until(int64_t hop_index, HopRecord& record) {
  while (!midi_queue_.empty() &&
         t_of_frame(static_cast<double>(midi_queue_.front().frame)) < hop_index + 0.5) {
    apply_midi(midi_queue_.front(), record);
    midi_queue_.pop_front();
  }
  int lowest = -1;
  for (int key = 0; key < 128; ++key) {
    const int v = held_velocity_[static_cast<size_t>(key)];
    if (v == 0) continue;
    record.midi_chroma[static_cast<size_t>(key % 12)] +=
        0.5f + 0.5f * static_cast<float>(v) / 127.0f;
    if (lowest < 0) lowest = key;
  }
  if (lowest >= 0) {
    // The bass: the lowest note when it is in the bass register, as for audio (below ~250 Hz).
    if (lowest < kMidiBassBelowKey) record.midi_bass[static_cast<size_t>(lowest % 12)] = 1.0f;
    record.midi_sounding = true;
  }
}

void Listener::process_hop(const AudioHop* hop) {
  const int64_t h = hops_;
  assert(hop == nullptr || hop->index == h);
  HopRecord record;
  apply_midi_until(h, record);
  if (hop != nullptr) {
    record.audio = hop->chroma;
    record.audio_bass = hop->bass;
    record.quiet = hop->level_dbfs < options_.silence_dbfs;
  }
  if (record.midi_sounding) record.quiet = false;
  history_[static_cast<size_t>(h) % kHistoryHops] = record;

  const float strength =
      midi_active(h) ? midi_onset_strength_ : (hop != nullptr ? hop->onset_strength : 0.0f);
  midi_onset_strength_ = 0;
  update_silence(record, h);
  tracker_.push(strength, harmonic_change(h));
  emit_beats(h);
  decide_chords(h, /*flush=*/false);
  decide_struck_chord(h);
  update_key(record, h);
  ++hops_;
}

// 1 - cosine between the mean pitch-class profile of the last kHarmonyWindowS and of the one
// before it: peaks where the chord changes, low inside a chord even when it is arpeggiated.
float Listener::harmonic_change(int64_t h) const {
  const int64_t w = std::lround(kHarmonyWindowS * kAnalysisRateHz / kAnalysisHopSamples);
  if (h + 1 < 2 * w) return 0.0f;
  Chroma a{}, b{};
  for (int64_t i = 0; i < 2 * w; ++i) {
    const HopRecord& r = history_[static_cast<size_t>(h - i) % kHistoryHops];
    const Chroma& c = r.midi_sounding ? r.midi_chroma : r.audio;
    float total = 0;
    for (float v : c) total += v;
    if (total <= 0) continue;
    Chroma& into = i < w ? a : b;
    for (size_t k = 0; k < 12; ++k) into[k] += c[k] / total;
  }
  float dot = 0, na = 0, nb = 0;
  for (size_t k = 0; k < 12; ++k) dot += a[k] * b[k], na += a[k] * a[k], nb += b[k] * b[k];
  if (na <= 0 || nb <= 0) return 0.0f;
  return std::clamp(1.0f - dot / std::sqrt(na * nb), 0.0f, 1.0f);
}

void Listener::update_silence(const HopRecord& record, int64_t h) {
  const double hop_s = static_cast<double>(kAnalysisHopSamples) / kAnalysisRateHz;
  if (!record.quiet) {
    if (silent_) {
      push(HeardKind::kSound, HeardSource::kAudio,
           frame_of_hop_end(h) - static_cast<int64_t>(hop_frames_), frame_of_hop_end(h), 1.0f);
      silent_ = false;
    }
    heard_anything_ = true;
    quiet_since_hop_ = h + 1;
    return;
  }
  if (!silent_ && static_cast<double>(h + 1 - quiet_since_hop_) * hop_s >= options_.silence_s) {
    silent_ = true;
    push(HeardKind::kSilence, HeardSource::kAudio,
         frame_of_hop_end(quiet_since_hop_) - static_cast<int64_t>(hop_frames_),
         frame_of_hop_end(h), 1.0f);
    tracker_.reset();  // reports the lost pulse through take_lost()
  }
}

void Listener::emit_beats(int64_t h) {
  const int64_t now = frame_of_hop_end(h);
  if (clock_beats_ &&
      static_cast<double>(now - last_clock_frame_) > kClockTimeoutS * options_.sample_rate_hz) {
    clock_beats_ = false;
    push(HeardKind::kNoBeat, HeardSource::kMidiClock, now, now, 1.0f);
  }
  const HeardSource source = midi_active(h) ? HeardSource::kMidi : HeardSource::kAudio;
  for (const TrackedBeat& b : tracker_.take_beats()) {
    if (clock_beats_) continue;  // MIDI clock, when present, is the pulse
    HeardEvent e =
        make_event(HeardKind::kBeat, source,
                   static_cast<int64_t>(std::llround(frame_of_t(b.frame))), now, b.confidence);
    e.tempo_bpm = static_cast<float>(b.tempo_bpm);
    e.beat_index = b.index;
    push(e);
    pending_chords_.push_back({b.frame, tracker_.period_frames(), b.index, source});
    beating_ = true;
  }
  if (tracker_.take_lost() && !clock_beats_) {
    push(HeardKind::kNoBeat, source, now, now, 1.0f);
    beating_ = false;
  }
}

void Listener::decide_chords(int64_t h, bool flush) {
  while (!pending_chords_.empty()) {
    const PendingChord& p = pending_chords_.front();
    const bool symbolic = p.source != HeardSource::kAudio;
    const double lag = symbolic ? kMidiLagHops : kChromaLagHops;
    const double decide_t = p.beat_t + lag + options_.chord_decision_beats * p.period;
    const int64_t first = std::max<int64_t>({static_cast<int64_t>(std::ceil(p.beat_t + lag)),
                                             h - static_cast<int64_t>(kHistoryHops) + 1, 0});
    if (static_cast<double>(h) < decide_t && !flush) {
      const double full_t =
          p.beat_t + lag +
          std::min(options_.chord_full_decision_beats, options_.chord_decision_beats) * p.period;
      // Struck from a hop before the beat estimate on: the chord's notes fall on the beat, the
      // estimate may be a few ms late.
      const int64_t struck_from = std::max<int64_t>(first - kMidiLagHops - 1, 0);
      if (!symbolic || static_cast<double>(h) < full_t ||
          struck_pitch_classes(struck_from, h) < kFullChordPitchClasses) {
        break;
      }
    }
    const int64_t last = std::min<int64_t>(h, static_cast<int64_t>(std::floor(decide_t)));
    Chroma sum{}, bass{}, held{};
    int quiet = 0, n = 0;
    bool any_midi = false;
    for (int64_t i = first; i <= last; ++i, ++n) {
      const HopRecord& r = history_[static_cast<size_t>(i) % kHistoryHops];
      quiet += r.quiet ? 1 : 0;
      any_midi |= r.midi_sounding;
    }
    for (int64_t i = first; i <= last; ++i) {
      const HopRecord& r = history_[static_cast<size_t>(i) % kHistoryHops];
      for (size_t k = 0; k < 12; ++k) {
        if (any_midi) {
          // MIDI: a note struck in the beat counts in full however short (an arpeggio's last
          // note); a note held from before counts by how much of the beat it covers, so the
          // previous chord's last note, released just after the beat, does not smear into it.
          sum[k] = std::max(sum[k], r.midi_struck[k]);
          held[k] += r.midi_chroma[k];
          bass[k] += r.midi_bass[k];
        } else {
          sum[k] += r.audio[k];
          bass[k] += r.audio_bass[k];
        }
      }
    }
    if (any_midi && n > 0) {
      for (size_t k = 0; k < 12; ++k) sum[k] = std::max(sum[k], held[k] / static_cast<float>(n));
    }
    ChordGuess g;  // "no chord" unless something sounded
    g.confidence = 1.0f;
    const ChromaKind kind = any_midi ? ChromaKind::kSymbolic : ChromaKind::kAudio;
    if (n > 0 && static_cast<double>(quiet) < kQuietBeatFraction * n) {
      // The bass note usually sounds once per chord (on its first beat): it keeps counting, fading,
      // on the beats after it.
      for (size_t k = 0; k < 12; ++k) bass_memory_[k] = bass[k] + kBassMemory * bass_memory_[k];
      g = chords_.update(sum, kind, &bass_memory_);
    } else {
      g = chords_.silence();
      bass_memory_ = {};
    }
    HeardEvent e =
        make_event(HeardKind::kChord, any_midi ? HeardSource::kMidi : HeardSource::kAudio,
                   static_cast<int64_t>(std::llround(frame_of_t(p.beat_t))), frame_of_hop_end(h),
                   g.confidence);
    e.chord = g.chord;
    e.beat_index = p.beat_index;
    push(e);
    chord_ = g.chord;
    pending_chords_.pop_front();
  }
}

// Until the beat tracker has locked (about a bar in) there is no beat to hang a chord on, but a
// full MIDI chord struck at once names itself: it is heard at the strike, so a musician's first
// changes count. An arpeggio's single notes name nothing here; they wait for the pulse.
void Listener::decide_struck_chord(int64_t h) {
  if (strike_hop_ < 0 || h < strike_hop_ + kStrikeHops) return;
  const int64_t first = strike_hop_;
  strike_hop_ = -1;
  if (pulse_known() || struck_pitch_classes(first, h) < kFullChordPitchClasses) return;
  Chroma sum{}, bass{};
  for (int64_t i = first; i <= h; ++i) {
    const HopRecord& r = history_[static_cast<size_t>(i) % kHistoryHops];
    for (size_t k = 0; k < 12; ++k) {
      sum[k] = std::max({sum[k], r.midi_struck[k], r.midi_chroma[k]});
      bass[k] = std::max(bass[k], r.midi_bass[k]);
    }
  }
  const ChordGuess g = guess_chord(sum, ChromaKind::kSymbolic, &bass);
  HeardEvent e = make_event(HeardKind::kChord, HeardSource::kMidi, strike_frame_,
                            frame_of_hop_end(h), g.confidence);
  e.chord = g.chord;
  e.beat_index = -1;  // on no tracked beat: at the strike
  push(e);
  chord_ = g.chord;
}

int Listener::struck_pitch_classes(int64_t first, int64_t last) const {
  std::array<bool, 12> struck{};
  for (int64_t i = first; i <= last; ++i) {
    const HopRecord& r = history_[static_cast<size_t>(i) % kHistoryHops];
    for (size_t k = 0; k < 12; ++k) struck[k] = struck[k] || r.midi_struck[k] > 0;
  }
  return static_cast<int>(std::count(struck.begin(), struck.end(), true));
}

void Listener::update_key(const HopRecord& record, int64_t h) {
  const double hop_s = static_cast<double>(kAnalysisHopSamples) / kAnalysisRateHz;
  const float decay = static_cast<float>(std::exp(-hop_s / options_.key_window_s));
  const Chroma& c = record.midi_sounding ? record.midi_chroma : record.audio;
  float total = 0;
  for (float v : c) total += v;
  for (size_t k = 0; k < 12; ++k) {
    key_memory_[k] *= decay;
    if (!record.quiet && total > 0) key_memory_[k] += c[k] / total;
  }
  const int64_t every = std::max<int64_t>(1, std::llround(options_.key_every_s / hop_s));
  if (h - last_key_hop_ < every || silent_ || !heard_anything_) return;
  last_key_hop_ = h;
  const KeyGuess g = guess_key(key_memory_);
  if (g.key.tonic_pc < 0) return;
  // A key grows sure as its notes come in (see guess_key): that is news too.
  if (g.key != key_ || h - key_emitted_hop_ >= 4 * every ||
      std::abs(g.confidence - key_emitted_confidence_) >= kKeyConfidenceNews) {
    key_ = g.key;
    key_emitted_hop_ = h;
    key_emitted_confidence_ = g.confidence;
    HeardEvent e =
        make_event(HeardKind::kKey, record.midi_sounding ? HeardSource::kMidi : HeardSource::kAudio,
                   frame_of_hop_end(h), frame_of_hop_end(h), g.confidence);
    e.key = g.key;
    push(e);
  }
}

}  // namespace jamd::realtime
