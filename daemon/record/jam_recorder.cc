// JamRecorder: the recorder's thread drains the host's mix, input and notes queues into two
// WavAppenders and a MidiTake, committing every second.
#include "daemon/record/jam_recorder.h"

#include <chrono>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "daemon/conductor/jam_timeline.h"
#include "daemon/record/midi_take.h"
#include "daemon/record/wav_appender.h"

namespace jamd {
namespace {

constexpr size_t kBlocksPerSecond = 50;  // the tap's 20 ms blocks
constexpr size_t kNotesPerSecond = 200;  // far above any band's note rate
constexpr int kWaitMs = 20;              // how long the thread sleeps on an empty mix queue

}  // namespace

// Everything the recorder's thread owns.
class JamRecorder::Writer {
 public:
  Writer(JamHost& host, const JamState& state, const RecordingOptions& options)
      : host_(host), options_(options) {
    const auto seconds = static_cast<size_t>(std::max(1.0, options.queue_seconds));
    mix_ = host.subscribe_mix(seconds * kBlocksPerSecond, nullptr);
    notes_ = host.subscribe_notes(seconds * kNotesPerSecond, nullptr);
    if (options.record_input) input_ = host.subscribe_input(seconds * kBlocksPerSecond, nullptr);
    take_.beats_per_bar = host.beats_per_bar();
    take_.tempos.push_back({0, state.tempo_bpm});
    for (size_t p = 0; p < kNumParts; ++p) take_.gm_programs[p] = state.parts[p].gm_program;
  }

  absl::Status open(const RecordingPaths& paths) {
    paths_ = paths;
    absl::StatusOr<std::unique_ptr<WavAppender>> mix =
        WavAppender::create(paths.mix, host_.sample_rate_hz(), 2);
    if (!mix.ok()) return mix.status();
    mix_wav_ = std::move(*mix);
    return write_midi();
  }

  // Writes what is queued. thread: recorder
  absl::Status pump(bool wait) {
    if (wait) {
      if (auto b = mix_->pop_wait(absl::Milliseconds(kWaitMs))) {
        if (absl::Status s = write_block(*b, *mix_wav_, mix_next_frame_); !s.ok()) return s;
      }
    }
    while (auto b = mix_->pop()) {
      if (absl::Status s = write_block(*b, *mix_wav_, mix_next_frame_); !s.ok()) return s;
    }
    while (input_ != nullptr) {
      std::optional<MixBlock> b = input_->pop();
      if (!b) break;
      if (input_wav_ == nullptr) {
        absl::StatusOr<std::unique_ptr<WavAppender>> wav =
            WavAppender::create(paths_.input, b->sample_rate_hz, 2);
        if (!wav.ok()) return wav.status();
        input_wav_ = std::move(*wav);
        input_next_frame_ = 0;
      }
      if (absl::Status s = write_block(*b, *input_wav_, input_next_frame_); !s.ok()) return s;
    }
    while (auto n = notes_->pop()) take_.notes.push_back(*n);
    return absl::OkStatus();
  }

  absl::Status commit() {
    const JamHostStats stats = host_.stats();
    if (stats.tempo_bpm > 0 && stats.tempo_bpm != take_.tempos.back().tempo_bpm) {
      const int64_t tick = stats.bar * take_.beats_per_bar * kConductorTicksPerQuarter;
      if (tick > take_.tempos.back().tick) take_.tempos.push_back({tick, stats.tempo_bpm});
    }
    if (absl::Status s = mix_wav_->commit(); !s.ok()) return s;
    if (input_wav_ != nullptr) {
      if (absl::Status s = input_wav_->commit(); !s.ok()) return s;
    }
    return write_midi();
  }

  RecorderStats stats(uint64_t commits) const {
    return {.mix_frames = mix_wav_ ? mix_wav_->frames() : 0,
            .input_frames = input_wav_ ? input_wav_->frames() : 0,
            .notes = take_.notes.size(),
            .commits = commits,
            .blocks_dropped =
                mix_->n_dropped() + notes_->n_dropped() + (input_ ? input_->n_dropped() : 0)};
  }

