// Chord and key guesses from pitch-class profiles: cosine matching against chord templates,
// Pearson correlation against key profiles.
#include "realtime/listen/harmony.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <span>
#include <vector>

namespace jamd::realtime {
namespace {

constexpr ChordQuality kQualities[] = {ChordQuality::kMajor,     ChordQuality::kMinor,
                                       ChordQuality::kDominant7, ChordQuality::kMinor7,
                                       ChordQuality::kMajor7,    ChordQuality::kDiminished};

// Harmonics 1..6 of a note land on these pitch classes above it (octaves, fifth, major third),
// weighted 0.6^(h-1): a rough piano/guitar spectrum, good enough to stop a fifth or a third
// from looking like a second chord tone.
constexpr int kHarmonicPc[] = {0, 0, 7, 0, 4, 7};
constexpr float kHarmonicDecay = 0.6f;
// A triad with an added note outscores the triad by this much before it is called a seventh:
// templates of four notes match three-note chroma fairly well, and triads are the commoner case.
constexpr float kSeventhPenalty = 0.02f;
// Below this similarity nothing fits: a melody line, noise, a cluster.
constexpr float kMinSimilarity = 0.70f;
constexpr float kBassBonus = 0.06f;
// One note beats every chord by this much before the answer is "no chord" (a chord's own root
// with overtones looks much like a single note). A profile this close to flat is noise.
constexpr float kSingleNoteMargin = 0.12f;
constexpr float kNoiseFlatness = 0.97f;

using Template = std::array<float, 12>;

void add_note(Template& t, int pc, ChromaKind kind, float weight) {
  if (kind == ChromaKind::kSymbolic) {
    t[pc % 12] += weight;
    return;
  }
  float w = weight;
  for (int h : kHarmonicPc) {
    t[(pc + h) % 12] += w;
    w *= kHarmonicDecay;
  }
}

float cosine(const Chroma& a, const Template& b) {
  float dot = 0, na = 0, nb = 0;
  for (int i = 0; i < 12; ++i) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  if (na <= 0 || nb <= 0) return 0;
  return dot / std::sqrt(na * nb);
}

// Templates get the same square-root compression as the chroma they are compared with.
void compress(Template& t) {
  for (float& v : t) v = std::sqrt(v);
}

Template chord_template(int root, ChordQuality q, ChromaKind kind) {
  Template t{};
  int iv[4];
  const int n = chord_intervals(q, iv);
  for (int i = 0; i < n; ++i) add_note(t, root + iv[i], kind, 1.0f);
  compress(t);
  return t;
}

}  // namespace

ChordGuess guess_chord(const Chroma& raw, ChromaKind kind, const Chroma* bass) {
  ChordGuess none;
  float total = 0, peak = 0;
  for (float v : raw) {
    assert(v >= 0 && std::isfinite(v));
    total += v;
    peak = std::max(peak, v);
  }
  if (total <= 1e-9f) {
    none.confidence = 1.0f;
    return none;
  }
  // Compress the dynamics a little: a loud root should not drown a soft third.
  Chroma c{};
  for (int i = 0; i < 12; ++i) c[i] = std::sqrt(raw[i] / peak);
  int bass_pc = -1;
  if (bass != nullptr) {
    float best_bass = 0, bass_total = 0;
    for (int i = 0; i < 12; ++i) {
      bass_total += (*bass)[i];
      if ((*bass)[i] > best_bass) best_bass = (*bass)[i], bass_pc = i;
    }
    if (best_bass < 0.3f * bass_total) bass_pc = -1;  // no clear bass note
  }

  // "No chord" competes as templates: one note with its overtones, and noise (a flat profile).
  float best_none = 0;
  for (int pc = 0; pc < 12; ++pc) {
    Template t{};
    add_note(t, pc, kind, 1.0f);
    compress(t);
    best_none = std::max(best_none, cosine(c, t) - kSingleNoteMargin);
  }
  Template flat;
  flat.fill(1.0f);
  if (cosine(c, flat) > kNoiseFlatness) best_none = std::max(best_none, 1.0f);

  float best = -1, second = -1;
  Chord best_chord;
  for (int root = 0; root < 12; ++root) {
    for (ChordQuality q : kQualities) {
      float s = cosine(c, chord_template(root, q, kind));
      if (q == ChordQuality::kDominant7 || q == ChordQuality::kMinor7 ||
          q == ChordQuality::kMajor7) {
        s -= kSeventhPenalty;
      }
      if (root == bass_pc) s += kBassBonus;
      if (s > best) {
        second = best;
        best = s;
        best_chord = {root, q};
      } else if (s > second) {
        second = s;
      }
    }
  }
  if (best < kMinSimilarity || best_none > best) {
    none.confidence = std::clamp(std::max(best_none, 1.0f - best), 0.0f, 1.0f);
    none.similarity = best_none;
    return none;
  }
  ChordGuess g;
  g.chord = best_chord;
  g.similarity = best;
  const float margin = std::clamp((best - second) / 0.1f, 0.0f, 1.0f);
  g.confidence = std::clamp(best, 0.0f, 1.0f) * (0.5f + 0.5f * margin);
  return g;
}

float chord_fit(const Chroma& raw, Chord chord, ChromaKind kind) {
  if (chord.quality == ChordQuality::kNone) return 0.0f;
  float peak = 0;
  for (float v : raw) peak = std::max(peak, v);
  if (peak <= 0) return 0.0f;
  Chroma c{};
  for (int i = 0; i < 12; ++i) c[i] = std::sqrt(raw[i] / peak);
  return cosine(c, chord_template(chord.root_pc, chord.quality, kind));
}

namespace {
// Beat-to-beat chord changes: stay with this probability (chords last a few beats), else any
// other state.
constexpr float kStayProbability = 0.75f;
// The emission model is a bag of notes: each pitch class heard is a chord tone (probability
// kChordToneShare spread over the chord's template, overtones included for audio) or a stray
// (the rest, spread over all twelve). A chord with more notes spreads thinner, so a triad beats
// its seventh until the seventh is heard. A beat counts as this many notes of evidence.
constexpr float kChordToneShare = 0.9f;
constexpr float kEvidenceNotes = 4.0f;
constexpr float kBassLogBonus = 1.0f;  // e^1: the root in the bass
// A beat with this many pitch classes struck is a full chord, and a full chord without its root
// is rarely that chord (G#:min's G# B D# is not E:maj7 with its root left out); two notes of an
// arpeggio leave the root out all the time.
constexpr int kFullChordNotes = 3;
constexpr float kMissingRootLog = 3.0f;
// Audio emissions: exp(kAudioSharpness * cosine), so a fit better by 0.1 is e^2 ~ 7x likelier;
// sevenths need a little more evidence than the triads their templates contain.
constexpr float kAudioSharpness = 20.0f;
constexpr float kAudioSeventhPrior = 0.9f;
// A triad turns into one of its sevenths (C:maj -> C:7 or C:maj7, A:min -> A:min7) with this
// probability per beat and seventh: the seventh an arpeggio's first beat left unheard.
constexpr float kRelativeProbability = 0.05f;

// The song's chord vocabulary: a change is this many times likelier to go to a chord already
// heard as a finished chord (per unit of its count) than to a new one; counts fade by this
// factor per beat (a half-life of ~70 beats: a song's section).
constexpr float kVocabularyWeight = 20.0f;
constexpr float kVocabularyDecay = 0.99f;
// One pitch class carrying this share of a beat is a single line: "no chord".
constexpr float kSingleLineShare = 0.6f;
// Audio: a pitch class that arrives in a beat (its compressed chroma up by kArrivalRise on the
// beat before, to kArrivalLevel or more: a fundamental, not the fifth harmonic of a new note) is
// a tone of the chord sounding now, so a chord without it loses e^kArrivalLog. The
// previous chord's template blurs into the new one's (F:maj and D:min share F and A, and F's
// third harmonic is C): without this, a change to a chord heard for the first time waits a beat.
constexpr float kArrivalRise = 0.45f;
constexpr float kArrivalLevel = 0.75f;
constexpr float kArrivalLog = 3.0f;

// Log-probability of each pitch class under a template (normalised to sum 1).
std::array<float, 12> log_profile(const Template& t) {
  float total = 0;
  for (float v : t) total += v;
  std::array<float, 12> out{};
  for (int i = 0; i < 12; ++i) {
    out[i] = std::log(kChordToneShare * t[i] / total + (1.0f - kChordToneShare) / 12.0f);
  }
  return out;
}

struct Profiles {
  std::array<std::array<float, 12>, ChordFollower::kStates - 1> chord[2];
};

const Profiles& profiles() {
  static const Profiles p = [] {
    Profiles out;
    for (int k = 0; k < 2; ++k) {
      const ChromaKind kind = k == 0 ? ChromaKind::kAudio : ChromaKind::kSymbolic;
      for (int root = 0; root < 12; ++root) {
        for (int qi = 0; qi < 6; ++qi) {
          Template t{};
          int iv[4];
          const int n = chord_intervals(kQualities[qi], iv);
          for (int i = 0; i < n; ++i) add_note(t, root + iv[i], kind, 1.0f);
          out.chord[k][static_cast<size_t>(root * 6 + qi)] = log_profile(t);
        }
      }
    }
    return out;
  }();
  return p;
}
}  // namespace

ChordFollower::ChordFollower() { belief_.fill(1.0f / kStates); }

ChordGuess ChordFollower::silence() {
  learn(kStates - 1, Chroma{}, ChromaKind::kAudio);
  last_beat_ = {};
  belief_.fill(0.0f);
  belief_[kStates - 1] = 1.0f;
  ChordGuess g;
  g.confidence = 1.0f;
  return g;
}

namespace {

// The sevenths a triad may turn out to be once more of it is heard (C:maj -> C:7, C:maj7;
// A:min -> A:min7): the states on the same root a triad leads to. A seventh does not lead back
// to its triad: a beat without the seventh is a partial view, not a new chord. Indices follow
// kQualities.
std::span<const size_t> sevenths_of(size_t state) {
  static const std::array<std::vector<size_t>, ChordFollower::kStates> table = [] {
    std::array<std::vector<size_t>, ChordFollower::kStates> out;
    for (size_t s = 0; s + 1 < ChordFollower::kStates; ++s) {
      const size_t root = s / 6 * 6;
      if (s % 6 == 0) out[s] = {root + 2, root + 4};  // maj -> 7, maj7
      if (s % 6 == 1) out[s] = {root + 3};            // min -> min7
    }
    return out;
  }();
  return table[state];
}

// The triad whose seventh `state` is, or none (the inverse of sevenths_of).
std::span<const size_t> triad_of(size_t state) {
  static const std::array<std::vector<size_t>, ChordFollower::kStates> table = [] {
    std::array<std::vector<size_t>, ChordFollower::kStates> out;
    for (size_t s = 0; s + 1 < ChordFollower::kStates; ++s) {
      for (size_t r : sevenths_of(s)) out[r] = {s};
    }
    return out;
  }();
  return table[state];
}

using LogEmissions = std::array<float, ChordFollower::kStates>;

// The pitch class clearly in the bass, or -1.
int bass_pitch_class(const Chroma* bass) {
  if (bass == nullptr) return -1;
  float best = 0, total = 0;
  int pc = -1;
  for (int i = 0; i < 12; ++i) {
    total += (*bass)[i];
    if ((*bass)[i] > best) best = (*bass)[i], pc = i;
  }
  return best < 0.3f * total ? -1 : pc;
}

// MIDI: the bag-of-notes model over which pitch classes sounded (w sums to 1).
void symbolic_emissions(const Chroma& w, int bass_pc, LogEmissions& log_e) {
  const auto& table = profiles().chord[1];
  float best_log = -1e30f, top = 0;
  for (float v : w) top = std::max(top, v);
  int distinct = 0;
  for (float v : w) distinct += v > 0 ? 1 : 0;
  for (int s = 0; s < ChordFollower::kStates - 1; ++s) {
    float l = 0;
    for (int i = 0; i < 12; ++i) l += w[i] * table[static_cast<size_t>(s)][i];
    l *= kEvidenceNotes;
    if (s / 6 == bass_pc) l += kBassLogBonus;
    if (distinct >= kFullChordNotes && w[static_cast<size_t>(s / 6)] <= 0) l -= kMissingRootLog;
    log_e[static_cast<size_t>(s)] = l;
    best_log = std::max(best_log, l);
  }
  // "No chord": every pitch class alike, or one line carrying the beat.
  Template flat;
  flat.fill(1.0f);
  float none = kEvidenceNotes * std::log(1.0f / 12.0f);
  if (top >= kSingleLineShare || cosine(w, flat) > kNoiseFlatness) none = best_log + 2.0f;
  log_e[ChordFollower::kStates - 1] = none;
}

// Audio: overtones and ringing make a bag-of-notes model too literal; template cosine
// similarity (c is the compressed chroma), sharpened, is steadier.
void audio_emissions(const Chroma& c, int bass_pc, LogEmissions& log_e) {
  for (int root = 0; root < 12; ++root) {
    for (int qi = 0; qi < 6; ++qi) {
      const ChordQuality q = kQualities[qi];
      float f = cosine(c, chord_template(root, q, ChromaKind::kAudio));
      if (root == bass_pc) f += kBassBonus;
      float l = kAudioSharpness * f;
      if (q == ChordQuality::kDominant7 || q == ChordQuality::kMinor7 ||
          q == ChordQuality::kMajor7) {
        l += std::log(kAudioSeventhPrior);
      }
      log_e[static_cast<size_t>(root * 6 + qi)] = l;
    }
  }
  float none_fit = 0;
  for (int pc = 0; pc < 12; ++pc) {
    Template t{};
    add_note(t, pc, ChromaKind::kAudio, 1.0f);
    compress(t);
    none_fit = std::max(none_fit, cosine(c, t) - kSingleNoteMargin);
  }
  Template flat;
  flat.fill(1.0f);
  if (cosine(c, flat) > kNoiseFlatness) none_fit = std::max(none_fit, 1.0f + kBassBonus);
  log_e[ChordFollower::kStates - 1] = kAudioSharpness * none_fit;
}

// Audio: the chords that lack a pitch class arriving in this beat (see kArrivalRise).
void penalise_missing_arrivals(const Chroma& c, const Chroma& before, LogEmissions& log_e) {
  uint16_t arrived = 0;
  for (int i = 0; i < 12; ++i) {
    if (c[i] >= kArrivalLevel && c[i] - before[i] >= kArrivalRise)
      arrived |= static_cast<uint16_t>(1u << i);
  }
  if (arrived == 0) return;
  for (int root = 0; root < 12; ++root) {
    for (int qi = 0; qi < 6; ++qi) {
      int iv[4];
      const int n = chord_intervals(kQualities[qi], iv);
      uint16_t tones = 0;
      for (int i = 0; i < n; ++i) tones |= static_cast<uint16_t>(1u << ((root + iv[i]) % 12));
      if ((arrived & ~tones) != 0) log_e[static_cast<size_t>(root * 6 + qi)] -= kArrivalLog;
    }
  }
}

}  // namespace

ChordGuess ChordFollower::update(const Chroma& raw, ChromaKind kind, const Chroma* bass) {
  float peak = 0;
  for (float v : raw) peak = std::max(peak, v);
  if (peak <= 1e-9f) return silence();
  Chroma c{};  // compressed like the templates
  float total = 0;
  for (int i = 0; i < 12; ++i) total += (c[i] = std::sqrt(raw[i] / peak));
  LogEmissions log_e{};
  if (kind == ChromaKind::kSymbolic) {
    Chroma w = c;
    for (float& v : w) v /= total;
    symbolic_emissions(w, bass_pitch_class(bass), log_e);
  } else {
    audio_emissions(c, bass_pitch_class(bass), log_e);
    penalise_missing_arrivals(c, last_beat_, log_e);
  }
  last_beat_ = kind == ChromaKind::kAudio ? c : Chroma{};
  const float best_log = *std::max_element(log_e.begin(), log_e.end());
  // Staying; a triad turning into its seventh (the seventh of an arpeggio heard a beat after its
  // triad is the same chord, better heard); or leaving for any other chord, weighted
  // by the song's vocabulary.
  float vocabulary_total = 0;
  for (float v : vocabulary_) vocabulary_total += 1.0f + kVocabularyWeight * v;
  // A triad grows into its seventh only over its own bass: a new bass note under notes that
  // would make the seventh (A and C# over D:maj) is the next chord arriving.
  const int bass_pc = bass_pitch_class(bass);
  const auto grows = [&](size_t triad) {
    return bass_pc < 0 || bass_pc == static_cast<int>(triad) / 6;
  };
  std::array<float, kStates> leave{};  // belief times the share that leaves for other chords
  float leaving = 0;
  for (size_t s = 0; s < kStates; ++s) {
    const float sevenths = grows(s) ? static_cast<float>(sevenths_of(s).size()) : 0.0f;
    leave[s] = belief_[s] * (1.0f - kStayProbability - kRelativeProbability * sevenths);
    leaving += leave[s];
  }
  std::array<float, kStates> next{};
  float sum = 0;
  for (size_t s = 0; s < kStates; ++s) {
    float prior = kStayProbability * belief_[s];
    float others = leaving - leave[s];
    for (size_t r : triad_of(s)) {
      if (grows(r)) prior += kRelativeProbability * belief_[r];
      others -= leave[r];
    }
    prior +=
        std::max(0.0f, others) * (1.0f + kVocabularyWeight * vocabulary_[s]) / vocabulary_total;
    next[s] = prior * std::exp(log_e[s] - best_log);
    sum += next[s];
  }
  size_t best = kStates - 1;
  for (size_t s = 0; s < kStates; ++s) {
    belief_[s] = next[s] / sum;
    if (belief_[s] > belief_[best]) best = s;
  }
  Chroma beat = c;  // this beat's share of the run's pitch classes
  for (float& v : beat) v /= total;
  learn(best, beat, kind);
  ChordGuess g;
  g.confidence = belief_[best];
  if (best != kStates - 1) {
    g.chord = {static_cast<int>(best) / 6, kQualities[best % 6]};
    g.similarity = chord_fit(raw, g.chord, kind);
  }
  return g;
}

// A run of beats on one root is one chord; when it ends, the quality on that root that best
// explains everything heard during the run (a triad whose seventh came on a later beat is the
// seventh; a seventh guessed once but never heard is the triad) joins the vocabulary.
void ChordFollower::learn(size_t best, const Chroma& beat, ChromaKind kind) {
  for (float& v : vocabulary_) v *= kVocabularyDecay;
  const int state = static_cast<int>(best);
  const bool none = state == kStates - 1;
  if (run_root_ >= 0 && !none && state / 6 == run_root_) {
    for (size_t k = 0; k < 12; ++k) run_chroma_[k] += beat[k];
    return;
  }
  if (run_root_ >= 0) {
    LogEmissions log_e{};
    float total = 0, peak = 0;
    for (float v : run_chroma_) total += v, peak = std::max(peak, v);
    if (total > 0) {
      Chroma c = run_chroma_;
      for (float& v : c) v /= run_kind_ == ChromaKind::kSymbolic ? total : peak;
      if (run_kind_ == ChromaKind::kSymbolic) {
        symbolic_emissions(c, -1, log_e);
      } else {
        audio_emissions(c, -1, log_e);
      }
      size_t named = static_cast<size_t>(run_root_) * 6;
      for (size_t q = 1; q < 6; ++q) {
        if (log_e[named - named % 6 + q] > log_e[named]) named = named - named % 6 + q;
      }
      vocabulary_[named] += 1.0f;
      // The seventh heard in full says its triad, heard on this root before, was a partial
      // view of it (an arpeggio's first beat).
      for (size_t t : triad_of(named)) vocabulary_[t] = 0.0f;
    }
  }
  run_root_ = none ? -1 : state / 6;
  run_kind_ = kind;
  run_chroma_ = beat;
}

namespace {

// A key is only as sure as the notes heard so far allow. Krumhansl-Kessler correlation counts a
// scale degree not yet played as evidence against the keys that have it: C and G alone correlate
// best with G major (0.93, C major 0.67: no F yet), although nothing told F from F# yet; and
// a lot of E minor chords in C major correlate best with E minor. Unless the named key's scale
// (a minor key's is its relative major's) is the one major scale that holds every pitch class
// heard, its confidence is cut to a guess's. When no major scale holds them all (a harmonic
// minor's raised seventh, chromatic chords), the correlation alone decides, as before.
// Of the loudest pitch class: heard, not a stray or an overtone (audio: B's third harmonic is an
// F#, E's fifth a G#, at 0.1-0.2 of the loudest over a C major take).
constexpr float kKeyHeardShare = 0.25f;
constexpr float kAmbiguousKeyConfidence = 0.3f;

// Bit t: the major scale on tonic t holds every pitch class heard.
uint16_t major_scales_holding(const Chroma& chroma) {
  static constexpr int kMajorScale[] = {0, 2, 4, 5, 7, 9, 11};
  const float peak = *std::max_element(chroma.begin(), chroma.end());
  uint16_t heard = 0;
  for (int pc = 0; pc < 12; ++pc) {
    if (chroma[pc] >= kKeyHeardShare * peak) heard |= static_cast<uint16_t>(1u << pc);
  }
  uint16_t scales = 0;
  for (int tonic = 0; tonic < 12; ++tonic) {
    uint16_t scale = 0;
    for (int degree : kMajorScale) scale |= static_cast<uint16_t>(1u << ((tonic + degree) % 12));
    if ((heard & ~scale) == 0) scales |= static_cast<uint16_t>(1u << tonic);
  }
  return scales;
}

}  // namespace

KeyGuess guess_key(const Chroma& chroma) {
  // Krumhansl & Kessler (1982) probe-tone ratings, tonic first.
  static constexpr float kMajor[12] = {6.35f, 2.23f, 3.48f, 2.33f, 4.38f, 4.09f,
                                       2.52f, 5.19f, 2.39f, 3.66f, 2.29f, 2.88f};
  static constexpr float kMinor[12] = {6.33f, 2.68f, 3.52f, 5.38f, 2.60f, 3.53f,
                                       2.54f, 4.75f, 3.98f, 2.69f, 3.34f, 3.17f};
  KeyGuess none;
  float total = 0;
  for (float v : chroma) total += v;
  if (total <= 1e-9f) return none;
  const float mean_c = total / 12;
  float best = -2, second = -2;
  Key best_key;
  for (int mode = 0; mode < 2; ++mode) {
    const float* prof = mode == 0 ? kMajor : kMinor;
    float mean_p = 0;
    for (int i = 0; i < 12; ++i) mean_p += prof[i] / 12;
    for (int tonic = 0; tonic < 12; ++tonic) {
      float dot = 0, nc = 0, np = 0;
      for (int i = 0; i < 12; ++i) {
        const float x = chroma[(tonic + i) % 12] - mean_c;
        const float y = prof[i] - mean_p;
        dot += x * y;
        nc += x * x;
        np += y * y;
      }
      const float r = (nc > 0 && np > 0) ? dot / std::sqrt(nc * np) : 0;
      if (r > best) {
        second = best;
        best = r;
        best_key = {tonic, mode == 1};
      } else if (r > second) {
        second = r;
      }
    }
  }
  KeyGuess g;
  g.key = best_key;
  g.correlation = best;
  g.confidence = std::clamp(best, 0.0f, 1.0f) * std::clamp((best - second) / 0.1f, 0.2f, 1.0f);
  // The scale of the key named: its own, or its relative major's.
  const int scale = (best_key.tonic_pc + (best_key.minor ? 3 : 0)) % 12;
  const uint16_t holding = major_scales_holding(chroma);
  if (holding != 0 && holding != (1u << scale)) g.confidence *= kAmbiguousKeyConfidence;
  return g;
}

}  // namespace jamd::realtime
