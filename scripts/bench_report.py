#!/usr/bin/env python
"""Benchmark: build time and size of the HTML report of a synthetic N-customer shop (not a test).

Fits a small model on the bundled sample shop (corpora/) once, then builds the report of a
synthetic profile table (N customers, two orders each over 18 months) ``--runs`` times and prints
the median seconds of each step: aggregates (``report_data``), charts (``make_charts``, vl-convert
warm after the first run), HTML (``render_html``) and the whole ``write_report``, and the file size.
With ``--db`` the profiles are first written to a DuckDB profile store and each run reads them
back (``db_profiles``, what ``report --db`` does) before building the report.

    python scripts/bench_report.py --customers 200000 --runs 3 [--db]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


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
    parser.add_argument("--db", action="store_true", help="read the profiles from a DuckDB profile store")
    args = parser.parse_args()

    from topicprofile import TopicProfiler
    from topicprofile.ingest.load import load_reviews
    from topicprofile.report import render_html, report_data, write_report
    from topicprofile.report.charts import make_charts
    from topicprofile.app.report_sources import db_profiles

    print("fitting the sample model…", file=sys.stderr)
    profiler = TopicProfiler(n_topics=8, random_state=0).fit(
        reviews=load_reviews(ROOT / "corpora" / "reviews.csv").data
    )
    labels = list(profiler.topics().sort_values("topic")["label"])
    profiles, orders = synthetic_shop(labels, args.customers)
    steps = ["report_data", "make_charts", "render_html", "write_report"]
    if args.db:
        steps = ["db_profiles", *steps, "db_profiles + write_report"]
    wall: dict[str, list[float]] = {step: [] for step in steps}
    cpu: dict[str, list[float]] = {step: [] for step in steps}

    def timed(step: str, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        start, start_cpu = time.perf_counter(), time.process_time()  # CPU: all threads (vl-convert's too)
        result = call(*args, **kwargs)
        wall[step].append(time.perf_counter() - start)
        cpu[step].append(time.process_time() - start_cpu)
        return result

    size = 0
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        if args.db:
            from topicprofile.db.database import write_profiles

            print("writing the profile database…", file=sys.stderr)
            write_profiles(Path(tmp) / "p.duckdb", profiles.assign(interest_scores="{}"))
        for run in range(args.runs):
            if args.db:
                profiles, _ = timed("db_profiles", db_profiles, Path(tmp) / "p.duckdb", n_topics=len(labels))
            data = timed(
                "report_data", report_data, profiler, profiles=profiles, orders=orders, snippets=False
            )
            charts = timed("make_charts", make_charts, data)
            timed("render_html", render_html, data, charts)
            out = Path(tmp) / "r.html"
            size = timed(
                "write_report", write_report, profiler, out, profiles=profiles, orders=orders, snippets=False
            )
            size = size["bytes"]
            if args.db:
                for table in (wall, cpu):
                    table["db_profiles + write_report"].append(
                        table["db_profiles"][-1] + table["write_report"][-1]
                    )
            print(f"run {run + 1}/{args.runs} done", file=sys.stderr)
    print(
        f"load average (1 min) {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} CPUs\n"
    )
    print(
        f"| step ({args.customers:,} customers, {len(orders):,} orders) | median wall s | median CPU s | wall runs |"
    )
    print("|---|---:|---:|---:|")
    for step in steps:
        print(f"| {step} | {statistics.median(wall[step]):.2f} | {statistics.median(cpu[step]):.2f} | "
              f"{', '.join(f'{v:.2f}' for v in wall[step])} |")  # fmt: skip
    print(f"\nreport size: {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
