#!/usr/bin/env python3
"""Peers of `cargo bench -p compute --bench ab_test` (BENCHMARKS.md, issue 19).

The same paired returns as the Rust bench (the same LCG, bit for bit), the same statistics
(mean per-bar return difference B - A, annualized Sharpe ratio difference with the sample
standard deviation), the same circular block bootstrap (block length ceil(n^(1/3)): 10 for
1,000 bars, 22 for 10,000; 2,000 resamples), then the same percentile CIs (type 7, alpha 0.05)
and centered two-sided p-values. Two peers:

- `arch`: arch.bootstrap.CircularBlockBootstrap(...).apply(stat, 2000), a Python callback per
  resample (the library's documented way to bootstrap a statistic).
- `numpy`: all block starts drawn at once, index matrices built by broadcasting, means and
  standard deviations along an axis, 250 resamples per chunk (a plain vectorized
  implementation, the fastest numpy formulation we know).

Timing: best and median of `--repeat` runs, one thread (OPENBLAS/MKL/OMP limited to 1).
Setup (not committed): python3 -m venv /tmp/peers-venv &&
  /tmp/peers-venv/bin/pip install arch==7.2.0 numpy==2.2.6 pandas==2.2.3 statsmodels==0.14.4
(pandas 3.1 breaks `import arch` 7.2.0)
Run: /tmp/peers-venv/bin/python scripts/peers/bench_ab_bootstrap.py
"""

import argparse
import math
import os
import statistics
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402
from arch.bootstrap import CircularBlockBootstrap  # noqa: E402

PERIODS_PER_YEAR = 8760.0
ANNUAL = math.sqrt(PERIODS_PER_YEAR)
RESAMPLES = 2000
ALPHA = 0.05
SEED = 42
MASK = (1 << 64) - 1


def paired_returns(n):
    """The Rust bench's `paired_returns`: an LCG walk's returns and a mixed, drifted copy."""
    state = 0x9E3779B97F4A7C15
    a = np.empty(n)
    for i in range(n):
        state = (state * 6364136223846793005 + 1442695040888963407) & MASK
        a[i] = ((state >> 11) / float(1 << 53) - 0.5) * 0.02
    b = 0.8 * a + 0.2 * np.roll(a, -7) + 0.0001
    return a, b


def block_length(n):
    """ceil(n^(1/3)), as compute::ab_test::block_length."""
    length = math.ceil(n ** (1.0 / 3.0))
    if length > 1 and (length - 1) ** 3 >= n:
        length -= 1
    return max(1, min(length, n))


def sharpe(x):
    sd = x.std(ddof=1)
    return x.mean() / sd if sd > 0 else 0.0


def summarize(observed, diffs):
    """Percentile CI (type 7) and the centered two-sided p-value."""
    far = np.count_nonzero(np.abs(diffs - observed) >= abs(observed))
    p = (1 + far) / (1 + len(diffs))
    lo, hi = np.quantile(diffs, [ALPHA / 2, 1 - ALPHA / 2])
    return observed, lo, hi, p


def with_arch(a, b, block):
    def stat(x, y):
        return np.array([y.mean() - x.mean(), (sharpe(y) - sharpe(x)) * ANNUAL])

    bs = CircularBlockBootstrap(block, a, b, seed=SEED)
    d = bs.apply(stat, RESAMPLES)
    obs = stat(a, b)
    return summarize(obs[0], d[:, 0]), summarize(obs[1], d[:, 1])


def with_numpy(a, b, block, chunk=250):
    n = len(a)
    rng = np.random.default_rng(SEED)
    blocks = -(-n // block)
    offsets = np.arange(block)
    mean_d, sharpe_d = np.empty(RESAMPLES), np.empty(RESAMPLES)
    for s in range(0, RESAMPLES, chunk):
        k = min(chunk, RESAMPLES - s)
        starts = rng.integers(0, n, size=(k, blocks))
        idx = ((starts[:, :, None] + offsets) % n).reshape(k, -1)[:, :n]
        ra, rb = a[idx], b[idx]
        ma, mb = ra.mean(axis=1), rb.mean(axis=1)
        sa, sb = ra.std(axis=1, ddof=1), rb.std(axis=1, ddof=1)
        mean_d[s : s + k] = mb - ma
        sharpe_d[s : s + k] = (mb / sb - ma / sa) * ANNUAL
    obs_m = b.mean() - a.mean()
    obs_s = (sharpe(b) - sharpe(a)) * ANNUAL
    return summarize(obs_m, mean_d), summarize(obs_s, sharpe_d)


def timed(f, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times), out


def fmt(s):
    d, lo, hi, p = s
    return f"diff {d:+.6g} CI [{lo:+.6g}, {hi:+.6g}] p {p:.4f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--sizes", default="1000,10000")
    args = ap.parse_args()
    print(f"numpy {np.__version__}, arch {__import__('arch').__version__}, "
          f"{RESAMPLES} resamples, seed {SEED}")
    for n in (int(x) for x in args.sizes.split(",")):
        a, b = paired_returns(n)
        block = block_length(n)
        for name, f in (("arch", with_arch), ("numpy", with_numpy)):
            best, med, (m, s) = timed(lambda: f(a, b, block), args.repeat)
            print(f"n={n} block={block} {name:5s}: best {best * 1e3:8.2f} ms, "
                  f"median {med * 1e3:8.2f} ms ({args.repeat} runs)")
            print(f"    mean:   {fmt(m)}")
            print(f"    sharpe: {fmt(s)}")


if __name__ == "__main__":
    main()
