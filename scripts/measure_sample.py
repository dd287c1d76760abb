"""Measure planted-interest recovery on the sample shop (corpora/) for a few settings.

Prints one line per (setting, seed): recovery accuracy and coverage, coherence, fit seconds.
Usage: python scripts/measure_sample.py [--topics 8] [--seeds 0 1 2] [--trainer gibbs|vb]
[--aggregation sharpened|length] [--iterations N] [--taxonomy] (the defaults are the package's)
"""

from __future__ import annotations

import argparse
import logging
import time

import pandas as pd

from topicprofile import TopicProfiler
from topicprofile.app.sample import planted_recovery, sample_dir
from topicprofile.app.jobs import load_inputs
from topicprofile.topics.seeding import load_taxonomy

SETTINGS = {
    "per-document LDA, no_below=3": {"pooling": "document", "no_below": 3},
    "pooled by customer, no_below=3": {"pooling": "customer", "no_below": 3},
    "pooled by customer, default vocabulary (0.3%)": {"pooling": "customer"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", type=int, default=8)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--trainer", choices=["gibbs", "vb"], default="gibbs")
    parser.add_argument("--aggregation", choices=["sharpened", "length"], default="sharpened")
    parser.add_argument("--taxonomy", action="store_true", help="Fit with corpora/taxonomy.toml")
    parser.add_argument("--iterations", type=int, default=None, help="LDA iterations (default: the trainer's)")
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), help="Which settings (names) to run")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    corpora = sample_dir()
    loaded = load_inputs(reviews=corpora / "reviews.csv", browsing=corpora / "browsing.jsonl")
    truth = pd.read_csv(corpora / "truth.csv", dtype=str)
    taxonomy = load_taxonomy(corpora / "taxonomy.toml") if args.taxonomy else None
    print(f"trainer {args.trainer}, aggregation {args.aggregation}" + (", taxonomy" if taxonomy else ""))
    print("| setting | seed | recovery | tagged | c_npmi | c_v | fit s | LDA s |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.settings:
        params = SETTINGS[name]
        for seed in args.seeds:
            steps: dict[str, float] = {}
            start = time.perf_counter()
            profiler = TopicProfiler(
                n_topics=args.topics, random_state=seed, trainer=args.trainer, iterations=args.iterations,
                aggregation=args.aggregation, taxonomy=taxonomy, **params,
            )
            profiler.fit(loaded["reviews"], loaded["browsing"],
                         progress=lambda step, *_: steps.setdefault(step, time.perf_counter()))  # fmt: skip
            seconds = time.perf_counter() - start
            lda_seconds = steps["tag"] - steps["topics"]
            r = planted_recovery(profiler.profiles_, truth)
            c = profiler.coherence_
            print(
                f"| {name} | {seed} | {r['accuracy']:.3f} | {r['coverage']:.3f} | "
                f"{c['c_npmi']:+.3f} | {c['c_v']:.3f} | {seconds:.1f} | {lda_seconds:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
