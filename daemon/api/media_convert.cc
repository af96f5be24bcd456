// Opus packets and tapped notes -> jam.v1 AudioPacket and NoteEvent.
#include "daemon/api/media_convert.h"

#include <grpcpp/support/slice.h>

#include "daemon/jam/jam_state.h"

namespace jamd::api {
namespace {

// The slice's owner: it keeps the published packet (and so its bytes) alive until gRPC has
// sent them.
void release_packet(void* owner) { delete static_cast<SharedOpusPacket*>(owner); }

}  // namespace

void to_proto(const OpusPacket& in, jam::v1::AudioPacket* out) {
  out->set_sequence(in.sequence);
  out->set_sample_time_frames(in.sample_time_frames);
  out->set_sample_rate_hz(in.sample_rate_hz);
  out->set_n_channels(in.n_channels);
  out->set_frames_per_packet(in.frames_per_packet);
  out->set_opus_packet(in.data);
  out->set_encoded_unix_us(in.encoded_unix_us);
}

void to_proto(const TappedNote& in, jam::v1::NoteEvent* out) {
  out->set_source(in.source == TappedNote::Source::kHeard ? jam::v1::NOTE_SOURCE_HEARD
                                                          : jam::v1::NOTE_SOURCE_GENERATED);
  out->set_part(in.part >= 0 && in.part < kNumParts ? kPartNames[static_cast<size_t>(in.part)]
                                                    : "human");
  out->set_pitch(in.pitch);
  out->set_velocity(in.velocity);
  out->set_onset_frames(in.onset_frame);
  out->set_duration_frames(in.duration_frames);
  out->set_sample_rate_hz(static_cast<int32_t>(in.sample_rate_hz));
  out->set_bar(in.bar);
  out->set_beat(in.beat);
}

std::string audio_packet_bytes(const OpusPacket& in) {
  jam::v1::AudioPacket message;
  to_proto(in, &message);
  return message.SerializeAsString();
}

void to_wire(const SharedOpusPacket& in, grpc::ByteBuffer* out) {
  const std::string& bytes = in->wire_bytes(&audio_packet_bytes);
  auto* owner = new SharedOpusPacket(in);
  grpc::Slice slice(const_cast<char*>(bytes.data()), bytes.size(), &release_packet, owner);
  grpc::ByteBuffer message(&slice, 1);
  out->Swap(&message);
}

}  // namespace jamd::api
