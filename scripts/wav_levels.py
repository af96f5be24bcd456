#!/usr/bin/env python3
"""Levels of 16-bit PCM WAV files: sample peak, RMS and integrated loudness (ITU-R BS.1770-4:
K-weighting, 400 ms blocks with 75 % overlap, gated at -70 LUFS and -10 LU). Standard library
only (the team's machines have no numpy). Usage: python3 scripts/wav_levels.py FILE.wav ..."""
import array
import math
import sys
import wave


def k_weighting_coefficients(rate_hz):
    """The BS.1770 pre-filter (high shelf) and RLB high-pass as biquads, for any rate."""
    # Shelf: f0 1681.97 Hz, gain +4 dB, Q 0.7072; high-pass: f0 38.135 Hz, Q 0.5003 (the
    # analogue prototypes behind the standard's 48 kHz coefficients).
    k = math.tan(math.pi * 1681.974450955533 / rate_hz)
    vh = math.pow(10.0, 3.999843853973347 / 20.0)
    vb = math.pow(vh, 0.4996667741545416)
    q = 0.7071752369554196
    a0 = 1.0 + k / q + k * k
    shelf = ([(vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0,
              (vh - vb * k / q + k * k) / a0],
             [2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0])
    k = math.tan(math.pi * 38.13547087602444 / rate_hz)
    q = 0.5003270373238773
    a0 = 1.0 + k / q + k * k
    highpass = ([1.0, -2.0, 1.0], [2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0])
    return shelf, highpass


def biquad(x, coefficients):
    (b0, b1, b2), (a1, a2) = coefficients
    y = [0.0] * len(x)
    x1 = x2 = y1 = y2 = 0.0
    for i, v in enumerate(x):
        out = b0 * v + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
        x2, x1, y2, y1 = x1, v, y1, out
        y[i] = out
    return y


def levels(path):
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2:
            raise SystemExit(f"{path}: only 16-bit PCM WAV is read")
        rate, n_channels = w.getframerate(), w.getnchannels()
        pcm = array.array("h", w.readframes(w.getnframes()))
    if sys.byteorder == "big":
        pcm.byteswap()
    channels = [[s / 32768.0 for s in pcm[c::n_channels]] for c in range(n_channels)]
    n = len(channels[0])
    peak = max((abs(s) for ch in channels for s in ch), default=0.0)
    sum_squares = sum(s * s for ch in channels for s in ch)
    rms = math.sqrt(sum_squares / max(1, n * n_channels))
    shelf, highpass = k_weighting_coefficients(rate)
    weighted = [biquad(biquad(ch, shelf), highpass) for ch in channels]
    block, hop = int(0.4 * rate), int(0.1 * rate)
    # Per channel running sums of squares, so each block is two lookups.
    prefix = []
    for ch in weighted:
        p = [0.0] * (n + 1)
        for i, v in enumerate(ch):
            p[i + 1] = p[i] + v * v
        prefix.append(p)
    powers = []
    for start in range(0, n - block + 1, hop):
        powers.append(sum((p[start + block] - p[start]) / block for p in prefix))
    loudness = lambda z: -0.691 + 10.0 * math.log10(z) if z > 0 else float("-inf")
    gated = [z for z in powers if loudness(z) > -70.0]
    integrated = float("-inf")
    if gated:
        relative = loudness(sum(gated) / len(gated)) - 10.0
        kept = [z for z in gated if loudness(z) > relative]
        integrated = loudness(sum(kept) / len(kept)) if kept else float("-inf")
    db = lambda v: 20.0 * math.log10(v) if v > 0 else float("-inf")
    return n / rate, peak, db(peak), rms, db(rms), integrated


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    print(f"{'file':40} {'seconds':>8} {'peak':>7} {'dBFS':>7} {'rms':>7} {'dBFS':>7} {'LUFS':>7}")
    for path in sys.argv[1:]:
        seconds, peak, peak_db, rms, rms_db, lufs = levels(path)
        print(f"{path[-40:]:40} {seconds:8.1f} {peak:7.4f} {peak_db:7.1f} {rms:7.4f} {rms_db:7.1f}"
              f" {lufs:7.1f}")


if __name__ == "__main__":
    main()
