"""The recommender comparison on the sample shop (corpora/): topics from texts before the cutoff only.

    python scripts/eval_recommend_sample.py --cutoff 2025-01-01 --k 1 3 10
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from topicprofile import TopicProfiler
from topicprofile.actions import evaluate_recommenders, item_lines
from topicprofile.segments.fuse import topic_shares
from topicprofile.ingest.load import load_browsing, load_reviews
from topicprofile.ingest.files import read_table

CORPORA = Path(__file__).resolve().parents[1] / "corpora"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cutoff", default="2025-01-01")
    parser.add_argument("--k", type=int, nargs="+", default=[1, 3, 10])
    parser.add_argument("--topics", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    cut = pd.Timestamp(args.cutoff)
    lines = item_lines(read_table(CORPORA / "orders.csv"), columns={"timestamp": "order_date"})
    reviews, browsing = load_reviews(CORPORA / "reviews.csv").data, load_browsing(CORPORA / "browsing.jsonl").data
    reviews, browsing = reviews[reviews["timestamp"] < cut], browsing[browsing["timestamp"] < cut]
    profiler = TopicProfiler(n_topics=args.topics, random_state=args.seed).fit(reviews=reviews, browsing=browsing)
    shares = topic_shares(profiler.profile(reviews=reviews, browsing=browsing))
    for k in args.k:
        result = evaluate_recommenders(lines, shares, cutoff=cut, k=k, random_state=args.seed)
        print(f"k={k}: {result['n_customers']} customers ({result['n_cold']} without earlier orders, "
              f"{result['n_with_text']} with text), {result['n_items']} items; weights {result['weights']}")  # fmt: skip
        print(pd.DataFrame(result["rows"]).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
