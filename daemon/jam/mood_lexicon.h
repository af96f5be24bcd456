// The mood lexicon: mood words and phrases to the model's controls (energy, valence, density,
// brightness, style). The word table and how a weighted list blends: docs/mood-lexicon.md.
//
//   absl::Status ok = jamd::check_mood_text("very dark groove");  // INVALID_ARGUMENT + hints
//   jamd::MoodControls c = jamd::blend_mood(state.mood);  // {energy_class 2.8, valence 0.4, ...}
//
// Thread safety: free functions over a constant table; call from any thread.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "daemon/jam/jam_state.h"

namespace jamd {

// What one known word does, in the model's control units (docs/vocabulary.md "Controls").
struct MoodEffect {
  float energy_delta = 0;       // energy classes (scale 0..4)
  float valence_delta = 0;      // valence classes (scale 0..2)
  float density_delta = 0;      // density classes (scale 0..5), every band part
  float brightness_delta = 0;   // brightness (scale 0..1)
  const char* style = nullptr;  // a style name of the vocabulary, or none
};

// The controls a blended mood asks for. Without any prompt: the neutral values.
struct MoodControls {
  float energy_class = 2.0f;   // 0..4
  float valence_class = 1.0f;  // 0..2
  float density_class = 2.5f;  // 0..5
  float brightness = 0.5f;     // 0..1
  std::string style;           // the heaviest style named, or empty: the model chooses
};

// Checks that every word of a prompt is known. Unknown words give INVALID_ARGUMENT naming the
// word and up to three closest known words (edit distance). thread: any.
absl::Status check_mood_text(absl::string_view text);

// The effect of one phrase: the sum of its words' effects, each scaled by the intensifier
// before it ("very" 1.5x, "slightly" 0.5x). Unknown words: as check_mood_text. thread: any.
absl::StatusOr<MoodEffect> mood_effect(absl::string_view text);

// Blends prompts by weight: neutral + the weighted mean of the phrases' effects, clamped to the
// control ranges. Prompts with unknown words or a weight <= 0 are skipped. thread: any.
MoodControls blend_mood(const std::vector<MoodPrompt>& prompts);

// Every known word, sorted (for docs and suggestions). thread: any.
std::vector<std::string> mood_words();

}  // namespace jamd
