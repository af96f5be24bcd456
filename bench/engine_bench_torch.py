#!/usr/bin/env python3
"""PyTorch eager reference for engine_bench: batch-1 decode with a sliding-window KV cache on one
thread, on the same .jamd weights, using models/train/model.py's modules. Prints
"tokens_per_s WALL CPU" (engine_bench parses it).

    /usr/bin/python3 bench/engine_bench_torch.py --model m.jamd [--tokens 256 --context 512]
"""
import argparse
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "train"))
import export  # noqa: E402
from model import rotary_cos_sin, rotate  # noqa: E402


class EagerDecoder:
    """One token at a time; keys and values of the last attention_window positions in a ring."""

    def __init__(self, model, config):
        self.m, self.c = model, config
        w = config.attention_window
        shape = (config.n_layers, config.n_kv_heads, w, config.head_dim)
        self.k, self.v = torch.zeros(shape), torch.zeros(shape)
        self.position = 0

    @torch.no_grad()
    def step(self, token):
        c, p = self.c, self.position
        slot, n_keys = p % c.attention_window, min(p + 1, c.attention_window)
        cos, sin = rotary_cos_sin(c, torch.tensor([p]))
        x = self.m.tok_embedding(torch.tensor([[token]]))
        group = c.n_heads // c.n_kv_heads
        for i, layer in enumerate(self.m.layers):
            h = layer.attn_norm(x)
            q = rotate(layer.wq(h).view(1, 1, c.n_heads, c.head_dim).transpose(1, 2), cos, sin)
            k = rotate(layer.wk(h).view(1, 1, c.n_kv_heads, c.head_dim).transpose(1, 2), cos, sin)
            self.k[i, :, slot] = k[0, :, 0]
            self.v[i, :, slot] = layer.wv(h).view(c.n_kv_heads, c.head_dim)
            keys = self.k[i, :, :n_keys].repeat_interleave(group, dim=0)
            values = self.v[i, :, :n_keys].repeat_interleave(group, dim=0)
            scores = (q[0] @ keys.transpose(-1, -2)) / math.sqrt(c.head_dim)
            a = F.softmax(scores, dim=-1) @ values
            x = x + layer.wo(a.reshape(1, 1, c.d_model))
            h = layer.ffn_norm(x)
            x = x + layer.w_down(F.silu(layer.w_gate(h)) * layer.w_up(h))
        self.position += 1
        return self.m.output(self.m.final_norm(x))[0, 0]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--tokens", type=int, default=384, help="timed tokens, in bars of 128")
    p.add_argument("--context", type=int, default=512, help="tokens fed before timing")
    args = p.parse_args()
    torch.set_num_threads(1)
    model, config = export.load_model(args.model)
    dec = EagerDecoder(model, config)
    token = 1
    for i in range(args.context):  # fill the window: the steady state of a long jam
        dec.step((i * 31 + 7) % config.n_vocab)
    # Bars of 128 tokens, the median bar, as engine_bench times the C++ engine; wall and CPU
    # time (on a shared machine the CPU figure is the steadier one).
    bars = []
    for _ in range(max(1, args.tokens // 128)):
        start, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(128):
            token = int(torch.argmax(dec.step(token)))
        bars.append((time.perf_counter() - start, time.process_time() - start_cpu))
    wall = sorted(b[0] for b in bars)[len(bars) // 2]
    cpu = sorted(b[1] for b in bars)[len(bars) // 2]
    print(f"tokens_per_s {128 / wall:.1f} {128 / cpu:.1f}")


if __name__ == "__main__":
    main()
