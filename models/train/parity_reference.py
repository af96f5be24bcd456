#!/usr/bin/env python3
"""Writes a seeded random BandModel as a .jamd file, a token sequence and PyTorch's logits for
every position, so the C++ engine can be checked against its PyTorch twin
(tests/models/torch_parity_test.cc).

    /usr/bin/python3 models/train/parity_reference.py --out DIR [--seed 7] [--n-tokens 300]
        [--n-vocab 61 --d-model 64 --n-layers 3 --n-heads 4 --n-kv-heads 2 --d-ff 96
         --attention-window 24 --tied | --model models/band.jamd]
    # -> DIR/model.jamd, DIR/model.json, DIR/tokens.i32 (int32 little-endian),
    #    DIR/logits.f32 (float32 [n_tokens, n_vocab], row t: the logits after token t)
"""
import argparse
import dataclasses
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import BandModel, ModelConfig  # noqa: E402
import export  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--n-tokens", type=int, default=300)
    defaults = ModelConfig(n_vocab=61, d_model=64, n_layers=3, n_heads=4, n_kv_heads=2, d_ff=96,
                           attention_window=24)
    for field in ("n_vocab", "d_model", "n_layers", "n_heads", "n_kv_heads", "d_ff",
                  "attention_window"):
        p.add_argument("--" + field.replace("_", "-"), type=int, default=getattr(defaults, field))
    p.add_argument("--rope-theta", type=float, default=defaults.rope_theta)
    p.add_argument("--tied", action="store_true", help="tie the output projection to the embedding")
    p.add_argument("--model", help="use this trained .jamd (copied to DIR/model.jamd) instead of "
                                   "a random model")
    return p.parse_args()


def random_model(args):
    config = ModelConfig(n_vocab=args.n_vocab, d_model=args.d_model, n_layers=args.n_layers,
                         n_heads=args.n_heads, n_kv_heads=args.n_kv_heads, d_ff=args.d_ff,
                         attention_window=args.attention_window, rope_theta=args.rope_theta,
                         tied_output=args.tied)
    model = BandModel(config).eval()
    with torch.no_grad():
        # Norm gains away from one, so a backend that skips a gain is caught.
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.uniform_(0.5, 1.5)
    return model, config


def main():
    args = parse_args()
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "model.jamd")
    if args.model:
        shutil.copyfile(args.model, path)
        model, config = export.load_model(path)
    else:
        model, config = random_model(args)
        export.export_model(model, config, path,
                            vocab_names=[f"tok{i}" for i in range(config.n_vocab)])
        # The reader (benchmarks use it) must give back exactly what was written; the file holds
        # rope_theta and norm_eps as float32.
        reloaded, reloaded_config = export.load_model(path)
        assert reloaded_config == dataclasses.replace(
            config, rope_theta=float(np.float32(config.rope_theta)),
            norm_eps=float(np.float32(config.norm_eps))), (reloaded_config, config)
        for (name, a), (_, b) in zip(model.state_dict().items(), reloaded.state_dict().items()):
            assert torch.equal(a, b), f"{name} changed in the .jamd round trip"
    g = torch.Generator().manual_seed(args.seed + 1)
    tokens = torch.randint(0, config.n_vocab, (1, args.n_tokens), generator=g)
    with torch.no_grad():
        logits = model(tokens)[0].to(torch.float32).numpy()
    tokens.numpy().astype("<i4").tofile(os.path.join(args.out, "tokens.i32"))
    logits.astype("<f4").tofile(os.path.join(args.out, "logits.f32"))
    print(f"wrote {args.out}: {args.n_tokens} tokens, logits {logits.shape}, "
          f"max |logit| {np.abs(logits).max():.3f}")


if __name__ == "__main__":
    main()
