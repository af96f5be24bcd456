// WsSession: the WebSocket side of the web client. Handlers translate and post; nothing here
// blocks or touches the engine. The participant token lives only in this object: it is never
// sent back to the page and never logged.
#include "daemon/web/ws_session.h"

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "daemon/api/convert.h"
#include "daemon/api/media_convert.h"
#include "daemon/session/field_paths.h"
#include "daemon/web/rate_limiter.h"
#include "daemon/web/web_messages.h"
#include "jam/v1/web.pb.h"

namespace jamd::web {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

// 50 packets = 500 ms of 10 ms Opus frames: more than a page's jitter buffer wants; older
// packets are worth less than the newest when the page falls behind.
constexpr size_t kAudioQueuePackets = 50;
constexpr size_t kNoteQueueNotes = 512;
// Replies waiting for the socket; a page that keeps more pending is flooding and is closed.
constexpr size_t kMaxPendingReplies = 256;

std::vector<std::string> mask_paths(const google::protobuf::FieldMask& mask) {
  return std::vector<std::string>(mask.paths().begin(), mask.paths().end());
}

class WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(tcp::socket socket, std::shared_ptr<WebContext> context)
      : ws_(std::move(socket)),
        context_(std::move(context)),
        limiter_(context_->options.client_messages_per_s, context_->options.client_messages_burst) {
    ++context_->n_websockets;
  }
  ~WsSession() {
    detach();
    --context_->n_websockets;
  }

