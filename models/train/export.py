"""Writes a BandModel as a .jamd file (docs/model-format.md) and its JSON manifest beside it.

    export.export_model(model, config, "out/band.jamd", vocab_names=names, data_hash=h,
                        metrics={"validation_nll": 1.23})
    # -> out/band.jamd (what the engine maps) and out/band.json (what people read)
"""
import datetime
import json
import os
import struct

import numpy as np
import torch

MAGIC = b"JAMDMDL1"
FORMAT_VERSION = 1
HEADER_BYTES = 256
ALIGNMENT = 64
FLAG_TIED_OUTPUT = 1
TRAIT_FULL_BAND = 1  # traits field: trained with drums beside the pitched parts
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
MASK64 = 0xFFFFFFFFFFFFFFFF


def fnv1a64(data, h=FNV_OFFSET):
    """FNV-1a 64 of bytes, continuing from h (so large payloads can be hashed in pieces)."""
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & MASK64
    return h


def vocab_hash(names):
    """The header's vocab_hash: FNV-1a 64 of the token names joined by newlines."""
    return fnv1a64("\n".join(names).encode("utf-8"))


def tensors_in_file_order(model, config):
    """(name, float32 numpy array) in the order the format lists them."""
    state = model.state_dict()
    names = ["tok_embedding.weight"]
    for i in range(config.n_layers):
        names += [f"layers.{i}.{n}.weight" for n in
                  ("attn_norm", "wq", "wk", "wv", "wo", "ffn_norm", "w_gate", "w_up", "w_down")]
    names.append("final_norm.weight")
    if not config.tied_output:
        names.append("output.weight")
    return [(n, state[n].detach().to(torch.float32).cpu().contiguous().numpy()) for n in names]


def build_payload(tensors):
    """The tensor bytes after the header, each tensor on a 64-byte file offset."""
    parts, offset = [], HEADER_BYTES
    for _, array in tensors:
        pad = -offset % ALIGNMENT
        parts.append(b"\0" * pad)
        data = array.astype("<f4", copy=False).tobytes()
        parts.append(data)
        offset += pad + len(data)
    return b"".join(parts)


def build_header(config, vocab_hash_value, data_hash, payload, payload_hash):
    fields = struct.pack(
        "<8sIIII iiiiiii ff I QQQQ".replace(" ", ""),
        MAGIC, FORMAT_VERSION, HEADER_BYTES, 0, FLAG_TIED_OUTPUT if config.tied_output else 0,
        config.n_vocab, config.d_model, config.n_layers, config.n_heads, config.n_kv_heads,
        config.d_ff, config.attention_window, config.rope_theta, config.norm_eps,
        TRAIT_FULL_BAND if config.full_band else 0,
        vocab_hash_value, data_hash, len(payload), payload_hash)
    assert len(fields) == 96, len(fields)
    return fields + b"\0" * (HEADER_BYTES - len(fields))


def check_shapes(tensors, config):
    d, kv, ff = config.d_model, config.kv_dim, config.d_ff
    per_layer = [(d,), (d, d), (kv, d), (kv, d), (d, d), (d,), (ff, d), (ff, d), (d, ff)]
    expected = [(config.n_vocab, d)] + per_layer * config.n_layers + [(d,)]
    if not config.tied_output:
        expected.append((config.n_vocab, d))
    for (name, array), shape in zip(tensors, expected):
        if tuple(array.shape) != shape:
            raise ValueError(f"{name} has shape {tuple(array.shape)}, the format needs {shape}")


def export_model(model, config, path, vocab_names=None, vocab_hash_value=None, data_hash=0,
                 metrics=None, extra=None):
    """Writes path (.jamd) and the manifest (same stem, .json). Returns the manifest dict."""
    if vocab_hash_value is None:
        vocab_hash_value = vocab_hash(vocab_names) if vocab_names is not None else 0
    if vocab_names is not None and len(vocab_names) != config.n_vocab:
        raise ValueError(f"{len(vocab_names)} vocabulary names for a model of {config.n_vocab}")
    tensors = tensors_in_file_order(model, config)
    check_shapes(tensors, config)
    payload = build_payload(tensors)
    payload_hash = fnv1a64(payload)
    header = build_header(config, vocab_hash_value, data_hash, payload, payload_hash)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(header)
        f.write(payload)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    manifest = {
        "file": os.path.basename(path),
        "format_version": FORMAT_VERSION,
        "config": {
            "n_vocab": config.n_vocab, "d_model": config.d_model, "n_layers": config.n_layers,
            "n_heads": config.n_heads, "n_kv_heads": config.n_kv_heads, "d_ff": config.d_ff,
            "attention_window": config.attention_window, "rope_theta": config.rope_theta,
            "norm_eps": config.norm_eps, "tied_output": bool(config.tied_output),
            "full_band": bool(config.full_band),
        },
        "n_params": int(sum(a.size for _, a in tensors)),
        "vocab_hash": f"{vocab_hash_value:016x}",
        "data_hash": f"{data_hash:016x}",
        "payload_bytes": len(payload),
        "payload_fnv1a64": f"{payload_hash:016x}",
        "metrics": metrics or {},
        "provenance": {
            "exported_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds"),
            "torch": torch.__version__,
            "numpy": np.__version__,
        },
    }
    if extra:
        manifest["training"] = extra
    with open(os.path.splitext(path)[0] + ".json", "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
    return manifest


def load_model(path):
    """Reads a .jamd file back into a BandModel (benchmarks, round-trip checks)."""
    from model import BandModel, ModelConfig
    raw = open(path, "rb").read()
    fields = struct.unpack_from("<8sIIIIiiiiiiiffIQQQQ", raw, 0)
    (magic, version, header_bytes, dtype, flags, n_vocab, d_model, n_layers, n_heads, n_kv_heads,
     d_ff, window, theta, eps, traits) = fields[:15]
    if magic != MAGIC or version != FORMAT_VERSION or dtype != 0:
        raise ValueError(f"{path}: not a version {FORMAT_VERSION} float32 jamd model")
    config = ModelConfig(n_vocab=n_vocab, d_model=d_model, n_layers=n_layers, n_heads=n_heads,
                         n_kv_heads=n_kv_heads, d_ff=d_ff, attention_window=window,
                         rope_theta=theta, norm_eps=eps, tied_output=bool(flags & FLAG_TIED_OUTPUT),
                         full_band=bool(traits & TRAIT_FULL_BAND))
    model = BandModel(config)
    state = model.state_dict()
    offset = header_bytes
    for name, _ in tensors_in_file_order(model, config):
        offset += -offset % ALIGNMENT
        n = state[name].numel()
        array = np.frombuffer(raw, "<f4", n, offset).reshape(tuple(state[name].shape))
        state[name] = torch.from_numpy(array.copy())
        offset += 4 * n
    if config.tied_output:
        state["output.weight"] = state["tok_embedding.weight"]
    model.load_state_dict(state)
    return model.eval(), config
