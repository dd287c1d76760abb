#!/usr/bin/env python
"""Benchmark the profile database: upsert throughput and audience query time (medians; not a test).

Synthetic ``tag`` output in its text form (``;``-joined tags, JSON scores, ``topic_k`` shares,
RFM columns) for ``--customers`` customers, seeded. Each run writes a fresh DuckDB file in a
temporary folder:

* ``insert``: upsert of every row into an empty database (one transaction);
* ``update``: the same upsert again with 10% of customers' segments changed (conflict path);
* ``audience``: ``select_audience`` with an interest + segment + number filter and --min-score,
  then the Klaviyo export of the result (writing the file included).

Rows per CPU second (``time.process_time``, every DuckDB thread) are printed beside the wall-clock
rate: on a shared machine they move less with the load.

Targets (issue #13): upsert ≥ 50,000 rows/s; audience query over 200,000 customers ≤ 1 s.

    python scripts/bench_db.py --customers 200000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from topicprofile.db import ProfileDatabase
from topicprofile.db.audience import export_audience, select_audience

LABELS = ["Outdoor", "Coffee", "Beauty", "Pets", "Fitness", "Kitchen", "Kids", "Garden", "Tech", "Books", "Travel", "Tea"]
SEGMENTS = ["Champions", "Loyal", "Potential Loyalist", "At Risk", "Can't Lose", "Hibernating", "Need Attention"]
WHERE = "interest = 'Outdoor' and rfm_segment in ('At Risk', 'Can''t Lose') and monetary >= 50"


def synthetic_profiles(n: int, *, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    k = len(LABELS)
    shares = rng.dirichlet(np.full(k, 0.3), size=n).round(4)
    order = np.argsort(-shares, axis=1)[:, :3]
    tags, scores, topics = [], [], []
    for row, top in zip(shares, order):
        kept = [t for t in top if row[t] >= 0.15] or [top[0]]
        tags.append(";".join(LABELS[t] for t in kept))
        topics.append(";".join(str(t) for t in kept))
        scores.append(json.dumps({LABELS[t]: round(float(row[t]), 3) for t in kept}))
    table = pd.DataFrame({
        "customer_id": [f"C{i:07d}" for i in range(n)], "top_interest": [t.split(";")[0] for t in tags],
        "interest_tags": tags, "interest_scores": scores, "n_documents": rng.integers(1, 30, n),
        "keywords": "tent;stove;trail;boots;lamp", "recency_days": rng.integers(0, 400, n),
        "frequency": rng.integers(1, 20, n), "monetary": rng.gamma(2.0, 80.0, n).round(2),
        "avg_order_value": rng.gamma(2.0, 30.0, n).round(2), "r_score": rng.integers(1, 6, n),
        "f_score": rng.integers(1, 6, n), "m_score": rng.integers(1, 6, n),
        "rfm_segment": rng.choice(SEGMENTS, n), "segment_id": rng.integers(0, 6, n), "segment_name": "mixed",
        "interest_topics": topics, "n_tokens": rng.integers(5, 500, n),
    })  # fmt: skip
    for t in range(k):
        table[f"topic_{t}"] = shares[:, t]
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    table = synthetic_profiles(args.customers)
    changed = table.copy()
    flip = np.random.default_rng(1).random(len(changed)) < 0.1
    changed.loc[flip, "rfm_segment"] = "Hibernating"
    insert, update, query, export, cpu = [], [], [], [], []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "p.duckdb"
            with ProfileDatabase(path) as db:
                t0, c0 = time.perf_counter(), time.process_time()
                db.upsert_profiles(table, model_manifest={"model_version": "bench"})
                insert.append(len(table) / (time.perf_counter() - t0))
                cpu.append(len(table) / (time.process_time() - c0))
                t0 = time.perf_counter()
                db.upsert_profiles(changed, model_manifest={"model_version": "bench"})
                update.append(len(table) / (time.perf_counter() - t0))
                t0 = time.perf_counter()
                n = len(select_audience(db, WHERE, min_score=0.3))
                query.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            export_audience(path, to="klaviyo", out=Path(tmp) / "a.csv", where=WHERE, min_score=0.3)
            export.append(time.perf_counter() - t0)
        print(f"run {run + 1}: insert {insert[-1]:,.0f} rows/s, update {update[-1]:,.0f} rows/s, "
              f"query {query[-1]:.3f} s ({n:,} customers), export {export[-1]:.3f} s", file=sys.stderr)  # fmt: skip
    print(f"| {args.customers:,} customers, median of {args.runs} | value | target |")
    print("|---|---|---|")
    print(f"| upsert into an empty database | {statistics.median(insert):,.0f} rows/s | ≥ 50,000 rows/s |")
    print(f"| upsert into an empty database, per CPU second (all threads) | {statistics.median(cpu):,.0f} rows/s | |")
    print(f"| upsert again, 10% segments changed | {statistics.median(update):,.0f} rows/s | ≥ 50,000 rows/s |")
    print(f"| audience query (`{WHERE}`, --min-score 0.3) | {statistics.median(query):.3f} s | ≤ 1 s |")
    print(f"| same audience, Klaviyo file written (open, query, write, record) | {statistics.median(export):.3f} s | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