  void run(http::request<http::string_body> upgrade) {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "jamd"); }));
    ws_.read_message_max(context_->options.max_message_bytes);
    ws_.binary(true);
    ws_.async_accept(upgrade, beast::bind_front_handler(&WsSession::on_accept, shared_from_this()));
  }

 private:
  void on_accept(beast::error_code ec) {
    if (ec) return detach();
    read_next();
  }

  void read_next() {
    ws_.async_read(in_, beast::bind_front_handler(&WsSession::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t /*n_bytes*/) {
    if (ec) return detach();  // closed, too big (1009 sent by Beast), or timed out
    jam::v1::WebClientMessage message;
    const bool parsed = ws_.got_binary() &&
                        message.ParseFromArray(in_.cdata().data(), static_cast<int>(in_.size()));
    in_.consume(in_.size());
    if (!limiter_.try_take(absl::Now())) {
      reply_error(message.request_id(),
                  absl::ResourceExhaustedError("too many messages: slow down (docs/web.md)"));
    } else if (!parsed) {
      reply_error(0, absl::InvalidArgumentError(
                         "not a binary jam.v1.WebClientMessage (protos/jam/v1/web.proto)"));
    } else {
      handle(message);
    }
    if (replies_.size() > kMaxPendingReplies) {  // sends without reading: drop the connection
      detach();
      beast::error_code ignored;
      beast::get_lowest_layer(ws_).socket().close(ignored);
      return;
    }
    pump();
    read_next();
  }

  void handle(const jam::v1::WebClientMessage& message) {
    const uint32_t id = message.request_id();
    switch (message.request_case()) {
      case jam::v1::WebClientMessage::kJoin:
        return join(id, message.join());
      case jam::v1::WebClientMessage::kSteer:
        return steer(id, message.steer());
      case jam::v1::WebClientMessage::kLock:
        return lock(id, message.lock());
      case jam::v1::WebClientMessage::kWatch:
        return watch(id);
      case jam::v1::WebClientMessage::kListenAudio:
        return listen_audio(id);
      case jam::v1::WebClientMessage::kListenNotes:
        return listen_notes(id);
      case jam::v1::WebClientMessage::kLeave:
        return leave(id);
      case jam::v1::WebClientMessage::kRemove:
        return remove(id, message.remove());
      case jam::v1::WebClientMessage::kEnd:
        return end(id);
      case jam::v1::WebClientMessage::REQUEST_NOT_SET:
        break;
    }
    reply_error(id, absl::InvalidArgumentError("empty request: set one field of the oneof"));
  }

  void join(uint32_t id, const jam::v1::JoinJamRequest& request) {
    if (!participant_token_.empty()) {
      return reply_error(
          id, absl::FailedPreconditionError("this connection already joined a jam: leave first"));
    }
    absl::StatusOr<Joined> joined =
        context_->jams->join(request.join_token(), request.display_name());
    if (!joined.ok()) return reply_error(id, joined.status());
    participant_token_ = joined->participant_token;
    jam_id_ = joined->jam_id;
    jam::v1::WebServerMessage out;
    out.set_request_id(id);
    jam::v1::JoinJamResponse* r = out.mutable_joined();
    r->set_jam_id(joined->jam_id);
    r->set_participant_id(joined->participant.participant_id);
    r->set_role(api::to_proto(joined->participant.role));
    api::to_proto(joined->state, r->mutable_state());
    queue_reply(out);
  }

  void steer(uint32_t id, const jam::v1::SteerRequest& request) {
    absl::StatusOr<Caller> caller = authenticate();
    if (!caller.ok()) return reply_error(id, caller.status());
    absl::StatusOr<std::vector<std::string>> leaves =
        expand_paths(mask_paths(request.update_mask()));
    if (!leaves.ok()) return reply_error(id, leaves.status());
    JamState values;
    if (absl::Status st = api::from_proto(request.state(), *leaves, &values); !st.ok()) {
      return reply_error(id, st);
    }
    absl::StatusOr<SteerResult> result =
        caller->jam->steer(caller->participant.participant_id, values, *leaves);
    if (!result.ok()) return reply_error(id, result.status());
    jam::v1::WebServerMessage out;
    out.set_request_id(id);
    out.mutable_steered()->set_sequence(result->sequence);
    api::to_proto(result->state, out.mutable_steered()->mutable_state());
    queue_reply(out);
  }

  void lock(uint32_t id, const jam::v1::LockFieldsRequest& request) {
    absl::StatusOr<Caller> caller = authenticate();
    if (!caller.ok()) return reply_error(id, caller.status());
    absl::StatusOr<std::vector<std::string>> locked = caller->jam->set_locks(
        caller->participant.participant_id, mask_paths(request.paths()), request.locked());
    if (!locked.ok()) return reply_error(id, locked.status());
    jam::v1::WebServerMessage out;
    out.set_request_id(id);
    for (const std::string& p : *locked) out.mutable_locked()->add_locked_paths(p);
    queue_reply(out);
  }

  void watch(uint32_t id) {
    absl::StatusOr<Caller> caller = authenticate();
    if (!caller.ok()) return reply_error(id, caller.status());
    if (events_) return reply_error(id, absl::AlreadyExistsError("already watching"));
    absl::StatusOr<std::shared_ptr<EventQueue>> queue =
        caller->jam->watch(caller->participant.participant_id, waker());
    if (!queue.ok()) return reply_error(id, queue.status());
    events_ = *queue;
    events_jam_ = caller->jam;
    events_request_id_ = id;
    reply_started(id);
  }

  void listen_audio(uint32_t id) {
    absl::Status st = media_precondition(audio_ != nullptr);
    if (!st.ok()) return reply_error(id, st);
    auto queue = context_->media->subscribe_audio(jam_id_, kAudioQueuePackets, waker());
    if (!queue.ok()) return reply_error(id, queue.status());
    audio_ = *queue;
    audio_request_id_ = id;
    reply_started(id);
  }

  void listen_notes(uint32_t id) {
    absl::Status st = media_precondition(notes_ != nullptr);
    if (!st.ok()) return reply_error(id, st);
    auto queue = context_->media->subscribe_notes(jam_id_, kNoteQueueNotes, waker());
    if (!queue.ok()) return reply_error(id, queue.status());
    notes_ = *queue;
    notes_request_id_ = id;
    reply_started(id);
  }

  absl::Status media_precondition(bool already) {
    if (absl::StatusOr<Caller> caller = authenticate(); !caller.ok()) return caller.status();
    if (already) return absl::AlreadyExistsError("already listening");
    if (context_->media == nullptr) {
      return absl::UnavailableError("this jamd streams no audio or notes (no media attached)");
    }
    return absl::OkStatus();
  }

  void leave(uint32_t id) {
    if (participant_token_.empty()) {
      return reply_error(id, absl::FailedPreconditionError("not in a jam"));
    }
    absl::Status st = context_->jams->leave(participant_token_);
    close_streams();
    participant_token_.clear();
    jam_id_.clear();
    if (!st.ok()) return reply_error(id, st);
    jam::v1::WebServerMessage out;
    out.set_request_id(id);
    out.mutable_left();
    queue_reply(out);
  }

  void remove(uint32_t id, const jam::v1::RemoveParticipantRequest& request) {
    absl::Status st = participant_token_.empty()
                          ? absl::UnauthenticatedError("join a jam first (send a join request)")
                          : context_->jams->remove(participant_token_, request.participant_id());
    if (!st.ok()) return reply_error(id, st);
    jam::v1::WebServerMessage out;
    out.set_request_id(id);
    out.mutable_removed();
    queue_reply(out);
  }

  void end(uint32_t id) {
    absl::Status st = participant_token_.empty()
                          ? absl::UnauthenticatedError("join a jam first (send a join request)")
                          : context_->jams->end(participant_token_);
    if (!st.ok()) return reply_error(id, st);
    jam::v1::WebServerMessage out;
    out.set_request_id(id);
    out.mutable_ended();
    queue_reply(out);
  }

  absl::StatusOr<Caller> authenticate() const {
    if (participant_token_.empty()) {
      return absl::UnauthenticatedError("join a jam first (send a join request)");
    }
    return context_->jams->authenticate(participant_token_);
  }

  // ---- writing ----

  void reply_error(uint32_t id, const absl::Status& status) {
    jam::v1::WebServerMessage out;
    out.set_request_id(id);
    to_proto(status, out.mutable_error());
    queue_reply(out);
  }
  void reply_started(uint32_t id) {
    jam::v1::WebServerMessage out;
    out.set_request_id(id);
    out.mutable_started();
    queue_reply(out);
    pump();  // a watch starts with its snapshot already queued
  }
  void queue_reply(const jam::v1::WebServerMessage& message) {
    replies_.push_back(message.SerializeAsString());
  }

  // Wakes this session from any thread: at most one pump is posted at a time.
  std::function<void()> waker() {
    return [weak = weak_from_this(), context = context_] {
      context->gate.run_if_open([&] {
        std::shared_ptr<WsSession> self = weak.lock();
        if (!self || self->pump_posted_.exchange(true)) return;
        net::post(self->ws_.get_executor(), [self] {
          self->pump_posted_ = false;
          self->pump();
        });
      });
    };
  }

  // Writes the next message if no write is under way: replies, events, notes, then audio.
  void pump() {
    if (writing_ || detached_) return;
    if (!next_message(&out_)) return;
    writing_ = true;
    ws_.async_write(net::buffer(out_),
                    beast::bind_front_handler(&WsSession::on_write, shared_from_this()));
  }

  bool next_message(std::string* bytes) {
    if (!replies_.empty()) {
      *bytes = std::move(replies_.front());
      replies_.pop_front();
      return true;
    }
    jam::v1::WebServerMessage out;
    if (std::optional<JamEvent> e = events_ ? events_->pop() : std::nullopt) {
      out.set_request_id(events_request_id_);
      api::to_proto(*e, out.mutable_event());
    } else if (std::optional<TappedNote> n = notes_ ? notes_->pop() : std::nullopt) {
      out.set_request_id(notes_request_id_);
      api::to_proto(*n, out.mutable_note());
    } else if (std::optional<SharedOpusPacket> p = audio_ ? audio_->pop() : std::nullopt) {
      out.set_request_id(audio_request_id_);
      api::to_proto((*p)->packet, out.mutable_audio());
    } else {
      return false;
    }
    *bytes = out.SerializeAsString();
    return true;
  }

  void on_write(beast::error_code ec, size_t /*n_bytes*/) {
    writing_ = false;
    if (ec) return detach();
    pump();
  }

  // ---- ending ----

  void close_streams() {
    if (events_) events_jam_->unwatch(events_);
    if (audio_) audio_->close();
    if (notes_) notes_->close();
    events_.reset();
    events_jam_.reset();
    audio_.reset();
    notes_.reset();
  }

  // The socket is gone (or the server stops): end the streams and leave the jam. Idempotent.
  void detach() {
    if (detached_) return;
    detached_ = true;
    close_streams();
    if (!participant_token_.empty()) (void)context_->jams->leave(participant_token_);
    participant_token_.clear();
  }

  websocket::stream<beast::tcp_stream> ws_;
  const std::shared_ptr<WebContext> context_;
  beast::flat_buffer in_;
  RateLimiter limiter_;
  std::deque<std::string> replies_;
  std::string out_;
  bool writing_ = false;
  bool detached_ = false;
  std::atomic<bool> pump_posted_{false};

  std::string participant_token_;  // secret: never logged, never sent to the page
  std::string jam_id_;
  std::shared_ptr<JamSession> events_jam_;
  std::shared_ptr<EventQueue> events_;
  std::shared_ptr<TapQueue<SharedOpusPacket>> audio_;
  std::shared_ptr<TapQueue<TappedNote>> notes_;
  uint32_t events_request_id_ = 0;
  uint32_t audio_request_id_ = 0;
  uint32_t notes_request_id_ = 0;
};

}  // namespace

void start_websocket_session(tcp::socket socket, http::request<http::string_body> upgrade,
                             std::shared_ptr<WebContext> context) {
  std::make_shared<WsSession>(std::move(socket), std::move(context))->run(std::move(upgrade));
}

}  // namespace jamd::web
