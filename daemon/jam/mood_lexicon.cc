// The mood word table and the blending of weighted mood prompts into control targets.
#include "daemon/jam/mood_lexicon.h"

#include <algorithm>
#include <cassert>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace jamd {
namespace {

struct Entry {
  const char* word;
  MoodEffect effect;
};

// Deltas in control units: energy and density in classes, valence in classes, brightness 0..1.
// Chosen by ear for the vocabulary's label scales: a strong word moves about one class.
constexpr Entry kLexicon[] = {
    // energy
    {"calm", {-1.5f, 0, -1.0f, -0.1f}},
    {"chill", {-1.0f, 0.2f, -0.5f, 0}},
    {"relaxed", {-1.0f, 0.3f, -0.5f, 0}},
    {"gentle", {-1.2f, 0.2f, -0.8f, 0.05f}},
    {"soft", {-1.2f, 0, -0.5f, -0.05f}},
    {"quiet", {-1.5f, 0, -1.0f, -0.1f}},
    {"laid-back", {-0.8f, 0.2f, -0.5f, 0}},
    {"sleepy", {-1.8f, 0, -1.5f, -0.2f}},
    {"energetic", {1.5f, 0.3f, 1.0f, 0.1f}},
    {"intense", {1.5f, -0.2f, 1.0f, 0.1f}},
    {"driving", {1.0f, 0, 1.0f, 0}},
    {"powerful", {1.5f, 0, 0.5f, 0.1f}},
    {"loud", {1.5f, 0, 0.5f, 0.1f}},
    {"wild", {1.8f, 0, 1.5f, 0.2f}},
    {"aggressive", {1.8f, -0.6f, 1.0f, 0.1f}},
    {"excited", {1.2f, 0.5f, 1.0f, 0.15f}},
    // valence
    {"happy", {0.5f, 1.0f, 0.3f, 0.2f}},
    {"joyful", {0.7f, 1.0f, 0.5f, 0.25f}},
    {"cheerful", {0.5f, 0.8f, 0.3f, 0.2f}},
    {"hopeful", {0.2f, 0.6f, 0, 0.15f}},
    {"uplifting", {0.6f, 0.8f, 0.3f, 0.2f}},
    {"sad", {-0.8f, -1.0f, -0.5f, -0.2f}},
    {"melancholic", {-0.6f, -0.9f, -0.3f, -0.15f}},
    {"gloomy", {-0.5f, -0.9f, -0.3f, -0.3f}},
    {"dark", {0, -0.8f, 0, -0.35f}},
    {"tense", {0.5f, -0.6f, 0.3f, 0}},
    {"angry", {1.5f, -1.0f, 0.8f, 0}},
    {"mysterious", {-0.3f, -0.5f, -0.3f, -0.2f}},
    {"romantic", {-0.5f, 0.6f, -0.3f, 0}},
    {"dreamy", {-0.8f, 0.3f, -0.5f, 0.1f}},
    {"nostalgic", {-0.3f, -0.2f, -0.2f, -0.1f}},
    {"warm", {0, 0.4f, 0, -0.1f}},
    // density and brightness
    {"sparse", {-0.3f, 0, -1.5f, 0}},
    {"minimal", {-0.5f, 0, -1.8f, 0}},
    {"busy", {0.5f, 0, 1.5f, 0}},
    {"dense", {0.3f, 0, 1.5f, 0}},
    {"full", {0.5f, 0, 1.0f, 0}},
    {"bright", {0.2f, 0.3f, 0, 0.35f}},
    {"sparkling", {0.3f, 0.3f, 0.3f, 0.4f}},
    {"airy", {-0.5f, 0.2f, -0.8f, 0.3f}},
    {"heavy", {0.8f, -0.3f, 0.5f, -0.3f}},
    {"deep", {0, -0.2f, 0, -0.3f}},
    {"low", {0, 0, 0, -0.3f}},
    {"high", {0, 0, 0, 0.3f}},
    {"groove", {0.3f, 0, 0.5f, 0}},
    {"funky", {0.6f, 0.3f, 0.8f, 0.1f, "funk"}},
    {"jazzy", {0, 0.2f, 0.3f, 0.05f, "jazz"}},
    {"bluesy", {0, -0.3f, 0, -0.1f, "blues"}},
    // styles (the vocabulary's names, and common spellings)
    {"rock", {0.5f, 0, 0.3f, 0, "rock"}},
    {"funk", {0.5f, 0.2f, 0.5f, 0, "funk"}},
    {"jazz", {0, 0, 0, 0, "jazz"}},
    {"latin", {0.3f, 0.3f, 0.5f, 0, "latin"}},
    {"hiphop", {0, 0, 0, -0.1f, "hiphop"}},
    {"hip-hop", {0, 0, 0, -0.1f, "hiphop"}},
    {"soul", {0, 0.2f, 0, 0, "soul"}},
    {"afrocuban", {0.3f, 0.2f, 0.5f, 0, "afrocuban"}},
    {"punk", {1.5f, -0.2f, 1.0f, 0.1f, "punk"}},
    {"neworleans", {0.3f, 0.4f, 0.3f, 0, "neworleans"}},
    {"country", {0, 0.4f, 0, 0.1f, "country"}},
    {"pop", {0.2f, 0.4f, 0, 0.1f, "pop"}},
    {"reggae", {-0.3f, 0.4f, -0.3f, 0, "reggae"}},
    {"gospel", {0.3f, 0.6f, 0.3f, 0.1f, "gospel"}},
    {"afrobeat", {0.5f, 0.4f, 0.8f, 0, "afrobeat"}},
    {"dance", {1.0f, 0.5f, 0.8f, 0.1f, "dance"}},
    {"blues", {0, -0.3f, 0, -0.1f, "blues"}},
    {"highlife", {0.3f, 0.6f, 0.5f, 0.1f, "highlife"}},
    {"middleeastern", {0, -0.2f, 0.3f, 0, "middleeastern"}},
    {"folk", {-0.3f, 0.2f, -0.3f, 0, "folk"}},
    {"classical", {-0.3f, 0, 0, 0.1f, "classical"}},
};

constexpr struct {
  const char* word;
  float scale;
} kIntensifiers[] = {{"very", 1.5f},     {"really", 1.5f},   {"super", 2.0f},
                     {"slightly", 0.5f}, {"somewhat", 0.6f}, {"little", 0.5f}};

// Glue words that carry no mood: "a little dark and slow" reads as "little dark".
constexpr const char* kStopWords[] = {"a", "an", "and", "the", "with", "of", "bit", "but", "in"};

// Two-word spellings joined before lookup: "new orleans" -> "neworleans".
constexpr struct {
  const char* first;
  const char* second;
  const char* joined;
} kCompounds[] = {{"new", "orleans", "neworleans"}, {"hip", "hop", "hiphop"},
                  {"afro", "cuban", "afrocuban"},   {"middle", "eastern", "middleeastern"},
                  {"laid", "back", "laid-back"},    {"afro", "beat", "afrobeat"}};

constexpr size_t kMaxMoodTextBytes = 64;

const Entry* find_word(absl::string_view word) {
  for (const Entry& e : kLexicon) {
    if (word == e.word) return &e;
  }
  return nullptr;
}

float intensifier_scale(absl::string_view word) {
  for (const auto& i : kIntensifiers) {
    if (word == i.word) return i.scale;
  }
  return 0;
}

bool is_stop_word(absl::string_view word) {
  return std::find(std::begin(kStopWords), std::end(kStopWords), word) != std::end(kStopWords);
}

size_t edit_distance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string closest_words(absl::string_view word) {
  std::vector<std::pair<size_t, std::string>> scored;
  for (const std::string& known : mood_words())
    scored.emplace_back(edit_distance(word, known), known);
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> best;
  for (size_t i = 0; i < scored.size() && best.size() < 3; ++i) best.push_back(scored[i].second);
  return absl::StrJoin(best, ", ");
}

// Lower-cased words with compounds joined.
std::vector<std::string> split_words(absl::string_view text) {
  std::vector<std::string> words =
      absl::StrSplit(absl::AsciiStrToLower(text), absl::ByAnyChar(" \t,"), absl::SkipEmpty());
  std::vector<std::string> joined;
  for (size_t i = 0; i < words.size(); ++i) {
    bool merged = false;
    for (const auto& c : kCompounds) {
      if (i + 1 < words.size() && words[i] == c.first && words[i + 1] == c.second) {
        joined.emplace_back(c.joined);
        ++i;
        merged = true;
        break;
      }
    }
    if (!merged) joined.push_back(words[i]);
  }
  return joined;
}

}  // namespace

