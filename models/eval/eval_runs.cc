// jamd-eval's measurements: batched next-token NLL against a bigram, and generation conditioned
// on real test bars (controls, chords, the human's part appended after each band bar).
#include "models/eval/eval_runs.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>

#include "absl/strings/str_cat.h"
#include "models/tokenizer/tokenizer.h"

namespace jamd::models::eval {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Songs of a token file: each from its Start token to the next one.
std::vector<std::span<const uint16_t>> split_songs(std::span<const uint16_t> tokens) {
  const TokenId start = Vocabulary::get().start();
  std::vector<std::span<const uint16_t>> songs;
  size_t begin = 0;
  for (size_t i = 1; i <= tokens.size(); ++i) {
    if (i == tokens.size() || tokens[i] == start) {
      songs.push_back(tokens.subspan(begin, i - begin));
      begin = i;
    }
  }
  return songs;
}

// `n` indices spread evenly over [0, count).
std::vector<size_t> spread(size_t count, size_t n) {
  std::vector<size_t> out;
  n = std::min(n, count);
  for (size_t i = 0; i < n; ++i) out.push_back(i * count / n);
  return out;
}

struct RealSong {
  std::vector<TokenId> tokens;
  Score score;
  std::vector<size_t> bar_token;  // index of each Bar token, then of the song's end
  bool pop = false;               // a POP909 song (pitched parts, chords; with drums when paired)
};

absl::StatusOr<std::vector<RealSong>> decode_songs(std::span<const uint16_t> split) {
  const Vocabulary& v = Vocabulary::get();
  std::vector<RealSong> songs;
  int song_number = 0;
  for (std::span<const uint16_t> s : split_songs(split)) {
    ++song_number;
    RealSong song;
    song.tokens.assign(s.begin(), s.end());
    absl::StatusOr<Score> score = decode(song.tokens);
    if (!score.ok()) {
      // DATA_LOSS: the caller names the file.
      return absl::DataLossError(absl::StrCat("song ", song_number, " does not decode (",
                                              score.status().message(),
                                              "); the file is damaged: run jamd-prepare again"));
    }
    song.score = *std::move(score);
    for (size_t i = 0; i < song.tokens.size(); ++i) {
      if (song.tokens[i] == v.bar()) song.bar_token.push_back(i);
      if (song.tokens[i] == v.end()) song.bar_token.push_back(i);
    }
    if (song.bar_token.size() < 2) continue;
    // Not by style: a POP909 song paired with drums carries its drummer's style.
    song.pop = std::any_of(song.score.notes.begin(), song.score.notes.end(),
                           [](const Note& n) { return n.role != Role::kDrums; });
    songs.push_back(std::move(song));
  }
  return songs;
}

std::vector<TokenId> human_block(const RealSong& song, int bar) {
  const TokenId human = Vocabulary::get().part(Role::kHuman);
  const size_t end = song.bar_token[static_cast<size_t>(bar) + 1];
  size_t i = song.bar_token[static_cast<size_t>(bar)];
  while (i < end && song.tokens[i] != human) ++i;
  if (i >= end) return {};
  return {song.tokens.begin() + static_cast<ptrdiff_t>(i) + 1,
          song.tokens.begin() + static_cast<ptrdiff_t>(end)};
}

std::vector<ForcedChord> chords_of_bar(const Score& score, int bar) {
  const std::vector<int64_t> starts = bar_start_ticks(score);
  const int64_t begin = starts[static_cast<size_t>(bar)],
                end = starts[static_cast<size_t>(bar) + 1];
  std::vector<ForcedChord> out = {{0, -1, ChordQuality::kMaj}};
  for (const ChordSpan& c : score.chords) {
    if (c.start_ticks >= end) break;
    const ForcedChord f{static_cast<int>(std::max<int64_t>(c.start_ticks - begin, 0)),
                        c.root_pitch_class, c.quality};
    if (c.start_ticks <= begin) {
      out[0] = f;
    } else {
      out.push_back(f);
    }
  }
  return out;
}

BandControls controls_of_bar(const Score& score, int bar, const std::array<bool, 5>& enabled,
                             const GenerationOptions& options) {
  const BarInfo& info = score.bars[static_cast<size_t>(bar)];
  BandControls c;
  c.tempo_bpm = info.tempo_bpm;
  c.meter = info.time_signature;
  c.key = info.controls.key;
  c.density_class = info.controls.density_class;
  c.energy_class = info.controls.energy_class;
  c.valence_class = info.controls.valence_class;
  c.style = info.controls.style;
  c.part_enabled = enabled;
  c.sampling = options.sampling;
  c.drums_top_p = options.drums_top_p;
  return c;
}

struct Jam {
  const RealSong* song = nullptr;
  int first_bar = 0;
  std::array<bool, kNumBandRoles> enabled{};
  bool part_removed = false;  // a part the real segment plays is disabled (the part-mask test)
  std::unique_ptr<BandGenerator> generator;
};

// Three in four jams on POP909 segments, the rest on Groove; every third jam loses one more
// pitched part than its song has, so that the part mask is tested on parts the model would play.
// The segments are drawn from the same set as the real distribution (every non-overlapping
// segment of every song), spread evenly over it: openings alone have fewer pitch classes than
// the songs they open (docs/generation.md, "Groove consistency").
std::vector<Jam> plan_jams(const std::vector<RealSong>& songs, const GenerationOptions& o) {
  struct Segment {
    const RealSong* song;
    int first_bar;
  };
  std::vector<Segment> pop, groove;
  for (const RealSong& s : songs) {
    const int bars = static_cast<int>(s.score.bars.size());
    for (int first = 0; first + o.n_bars <= bars; first += o.n_bars) {
      (s.pop ? pop : groove).push_back({&s, first});
    }
  }
  const size_t n_pop = static_cast<size_t>(o.n_jams) * 3 / 4;
  std::vector<Jam> jams;
  for (size_t i : spread(pop.size(), n_pop)) {
    jams.push_back({pop[i].song, pop[i].first_bar, {}, false, nullptr});
  }
  for (size_t i : spread(groove.size(), static_cast<size_t>(o.n_jams) - jams.size())) {
    jams.push_back({groove[i].song, groove[i].first_bar, {}, false, nullptr});
  }
  for (size_t j = 0; j < jams.size(); ++j) {
    Jam& jam = jams[j];
    const std::vector<int64_t> starts = bar_start_ticks(jam.song->score);
    const int64_t begin = starts[static_cast<size_t>(jam.first_bar)];
    const int64_t end = starts[static_cast<size_t>(jam.first_bar + o.n_bars)];
    for (const Note& n : jam.song->score.notes) {
      if (n.role != Role::kHuman && n.start_ticks >= begin && n.start_ticks < end) {
        jam.enabled[static_cast<size_t>(n.role)] = true;
      }
    }
    const auto n_enabled = std::count(jam.enabled.begin(), jam.enabled.end(), true);
    if (j % 3 == 2 && n_enabled >= 2) {
      for (int r = 1; r < kNumBandRoles; ++r) {
        if (jam.enabled[static_cast<size_t>(r)]) {
          jam.enabled[static_cast<size_t>(r)] = false;
          jam.part_removed = true;
          break;
        }
      }
    }
  }
  return jams;
}

absl::Status generate_jams(Backend& backend, std::vector<Jam>& jams, const GenerationOptions& o) {
  std::vector<BandGenerator*> all;
  for (size_t j = 0; j < jams.size(); ++j) {
    BandGeneratorOptions go;
    go.seed = o.seed + j;
    go.bias = o.bias;
    absl::StatusOr<std::unique_ptr<BandGenerator>> g = BandGenerator::create(backend, go);
    if (!g.ok()) return g.status();
    jams[j].generator = *std::move(g);
    all.push_back(jams[j].generator.get());
  }
  GenerationBatch batch(backend.config().n_vocab);
  for (int b = 0; b < o.n_bars; ++b) {
    for (Jam& jam : jams) {
      const int real_bar = jam.first_bar + b;
      jam.generator->set_controls(controls_of_bar(jam.song->score, real_bar, jam.enabled, o));
      jam.generator->force_chords(b, chords_of_bar(jam.song->score, real_bar));
      jam.generator->request_bars(b + 1);
    }
    if (absl::Status s = generate_until_done(all, batch); !s.ok()) return s;
    for (Jam& jam : jams) {
      const std::vector<TokenId> heard = human_block(*jam.song, jam.first_bar + b);
      if (absl::Status s = jam.generator->append_human_bar(heard); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

void push_metrics(const SegmentMetrics& m, Distribution (&d)[4]) {
  const double values[4] = {m.pitch_class_entropy, m.scale_consistency, m.groove_consistency,
                            m.empty_beat_rate};
  for (int i = 0; i < 4; ++i) {
    if (!std::isnan(values[i])) d[i].values.push_back(values[i]);
  }
}

void measure_jam(const Jam& jam, const Score& gen, const GenerationOptions& o,
                 GenerationReport& r) {
  const Score& real = jam.song->score;
  for (int b = 0; b < o.n_bars; ++b) {
    const BarInfo& info = real.bars[static_cast<size_t>(jam.first_bar + b)];
    for (int p = 0; p < kNumBandRoles; ++p) {
      const auto role = static_cast<Role>(p);
      if (!jam.enabled[static_cast<size_t>(p)]) {
        ++r.disabled_part_bars;
        r.disabled_part_bars_silent += notes_in_bar(gen, b, role) == 0;
        continue;
      }
      const int want = info.controls.density_class[static_cast<size_t>(p)];
      if (role == Role::kDrums && jam.song->pop && want > 0) {
        ++r.band_drum_bars;
        r.band_drum_bars_playing += notes_in_bar(gen, b, role) > 0;
      }
      if (want == kAnyClass) continue;
      ++r.density_checks;
      r.density_within_one += std::abs(measured_density_class(gen, b, role) - want) <= 1;
    }
  }
  count_notes_in_key(gen, 0, o.n_bars, &r.generated_in_key);
  count_notes_in_key(real, jam.first_bar, o.n_bars, &r.real_in_key);
  count_chord_tones(gen, 0, o.n_bars, &r.generated_chord_tones);
  count_chord_tones(real, jam.first_bar, o.n_bars, &r.real_chord_tones_segments);
  push_metrics(segment_metrics(gen, 0, o.n_bars),
               jam.part_removed ? r.generated_part_removed : r.generated);
}

}  // namespace

double Distribution::quantile(double q) const {
  if (values.empty()) return std::nan("");
  std::vector<double> v = values;
  std::sort(v.begin(), v.end());
  const double at = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(at));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (at - static_cast<double>(lo));
}

Bigram fit_bigram(std::span<const uint16_t> tokens, int32_t n_vocab) {
  const auto n = static_cast<size_t>(n_vocab);
  std::vector<double> counts(n * n, 0.1);  // add-0.1 smoothing
  const TokenId end = Vocabulary::get().end();
  for (size_t i = 1; i < tokens.size(); ++i) {
    if (tokens[i - 1] == end) continue;  // no pair across songs
    counts[tokens[i - 1] * n + tokens[i]] += 1;
  }
  Bigram b{n_vocab, std::vector<float>(n * n)};
  for (size_t prev = 0; prev < n; ++prev) {
    double row = 0;
    for (size_t next = 0; next < n; ++next) row += counts[prev * n + next];
    for (size_t next = 0; next < n; ++next) {
      b.log_prob[prev * n + next] = static_cast<float>(std::log(counts[prev * n + next] / row));
    }
  }
  return b;
}

absl::StatusOr<NllResult> evaluate_nll(Backend& backend, std::span<const uint16_t> split,
                                       const Bigram& bigram, const NllOptions& options) {
  const auto songs = split_songs(split);
  std::vector<std::span<const uint16_t>> chosen;
  for (size_t i : spread(songs.size(), static_cast<size_t>(options.n_sequences))) {
    chosen.push_back(
        songs[i].first(std::min(songs[i].size(), static_cast<size_t>(options.max_tokens))));
  }
  std::vector<StreamId> streams;
  for (size_t i = 0; i < chosen.size(); ++i) {
    absl::StatusOr<StreamId> s = backend.open_stream();
    if (!s.ok()) return s.status();
    streams.push_back(*s);
  }
  const auto n_vocab = static_cast<size_t>(backend.config().n_vocab);
  std::vector<float> logits(chosen.size() * n_vocab);
  std::vector<DecodeStep> steps;
  std::vector<size_t> which;
  NllResult r;
  const auto t0 = Clock::now();
  for (size_t t = 0;; ++t) {
    steps.clear();
    which.clear();
    for (size_t i = 0; i < chosen.size(); ++i) {
      if (t + 1 >= chosen[i].size()) continue;
      steps.push_back({streams[i], chosen[i][t]});
      which.push_back(i);
    }
    if (steps.empty()) break;
    if (absl::Status s = backend.decode(steps, logits); !s.ok()) return s;
    for (size_t k = 0; k < steps.size(); ++k) {
      const float* row = logits.data() + k * n_vocab;
      const uint16_t prev = chosen[which[k]][t], next = chosen[which[k]][t + 1];
      const double top = *std::max_element(row, row + n_vocab);
      double sum = 0;
      for (size_t v = 0; v < n_vocab; ++v) sum += std::exp(static_cast<double>(row[v]) - top);
      r.model_nats += top + std::log(sum) - row[next];
      r.bigram_nats -= bigram.log_prob[prev * n_vocab + next];
      ++r.n_predictions;
    }
  }
  r.seconds = seconds_since(t0);
  for (StreamId s : streams) backend.close_stream(s);
  if (r.n_predictions > 0) {
    r.model_nats /= static_cast<double>(r.n_predictions);
    r.bigram_nats /= static_cast<double>(r.n_predictions);
  }
  return r;
}

absl::StatusOr<LogitDiff> compare_logits(Backend& a, Backend& b, std::span<const uint16_t> split,
                                         const NllOptions& options) {
  const auto songs = split_songs(split);
  std::vector<std::span<const uint16_t>> chosen;
  for (size_t i : spread(songs.size(), static_cast<size_t>(options.n_sequences))) {
    chosen.push_back(
        songs[i].first(std::min(songs[i].size(), static_cast<size_t>(options.max_tokens))));
  }
  std::vector<StreamId> streams_a, streams_b;
  for (size_t i = 0; i < chosen.size(); ++i) {
    absl::StatusOr<StreamId> sa = a.open_stream(), sb = b.open_stream();
    if (!sa.ok() || !sb.ok()) return (sa.ok() ? sb : sa).status();
    streams_a.push_back(*sa);
    streams_b.push_back(*sb);
  }
  const auto n_vocab = static_cast<size_t>(a.config().n_vocab);
  std::vector<float> logits_a(chosen.size() * n_vocab), logits_b(logits_a.size());
  std::vector<DecodeStep> steps_a, steps_b;
  LogitDiff d;
  double sum_abs = 0;
  for (size_t t = 0;; ++t) {
    steps_a.clear();
    steps_b.clear();
    for (size_t i = 0; i < chosen.size(); ++i) {
      if (t >= chosen[i].size()) continue;
      steps_a.push_back({streams_a[i], chosen[i][t]});
      steps_b.push_back({streams_b[i], chosen[i][t]});
    }
    if (steps_a.empty()) break;
    if (absl::Status s = a.decode(steps_a, logits_a); !s.ok()) return s;
    if (absl::Status s = b.decode(steps_b, logits_b); !s.ok()) return s;
    for (size_t k = 0; k < steps_a.size(); ++k) {
      const float* row_a = logits_a.data() + k * n_vocab;
      const float* row_b = logits_b.data() + k * n_vocab;
      for (size_t v = 0; v < n_vocab; ++v) {
        const double diff = std::fabs(static_cast<double>(row_a[v]) - row_b[v]);
        d.max_abs = std::max(d.max_abs, diff);
        d.max_logit = std::max(d.max_logit, std::fabs(static_cast<double>(row_a[v])));
        sum_abs += diff;
      }
      d.argmax_agree += std::max_element(row_a, row_a + n_vocab) - row_a ==
                        std::max_element(row_b, row_b + n_vocab) - row_b;
      ++d.n_positions;
    }
  }
  for (StreamId s : streams_a) a.close_stream(s);
  for (StreamId s : streams_b) b.close_stream(s);
  if (d.n_positions > 0) d.mean_abs = sum_abs / (static_cast<double>(d.n_positions) * n_vocab);
  return d;
}

absl::StatusOr<GenerationReport> evaluate_generation(Backend& backend,
                                                     std::span<const uint16_t> test_split,
                                                     const GenerationOptions& options) {
  absl::StatusOr<std::vector<RealSong>> songs = decode_songs(test_split);
  if (!songs.ok()) return songs.status();
  GenerationReport r;
  for (const RealSong& s : *songs) {
    const int bars = static_cast<int>(s.score.bars.size());
    for (int first = 0; first + options.n_bars <= bars; first += options.n_bars) {
      push_metrics(segment_metrics(s.score, first, options.n_bars), r.real);
    }
    count_chord_tones(s.score, 0, bars, &r.real_chord_tones_split);
  }
  std::vector<Jam> jams = plan_jams(*songs, options);
  const auto t0 = Clock::now();
  if (absl::Status s = generate_jams(backend, jams, options); !s.ok()) return s;
  r.seconds = seconds_since(t0);
  for (const Jam& jam : jams) {
    const BandGenerator& g = *jam.generator;
    r.tokens += g.tokens_generated();
    absl::StatusOr<Score> gen = decode(g.tokens());
    if (!gen.ok()) {
      return absl::InternalError(
          absl::StrCat("a generated song does not decode: ", gen.status().message()));
    }
    for (int b = 0; b < options.n_bars; ++b) {
      const int64_t begin = g.bar_start_position(b);
      const int64_t end = b + 1 < options.n_bars
                              ? g.bar_start_position(b + 1)
                              : g.tokens_first_position() + static_cast<int64_t>(g.tokens().size());
      ++r.bars;
      r.bars_decoded += begin >= 0 && decode(g.tokens().subspan(static_cast<size_t>(begin),
                                                                static_cast<size_t>(end - begin)))
                                          .ok();
    }
    measure_jam(jam, *gen, options, r);
  }
  return r;
}

}  // namespace jamd::models::eval
