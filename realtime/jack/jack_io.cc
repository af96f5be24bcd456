// The JACK client behind JackIo: opening with clear errors, port registration, the process
// callback that adapts JACK's buffers to a ProcessBlock without allocating, and the server's
// notifications (xruns, period changes, shutdown).
#include "realtime/jack/jack_io.h"

#include <jack/jack.h>
#include <jack/midiport.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "realtime/core/c_handles.h"
#include "realtime/core/spsc_ring.h"
#include "realtime/jack/jack_client.h"

namespace jamd::realtime {
namespace {

// JACK prints multi-line chatter to stderr on every failed open; jamd says one line instead.
void ignore_jack_message(const char*) {}

// Frees the arrays jack_get_ports() returns.
struct JackPortListFree {
  void operator()(const char** ports) const { jack_free(static_cast<void*>(ports)); }
};
using JackPortList = std::unique_ptr<const char*[], JackPortListFree>;

// JACK2 reports a taken exact name as a bare JackServerError, without JackNameNotUnique; ask the
// server directly whether a client of that name exists.
bool client_name_in_use(const JackOptions& options) {
  int flags = JackNoStartServer;
  if (!options.server_name.empty()) flags |= JackServerName;
  jack_status_t status{};
  JackClientPtr checker(jack_client_open("jamd-name-check", static_cast<jack_options_t>(flags),
                                         &status, options.server_name.c_str()));
  if (checker == nullptr) return false;
  char* uuid = jack_get_uuid_for_client_name(checker.get(), options.client_name.c_str());
  if (uuid == nullptr) return false;
  jack_free(uuid);
  return true;
}

absl::Status open_error(const JackOptions& options, jack_status_t status) {
  const std::string server = jack_server_in_effect(options.server_name);
  if ((status & JackNameNotUnique) != 0 ||
      ((status & JackServerFailed) == 0 && client_name_in_use(options))) {
    return absl::AlreadyExistsError(absl::StrCat("JACK client name '", options.client_name,
                                                 "' is taken on server '", server,
                                                 "': stop the other jamd or pass --client-name"));
  }
  if ((status & (JackServerFailed | JackServerError)) != 0) {
    const std::string example = server == "default"
                                    ? std::string("jackd -d dummy -r 48000 -p 64")
                                    : absl::StrCat("jackd -n ", server, " -d dummy -r 48000 -p 64");
    return absl::UnavailableError(absl::StrCat("no JACK server running (named '", server,
                                               "'): start one, e.g. `", example, "`"));
  }
  if ((status & JackVersionError) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the JACK server '", server,
        "' speaks another protocol version than libjack: restart it from the installed jackd"));
  }
  if ((status & JackShmFailure) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot attach JACK's shared memory for server '",
                                               server, "': run jamd as the same user as jackd"));
  }
  return absl::InternalError(absl::StrCat(
      "the JACK server '", server, "' refused client '", options.client_name, "' (jack_status_t 0x",
      absl::Hex(static_cast<unsigned>(status)), "): see the jackd log"));
}

// The period's MIDI out: clears nothing itself (the process callback clears the port buffer),
// keeps JACK's rule that events go in time order, counts what the port refuses.
class JackMidiOut final : public MidiOut {
 public:
  explicit JackMidiOut(IoCounters* counters) : counters_(counters) {}

  // thread: rt. The next writes land in [offset_frames, offset_frames + n_frames) of buffer
  // (none: no midi_out port, every write is dropped).
  void begin_slice(void* buffer, uint32_t offset_frames, uint32_t n_frames) {
    buffer_ = buffer;
    offset_frames_ = offset_frames;
    n_frames_ = n_frames;
    if (offset_frames == 0) last_frame_ = 0;
  }

