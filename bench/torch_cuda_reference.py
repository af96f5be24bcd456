#!/usr/bin/env python3
"""PyTorch reference for cuda_decode_bench: the same network (docs/model-format.md) on the same
GPU, batched decode with a full sliding-window KV cache, eager and CUDA-graph replay. Prints a
table and writes TSV rows (impl, precision, batch, step p50/p99 in ms, device time only).

    python3 bench/torch_cuda_reference.py --model /tmp/bench.jamd --batches 1,64,16384 --out t.tsv
"""
import argparse
import math
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

HEADER = struct.Struct("<8sIIIIiiiiiiiff")


def load_jamd(path):
    raw = open(path, "rb").read()
    (magic, _ver, header_bytes, _dtype, flags, n_vocab, d, n_layers, n_heads, n_kv, d_ff, window,
     theta, eps) = HEADER.unpack_from(raw, 0)
    assert magic == b"JAMDMDL1", f"{path}: not a jamd model"
    cfg = dict(n_vocab=n_vocab, d=d, n_layers=n_layers, n_heads=n_heads, n_kv=n_kv, d_ff=d_ff,
               window=window, theta=theta, eps=eps, tied=bool(flags & 1))
    hd, kv = d // n_heads, n_kv * (d // n_heads)
    shapes = [("emb", (n_vocab, d))]
    for i in range(n_layers):
        shapes += [(f"{i}.attn_norm", (d,)), (f"{i}.wq", (d, d)), (f"{i}.wk", (kv, d)),
                   (f"{i}.wv", (kv, d)), (f"{i}.wo", (d, d)), (f"{i}.ffn_norm", (d,)),
                   (f"{i}.w_gate", (d_ff, d)), (f"{i}.w_up", (d_ff, d)), (f"{i}.w_down", (d, d_ff))]
    shapes.append(("final_norm", (d,)))
    if not cfg["tied"]:
        shapes.append(("output", (n_vocab, d)))
    tensors, off = {}, header_bytes
    for name, shape in shapes:
        off = (off + 63) // 64 * 64
        n = int(np.prod(shape))
        tensors[name] = torch.from_numpy(np.frombuffer(raw, np.float32, n, off).reshape(shape).copy())
        off += 4 * n
    if cfg["tied"]:
        tensors["output"] = tensors["emb"]
    return cfg, tensors


