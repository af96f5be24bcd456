// Conductor: the command queue, the jams, the batched generation round and the live thread.
#include "daemon/conductor/conductor.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "models/engine/weight_file.h"

namespace jamd {
namespace {

// Tokens per round of prepare/generate/post: a chunk is a few ms on the CPU, so the live loop
// posts due notes and applies new commands between chunks while it regenerates.
constexpr int kStepsPerChunk = 8;
// Live, a chunk of many jams' steps is cut to about this long (measured per step), so that notes
// are posted well inside the commit horizon (30 ms) however many jams share the batch.
constexpr double kLiveChunkBudgetMs = 8.0;
// Live, a batched step runs in groups of this many jams, and a chunk ends after the group that
// ran past its budget. A step first feeds each jam its queued forced tokens (after a rollback, the
// notes of the bar that already sound): when 32 jams were steered at once, one step of all of
// them prefilled ~600 tokens, 20-30 ms of CPU in which no note was posted, and notes due inside
// the 30 ms commit horizon came late. A group of 8 decodes at about the cost per jam of 32
// (docs/PERFORMANCE.md, "Batching").
constexpr size_t kLiveJamsPerStepGroup = 8;
// Rounds per service(): a bar is ~100-250 tokens; settling a heard bar replays one bar and plans
// the next, and a jam that fell behind catches up a few bars. Offline a service() must finish
// all of it (generation takes no virtual time).
constexpr int kMaxRoundsPerService = 4096;
// Tokens a rollback may reach back: a commit point is at most about three bars behind.
constexpr int32_t kRollbackTokens = 1024;

}  // namespace

absl::StatusOr<std::unique_ptr<Conductor>> Conductor::create(const ConductorOptions& options) {
  absl::StatusOr<std::shared_ptr<const models::WeightFile>> weights =
      models::WeightFile::open(options.model_path);
  if (!weights.ok()) return weights.status();
  if (absl::Status s = models::check_vocabulary(**weights); !s.ok()) return s;
  models::BackendOptions backend_options;
  backend_options.precision = options.precision;
  // A jam holds one stream, and a second one for a moment while it re-prefills.
  backend_options.max_streams = 2 * options.max_jams;
  backend_options.rollback_tokens = kRollbackTokens;
  absl::StatusOr<models::BackendChoice> engine =
      models::create_backend(options.backend, *weights, backend_options);
  if (!engine.ok()) return engine.status();
  return std::unique_ptr<Conductor>(new Conductor(options, std::move(*engine)));
}

Conductor::Conductor(const ConductorOptions& options, models::BackendChoice engine)
    : options_(options),
      engine_(std::move(engine)),
      backend_description_(absl::StrCat(engine_.backend->caps().name, " (", engine_.reason, ")")),
      batch_(engine_.backend->config().n_vocab) {}

Conductor::~Conductor() { stop(); }

void Conductor::post(Command command) {
  absl::MutexLock lock(&mutex_);
  queue_.push_back(std::move(command));
}

void Conductor::add_jam(JamId id, const JamState& state, realtime::Scheduler& scheduler,
                        const JamTimelineOptions& timeline) {
  post(Command{id, AddJam{state, &scheduler, timeline}});
}

void Conductor::remove_jam(JamId id) {
  absl::MutexLock lock(&mutex_);
  queue_.push_back(Command{id, RemoveJam{}});
  ++removals_posted_;
}

void Conductor::remove_jam_and_wait(JamId id) {
  absl::MutexLock lock(&mutex_);
  queue_.push_back(Command{id, RemoveJam{}});
  const uint64_t mine = ++removals_posted_;
  const auto applied = [this, mine]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return !running_ || removals_applied_ >= mine;
  };
  mutex_.Await(absl::Condition(&applied));
}

void Conductor::post_state(JamId id, const JamState& state) { post(Command{id, state}); }

void Conductor::post_heard(JamId id, const realtime::HeardEvent& event) {
  post(Command{id, event});
}

