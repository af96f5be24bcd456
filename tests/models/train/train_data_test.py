"""Token-level augmentation of models/train/data.py: transposition moves pitched parts, chord
roots and keys but never drums; control dropout touches controls only."""
import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "models", "train"))
from data import Augmenter, Vocabulary  # noqa: E402

NAMES = (["Pad", "Start", "End", "Bar", "Key_C_maj", "Key_D_maj", "Key_any", "Energy_2",
          "Energy_any", "Density_bass_3", "Density_bass_any", "Chord_C_maj", "Chord_D_maj",
          "Chord_none", "Part_drums", "Part_bass", "Pos_0"]
         + [f"Pitch_{p}" for p in range(128)] + ["Vel_5", "Dur_12"])


class AugmenterTest(unittest.TestCase):
    def setUp(self):
        self.vocab = Vocabulary(NAMES)
        self.aug = Augmenter(self.vocab)

    def ids(self, *names):
        return np.array([self.vocab.ids[n] for n in names], dtype=np.int64)

    def names(self, ids):
        return [self.vocab.names[i] for i in ids]

    def test_transposes_pitched_parts_chords_and_keys_but_not_drums(self):
        crop = self.ids("Bar", "Key_C_maj", "Chord_C_maj", "Part_drums", "Pos_0", "Pitch_36",
                        "Vel_5", "Part_bass", "Pos_0", "Pitch_40", "Vel_5", "Dur_12")
        out = self.names(self.aug.transpose(crop, 2))
        self.assertEqual(out, ["Bar", "Key_D_maj", "Chord_D_maj", "Part_drums", "Pos_0",
                               "Pitch_36", "Vel_5", "Part_bass", "Pos_0", "Pitch_42", "Vel_5",
                               "Dur_12"])

    def test_refuses_shifts_out_of_the_midi_range(self):
        crop = self.ids("Part_bass", "Pos_0", "Pitch_126")
        self.assertIsNone(self.aug.transpose(crop, 3))

    def test_control_dropout_replaces_controls_only(self):
        crop = self.ids("Bar", "Key_C_maj", "Energy_2", "Density_bass_3", "Chord_C_maj",
                        "Part_bass", "Pitch_40")
        out = self.names(self.aug.drop_controls(crop, np.random.default_rng(0), 1.0))
        self.assertEqual(out, ["Bar", "Key_any", "Energy_any", "Density_bass_any", "Chord_C_maj",
                               "Part_bass", "Pitch_40"])


if __name__ == "__main__":
    unittest.main()
