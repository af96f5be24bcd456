// PATH=VALUE -> JamState fields by reflection; note names, enum short names, mood lists.
#include "clients/jamctl/steer_args.h"

// GCC 12 sees a "potential null dereference" inside protobuf's inlined FieldDescriptor::type()
// (descriptor.h, type_once_) once reflection calls are inlined here; the descriptors used are
// checked for null before use.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <cctype>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace jamctl {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Pitch class of a note name: C, C#, Db, ... B.
bool note_pitch_class(const std::string& name, int* pc) {
  static constexpr const char* kNames = "C D EF G A B";
  if (name.empty()) return false;
  const char* at = std::strchr(kNames, std::toupper(static_cast<unsigned char>(name[0])));
  if (at == nullptr || *at == ' ') return false;
  int value = static_cast<int>(at - kNames);
  for (size_t i = 1; i < name.size(); ++i) {
    if (name[i] == '#') {
      ++value;
    } else if (name[i] == 'b') {
      --value;
    } else {
      return false;
    }
  }
  *pc = (value + 12) % 12;
  return true;
}

std::string parse_mood(const std::string& value, jam::v1::JamState* state) {
  state->clear_mood();
  for (absl::string_view item : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
    std::vector<std::string> parts = absl::StrSplit(item, ':');
    jam::v1::MoodPrompt* m = state->add_mood();
    m->set_text(std::string(absl::StripAsciiWhitespace(parts[0])));
    float weight = 1.0f;
    if (parts.size() > 2 || (parts.size() == 2 && !absl::SimpleAtof(parts[1], &weight))) {
      return absl::StrCat("mood item '", item, "': write WORDS or WORDS:WEIGHT, e.g. dark:2");
    }
    m->set_weight(weight);
  }
  return "";
}

std::string set_scalar(Message* msg, const FieldDescriptor* f, const std::string& path,
                       const std::string& value) {
  const Reflection* r = msg->GetReflection();
  const std::string bad = absl::StrCat("'", value, "' is not a valid value for ", path);
  const bool is_auto = value == "auto";
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double d = 0;
      if (!absl::SimpleAtod(value, &d)) return bad + " (a number)";
      r->SetDouble(msg, f, d);
      return "";
    }
    case FieldDescriptor::CPPTYPE_FLOAT: {
      float x = -1;
      if (!is_auto && !absl::SimpleAtof(value, &x)) return bad + " (a number, or auto)";
      r->SetFloat(msg, f, x);
      return "";
    }
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t x = -1;
      if (path == "key_tonic" && !is_auto && !absl::SimpleAtoi(value, &x) &&
          !note_pitch_class(value, &x)) {
        return bad + " (a note name like D, F# or Bb, 0..11, or auto)";
      }
      if (path != "key_tonic" && !is_auto && !absl::SimpleAtoi(value, &x)) {
        return bad + " (an integer, or auto)";
      }
      r->SetInt32(msg, f, x);
      return "";
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t x = 0;
      if (!absl::SimpleAtoi(value, &x)) return bad + " (a non-negative integer)";
      r->SetUInt64(msg, f, x);
      return "";
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool b = false;
      if (!absl::SimpleAtob(value, &b)) return bad + " (true or false)";
      r->SetBool(msg, f, b);
      return "";
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      // "minor" names SCALE_MINOR: values carry their enum's name as a prefix.
      const std::string prefix = absl::AsciiStrToLower(f->enum_type()->name()) + "_";
      std::string options;
      for (int i = 1; i < f->enum_type()->value_count(); ++i) {  // 0 is _UNSPECIFIED
        const google::protobuf::EnumValueDescriptor* v = f->enum_type()->value(i);
        std::string name = absl::AsciiStrToLower(v->name());
        if (name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
        if (absl::AsciiStrToLower(value) == name) {
          r->SetEnumValue(msg, f, v->number());
          return "";
        }
        absl::StrAppend(&options, options.empty() ? "" : ", ", name);
      }
      return absl::StrCat(bad, " (one of: ", options, ")");
    }
    default:
      return absl::StrCat(path, " cannot be set from the command line");
  }
}

}  // namespace

std::string parse_steer_args(const std::vector<std::string>& args, jam::v1::SteerRequest* req) {
  if (args.empty()) return "steer needs at least one PATH=VALUE, e.g. tempo_bpm=120";
  for (const std::string& arg : args) {
    const size_t eq = arg.find('=');
    if (eq == std::string::npos) return absl::StrCat("'", arg, "': write PATH=VALUE");
    const std::string path = arg.substr(0, eq);
    const std::string value = arg.substr(eq + 1);
    req->mutable_update_mask()->add_paths(path);
    if (path == "mood") {
      if (std::string e = parse_mood(value, req->mutable_state()); !e.empty()) return e;
      continue;
    }
    Message* msg = req->mutable_state();
    const std::vector<std::string> names = absl::StrSplit(path, '.');
    const FieldDescriptor* field = nullptr;
    for (size_t i = 0; i < names.size(); ++i) {
      field = msg->GetDescriptor()->FindFieldByName(names[i]);
      const bool descend = i + 1 < names.size();
      if (field == nullptr || (descend && field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE)) {
        return absl::StrCat("unknown field path '", path, "'; known paths:\n", steer_paths_help());
      }
      if (descend) msg = msg->GetReflection()->MutableMessage(msg, field);
    }
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE || field->is_repeated()) {
      return absl::StrCat("'", path, "' is a group; name one of its fields, e.g. ", path,
                          ".muted=true");
    }
    if (std::string e = set_scalar(msg, field, path, value); !e.empty()) return e;
  }
  return "";
}

std::string steer_paths_help() {
  return "  tempo_bpm=30..300  beats_per_bar=2..7  key_tonic=C..B|0..11|auto  scale=major|minor\n"
         "  mood=WORDS[:WEIGHT],...  density=0..1|auto  energy=0..1|auto  brightness=0..1|auto\n"
         "  mode=accompany|continue|call_and_response|auto  temperature=0.1..2  seed=N\n"
         "  playing=true|false  master_volume=0..1  monitor_volume=0..1\n"
         "  parts.PART.enabled|muted=true|false  parts.PART.gm_program=0..127\n"
         "  parts.PART.volume=0..1  parts.PART.density_class=0..5|auto\n"
         "  (PART: drums bass keys pad lead)\n";
}

}  // namespace jamctl
