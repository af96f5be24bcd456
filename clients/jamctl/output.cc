// jamctl's human output, JSON output and error explanations.
#include "clients/jamctl/output.h"

#include <google/protobuf/util/json_util.h>

#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace jamctl {
namespace {

constexpr std::array<const char*, 12> kNoteNames = {"C",  "C#", "D",  "Eb", "E",  "F",
                                                    "F#", "G",  "Ab", "A",  "Bb", "B"};

std::string level(float v) { return v < 0 ? "auto" : absl::StrFormat("%.2f", v); }

std::string kind_name(jam::v1::EventKind kind) {
  switch (kind) {
    case jam::v1::EVENT_KIND_SNAPSHOT:
      return "state";
    case jam::v1::EVENT_KIND_STEERED:
      return "steered";
    case jam::v1::EVENT_KIND_JOINED:
      return "joined";
    case jam::v1::EVENT_KIND_LEFT:
      return "left";
    case jam::v1::EVENT_KIND_REMOVED:
      return "removed";
    case jam::v1::EVENT_KIND_LOCKS_CHANGED:
      return "changed locks on";
    case jam::v1::EVENT_KIND_JAM_ENDED:
      return "ended the jam";
    case jam::v1::EVENT_KIND_EVENTS_DROPPED:
      return "dropped";
    default:
      return "?";
  }
}

}  // namespace

std::string role_name(jam::v1::Role role) {
  switch (role) {
    case jam::v1::ROLE_HOST:
      return "host";
    case jam::v1::ROLE_PLAYER:
      return "player";
    case jam::v1::ROLE_LISTENER:
      return "listener";
    default:
      return "unknown role";
  }
}

std::string describe_state(const jam::v1::JamState& s) {
  std::string key = s.key_tonic() >= 0 && s.key_tonic() < 12
                        ? absl::StrCat(kNoteNames[static_cast<size_t>(s.key_tonic())],
                                       s.scale() == jam::v1::SCALE_MINOR ? " minor" : " major")
                        : "key auto";
  std::vector<std::string> mood;
  for (const jam::v1::MoodPrompt& m : s.mood())
    mood.push_back(absl::StrFormat("%s:%g", m.text(), m.weight()));
  std::vector<std::string> parts;
  const std::array<std::pair<const char*, const jam::v1::PartState*>, 5> all = {
      {{"drums", &s.parts().drums()},
       {"bass", &s.parts().bass()},
       {"keys", &s.parts().keys()},
       {"pad", &s.parts().pad()},
       {"lead", &s.parts().lead()}}};
  for (const auto& [name, p] : all) {
    parts.push_back(absl::StrCat(name, !p->enabled() ? "(off)" : p->muted() ? "(muted)" : ""));
  }
  const std::string mode = jam::v1::Mode_Name(s.mode());
  return absl::StrFormat(
      "%.1f BPM %d/4, %s, mood [%s], density %s, energy %s, brightness %s, mode %s, parts %s, "
      "%s",
      s.tempo_bpm(), s.beats_per_bar(), key, absl::StrJoin(mood, " "), level(s.density()),
      level(s.energy()), level(s.brightness()),
      absl::AsciiStrToLower(mode.substr(mode.find('_') + 1)), absl::StrJoin(parts, " "),
      s.playing() ? "playing" : "stopped");
}

std::string describe_event(const jam::v1::JamEvent& e) {
  std::string who = e.has_by() ? absl::StrCat(e.by().display_name(), " (", e.by().participant_id(),
                                              ", ", role_name(e.by().role()), ") ")
                               : "";
  std::string what = kind_name(e.kind());
  if (e.kind() == jam::v1::EVENT_KIND_EVENTS_DROPPED) {
    what = absl::StrCat("this watch was too slow and lost ", e.n_dropped(), " events");
  }
  if (!e.subject_participant_id().empty() && e.kind() == jam::v1::EVENT_KIND_REMOVED) {
    what = absl::StrCat(what, " ", e.subject_participant_id());
  }
  if (e.changed_paths_size() > 0) {
    what = absl::StrCat(what, " ", absl::StrJoin(e.changed_paths(), ", "));
  }
  std::string line =
      absl::StrCat("#", e.sequence(), " ", who, what, ": ", describe_state(e.state()));
  if (e.locked_paths_size() > 0) {
    absl::StrAppend(&line, "; locked: ", absl::StrJoin(e.locked_paths(), ", "));
  }
  return line;
}

std::string to_json(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

std::string explain_error(const grpc::Status& status, const std::string& server) {
  const std::string detail = status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return absl::StrCat("cannot reach jamd at ", server, ": is `jamd serve` running? (", detail,
                          ")");
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::StrCat("jamd at ", server, " did not answer in time; is it overloaded or is ",
                          "the address right?");
    case grpc::StatusCode::UNAUTHENTICATED:
      return absl::StrCat("the token was not accepted: ", detail);
    case grpc::StatusCode::PERMISSION_DENIED:
      return absl::StrCat("your role does not allow this: ", detail);
    case grpc::StatusCode::INVALID_ARGUMENT:
      return absl::StrCat("invalid request: ", detail);
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return absl::StrCat("over a limit: ", detail);
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::FAILED_PRECONDITION:
      return absl::StrCat("jamd cannot do this now: ", detail);
    case grpc::StatusCode::UNIMPLEMENTED:
      return absl::StrCat("not available in this jamd: ", detail);
    default:
      return absl::StrCat("jamd at ", server, " refused (code ",
                          static_cast<int>(status.error_code()), "): ", detail);
  }
}

}  // namespace jamctl