  bool write(const MidiMessage& message) override {  // thread: rt
    if (buffer_ == nullptr || message.size == 0 || message.size > 3 || message.frame >= n_frames_) {
      counters_->midi_out_dropped.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    // JACK refuses an event earlier than the previous one; a callback that breaks the frame
    // order gets its message a little late rather than lost.
    const uint32_t frame = std::max(offset_frames_ + message.frame, last_frame_);
    if (jack_midi_event_write(buffer_, frame, message.bytes, message.size) != 0) {
      counters_->midi_out_dropped.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    last_frame_ = frame;
    return true;
  }

 private:
  IoCounters* counters_;
  void* buffer_ = nullptr;
  uint32_t offset_frames_ = 0;
  uint32_t n_frames_ = 0;
  uint32_t last_frame_ = 0;
};

class JackIoImpl final : public JackClient {
 public:
  JackIoImpl(const JackOptions& options, const JackClientShare& share, JackClientPtr client)
      : options_(options),
        client_(std::move(client)),
        sample_rate_hz_(jack_get_sample_rate(client_.get())),
        max_period_frames_(share.max_period_frames != 0 ? share.max_period_frames
                                                        : jack_get_buffer_size(client_.get())),
        period_frames_(jack_get_buffer_size(client_.get())),
        counters_(share.counters != nullptr ? share.counters : &own_counters_),
        midi_in_block_(std::make_unique<MidiMessage[]>(kJackMidiInMessagesPerPeriod)),
        silence_(std::make_unique<float[]>(max_period_frames_)),
        ring_(options.midi_in_ring_capacity_messages),
        midi_out_writer_(counters_) {}

  ~JackIoImpl() override {
    stop();
    // Close first: JACK's notification thread may still call on_xrun() until the client is gone.
    client_.reset();
  }

  absl::Status register_ports_and_callbacks();

  std::vector<std::pair<std::string, std::string>> connections() const override;
  absl::Status connect(const std::string& ours, const std::string& theirs) override;

  absl::Status start(ProcessCallback* callback) override;
  void stop() override;
  uint32_t sample_rate_hz() const override { return sample_rate_hz_; }
  uint32_t max_period_frames() const override { return max_period_frames_; }
  const IoCounters& counters() const override { return *counters_; }
  bool connected() const override { return connected_.load(std::memory_order_acquire); }
  uint32_t period_frames() const override { return period_frames_.load(std::memory_order_relaxed); }
  float dsp_load_percent() const override {
    return connected() ? jack_cpu_load(client_.get()) : 0.0f;
  }
  const std::string& client_name() const override { return options_.client_name; }
  size_t pop_midi_in(std::span<TimedMidiMessage> out) override {
    size_t n = 0;
    while (n < out.size() && ring_.try_pop(out[n])) ++n;
    return n;
  }

 private:
  static int on_process(jack_nframes_t n_frames, void* self) {
    return static_cast<JackIoImpl*>(self)->process(n_frames);
  }
  static int on_xrun(void* self) {
    static_cast<JackIoImpl*>(self)->counters_->xruns.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  static int on_buffer_size(jack_nframes_t n_frames, void* self) {
    static_cast<JackIoImpl*>(self)->period_frames_.store(n_frames, std::memory_order_relaxed);
    return 0;
  }
  static void on_shutdown(jack_status_t, const char*, void* self) {
    static_cast<JackIoImpl*>(self)->connected_.store(false, std::memory_order_release);
  }

  int process(jack_nframes_t n_frames);
  size_t read_midi_in(void* buffer, uint32_t n_frames);
  absl::Status auto_connect();
  absl::Status connect_first(const char* type, unsigned long flags, size_t index, jack_port_t* ours,
                             bool ours_is_input);

  const JackOptions options_;
  JackClientPtr client_;
  const uint32_t sample_rate_hz_;
  const uint32_t max_period_frames_;
  std::atomic<uint32_t> period_frames_;
  std::atomic<bool> connected_{true};
  bool active_ = false;  // thread: control
  jack_port_t* audio_in_[2] = {nullptr, nullptr};
  jack_port_t* audio_out_[2] = {nullptr, nullptr};
  jack_port_t* midi_in_ = nullptr;
  jack_port_t* midi_out_ = nullptr;
  ProcessCallback* callback_ = nullptr;  // written only while the client is inactive
  uint64_t frames_done_ = 0;             // thread: rt (reset only while inactive)
  IoCounters own_counters_;
  IoCounters* counters_;  // own_counters_, or those a ResilientJackIo keeps across clients
  std::unique_ptr<MidiMessage[]> midi_in_block_;  // this period's MIDI in, for the callback
  std::unique_ptr<float[]> silence_;  // max_period_frames_ zeros: the audio in without in ports
  SpscRing<TimedMidiMessage> ring_;   // MIDI in: rt produces, one consumer thread pops
  JackMidiOut midi_out_writer_;
};

absl::Status JackIoImpl::register_ports_and_callbacks() {
  jack_client_t* c = client_.get();
  auto reg = [&](const char* name, const char* type, unsigned long flags,
                 jack_port_t** port) -> absl::Status {
    *port = jack_port_register(c, name, type, flags, 0);
    if (*port != nullptr) return absl::OkStatus();
    return absl::InternalError(absl::StrCat("JACK refused to register port '", options_.client_name,
                                            ":", name, "': see the jackd log"));
  };
  for (int i = 0; i < 2 && options_.inputs_and_midi; ++i) {
    if (auto s = reg(kJackAudioInPorts[i], JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, &audio_in_[i]);
        !s.ok())
      return s;
  }
  for (int i = 0; i < 2; ++i) {
    if (auto s =
            reg(kJackAudioOutPorts[i], JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, &audio_out_[i]);
        !s.ok())
      return s;
  }
  if (options_.inputs_and_midi) {
    if (auto s = reg(kJackMidiInPort, JACK_DEFAULT_MIDI_TYPE, JackPortIsInput, &midi_in_); !s.ok())
      return s;
    if (auto s = reg(kJackMidiOutPort, JACK_DEFAULT_MIDI_TYPE, JackPortIsOutput, &midi_out_);
        !s.ok())
      return s;
  }
  if (jack_set_process_callback(c, &JackIoImpl::on_process, this) != 0 ||
      jack_set_xrun_callback(c, &JackIoImpl::on_xrun, this) != 0 ||
      jack_set_buffer_size_callback(c, &JackIoImpl::on_buffer_size, this) != 0) {
    return absl::InternalError("JACK refused jamd's callbacks: see the jackd log");
  }
  jack_on_info_shutdown(c, &JackIoImpl::on_shutdown, this);
  return absl::OkStatus();
}

absl::Status JackIoImpl::start(ProcessCallback* callback) {
  assert(callback != nullptr);
  if (active_) return absl::FailedPreconditionError("JACK I/O already started: stop() it first");
  if (!connected()) {
    return absl::UnavailableError(
        "the JACK server has gone away: start it again, then restart jamd's audio");
  }
  callback_ = callback;
  frames_done_ = 0;
  // jack_activate() starts the process thread; the writes above happen-before its first call.
  if (jack_activate(client_.get()) != 0) {
    callback_ = nullptr;
    return absl::InternalError("JACK refused to activate jamd's client: see the jackd log");
  }
  active_ = true;
  if (options_.auto_connect) {
    if (absl::Status s = auto_connect(); !s.ok()) {
      stop();
      return s;
    }
  }
  return absl::OkStatus();
}

void JackIoImpl::stop() {
  if (!active_) return;
  // After a shutdown the server is gone and no callback can run; deactivating would only fail.
  if (connected()) jack_deactivate(client_.get());
  active_ = false;
  callback_ = nullptr;
}

absl::Status JackIoImpl::connect_first(const char* type, unsigned long flags, size_t index,
                                       jack_port_t* ours, bool ours_is_input) {
  JackPortList ports(jack_get_ports(client_.get(), nullptr, type, flags));
  if (ports == nullptr) return absl::OkStatus();
  for (size_t i = 0; i < index; ++i) {
    if (ports[i] == nullptr) return absl::OkStatus();  // fewer system ports than ours: skip
  }
  if (ports[index] == nullptr) return absl::OkStatus();
  const char* our_name = jack_port_name(ours);
  const char* theirs = ports[index];
  const int rc = ours_is_input ? jack_connect(client_.get(), theirs, our_name)
                               : jack_connect(client_.get(), our_name, theirs);
  if (rc == 0 || rc == EEXIST) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("JACK refused to connect '", our_name, "' and '", theirs,
                                          "': connect them by hand or drop --auto-connect"));
}

absl::Status JackIoImpl::auto_connect() {
  constexpr unsigned long kCapture = JackPortIsPhysical | JackPortIsOutput;
  constexpr unsigned long kPlayback = JackPortIsPhysical | JackPortIsInput;
  for (size_t i = 0; i < 2; ++i) {
    if (auto s = connect_first(JACK_DEFAULT_AUDIO_TYPE, kPlayback, i, audio_out_[i], false);
        !s.ok())
      return s;
  }
  if (!options_.inputs_and_midi) return absl::OkStatus();
  for (size_t i = 0; i < 2; ++i) {
    if (auto s = connect_first(JACK_DEFAULT_AUDIO_TYPE, kCapture, i, audio_in_[i], true); !s.ok())
      return s;
  }
  if (auto s = connect_first(JACK_DEFAULT_MIDI_TYPE, kCapture, 0, midi_in_, true); !s.ok()) {
    return s;
  }
  return connect_first(JACK_DEFAULT_MIDI_TYPE, kPlayback, 0, midi_out_, false);
}

std::vector<std::pair<std::string, std::string>> JackIoImpl::connections() const {
  std::vector<std::pair<std::string, std::string>> result;
  if (!connected()) return result;
  const std::pair<const char*, jack_port_t*> ports[] = {{kJackAudioInPorts[0], audio_in_[0]},
                                                        {kJackAudioInPorts[1], audio_in_[1]},
                                                        {kJackAudioOutPorts[0], audio_out_[0]},
                                                        {kJackAudioOutPorts[1], audio_out_[1]},
                                                        {kJackMidiInPort, midi_in_},
                                                        {kJackMidiOutPort, midi_out_}};
  for (const auto& [name, port] : ports) {
    if (port == nullptr) continue;  // not registered (inputs_and_midi off)
    JackPortList peers(jack_port_get_all_connections(client_.get(), port));
    for (size_t i = 0; peers != nullptr && peers[i] != nullptr; ++i) {
      result.emplace_back(name, peers[i]);
    }
  }
  return result;
}

absl::Status JackIoImpl::connect(const std::string& ours, const std::string& theirs) {
  const std::string our_name = absl::StrCat(options_.client_name, ":", ours);
  jack_port_t* port = jack_port_by_name(client_.get(), our_name.c_str());
  if (port == nullptr) return absl::NotFoundError(absl::StrCat("no port ", our_name));
  const bool input = (jack_port_flags(port) & JackPortIsInput) != 0;
  const int rc = input ? jack_connect(client_.get(), theirs.c_str(), our_name.c_str())
                       : jack_connect(client_.get(), our_name.c_str(), theirs.c_str());
  if (rc == 0 || rc == EEXIST) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat("cannot connect ", our_name, " and ", theirs));
}

// Copies the period's short MIDI messages into midi_in_block_ (frames relative to the period)
// and into the ring (absolute frames). Drops and counts sysex, oversize and overflow.
size_t JackIoImpl::read_midi_in(void* buffer, uint32_t n_frames) {
  const uint32_t n_events = jack_midi_get_event_count(buffer);
  size_t n_kept = 0;
  for (uint32_t i = 0; i < n_events; ++i) {
    jack_midi_event_t event;
    if (jack_midi_event_get(&event, buffer, i) != 0) continue;
    if (event.size == 0 || event.size > 3 || event.buffer[0] == 0xF0 ||
        n_kept == kJackMidiInMessagesPerPeriod) {
      counters_->midi_in_dropped.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    MidiMessage& m = midi_in_block_[n_kept++];
    m.frame = std::min<uint32_t>(event.time, n_frames - 1);
    m.size = static_cast<uint8_t>(event.size);
    std::memcpy(m.bytes, event.buffer, event.size);
    if (!ring_.try_push({.frame = frames_done_ + m.frame, .message = m})) {
      counters_->midi_in_dropped.fetch_add(1, std::memory_order_relaxed);
    }
  }
  return n_kept;
}

int JackIoImpl::process(jack_nframes_t n_frames) {
  counters_->periods.fetch_add(1, std::memory_order_relaxed);
  const float* in[2];
  float* out[2];
  for (int i = 0; i < 2; ++i) {
    in[i] = audio_in_[i] != nullptr
                ? static_cast<const float*>(jack_port_get_buffer(audio_in_[i], n_frames))
                : nullptr;
    out[i] = static_cast<float*>(jack_port_get_buffer(audio_out_[i], n_frames));
  }
  void* midi_out_buffer = nullptr;
  size_t n_midi_in = 0;
  if (midi_out_ != nullptr) {
    midi_out_buffer = jack_port_get_buffer(midi_out_, n_frames);
    jack_midi_clear_buffer(midi_out_buffer);
    n_midi_in = read_midi_in(jack_port_get_buffer(midi_in_, n_frames), n_frames);
  }

  // Slices of at most max_period_frames_, so a period that grew after start() still fits what
  // the callback preallocated. Usually one slice.
  size_t midi_next = 0;
  for (uint32_t offset = 0; offset < n_frames; offset += max_period_frames_) {
    const uint32_t n = std::min(max_period_frames_, n_frames - offset);
    const size_t midi_first = midi_next;
    while (midi_next < n_midi_in && midi_in_block_[midi_next].frame < offset + n) {
      midi_in_block_[midi_next++].frame -= offset;
    }
    ProcessBlock block;
    block.n_frames = n;
    block.first_frame = frames_done_ + offset;
    for (int i = 0; i < 2; ++i) {
      block.audio_in[i] = in[i] != nullptr ? std::span<const float>(in[i] + offset, n)
                                           : std::span<const float>(silence_.get(), n);
      block.audio_out[i] = std::span<float>(out[i] + offset, n);
    }
    block.midi_in =
        std::span<const MidiMessage>(midi_in_block_.get() + midi_first, midi_next - midi_first);
    midi_out_writer_.begin_slice(midi_out_buffer, offset, n);
    block.midi_out = &midi_out_writer_;
    callback_->process(block);
  }
  frames_done_ += n_frames;
  return 0;
}

}  // namespace

std::string jack_server_in_effect(const std::string& requested) {
  if (!requested.empty()) return requested;
  const char* env = std::getenv("JACK_DEFAULT_SERVER");
  return (env != nullptr && env[0] != '\0') ? std::string(env) : std::string("default");
}

absl::StatusOr<std::unique_ptr<JackClient>> open_jack_client(const JackOptions& options,
                                                             const JackClientShare& share) {
  const int max_name_chars = jack_client_name_size() - 1;
  if (options.client_name.empty() ||
      options.client_name.size() > static_cast<size_t>(max_name_chars) ||
      options.client_name.find(':') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("JACK client name '", options.client_name,
                                                   "' is not usable: give 1 to ", max_name_chars,
                                                   " characters without ':' to --client-name"));
  }
  jack_set_error_function(&ignore_jack_message);
  jack_set_info_function(&ignore_jack_message);

  int flags = JackNoStartServer | JackUseExactName;
  if (!options.server_name.empty()) flags |= JackServerName;
  jack_status_t status{};
  JackClientPtr client(jack_client_open(options.client_name.c_str(),
                                        static_cast<jack_options_t>(flags), &status,
                                        options.server_name.c_str()));
  if (client == nullptr) return open_error(options, status);
  // JackUseExactName should make a rename impossible; refuse one anyway rather than run under a
  // name the user's connections do not expect.
  if (options.client_name != jack_get_client_name(client.get())) {
    return open_error(options, static_cast<jack_status_t>(JackNameNotUnique));
  }
  auto io = std::make_unique<JackIoImpl>(options, share, std::move(client));
  if (absl::Status s = io->register_ports_and_callbacks(); !s.ok()) return s;
  return std::unique_ptr<JackClient>(std::move(io));
}

}  // namespace jamd::realtime
