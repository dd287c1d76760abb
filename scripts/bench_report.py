#!/usr/bin/env python
"""Benchmark: build time and size of the HTML report of a synthetic N-customer shop (not a test).

Fits a small model on the bundled sample shop (corpora/) once, then builds the report of a
synthetic profile table (N customers, two orders each over 18 months) ``--runs`` times and prints
the median seconds of each step: aggregates (``report_data``), charts (``make_charts``, vl-convert
warm after the first run), HTML (``render_html``) and the whole ``write_report``, and the file size.

    python scripts/bench_report.py --customers 200000 --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def synthetic_shop(labels: list[str], n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    from topicprofile.behavior import DEFAULT_SEGMENT_MAP

    rng = np.random.default_rng(seed)
    shares = rng.dirichlet(np.ones(len(labels)), size=n)
    top = np.array(labels)[shares.argmax(axis=1)]
    r, f, m = (rng.integers(1, 6, size=n) for _ in range(3))
    profiles = pd.DataFrame({
        "customer_id": [f"C{i:07d}" for i in range(n)], "top_interest": top, "interest_tags": top,
        "monetary": rng.gamma(2.0, 50.0, size=n).round(2), "frequency": f, "r_score": r, "f_score": f, "m_score": m,
        "rfm_segment": [DEFAULT_SEGMENT_MAP[(a, (b + c + 1) // 2)] for a, b, c in zip(r, f, m)],
        **{f"topic_{k}": shares[:, k] for k in range(len(labels))},
    })  # fmt: skip
    orders = pd.DataFrame({"customer_id": profiles["customer_id"].repeat(2).to_numpy(),
                           "order_id": [f"O{i}" for i in range(2 * n)],
                           "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 540, 2 * n), "D"),
                           "amount": rng.gamma(2.0, 25.0, 2 * n).round(2)})  # fmt: skip
    return profiles, orders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from topicprofile import TopicProfiler
    from topicprofile.ingest.load import load_reviews
    from topicprofile.report import render_html, report_data, write_report
    from topicprofile.report.charts import make_charts

    print("fitting the sample model…", file=sys.stderr)
    profiler = TopicProfiler(n_topics=8, random_state=0).fit(reviews=load_reviews(ROOT / "corpora" / "reviews.csv").data)
    labels = list(profiler.topics().sort_values("topic")["label"])
    profiles, orders = synthetic_shop(labels, args.customers)
    times: dict[str, list[float]] = {"report_data": [], "make_charts": [], "render_html": [], "write_report": []}
    size = 0
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            start = time.perf_counter()
            data = report_data(profiler, profiles=profiles, orders=orders, snippets=False)
            times["report_data"].append(time.perf_counter() - start)
            start = time.perf_counter()
            charts = make_charts(data)
            times["make_charts"].append(time.perf_counter() - start)
            start = time.perf_counter()
            render_html(data, charts)
            times["render_html"].append(time.perf_counter() - start)
            start = time.perf_counter()
            size = write_report(profiler, Path(tmp) / "r.html", profiles=profiles, orders=orders, snippets=False)["bytes"]
            times["write_report"].append(time.perf_counter() - start)
            print(f"run {run + 1}/{args.runs} done", file=sys.stderr)
    print(f"| step ({args.customers:,} customers, {len(orders):,} orders) | median s | runs |")
    print("|---|---:|---:|")
    for step, values in times.items():
        print(f"| {step} | {statistics.median(values):.2f} | {', '.join(f'{v:.2f}' for v in values)} |")
    print(f"\nreport size: {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
