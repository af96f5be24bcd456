// Per-bar control labels computed from the music itself: density per band part, energy and
// valence. Training labels them this way, and the conductor can describe a live bar the same way.
// Scales: docs/vocabulary.md ("Controls").
//
//   compute_controls(&score);   // fills density, energy, valence of every bar; keeps style, key
//
// Thread safety: free functions over values; safe from any thread.
#pragma once

#include <span>

#include "models/tokenizer/score.h"

namespace jamd::models {

// Distinct onsets per quarter note -> 0 (silent) .. kNumDensityClasses - 1.
int density_class_of(int n_onsets, double bar_beats);
// Mean MIDI velocity of the bar's notes -> 0 .. kNumEnergyClasses - 1 (0 also for silence).
int energy_class_of(double mean_velocity, int n_notes);
// From the key's mode (key < 12 major, >= 12 minor, kAnyClass unknown) and the share of the bar's
// time under major-type (maj, 7, maj7) versus minor-type (min, min7, dim) chords.
int valence_class_of(int key, double major_chord_share, double minor_chord_share);

// Sets density_class, energy_class and valence_class of every bar from its notes, chords and key.
void compute_controls(Score* score);

}  // namespace jamd::models
