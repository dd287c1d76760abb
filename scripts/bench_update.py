#!/usr/bin/env python
"""Measure ``update`` against a full refit on real reviews (issue #13 targets; medians, not a test).

Real Amazon reviews (../shared/data, 4 categories), customers of 4 reviews each. The model is fitted
on 90% of the reviews and tagged into a profile database; then the other 10% arrive:

* ``refit``: a full fit on all reviews (what ``update`` avoids);
* ``update``: ``update_files`` with the new 10% (re-profiles their customers, saves a new version);
* unaffected customers whose row (tags, ids, scores) is unchanged after the update.

    python scripts/bench_update.py --reviews 4000 --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from topicprofile import TopicProfiler
from topicprofile.app.jobs import tag_files
from topicprofile.app.update import update_files
from topicprofile.db import ProfileDatabase

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "en_amazon_reviews_4cats.csv.bz2"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviews", type=int, default=4000)
    parser.add_argument("--topics", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    frame = pd.read_csv(DATA, dtype=str)
    per = args.reviews // 4
    sample = pd.concat([g.sample(per, random_state=0) for _, g in frame.groupby("category")], ignore_index=True)
    sample["customer_id"] = [f"{c}-{i // 4:05d}" for i, c in enumerate(sample["category"])]
    sample = sample[["customer_id", "text"]].sample(frac=1.0, random_state=1).reset_index(drop=True)
    cut = int(len(sample) * 0.9)
    old, new = sample.iloc[:cut], sample.iloc[cut:]
    refit, update, kept = [], [], []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            old.to_csv(folder / "old.csv", index=False)
            new.to_csv(folder / "new.csv", index=False)
            sample.to_csv(folder / "all.csv", index=False)
            TopicProfiler(n_topics=args.topics, random_state=0).fit(old).save(str(folder / "model"))
            tag_files(folder / "model", folder / "p.csv", reviews=folder / "old.csv", db=folder / "p.duckdb")
            with ProfileDatabase(folder / "p.duckdb", read_only=True) as db:
                before = db.profiles().set_index("customer_id")
            t0 = time.perf_counter()
            TopicProfiler(n_topics=args.topics, random_state=0).fit(sample)
            refit.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            update_files(folder / "model", db=folder / "p.duckdb", reviews=folder / "new.csv")
            update.append(time.perf_counter() - t0)
            with ProfileDatabase(folder / "p.duckdb", read_only=True) as db:
                after = db.profiles().set_index("customer_id")
        unaffected = before.index.difference(new["customer_id"].unique())
        cols = ["interest_tags", "interest_topics", "top_interest"]
        same = (before.loc[unaffected, cols].astype(str) == after.loc[unaffected, cols].astype(str)).all(axis=1)
        kept.append(float(same.mean()))
        print(f"run {run + 1}: refit {refit[-1]:.1f} s, update {update[-1]:.1f} s, unaffected kept {kept[-1]:.3f} "
              f"({len(unaffected)} of {len(before)})", file=sys.stderr)  # fmt: skip
    print(f"| {args.reviews:,} reviews, 10% new, median of {args.runs} | value | target |")
    print("|---|---|---|")
    print(f"| full refit | {statistics.median(refit):.1f} s | |")
    print(f"| update | {statistics.median(update):.1f} s ({statistics.median(update) / statistics.median(refit):.2f}× refit) | ≤ 0.3× |")
    print(f"| unaffected customers keeping tags and ids | {statistics.median(kept):.1%} | ≥ 95% |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
