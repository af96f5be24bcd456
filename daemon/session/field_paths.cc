// The table of JamState's leaf fields: path, range check, copy and comparison for each.
#include "daemon/session/field_paths.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <functional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "daemon/jam/mood_lexicon.h"

namespace jamd {

// Mood prompts compare by text and weight (for "did this change").
static bool operator==(const MoodPrompt& a, const MoodPrompt& b) {
  return a.text == b.text && a.weight == b.weight;
}

namespace {

struct Field {
  std::string path;
  std::function<absl::Status(const JamState&)> validate;
  std::function<void(const JamState&, JamState*)> copy;
  std::function<bool(const JamState&, const JamState&)> equal;
};

template <typename T>
absl::Status in_range(const std::string& path, T value, T lo, T hi, absl::string_view extra = "") {
  // NaN fails every comparison, so it is out of range too.
  if (value >= lo && value <= hi) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(path, " = ", value, " is out of range; allowed: ", lo, "..", hi, extra));
}

// A float that is either "the model chooses" (-1) or in lo..hi.
absl::Status in_range_or_auto(const std::string& path, float value, float lo, float hi) {
  if (value == -1.0f) return absl::OkStatus();
  return in_range(path, value, lo, hi, ", or -1 (the model chooses)");
}

template <typename Get>
Field make_field(std::string path, Get get,
                 std::function<absl::Status(const std::string&, const JamState&)> check) {
  Field f;
  f.path = path;
  f.validate = [path, check](const JamState& s) { return check(path, s); };
  f.copy = [get](const JamState& from, JamState* to) { get(*to) = get(from); };
  f.equal = [get](const JamState& a, const JamState& b) { return get(a) == get(b); };
  return f;
}

absl::Status check_mood(const std::string& path, const JamState& s) {
  if (s.mood.size() > kMaxMoodPrompts) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " has ", s.mood.size(), " prompts; at most ", kMaxMoodPrompts));
  }
  for (const MoodPrompt& p : s.mood) {
    if (!(p.weight > 0 && p.weight <= kMaxMoodWeight)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": weight ", p.weight, " of '", p.text,
                       "' is out of range; allowed: > 0 and <= ", kMaxMoodWeight));
    }
    if (absl::Status st = check_mood_text(p.text); !st.ok()) return st;
  }
  return absl::OkStatus();
}