class Decoder:
    """Batched one-token steps; every jam's ring holds a full window (the steady state)."""

    def __init__(self, cfg, t, batch, dtype, dev):
        self.c, self.B, self.dtype = cfg, batch, dtype
        w = lambda x: x.to(dev, dtype)
        self.emb, self.out = w(t["emb"]), w(t["output"])
        self.final_norm = t["final_norm"].to(dev)
        self.layers = []
        for i in range(cfg["n_layers"]):
            self.layers.append(dict(
                attn_norm=t[f"{i}.attn_norm"].to(dev), ffn_norm=t[f"{i}.ffn_norm"].to(dev),
                wqkv=w(torch.cat([t[f"{i}.wq"], t[f"{i}.wk"], t[f"{i}.wv"]])), wo=w(t[f"{i}.wo"]),
                wgu=w(torch.cat([t[f"{i}.w_gate"], t[f"{i}.w_up"]])), wdown=w(t[f"{i}.w_down"])))
        hd = cfg["d"] // cfg["n_heads"]
        self.hd = hd
        shape = (cfg["n_layers"], batch, cfg["n_kv"], cfg["window"], hd)
        self.k = torch.randn(shape, device=dev, dtype=dtype) * 0.5
        self.v = torch.randn(shape, device=dev, dtype=dtype) * 0.5
        self.inv_freq = (cfg["theta"] ** (-torch.arange(0, hd // 2, dtype=torch.float64,
                                                          device=dev) * 2 / hd))
        self.tokens = torch.randint(0, cfg["n_vocab"], (batch,), device=dev)
        self.pos = torch.tensor([cfg["window"]], device=dev, dtype=torch.int64)

    def norm(self, x, g):
        return (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.c["eps"]) * g).to(self.dtype)

    def rope(self, x, cos, sin):
        h = self.hd // 2
        a, b = x[..., :h], x[..., h:]
        return torch.cat([a * cos - b * sin, b * cos + a * sin], -1)

    def step(self):
        c, B, hd = self.c, self.B, self.hd
        ang = self.pos.to(torch.float64) * self.inv_freq
        cos, sin = ang.cos().float(), ang.sin().float()
        slot = self.pos % c["window"]
        x = self.emb[self.tokens].float()
        nq, nkv = c["n_heads"], c["n_kv"]
        for i, l in enumerate(self.layers):
            qkv = (self.norm(x, l["attn_norm"]) @ l["wqkv"].T).float()
            q, k, v = qkv.split([nq * hd, nkv * hd, nkv * hd], -1)
            q = self.rope(q.view(B, nq, hd), cos, sin).to(self.dtype)
            k = self.rope(k.view(B, nkv, hd), cos, sin).to(self.dtype)
            self.k[i].index_copy_(2, slot, k.unsqueeze(2))
            self.v[i].index_copy_(2, slot, v.view(B, nkv, 1, hd).to(self.dtype))
            a = F.scaled_dot_product_attention(q.unsqueeze(2), self.k[i], self.v[i], enable_gqa=True)
            x = x + (a.reshape(B, nq * hd) @ l["wo"].T).float()
            gu = (self.norm(x, l["ffn_norm"]) @ l["wgu"].T).float()
            g, u = gu.chunk(2, -1)
            x = x + ((F.silu(g) * u).to(self.dtype) @ l["wdown"].T).float()
        self.pos += 1
        return (self.norm(x, self.final_norm) @ self.out.T).float()


def time_steps(fn, steps):
    times = []
    for _ in range(steps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    times.sort()
    return times[len(times) // 2], times[min(len(times) - 1, int(0.99 * len(times)))]


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", required=True)
    p.add_argument("--batches", default="1,16,64,256,1024,4096,8192,16384")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--precision", default="both", choices=["fp32", "reduced", "both"])
    p.add_argument("--out", default="torch_reference.tsv")
    a = p.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    cfg, tensors = load_jamd(a.model)
    dev = torch.device("cuda")
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name()}", flush=True)
    rows = []
    precisions = [("fp32", torch.float32), ("fp16", torch.float16)]
    if a.precision != "both":
        precisions = [precisions[0 if a.precision == "fp32" else 1]]
    print(f"{'impl':<12} {'prec':<5} {'jams':>6} {'p50 ms':>9} {'p99 ms':>9}")
    for pname, dtype in precisions:
        for batch in [int(b) for b in a.batches.split(",")]:
            dec = Decoder(cfg, tensors, batch, dtype, dev)
            with torch.inference_mode():
                for _ in range(3):
                    dec.step()
                torch.cuda.synchronize()
                results = [("torch_eager", time_steps(dec.step, a.steps))]
                s = torch.cuda.Stream()
                s.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(s):
                    dec.step()
                torch.cuda.current_stream().wait_stream(s)
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph):
                    dec.step()
                graph.replay()
                results.append(("torch_graph", time_steps(graph.replay, a.steps)))
            for impl, (p50, p99) in results:
                print(f"{impl:<12} {pname:<5} {batch:>6} {p50:>9.3f} {p99:>9.3f}", flush=True)
                rows.append((impl, pname, batch, p50, p99))
            del dec, graph
            torch.cuda.empty_cache()
    with open(a.out, "w") as f:
        f.write("impl\tprecision\tbatch\tstep_p50_ms\tstep_p99_ms\n")
        for r in rows:
            f.write("%s\t%s\t%d\t%.4f\t%.4f\n" % r)


if __name__ == "__main__":
    sys.exit(main())
