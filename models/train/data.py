"""Training data for the band model: token files from jamd-prepare, random bar-aligned crops,
transposition augmentation and control dropout, all on token ids (no MIDI in Python)."""
import os
import struct

import numpy as np

from export import vocab_hash

TOKEN_FILE_MAGIC = b"JAMDTOK1"
TOKEN_FILE_VERSION = 1
TOKEN_FILE_HEADER_BYTES = 32


class Vocabulary:
    """Token names as jamd-prepare wrote them (vocab.txt, one per line, in id order)."""

    def __init__(self, names):
        self.names = list(names)
        self.ids = {n: i for i, n in enumerate(self.names)}
        self.hash = vocab_hash(self.names)

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            return cls(line.rstrip("\n") for line in f if line.strip())

    def __len__(self):
        return len(self.names)

    def ids_with_prefix(self, prefix):
        return [i for i, n in enumerate(self.names) if n.startswith(prefix)]


def read_token_file(path, vocab):
    """Reads a .tok file; refuses another vocabulary or a truncated file with a clear error."""
    with open(path, "rb") as f:
        header = f.read(TOKEN_FILE_HEADER_BYTES)
    if len(header) < TOKEN_FILE_HEADER_BYTES or header[:8] != TOKEN_FILE_MAGIC:
        raise ValueError(f"{path} is not a jamd token file; run jamd-prepare")
    version, n_sequences, vocab_hash, n_tokens = struct.unpack("<IIQQ", header[8:32])
    if version != TOKEN_FILE_VERSION:
        raise ValueError(f"{path}: token file version {version}, expected {TOKEN_FILE_VERSION}")
    if vocab_hash != vocab.hash:
        raise ValueError(f"{path} was written with another vocabulary; run jamd-prepare again")
    expected = TOKEN_FILE_HEADER_BYTES + 2 * n_tokens
    if os.path.getsize(path) != expected:
        raise ValueError(f"{path} is truncated: {os.path.getsize(path)} bytes, expected {expected}")
    tokens = np.fromfile(path, dtype="<u2", offset=TOKEN_FILE_HEADER_BYTES).astype(np.int64)
    if tokens.size and int(tokens.max()) >= len(vocab):
        raise ValueError(f"{path} holds token ids beyond the vocabulary")
    return tokens, n_sequences


class Augmenter:
    """Transposes pitched parts, chords and keys by whole semitones, and drops controls.

    Transposition acts on ids: Pitch_p -> Pitch_(p+s) outside the drum part, Chord_<root>_q and
    Key_<tonic>_m rotate their root. Control dropout replaces a control token by its `_any`
    form, so any subset of controls can be given at inference (and guidance is possible)."""

    NOTE_NAMES = ["C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"]

    def __init__(self, vocab):
        self.vocab = vocab
        n = len(vocab)
        self.pitch_of = np.full(n, -1, dtype=np.int64)
        for i, name in enumerate(vocab.names):
            if name.startswith("Pitch_"):
                self.pitch_of[i] = int(name.split("_")[1])
        self.pitch_token = np.zeros(128, dtype=np.int64)
        for i in np.flatnonzero(self.pitch_of >= 0):
            self.pitch_token[self.pitch_of[i]] = i
        self.part_ids = np.array(vocab.ids_with_prefix("Part_"), dtype=np.int64)
        self.drum_part = vocab.ids.get("Part_drums", -1)
        self.rotations = [self._rotation_table(s) for s in range(12)]
        self.any_of = np.arange(n, dtype=np.int64)
        for i, name in enumerate(vocab.names):
            family = self._control_family(name)
            if family is not None and family + "_any" in vocab.ids:
                self.any_of[i] = vocab.ids[family + "_any"]
        self.is_control = self.any_of != np.arange(n)

    @staticmethod
    def _control_family(name):
        for prefix in ("Energy", "Valence", "Style", "Key"):
            if name.startswith(prefix + "_") and not name.endswith("_any"):
                return prefix
        if name.startswith("Density_") and not name.endswith("_any"):
            return name.rsplit("_", 1)[0]
        return None

    def _rotation_table(self, semitones):
        """Id map rotating chord roots and key tonics by `semitones` (pitches handled apart)."""
        table = np.arange(len(self.vocab), dtype=np.int64)
        for i, name in enumerate(self.vocab.names):
            parts = name.split("_")
            if parts[0] in ("Chord", "Key") and len(parts) == 3 and parts[1] in self.NOTE_NAMES:
                root = (self.NOTE_NAMES.index(parts[1]) + semitones) % 12
                target = f"{parts[0]}_{self.NOTE_NAMES[root]}_{parts[2]}"
                if target in self.vocab.ids:
                    table[i] = self.vocab.ids[target]
        return table

    def transpose(self, crop, semitones):
        if semitones == 0:
            return crop
        out = self.rotations[semitones % 12][crop]
        # Which part each token belongs to: the last Part_ marker before it.
        is_part = np.isin(crop, self.part_ids)
        marker_index = np.where(is_part, np.arange(crop.size), -1)
        np.maximum.accumulate(marker_index, out=marker_index)
        in_drums = (marker_index >= 0) & (crop[np.maximum(marker_index, 0)] == self.drum_part)
        pitched = (self.pitch_of[crop] >= 0) & ~in_drums
        shifted = self.pitch_of[crop[pitched]] + semitones
        if shifted.size and (shifted.min() < 0 or shifted.max() > 127):
            return None  # out of MIDI range: the caller draws another shift
        out[pitched] = self.pitch_token[shifted]
        return out

    def drop_controls(self, crop, rng, p_drop):
        drop = self.is_control[crop] & (rng.random(crop.size) < p_drop)
        out = crop.copy()
        out[drop] = self.any_of[crop[drop]]
        return out


class CropSampler:
    """Random crops of seq_len + 1 tokens that start at a bar marker anywhere in the corpus."""

    def __init__(self, tokens, bar_id, seq_len, seed):
        self.tokens = tokens
        self.seq_len = seq_len
        starts = np.flatnonzero(tokens == bar_id)
        self.starts = starts[starts + seq_len + 1 <= tokens.size]
        if self.starts.size == 0:
            raise ValueError(f"no crop of {seq_len + 1} tokens fits the data; lower --seq-len")
        self.rng = np.random.default_rng(seed)

    def draw(self):
        s = self.starts[self.rng.integers(self.starts.size)]
        return self.tokens[s:s + self.seq_len + 1]

    def sequential(self, max_crops):
        """Non-overlapping crops in order, for a deterministic validation loss."""
        step = max(1, self.starts.size // max_crops)
        for s in self.starts[::step][:max_crops]:
            yield self.tokens[s:s + self.seq_len + 1]
