// Media and status translation for the WebSocket envelope.
#include "daemon/web/web_messages.h"

#include <array>
#include <string>

#include "daemon/jam/jam_state.h"

namespace jamd::web {
namespace {

// jam.v1 NoteEvent.part names, in PartIndex order.
constexpr std::array<const char*, kNumParts> kPartNames = {"drums", "bass", "keys", "pad", "lead"};

}  // namespace

void to_proto(const OpusPacket& in, jam::v1::AudioPacket* out) {
  out->set_sequence(in.sequence);
  out->set_sample_time_frames(in.sample_time_frames);
  out->set_sample_rate_hz(in.sample_rate_hz);
  out->set_n_channels(in.n_channels);
  out->set_frames_per_packet(in.frames_per_packet);
  out->set_opus_packet(in.data);
}

void to_proto(const TappedNote& in, jam::v1::NoteEvent* out) {
  out->set_source(in.source == TappedNote::Source::kHeard ? jam::v1::NOTE_SOURCE_HEARD
                                                          : jam::v1::NOTE_SOURCE_GENERATED);
  out->set_part(in.part >= 0 && in.part < kNumParts ? kPartNames[in.part] : "human");
  out->set_pitch(in.pitch);
  out->set_velocity(in.velocity);
  out->set_onset_frames(in.onset_frame);
  out->set_duration_frames(in.duration_frames);
  out->set_sample_rate_hz(static_cast<int32_t>(in.sample_rate_hz));
  out->set_bar(in.bar);
  out->set_beat(in.beat);
}

void to_proto(const absl::Status& in, jam::v1::WebError* out) {
  out->set_code(static_cast<int32_t>(in.code()));
  out->set_message(std::string(in.message()));
}

}  // namespace jamd::web
