#!/usr/bin/env python3
"""Peer of `cargo bench -p domain --bench forecast` (BENCHMARKS.md, issue 19): the demand half.

Rebuilds the Rust bench's synthetic marketplace (the same LCG stream, the same calendar-month
renewals, so the same weekly series; the printed totals match the bench's) and does what
`domain::forecast::demand::forecast_demand` does for the 20 most subscribed tools, with
statsmodels' ETSModel:

- the weekly counts of new subscriptions ending at `now` (the last 104 weeks fitted);
- three additive-error non-seasonal models, ETS(A,N,N), ETS(A,A,N), ETS(A,Ad,N), each fitted
  by maximum likelihood (statsmodels' default: L-BFGS-B, initial states estimated), the lowest
  AICc kept, forecast 53 weeks (12 months from 2028-01-01) with 95% intervals;
- the backtest: for each of the last 52 weeks, the three models refitted on the weeks before it,
  the lowest AICc's one-step forecast and its standard deviation.

So 20 x 53 x 3 = 3,180 fits, as in the Rust code (which fits by a fixed grid instead of an
optimizer). The revenue half has no library peer (it is billing's own schedule) and is not run.

Setup (not committed): python3 -m venv /tmp/peers-venv && /tmp/peers-venv/bin/pip install
  arch==7.2.0 numpy==2.2.6 pandas==2.2.3 statsmodels==0.14.4
Run: /tmp/peers-venv/bin/python scripts/peers/bench_forecast.py [--tools 200 --subs 10000]
"""

import argparse
import os
import time
import warnings
from datetime import datetime, timedelta, timezone

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from dateutil.relativedelta import relativedelta  # noqa: E402
from statsmodels.tsa.exponential_smoothing.ets import ETSModel  # noqa: E402

MASK = (1 << 64) - 1
NOW = datetime(2028, 1, 1, tzinfo=timezone.utc)
HISTORY_DAYS = 730
MAX_TOOLS = 20
MAX_FIT_WEEKS = 104
BACKTEST_WEEKS = 52
MIN_TRAIN = 6
HORIZON_WEEKS = 53  # (period_start(now, 12) - now) = 366 days, rounded up to weeks


class Lcg:
    def __init__(self):
        self.s = 0x9E3779B97F4A7C15

    def next(self):
        self.s = (self.s * 6364136223846793005 + 1442695040888963407) & MASK
        return self.s >> 11

    def unit(self):
        return self.next() / float(1 << 53)


def marketplace(tools, subs):
    """The Rust bench's `marketplace`: per tool, its subscriptions' creation times."""
    rng = Lcg()
    start = NOW - timedelta(days=HISTORY_DAYS)
    listed = [start + timedelta(hours=rng.next() % (8 * 7 * 24)) for _ in range(tools)]
    weights = [1.0 / r for r in range(1, tools + 1)]
    total = 0.0
    for w in weights:
        total += w
    created = [[] for _ in range(tools)]
    charges = failures = 0
    for _ in range(subs):
        pick = rng.unit() * total
        tool = tools - 1
        for i, w in enumerate(weights):
            pick -= w
            if pick < 0.0:
                tool = i
                break
        span = int((NOW - listed[tool]).total_seconds())
        c = listed[tool] + timedelta(seconds=rng.next() % span)
        created[tool].append(c)
        rng.next()  # price
        charges += 1
        k = 1
        while True:
            due = c + relativedelta(months=k)
            if due >= NOW:
                break
            u = rng.unit()
            if u < 0.90:
                charges += 1
            elif u < 0.95:
                failures += 1
                if u < 0.93 and due + timedelta(days=3) < NOW:
                    charges += 1
                else:
                    break
            else:
                break
            k += 1
    return listed, created, charges, failures


def weekly_counts(listed, subscribed):
    week = timedelta(weeks=1)
    n = max(0, int((NOW - listed).total_seconds()) // int(week.total_seconds()))
    starts = [NOW - week * (n - i) for i in range(n)]
    ts = np.array(sorted(s.timestamp() for s in subscribed))
    edges = np.array([s.timestamp() for s in starts] + [NOW.timestamp()])
    return np.histogram(ts, bins=edges)[0].astype(float) if n else np.zeros(0)


MODELS = (dict(trend=None), dict(trend="add"), dict(trend="add", damped_trend=True))


def best_fit(y):
    best = None
    for spec in MODELS:
        r = ETSModel(y, error="add", **spec).fit(disp=False)
        if best is None or r.aicc < best.aicc:
            best = r
    return best


def forecast_tool(y):
    y = pd.Series(y)  # ETS predictions need an indexed series
    fit = best_fit(y)
    pred = fit.get_prediction(start=len(y), end=len(y) + HORIZON_WEEKS - 1)
    frame = pred.summary_frame(alpha=0.05)
    back = []
    for t in range(max(MIN_TRAIN, len(y) - BACKTEST_WEEKS), len(y)):
        f = best_fit(y[:t])
        p = f.get_prediction(start=t, end=t)
        mean, var = p.predicted_mean.iloc[0], np.asarray(p.var_pred_mean)[0]
        back.append((float(mean), float(np.sqrt(var)), y.iloc[t]))
    return frame, back


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tools", type=int, default=200)
    ap.add_argument("--subs", type=int, default=10000)
    ap.add_argument("--limit-tools", type=int, default=MAX_TOOLS)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    listed, created, charges, failures = marketplace(args.tools, args.subs)
    t1 = time.perf_counter()
    top = sorted(range(args.tools), key=lambda i: (-len(created[i]), f"tool-{i:03}"))
    top = top[: min(MAX_TOOLS, args.limit_tools)]
    print(f"inputs: {args.subs} subscriptions, {charges} charges, {failures} failures, "
          f"top tools' subscriptions {[len(created[i]) for i in top[:3]]} "
          f"(generated in {t1 - t0:.2f} s, not timed below)")
    t2 = time.perf_counter()
    series = [weekly_counts(listed[i], created[i])[-MAX_FIT_WEEKS:] for i in top]
    fits = 0
    mae = []
    for y in series:
        if len(y) < 8:
            continue
        _, back = forecast_tool(y)
        fits += 3 * (1 + len(back))
        mae.append(np.mean([abs(max(m, 0.0) - a) for m, _, a in back]))
    t3 = time.perf_counter()
    print(f"statsmodels ETSModel: {len(series)} tools, {fits} fits, {t3 - t2:.2f} s "
          f"({(t3 - t2) / max(fits, 1) * 1e3:.2f} ms a fit); mean backtest MAE "
          f"{np.mean(mae):.3f}")


if __name__ == "__main__":
    main()
