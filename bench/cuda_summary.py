#!/usr/bin/env python3
"""Merges scripts/gpu-check.sh results (cuda_decode.tsv, torch_reference.tsv, cuda_tests.log,
device.txt) into one markdown summary on stdout: jamd vs PyTorch on the same GPU, as ratios.

    python3 bench/cuda_summary.py RESULTS_DIR > RESULTS_DIR/summary.md
"""
import csv
import os
import re
import sys

P99_TARGET_MS = 5.0      # docs TARGETS.md: step p99 <= 5 ms
JAMS_TARGET = 10000      # >= 10,000 jams in real time on one H100


def read_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return list(csv.DictReader(f, delimiter="\t"))


def main(d):
    print("# GPU check\n")
    if os.path.exists(f"{d}/device.txt"):
        print("```\n" + open(f"{d}/device.txt").read().strip() + "\n```\n")
    log = f"{d}/cuda_tests.log"
    if os.path.exists(log):
        text = open(log).read()
        lines = [l for l in text.splitlines() if re.match(r"\[  (PASSED|FAILED|SKIPPED) ", l)
                 or "worst relative error" in l or l.startswith("[  FAILED")]
        print("## CUDA tests\n\n```\n" + "\n".join(lines[-40:]) + "\n```\n")
    ours = read_tsv(f"{d}/cuda_decode.tsv")
    torch = {(r["impl"], r["precision"], r["batch"]): r for r in read_tsv(f"{d}/torch_reference.tsv")}
    if not ours:
        print("no cuda_decode.tsv: the benchmark did not run")
        return 1
    print("## Decode step vs jams (device time = the step's CUDA graph; step = whole decode() "
          "call with logits on the host)\n")
    print("| prec | jams | step p50 ms | step p99 ms | view p50 | view p99 | device p50 ms | "
          "torch graph p50 | torch eager p50 | vs torch graph | tokens/s | real-time jams | "
          "KV MiB/jam | floor ms | device/floor |")
    print("|" + "---|" * 15)
    best = {}
    for r in ours:
        key = (r["precision"], r["batch"])
        tg = torch.get(("torch_graph", *key))
        te = torch.get(("torch_eager", *key))
        dev = float(r["device_p50_ms"])
        fmt = lambda row: f"{float(row['step_p50_ms']):.3f}" if row else "-"
        ratio = f"{float(tg['step_p50_ms']) / dev:.1f}x" if tg else "-"
        cells = [r["precision"], r["batch"], f"{float(r['step_p50_ms']):.3f}",
                 f"{float(r['step_p99_ms']):.3f}", f"{float(r['pinned_p50_ms']):.3f}",
                 f"{float(r['pinned_p99_ms']):.3f}", f"{dev:.3f}", fmt(tg), fmt(te), ratio,
                 f"{float(r['tokens_per_s']):.0f}", r["jams_real_time"],
                 f"{float(r['kv_mib_per_jam']):.2f}", f"{float(r['floor_ms']):.4f}",
                 f"{float(r['device_over_floor']):.1f}"]
        print("| " + " | ".join(cells) + " |")
        for kind, col in (("decode() into the caller's buffer", "step_p99_ms"),
                          ("Backend::decode_view(), no host copy", "pinned_p99_ms"),
                          ("device step alone", "device_p99_ms")):
            if float(r[col]) <= P99_TARGET_MS:
                k = (r["precision"], kind)
                best[k] = max(best.get(k, 0), int(r["batch"]))
    print()
    for (prec, kind), jams in sorted(best.items()):
        verdict = "meets" if jams >= JAMS_TARGET else "misses"
        print(f"- {prec}, {kind}: up to {jams} jams (largest batch measured) with step p99 <= "
              f"{P99_TARGET_MS} ms ({verdict} the {JAMS_TARGET} target)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