absl::Status Conductor::apply(Command& command) {
  if (auto* add = std::get_if<AddJam>(&command.payload)) {
    if (jams_.contains(command.id)) {
      return absl::AlreadyExistsError(absl::StrCat("jam ", command.id, " already exists"));
    }
    models::BandGeneratorOptions generator_options;
    generator_options.seed = add->state.seed == 0 ? 1 : add->state.seed;
    generator_options.bias = options_.pitch_bias;
    absl::StatusOr<std::unique_ptr<models::BandGenerator>> generator =
        models::BandGenerator::create(*engine_.backend, generator_options);
    if (!generator.ok()) return generator.status();
    jams_[command.id] = std::make_unique<ConductedJam>(
        command.id, add->state, std::move(*generator), *add->scheduler, add->timeline,
        options_.horizons, options_.tempo, options_.accompany);
    schedulers_[command.id] = add->scheduler;
    return absl::OkStatus();
  }
  const auto it = jams_.find(command.id);
  if (it == jams_.end()) return absl::OkStatus();  // removed meanwhile: nothing to do
  ConductedJam& jam = *it->second;
  const auto now = static_cast<int64_t>(schedulers_[command.id]->playhead_frame());
  if (std::holds_alternative<RemoveJam>(command.payload)) {
    jams_.erase(it);
    schedulers_.erase(command.id);
  } else if (auto* state = std::get_if<JamState>(&command.payload)) {
    jam.apply_state(*state, now);
  } else if (auto* heard = std::get_if<realtime::HeardEvent>(&command.payload)) {
    jam.hear(*heard, now);
  }
  return absl::OkStatus();
}

