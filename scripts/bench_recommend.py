"""Benchmark ``HybridRecommender`` at shop scale: fit + top-10 for N customers x M items (issue 17 target:
200,000 x 1,000 in <= 60 s on a 2-core machine). Synthetic orders: each customer has a topic mix and buys
items from topic-specific item pools. One BLAS/ALS thread.

Prints wall and CPU seconds per phase and the load average: on a shared machine wall time says
more about the neighbours than about us. For the figure to compare with the target, rerun when the
machine is quiet (load < 1.5 on 2 cores):

    python scripts/bench_recommend.py --customers 200000 --items 1000 --topics 20 --runs 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import pandas as pd

from topicprofile.actions.recommend import ITEM, HybridRecommender


def synthetic(n_customers: int, n_items: int, n_topics: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    shares = rng.dirichlet(np.full(n_topics, 0.2), n_customers)
    n_orders = rng.integers(1, 10, n_customers)
    customer = np.repeat(np.arange(n_customers), n_orders)
    topic = (rng.random(len(customer))[:, None] > np.cumsum(shares[customer], axis=1)).sum(axis=1)
    topic = np.minimum(topic, n_topics - 1)
    per_topic = n_items // n_topics
    item = topic * per_topic + np.minimum(rng.zipf(1.5, len(customer)) - 1, per_topic - 1)
    ids = np.char.add("C", np.arange(n_customers).astype(str))
    days = rng.integers(0, 540, len(customer))
    lines = pd.DataFrame({
        "customer_id": ids[customer], "order_id": np.arange(len(customer)).astype(str),
        "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(days, unit="D"),
        "amount": 10.0, "status": "completed", ITEM: np.char.add("item", item.astype(str)),
    })  # fmt: skip
    table = pd.DataFrame(
        shares, index=pd.Index(ids, name="customer_id"), columns=[f"topic_{t}" for t in range(n_topics)]
    )
    return lines, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--items", type=int, default=1_000)
    parser.add_argument("--topics", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    lines, shares = synthetic(args.customers, args.items, args.topics, args.seed)
    print(
        f"{len(lines):,} order lines, {lines['customer_id'].nunique():,} customers, {lines[ITEM].nunique():,} items"
    )
    totals = []
    for run in range(args.runs):
        load = os.getloadavg()[0]
        start, cpu0 = time.perf_counter(), time.process_time()
        model = HybridRecommender(top=10, random_state=0).fit(lines, shares)
        fitted, cpu1 = time.perf_counter(), time.process_time()
        recs = model.recommend(lines)
        done, cpu2 = time.perf_counter(), time.process_time()
        totals.append((done - start, cpu2 - cpu0))
        print(f"run {run + 1}: fit (incl. CF and weight choice) {fitted - start:.1f} s wall / {cpu1 - cpu0:.1f} s CPU; "
              f"recommend {done - fitted:.1f} s / {cpu2 - cpu1:.1f} s CPU; total {done - start:.1f} s wall / "
              f"{cpu2 - cpu0:.1f} s CPU; load {load:.1f}; {len(recs):,} rows; CF {model.cf_}; weights {model.weights_}",
              flush=True)  # fmt: skip
    print(
        f"median of {args.runs}: {statistics.median(t[0] for t in totals):.1f} s wall, "
        f"{statistics.median(t[1] for t in totals):.1f} s CPU"
    )


if __name__ == "__main__":
    main()