std::vector<Field> build_fields() {
  std::vector<Field> f;
  auto ok = [](const std::string&, const JamState&) { return absl::OkStatus(); };
  f.push_back(make_field(
      "tempo_bpm", [](auto& s) -> auto& { return s.tempo_bpm; },
      [](const std::string& p, const JamState& s) {
        return in_range(p, s.tempo_bpm, 30.0, 300.0);
      }));
  f.push_back(make_field(
      "beats_per_bar", [](auto& s) -> auto& { return s.beats_per_bar; },
      [](const std::string& p, const JamState& s) { return in_range(p, s.beats_per_bar, 2, 7); }));
  f.push_back(make_field(
      "key_tonic", [](auto& s) -> auto& { return s.key_tonic; },
      [](const std::string& p, const JamState& s) {
        return in_range(p, s.key_tonic, -1, 11, " (-1: the model chooses)");
      }));
  f.push_back(make_field(
      "scale", [](auto& s) -> auto& { return s.scale; }, ok));
  f.push_back(make_field(
      "mood", [](auto& s) -> auto& { return s.mood; }, check_mood));
  f.push_back(make_field(
      "density", [](auto& s) -> auto& { return s.density; },
      [](const std::string& p, const JamState& s) {
        return in_range_or_auto(p, s.density, 0.0f, 1.0f);
      }));
  f.push_back(make_field(
      "energy", [](auto& s) -> auto& { return s.energy; },
      [](const std::string& p, const JamState& s) {
        return in_range_or_auto(p, s.energy, 0.0f, 1.0f);
      }));
  f.push_back(make_field(
      "brightness", [](auto& s) -> auto& { return s.brightness; },
      [](const std::string& p, const JamState& s) {
        return in_range_or_auto(p, s.brightness, 0.0f, 1.0f);
      }));
  f.push_back(make_field(
      "mode", [](auto& s) -> auto& { return s.mode; }, ok));
  for (int i = 0; i < kNumParts; ++i) {
    const std::string prefix = absl::StrCat("parts.", kPartNames[i], ".");
    f.push_back(make_field(
        prefix + "enabled", [i](auto& s) -> auto& { return s.parts[i].enabled; }, ok));
    f.push_back(make_field(
        prefix + "muted", [i](auto& s) -> auto& { return s.parts[i].muted; }, ok));
    f.push_back(make_field(
        prefix + "gm_program", [i](auto& s) -> auto& { return s.parts[i].gm_program; },
        [i](const std::string& p, const JamState& s) {
          return in_range(p, s.parts[i].gm_program, 0, 127);
        }));
    f.push_back(make_field(
        prefix + "volume", [i](auto& s) -> auto& { return s.parts[i].volume; },
        [i](const std::string& p, const JamState& s) {
          return in_range(p, s.parts[i].volume, 0.0f, 1.0f);
        }));
    f.push_back(make_field(
        prefix + "density_class", [i](auto& s) -> auto& { return s.parts[i].density_class; },
        [i](const std::string& p, const JamState& s) {
          return in_range(p, s.parts[i].density_class, -1, 5, " (-1: the model chooses)");
        }));
  }
  f.push_back(make_field(
      "temperature", [](auto& s) -> auto& { return s.temperature; },
      [](const std::string& p, const JamState& s) {
        return in_range(p, s.temperature, 0.1f, 2.0f);
      }));
  f.push_back(make_field(
      "seed", [](auto& s) -> auto& { return s.seed; }, ok));
  f.push_back(make_field(
      "playing", [](auto& s) -> auto& { return s.playing; }, ok));
  f.push_back(make_field(
      "master_volume", [](auto& s) -> auto& { return s.master_volume; },
      [](const std::string& p, const JamState& s) {
        return in_range(p, s.master_volume, 0.0f, 1.0f);
      }));
  f.push_back(make_field(
      "monitor_volume", [](auto& s) -> auto& { return s.monitor_volume; },
      [](const std::string& p, const JamState& s) {
        return in_range(p, s.monitor_volume, 0.0f, 1.0f);
      }));
  return f;
}

const std::vector<Field>& fields() {
  static const std::vector<Field>* const kFields = new std::vector<Field>(build_fields());
  return *kFields;
}

const Field& field(const std::string& path) {
  for (const Field& f : fields()) {
    if (f.path == path) return f;
  }
  assert(false && "not a leaf path of JamState");
  std::abort();
}

}  // namespace

const std::vector<std::string>& all_leaf_paths() {
  static const std::vector<std::string>* const kPaths = [] {
    auto* paths = new std::vector<std::string>;
    for (const Field& f : fields()) paths->push_back(f.path);
    return paths;
  }();
  return *kPaths;
}

absl::StatusOr<std::vector<std::string>> expand_paths(const std::vector<std::string>& paths) {
  if (paths.empty()) {
    return absl::InvalidArgumentError(
        "the update names no field; name at least one path, e.g. "
        "tempo_bpm, mood, parts.bass.muted");
  }
  std::vector<bool> chosen(fields().size(), false);
  for (const std::string& path : paths) {
    bool matched = false;
    for (size_t i = 0; i < fields().size(); ++i) {
      const std::string& leaf = fields()[i].path;
      if (leaf == path || absl::StartsWith(leaf, path + ".")) {
        chosen[i] = true;
        matched = true;
      }
    }
    if (!matched) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown field path '", path, "'; known paths: ", absl::StrJoin(all_leaf_paths(), ", "),
          ", and the groups parts, parts.<part>"));
    }
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < fields().size(); ++i) {
    if (chosen[i]) out.push_back(fields()[i].path);
  }
  return out;
}

absl::Status validate_fields(const JamState& values, const std::vector<std::string>& leaf_paths) {
  for (const std::string& path : leaf_paths) {
    if (absl::Status st = field(path).validate(values); !st.ok()) return st;
  }
  return absl::OkStatus();
}

void copy_fields(const JamState& from, const std::vector<std::string>& leaf_paths, JamState* to) {
  for (const std::string& path : leaf_paths) field(path).copy(from, to);
}

bool field_equal(const JamState& a, const JamState& b, const std::string& leaf_path) {
  return field(leaf_path).equal(a, b);
}

}  // namespace jamd