std::vector<std::string> mood_words() {
  std::vector<std::string> words;
  for (const Entry& e : kLexicon) words.emplace_back(e.word);
  for (const auto& i : kIntensifiers) words.emplace_back(i.word);
  std::sort(words.begin(), words.end());
  return words;
}

absl::StatusOr<MoodEffect> mood_effect(absl::string_view text) {
  if (text.size() > kMaxMoodTextBytes) {
    return absl::InvalidArgumentError(absl::StrCat("mood prompt '", text.substr(0, 16), "...' is ",
                                                   text.size(), " bytes; at most ",
                                                   kMaxMoodTextBytes, " allowed"));
  }
  MoodEffect sum;
  float scale = 1.0f;
  int n_mood_words = 0;
  for (const std::string& word : split_words(text)) {
    if (is_stop_word(word)) continue;
    if (const float s = intensifier_scale(word); s > 0) {
      scale *= s;
      continue;
    }
    const Entry* entry = find_word(word);
    if (entry == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown mood word '", word, "' in '", text,
          "'; closest known words: ", closest_words(word), " (all words: docs/mood-lexicon.md)"));
    }
    sum.energy_delta += scale * entry->effect.energy_delta;
    sum.valence_delta += scale * entry->effect.valence_delta;
    sum.density_delta += scale * entry->effect.density_delta;
    sum.brightness_delta += scale * entry->effect.brightness_delta;
    if (entry->effect.style != nullptr) sum.style = entry->effect.style;
    scale = 1.0f;
    ++n_mood_words;
  }
  if (n_mood_words == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("mood prompt '", text,
                     "' has no mood word; try e.g. 'calm', 'dark', 'funky' "
                     "(all words: docs/mood-lexicon.md)"));
  }
  return sum;
}

