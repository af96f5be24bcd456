// Protobuf <-> session types, and Status -> grpc::Status.
#include "daemon/api/convert.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace jamd::api {
namespace {

const jam::v1::PartState& part_in(const jam::v1::Parts& parts, int i) {
  switch (i) {
    case kPartDrums:
      return parts.drums();
    case kPartBass:
      return parts.bass();
    case kPartKeys:
      return parts.keys();
    case kPartPad:
      return parts.pad();
    default:
      return parts.lead();
  }
}

jam::v1::PartState* part_out(jam::v1::Parts* parts, int i) {
  switch (i) {
    case kPartDrums:
      return parts->mutable_drums();
    case kPartBass:
      return parts->mutable_bass();
    case kPartKeys:
      return parts->mutable_keys();
    case kPartPad:
      return parts->mutable_pad();
    default:
      return parts->mutable_lead();
  }
}

jam::v1::Mode mode_to_proto(JamMode m) {
  switch (m) {
    case JamMode::kAccompany:
      return jam::v1::MODE_ACCOMPANY;
    case JamMode::kContinue:
      return jam::v1::MODE_CONTINUE;
    case JamMode::kCallAndResponse:
      return jam::v1::MODE_CALL_AND_RESPONSE;
    case JamMode::kAuto:
      return jam::v1::MODE_AUTO;
  }
  return jam::v1::MODE_UNSPECIFIED;
}

jam::v1::EventKind kind_to_proto(EventKind k) {
  switch (k) {
    case EventKind::kSnapshot:
      return jam::v1::EVENT_KIND_SNAPSHOT;
    case EventKind::kSteered:
      return jam::v1::EVENT_KIND_STEERED;
    case EventKind::kJoined:
      return jam::v1::EVENT_KIND_JOINED;
    case EventKind::kLeft:
      return jam::v1::EVENT_KIND_LEFT;
    case EventKind::kRemoved:
      return jam::v1::EVENT_KIND_REMOVED;
    case EventKind::kLocksChanged:
      return jam::v1::EVENT_KIND_LOCKS_CHANGED;
    case EventKind::kJamEnded:
      return jam::v1::EVENT_KIND_JAM_ENDED;
    case EventKind::kEventsDropped:
      return jam::v1::EVENT_KIND_EVENTS_DROPPED;
  }
  return jam::v1::EVENT_KIND_UNSPECIFIED;
}

bool named(const std::vector<std::string>& paths, const std::string& path) {
  return std::find(paths.begin(), paths.end(), path) != paths.end();
}

}  // namespace

grpc::Status to_grpc_status(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl and gRPC share the canonical code numbers (both follow google.rpc.Code).
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

jam::v1::Role to_proto(Role role) {
  switch (role) {
    case Role::kHost:
      return jam::v1::ROLE_HOST;
    case Role::kPlayer:
      return jam::v1::ROLE_PLAYER;
    case Role::kListener:
      return jam::v1::ROLE_LISTENER;
  }
  return jam::v1::ROLE_UNSPECIFIED;
}

void to_proto(const JamState& in, jam::v1::JamState* out) {
  out->set_tempo_bpm(in.tempo_bpm);
  out->set_beats_per_bar(in.beats_per_bar);
  out->set_key_tonic(in.key_tonic);
  out->set_scale(in.scale == Scale::kMinor ? jam::v1::SCALE_MINOR : jam::v1::SCALE_MAJOR);
  out->clear_mood();
  for (const MoodPrompt& p : in.mood) {
    jam::v1::MoodPrompt* m = out->add_mood();
    m->set_text(p.text);
    m->set_weight(p.weight);
  }
  out->set_density(in.density);
  out->set_energy(in.energy);
  out->set_brightness(in.brightness);
  out->set_mode(mode_to_proto(in.mode));
  for (int i = 0; i < kNumParts; ++i) {
    jam::v1::PartState* p = part_out(out->mutable_parts(), i);
    p->set_enabled(in.parts[i].enabled);
    p->set_muted(in.parts[i].muted);
    p->set_gm_program(in.parts[i].gm_program);
    p->set_volume(in.parts[i].volume);
    p->set_density_class(in.parts[i].density_class);
  }
  out->set_temperature(in.temperature);
  out->set_seed(in.seed);
  out->set_playing(in.playing);
  out->set_master_volume(in.master_volume);
  out->set_monitor_volume(in.monitor_volume);
}

void to_proto(const Participant& in, jam::v1::Participant* out) {
  out->set_participant_id(in.participant_id);
  out->set_display_name(in.display_name);
  out->set_role(to_proto(in.role));
}

void to_proto(const JamEvent& in, jam::v1::JamEvent* out) {
  out->set_sequence(in.sequence);
  out->set_time_unix_ms(in.time_unix_ms);
  out->set_kind(kind_to_proto(in.kind));
  if (!in.by.participant_id.empty()) to_proto(in.by, out->mutable_by());
  for (const std::string& p : in.changed_paths) out->add_changed_paths(p);
  out->set_subject_participant_id(in.subject_participant_id);
  to_proto(in.state, out->mutable_state());
  for (const std::string& p : in.locked_paths) out->add_locked_paths(p);
  for (const Participant& p : in.participants) to_proto(p, out->add_participants());
  out->set_n_dropped(in.n_dropped);
}

absl::Status from_proto(const jam::v1::JamState& in, const std::vector<std::string>& leaf_paths,
                        JamState* out) {
  out->tempo_bpm = in.tempo_bpm();
  out->beats_per_bar = in.beats_per_bar();
  out->key_tonic = in.key_tonic();
  if (named(leaf_paths, "scale")) {
    if (in.scale() != jam::v1::SCALE_MAJOR && in.scale() != jam::v1::SCALE_MINOR) {
      return absl::InvalidArgumentError(
          "scale is named in the update but is not SCALE_MAJOR or "
          "SCALE_MINOR");
    }
    out->scale = in.scale() == jam::v1::SCALE_MINOR ? Scale::kMinor : Scale::kMajor;
  }
  out->mood.clear();
  for (const jam::v1::MoodPrompt& m : in.mood())
    out->mood.push_back(MoodPrompt{m.text(), m.weight()});
  out->density = in.density();
  out->energy = in.energy();
  out->brightness = in.brightness();
  if (named(leaf_paths, "mode")) {
    switch (in.mode()) {
      case jam::v1::MODE_ACCOMPANY:
        out->mode = JamMode::kAccompany;
        break;
      case jam::v1::MODE_CONTINUE:
        out->mode = JamMode::kContinue;
        break;
      case jam::v1::MODE_CALL_AND_RESPONSE:
        out->mode = JamMode::kCallAndResponse;
        break;
      case jam::v1::MODE_AUTO:
        out->mode = JamMode::kAuto;
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat(
            "mode is named in the update but is ", in.mode(),
            "; use MODE_ACCOMPANY, MODE_CONTINUE, MODE_CALL_AND_RESPONSE or MODE_AUTO"));
    }
  }
  for (int i = 0; i < kNumParts; ++i) {
    const jam::v1::PartState& p = part_in(in.parts(), i);
    out->parts[i] = PartState{.enabled = p.enabled(),
                              .muted = p.muted(),
                              .gm_program = p.gm_program(),
                              .volume = p.volume(),
                              .density_class = p.density_class()};
  }
  out->temperature = in.temperature();
  out->seed = in.seed();
  out->playing = in.playing();
  out->master_volume = in.master_volume();
  out->monitor_volume = in.monitor_volume();
  return absl::OkStatus();
}

}  // namespace jamd::api