 private:
  // Appends a block where it belongs on the jam's clock: a gap (blocks the queue dropped)
  // becomes silence, so the file's time stays the jam's.
  static absl::Status write_block(const MixBlock& block, WavAppender& wav, uint64_t& next_frame) {
    const size_t n_frames = block.interleaved.size() / 2;
    if (block.first_frame > next_frame) {
      if (absl::Status s = wav.append_silence(block.first_frame - next_frame); !s.ok()) return s;
      next_frame = block.first_frame;
    }
    const uint64_t skip = next_frame - block.first_frame;  // overlap: never expected
    if (skip >= n_frames) return absl::OkStatus();
    next_frame = block.first_frame + n_frames;
    return wav.append(std::span(block.interleaved).subspan(static_cast<size_t>(skip) * 2));
  }

  absl::Status write_midi() {
    return replace_file_atomically(paths_.midi, realtime::serialize_midi(midi_file_of(take_)));
  }

  JamHost& host_;
  RecordingOptions options_;
  RecordingPaths paths_;
  std::shared_ptr<TapQueue<MixBlock>> mix_;
  std::shared_ptr<TapQueue<TappedNote>> notes_;
  std::shared_ptr<TapQueue<MixBlock>> input_;
  std::unique_ptr<WavAppender> mix_wav_;
  std::unique_ptr<WavAppender> input_wav_;
  uint64_t mix_next_frame_ = 0;
  uint64_t input_next_frame_ = 0;
  MidiTake take_;
};

absl::StatusOr<std::unique_ptr<JamRecorder>> JamRecorder::start(JamHost& host,
                                                                const JamState& state,
                                                                const RecordingOptions& options) {
  if (options.directory.empty()) {
    return absl::InvalidArgumentError("no recording directory given");
  }
  std::error_code error;
  std::filesystem::create_directories(options.directory, error);
  if (error) {
    return absl::FailedPreconditionError(absl::StrCat("cannot create the recording directory '",
                                                      options.directory, "': ", error.message(),
                                                      "; pass a writable directory"));
  }
  const std::filesystem::path dir(options.directory);
  std::unique_ptr<JamRecorder> recorder(new JamRecorder({.midi = (dir / "jam.mid").string(),
                                                         .mix = (dir / "mix.wav").string(),
                                                         .input = (dir / "input.wav").string()}));
  recorder->writer_ = std::make_unique<Writer>(host, state, options);
  if (absl::Status s = recorder->writer_->open(recorder->paths_); !s.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(s.message(), "; pass a writable recording directory"));
  }
  recorder->thread_ = std::thread(
      [r = recorder.get(), interval = options.commit_interval_s] { r->run_every(interval); });
  return recorder;
}

JamRecorder::JamRecorder(RecordingPaths paths) : paths_(std::move(paths)) {}

JamRecorder::~JamRecorder() { stop(); }

void JamRecorder::run_every(double commit_interval_s) {
  using Clock = std::chrono::steady_clock;
  const auto interval = std::chrono::duration<double>(commit_interval_s);
  auto last_commit = Clock::now();
  uint64_t commits = 0;
  absl::Status failure;
  const auto record = [&](const absl::Status& s) {
    if (s.ok() || !failure.ok()) return;
    failure = s;
    absl::MutexLock lock(&mu_);
    status_ = s;
  };
  while (!stopping_.load(std::memory_order_acquire) && failure.ok()) {
    record(writer_->pump(/*wait=*/true));
    if (Clock::now() - last_commit >= interval && failure.ok()) {
      record(writer_->commit());
      ++commits;
      last_commit = Clock::now();
    }
    absl::MutexLock lock(&mu_);
    stats_ = writer_->stats(commits);
  }
  if (failure.ok()) {
    record(writer_->pump(/*wait=*/false));
    if (failure.ok()) record(writer_->commit());
    ++commits;
  }
  absl::MutexLock lock(&mu_);
  stats_ = writer_->stats(commits);
}

void JamRecorder::stop() {
  if (stopped_) return;
  stopped_ = true;
  stopping_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
}

absl::Status JamRecorder::status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

RecorderStats JamRecorder::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

}  // namespace jamd
