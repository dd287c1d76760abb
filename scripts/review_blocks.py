"""The review-mixture sampler's blocks against the exact sequential sampler (docs/quality.md).

A 150-customer shop of real Amazon reviews (1-6 reviews each, 75% from a planted category),
scikit-learn's English counts; for each ``--blocks`` value (a number above the review count is the
exact sampler: one review per block) the review-level NMI of the sampled topics against the
reviews' categories, model seeds 0-4. Usage: ``python scripts/review_blocks.py --blocks 20 5 100000``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.metrics import normalized_mutual_info_score

from topicprofile.topics.review_mixture import resolve_review_params, sample_review_mixture

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "en_amazon_reviews_4cats.csv.bz2"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, nargs="+", default=[20, 5, 100_000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = parser.parse_args()
    frame = pd.read_csv(DATA, dtype=str)
    rng = np.random.default_rng(0)
    cats = sorted(frame["category"].unique())
    pools = {
        c: frame.loc[frame["category"] == c, "text"].sample(frac=1, random_state=0).tolist() for c in cats
    }
    texts, labels, groups = [], [], []
    for customer in range(150):
        main_cat = cats[rng.integers(4)]
        for _ in range(rng.integers(1, 7)):
            cat = main_cat if rng.random() < 0.75 else cats[rng.integers(4)]
            texts.append(pools[cat].pop(0))
            labels.append(cat)
            groups.append(customer)
    counts = CountVectorizer(stop_words="english", min_df=3, max_df=0.5).fit_transform(texts).tocsr()
    labels_arr, groups_arr = np.array(labels), np.array(groups)
    print(f"{counts.shape[0]} reviews, {counts.shape[1]} terms")
    for n_blocks in args.blocks:
        start, scores = time.perf_counter(), []
        for seed in args.seeds:
            params = resolve_review_params(n_blocks=min(n_blocks, counts.shape[0]))
            mixture = sample_review_mixture(counts, groups_arr, n_topics=4, params=params, random_state=seed)
            scores.append(normalized_mutual_info_score(labels_arr[mixture.rows], mixture.topics))
        seconds = time.perf_counter() - start
        print(
            f"blocks {n_blocks}: NMI {np.round(scores, 3).tolist()} mean {np.mean(scores):.3f} ({seconds:.0f} s)"
        )


if __name__ == "__main__":
    main()
