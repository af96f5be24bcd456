#!/usr/bin/env python3
"""Trains the band model on jamd-prepare's token files and exports the engine's weight file.

    /usr/bin/python3 models/train/train.py --data build/corpus --out build/model --minutes 60

Shows a progress line (loss, tokens/s, ETA), measures the validation loss every epoch beside a
bigram baseline, keeps a checkpoint to resume from (--resume), and at the end writes
band.jamd + band.json (export.py) into --out. Runs on the CPU, or on a GPU with --device cuda.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import Augmenter, CropSampler, Vocabulary, read_token_file  # noqa: E402
from model import BandModel, ModelConfig  # noqa: E402
import export  # noqa: E402

# Sizes: "small" is the bundled default (about 3 M parameters: trains in about an hour on two
# CPU cores and decodes a bar in milliseconds on one); "large" is for a GPU.
PRESETS = {
    "tiny": dict(d_model=64, n_layers=2, n_heads=4, n_kv_heads=2, d_ff=176, attention_window=256),
    "small": dict(d_model=256, n_layers=4, n_heads=8, n_kv_heads=2, d_ff=704, attention_window=512),
    "medium": dict(d_model=384, n_layers=6, n_heads=8, n_kv_heads=2, d_ff=1024,
                   attention_window=1024),
    "large": dict(d_model=512, n_layers=8, n_heads=8, n_kv_heads=2, d_ff=1408,
                  attention_window=1024),
}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", required=True, help="folder with vocab.txt, train.tok, validation.tok")
    p.add_argument("--out", required=True, help="folder for checkpoints and the exported model")
    p.add_argument("--preset", choices=sorted(PRESETS), default="small")
    p.add_argument("--seq-len", type=int, default=0, help="tokens per crop (default 2 windows)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--minutes", type=float, default=60.0, help="training time budget")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: time)")
    p.add_argument("--epoch-tokens", type=int, default=0,
                   help="tokens per epoch (default: the train split's size)")
    p.add_argument("--control-dropout", type=float, default=0.3)
    p.add_argument("--dropout", type=float, default=0.1,
                   help="residual and embedding dropout while training (the export has none)")
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: all cores)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--resume", action="store_true", help="continue from --out/checkpoint.pt")
    p.add_argument("--val-crops", type=int, default=64)
    return p.parse_args()


def bigram_nll(train, val, n_vocab, smoothing=0.1):
    """Validation NLL (nats/token) of an add-k bigram model fitted on the train split."""
    counts = np.zeros((n_vocab, n_vocab), dtype=np.float64)
    np.add.at(counts, (train[:-1], train[1:]), 1.0)
    counts += smoothing
    logp = np.log(counts / counts.sum(axis=1, keepdims=True))
    return float(-logp[val[:-1], val[1:]].mean())


@torch.no_grad()
def validation_nll(model, sampler, device, max_crops, batch_size):
    model.eval()
    total, count = 0.0, 0
    crops = list(sampler.sequential(max_crops))
    for i in range(0, len(crops), batch_size):
        batch = torch.from_numpy(np.stack(crops[i:i + batch_size])).to(device)
        logits = model(batch[:, :-1]).float()
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), batch[:, 1:].reshape(-1),
                               reduction="sum")
        total += float(loss)
        count += batch[:, 1:].numel()
    model.train()
    return total / max(count, 1)


def make_batch(sampler, augmenter, rng, batch_size, control_dropout):
    rows = []
    while len(rows) < batch_size:
        crop = augmenter.transpose(sampler.draw(), int(rng.integers(-5, 7)))
        if crop is None:
            continue
        rows.append(augmenter.drop_controls(crop, rng, control_dropout))
    return torch.from_numpy(np.stack(rows))


class Progress:
    """One status line on stderr, rewritten in place on a terminal, every few seconds otherwise."""

    def __init__(self):
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def show(self, text, force=False):
        now = time.time()
        if self.tty:
            sys.stderr.write("\r" + text.ljust(100))
            sys.stderr.flush()
        elif force or now - self.last > 30:
            sys.stderr.write(text + "\n")
            self.last = now

    def done(self):
        if self.tty:
            sys.stderr.write("\n")


def main():
    args = parse_args()
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available()
                          else ("cpu" if args.device == "auto" else args.device))
    os.makedirs(args.out, exist_ok=True)

    vocab = Vocabulary.load(os.path.join(args.data, "vocab.txt"))
    train_path = os.path.join(args.data, "train.tok")
    val_path = os.path.join(args.data, "validation.tok")
    train, n_train_songs = read_token_file(train_path, vocab)
    val, n_val_songs = read_token_file(val_path, vocab)
    preset = PRESETS[args.preset]
    metadata_path = os.path.join(args.data, "metadata.json")
    metadata = json.load(open(metadata_path)) if os.path.exists(metadata_path) else {}
    # Token files with drums paired to the pitched songs teach one stream the whole band.
    full_band = bool((metadata.get("drum_pairing") or {}).get("paired_songs", 0))
    config = ModelConfig(n_vocab=len(vocab), full_band=full_band, **preset)
    seq_len = args.seq_len or 2 * config.attention_window
    bar_id = vocab.ids["Bar"]
    train_sampler = CropSampler(train, bar_id, seq_len, args.seed)
    val_sampler = CropSampler(val, bar_id, seq_len, args.seed + 1)
    augmenter = Augmenter(vocab)

    model = BandModel(config, dropout=args.dropout).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95),
                                  weight_decay=args.weight_decay)
    step, epoch, trained_tokens, history = 0, 0, 0, []
    best = {"validation_nll": float("inf"), "state": None}
    ckpt_path = os.path.join(args.out, "checkpoint.pt")
    if args.resume and os.path.exists(ckpt_path):
        state = torch.load(ckpt_path, map_location=device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, epoch, trained_tokens = state["step"], state["epoch"], state["trained_tokens"]
        history = state["history"]
        print(f"resumed from {ckpt_path} at step {step}", file=sys.stderr)

    tokens_per_step = args.batch_size * seq_len
    epoch_tokens = args.epoch_tokens or train.size
    steps_per_epoch = max(1, epoch_tokens // tokens_per_step)
    budget_s = args.minutes * 60.0
    est_total_steps = args.max_steps or None
    baseline = bigram_nll(train, val, len(vocab))
    print(f"model {n_params / 1e6:.2f} M parameters on {device}; train {train.size} tokens "
          f"({n_train_songs} songs), validation {val.size} ({n_val_songs}); bigram baseline "
          f"{baseline:.4f} nats/token", file=sys.stderr)

    progress = Progress()
    start = time.time()
    session_tokens = 0
    warmup = 200
    use_bf16 = device.type == "cuda"
    while True:
        elapsed = time.time() - start
        if (args.max_steps and step >= args.max_steps) or (not args.max_steps and elapsed > budget_s):
            break
        # Cosine decay over the time (or step) budget after a linear warm-up.
        frac = step / args.max_steps if args.max_steps else elapsed / budget_s
        lr = args.lr * min(1.0, (step + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))
        for group in optimizer.param_groups:
            group["lr"] = lr
        batch = make_batch(train_sampler, augmenter, rng, args.batch_size,
                           args.control_dropout).to(device)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_bf16):
            logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), batch[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step += 1
        trained_tokens += tokens_per_step
        session_tokens += tokens_per_step
        rate = session_tokens / max(time.time() - start, 1e-6)
        left = (args.max_steps - step) * tokens_per_step / max(rate, 1e-6) if args.max_steps \
            else budget_s - (time.time() - start)
        progress.show(f"epoch {epoch + 1} step {step} loss {float(loss):.4f} lr {lr:.2e} "
                      f"{rate:,.0f} tok/s eta {max(left, 0) / 60:.1f} min")
        if step % steps_per_epoch == 0:
            epoch += 1
            val_nll = validation_nll(model, val_sampler, device, args.val_crops, args.batch_size)
            history.append({"epoch": epoch, "step": step, "train_loss": float(loss),
                            "validation_nll": val_nll, "minutes": (time.time() - start) / 60})
            progress.show(f"epoch {epoch}: validation NLL {val_nll:.4f} "
                          f"(bigram {baseline:.4f}, {100 * (1 - val_nll / baseline):.1f} % below)",
                          force=True)
            progress.done()
            if val_nll < best["validation_nll"]:
                best = {"validation_nll": val_nll, "epoch": epoch,
                        "state": {k: v.detach().clone() for k, v in model.state_dict().items()}}
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "step": step, "epoch": epoch, "trained_tokens": trained_tokens,
                        "history": history, "config": preset}, ckpt_path)
    progress.done()

    val_nll = validation_nll(model, val_sampler, device, args.val_crops, args.batch_size)
    if best["state"] is not None and best["validation_nll"] < val_nll:
        # Export the epoch that generalised best, not merely the last one.
        model.load_state_dict(best["state"])
        val_nll = best["validation_nll"]
        print(f"exporting epoch {best['epoch']}, the best on validation", file=sys.stderr)
    metrics = {
        "validation_nll": val_nll,
        "bigram_validation_nll": baseline,
        "nll_below_bigram": 1.0 - val_nll / baseline,
        "steps": step,
        "epochs": epoch,
        "trained_tokens": trained_tokens,
        "train_minutes": (time.time() - start) / 60,
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        "history": history,
    }
    model_path = os.path.join(args.out, "band.jamd")
    export.export_model(model.cpu().eval(), config, model_path, vocab_names=vocab.names,
                        data_hash=int(metadata.get("data_hash", "0"), 16), metrics=metrics,
                        extra={"preset": args.preset, "seq_len": seq_len,
                               "batch_size": args.batch_size, "lr": args.lr,
                               "control_dropout": args.control_dropout, "dropout": args.dropout,
                               "weight_decay": args.weight_decay, "seed": args.seed,
                               "data": metadata})
    print(f"validation NLL {val_nll:.4f} nats/token, bigram {baseline:.4f} "
          f"({100 * metrics['nll_below_bigram']:.1f} % below); wrote {model_path}")


if __name__ == "__main__":
    main()