absl::Status check_mood_text(absl::string_view text) { return mood_effect(text).status(); }

MoodControls blend_mood(const std::vector<MoodPrompt>& prompts) {
  MoodControls out;
  float total_weight = 0;
  MoodEffect mean;
  std::map<std::string, float> style_weight;
  for (const MoodPrompt& p : prompts) {
    if (!(p.weight > 0)) continue;
    absl::StatusOr<MoodEffect> e = mood_effect(p.text);
    if (!e.ok()) continue;
    total_weight += p.weight;
    mean.energy_delta += p.weight * e->energy_delta;
    mean.valence_delta += p.weight * e->valence_delta;
    mean.density_delta += p.weight * e->density_delta;
    mean.brightness_delta += p.weight * e->brightness_delta;
    if (e->style != nullptr) style_weight[e->style] += p.weight;
  }
  if (total_weight <= 0) return out;
  out.energy_class = std::clamp(out.energy_class + mean.energy_delta / total_weight, 0.0f, 4.0f);
  out.valence_class = std::clamp(out.valence_class + mean.valence_delta / total_weight, 0.0f, 2.0f);
  out.density_class = std::clamp(out.density_class + mean.density_delta / total_weight, 0.0f, 5.0f);
  out.brightness = std::clamp(out.brightness + mean.brightness_delta / total_weight, 0.0f, 1.0f);
  float best = 0;
  for (const auto& [style, weight] : style_weight) {
    if (weight > best) {
      best = weight;
      out.style = style;
    }
  }
  return out;
}

}  // namespace jamd