absl::Status Conductor::generate_due() {
  std::vector<ConductedJam*> working;
  std::vector<models::BandGenerator*> generators;
  std::vector<int64_t> tokens_before;
  std::vector<int64_t> frame_before;
  for (int round = 0; round < kMaxRoundsPerService; ++round) {
    working.clear();
    generators.clear();
    tokens_before.clear();
    frame_before.clear();
    auto posted_at = std::chrono::steady_clock::now();
    for (auto& [id, jam] : jams_) {
      bool needs = false;
      const auto now = static_cast<int64_t>(schedulers_[id]->playhead_frame());
      if (absl::Status s = jam->prepare(now, &needs); !s.ok()) return s;
      // Live, many jams settling their bars at once (a prefill each) take a while: the others'
      // notes keep flowing meanwhile.
      if (thread_.joinable() && std::chrono::steady_clock::now() - posted_at >
                                    std::chrono::duration<double, std::milli>(kLiveChunkBudgetMs)) {
        post_all_due(nullptr);
        posted_at = std::chrono::steady_clock::now();
      }
      if (!needs) continue;
      working.push_back(jam.get());
      generators.push_back(&jam->generator());
      tokens_before.push_back(jam->generator().tokens_generated());
      frame_before.push_back(now);
    }
    if (working.empty()) return absl::OkStatus();
    const auto t0 = std::chrono::steady_clock::now();
    const int steps =
        thread_.joinable() && step_ms_ > 0.0
            ? std::clamp(static_cast<int>(kLiveChunkBudgetMs / step_ms_), 1, kStepsPerChunk)
            : kStepsPerChunk;
    const auto chunk_end = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                    std::chrono::duration<double, std::milli>(kLiveChunkBudgetMs));
    int64_t jam_steps = 0;  // one jam's token is one
    for (int step = 0; step < steps; ++step) {
      bool cut = false;
      absl::StatusOr<int> stepped = step_in_groups(generators, chunk_end, &cut);
      if (!stepped.ok()) return stepped.status();
      jam_steps += *stepped;
      if (cut || *stepped == 0) break;
    }
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (jam_steps > 0) {  // a running mean of one batched step's wall time (all working jams)
      const double per_step = ms * static_cast<double>(working.size()) / jam_steps;
      step_ms_ = step_ms_ > 0.0 ? 0.8 * step_ms_ + 0.2 * per_step : per_step;
    }
    for (size_t i = 0; i < working.size(); ++i) {
      const int64_t tokens = working[i]->generator().tokens_generated() - tokens_before[i];
      if (absl::Status s = working[i]->after_generation(tokens, ms); !s.ok()) return s;
      // Live, the playhead moved while the chunk ran: keep the notes flowing (the older plan
      // where the new one is not finished). Offline it stands still until service() returns.
      const auto now = static_cast<int64_t>(schedulers_[working[i]->id()]->playhead_frame());
      if (now != frame_before[i]) working[i]->post_due(now);
    }
    if (thread_.joinable()) {
      // Live: the jams that were not generating keep playing too (their notes would otherwise
      // wait for every round to end, and arrive late when many jams share the thread) ...
      post_all_due(&working);
      // ... and a posted change is applied before the next chunk.
      absl::MutexLock lock(&mutex_);
      if (!queue_.empty()) return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> Conductor::step_in_groups(std::span<models::BandGenerator* const> generators,
                                              std::chrono::steady_clock::time_point chunk_end,
                                              bool* cut) {
  if (!thread_.joinable()) return models::generate_step(generators, batch_);
  const size_t n_groups = (generators.size() + kLiveJamsPerStepGroup - 1) / kLiveJamsPerStepGroup;
  int stepped = 0;
  for (size_t k = 0; k < n_groups; ++k) {
    // A chunk cut short last time starts where it stopped, so that every group gets its turn.
    const size_t group = (first_group_ + k) % n_groups;
    const size_t first = group * kLiveJamsPerStepGroup;
    const size_t n = std::min(kLiveJamsPerStepGroup, generators.size() - first);
    absl::StatusOr<int> s = models::generate_step(generators.subspan(first, n), batch_);
    if (!s.ok()) return s.status();
    stepped += *s;
    if (k + 1 < n_groups && std::chrono::steady_clock::now() > chunk_end) {
      first_group_ = group + 1;
      *cut = true;
      return stepped;
    }
  }
  return stepped;
}

void Conductor::post_all_due(const std::vector<ConductedJam*>* except) {
  for (auto& [id, jam] : jams_) {
    if (except != nullptr &&
        std::find(except->begin(), except->end(), jam.get()) != except->end()) {
      continue;
    }
    jam->post_due(static_cast<int64_t>(schedulers_[id]->playhead_frame()));
  }
}

absl::Status Conductor::service() {
  drained_.clear();
  {
    absl::MutexLock lock(&mutex_);
    drained_.swap(queue_);
  }
  absl::Status first_error;
  uint64_t removals = 0;
  for (Command& command : drained_) {
    if (absl::Status s = apply(command); !s.ok() && first_error.ok()) first_error = s;
    removals += std::holds_alternative<RemoveJam>(command.payload) ? 1 : 0;
  }
  if (removals > 0) {
    absl::MutexLock lock(&mutex_);
    removals_applied_ += removals;
  }
  if (absl::Status s = generate_due(); !s.ok() && first_error.ok()) first_error = s;
  post_all_due(nullptr);
  return first_error;
}

const JamRecord* Conductor::record(JamId id) const {
  const auto it = jams_.find(id);
  return it == jams_.end() ? nullptr : &it->second->record();
}

absl::Status Conductor::status() const {
  absl::MutexLock lock(&mutex_);
  return status_;
}

void Conductor::start() {
  if (thread_.joinable()) return;
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = false;
    running_ = true;
  }
  thread_ = std::thread([this] { run(); });
}

void Conductor::stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void Conductor::run() {
  while (true) {
    const absl::Status s = service();
    absl::MutexLock lock(&mutex_);
    if (!s.ok() && status_.ok()) {
      status_ = s;
      std::fprintf(stderr, "jamd conductor: %s\n", std::string(s.message()).c_str());
    }
    const auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
      return stopping_ || !queue_.empty();
    };
    mutex_.AwaitWithTimeout(absl::Condition(&wake), absl::Milliseconds(options_.idle_wait_ms));
    if (stopping_) {
      running_ = false;
      return;
    }
  }
}

}  // namespace jamd
