"""Compare the LDA trainers (vb, gibbs) at several iteration counts on real review slices.

Each review is its own customer (a slice of ``n`` reviews, sampled with seed 0). Prints one line per
(data, trainer, iterations, seed): topic coherence, the LDA step's wall time and, on the labelled
Amazon file, the NMI of each review's top interest against its product category.
Usage: python scripts/measure_trainers.py --data zh amazon [--n 3000] [--iterations 200 500 1000]
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import pandas as pd
from sklearn.metrics import normalized_mutual_info_score

from topicprofile import TopicProfiler
from topicprofile.config import RunOptions

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DATA = {  # name -> (loader of the shared-data folder, lang, k)
    "zh": (lambda d: pd.DataFrame({"text": (d / "zh_reviews.txt").read_text(encoding="utf-8").splitlines()}), "zh", 10),
    "amazon": (lambda d: pd.read_csv(d / "en_amazon_reviews_4cats.csv.bz2", dtype=str), "en", 4),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", choices=list(DATA), default=list(DATA))
    parser.add_argument("--shared", type=Path, default=SHARED, help="Folder of the shared data")
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--trainers", nargs="+", default=["vb", "gibbs"])
    parser.add_argument("--iterations", type=int, nargs="+", default=[200, 500, 1000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--cache-dir", default=None, help="Token cache (reuses tokens across fits)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    print("| data | trainer | iterations | seed | c_npmi | c_v | NMI | LDA s |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.data:
        load, lang, k = DATA[name]
        frame = load(args.shared)
        frame = frame[frame["text"].str.strip().astype(bool)].sample(args.n, random_state=0).reset_index(drop=True)
        frame["customer_id"] = [f"c{i:05d}" for i in range(len(frame))]
        for trainer in args.trainers:
            for iterations in args.iterations:
                for seed in args.seeds:
                    steps: dict[str, float] = {}
                    profiler = TopicProfiler(n_topics=k, lang=lang, random_state=seed, trainer=trainer,
                                             iterations=iterations, pooling="document")  # fmt: skip
                    profiler.fit(frame[["customer_id", "text"]], run=RunOptions(cache_dir=args.cache_dir),
                                 progress=lambda step, *_: steps.setdefault(step, time.perf_counter()))  # fmt: skip
                    nmi = float("nan")
                    if "category" in frame:
                        merged = profiler.profiles_.merge(frame, on="customer_id")
                        nmi = normalized_mutual_info_score(merged["category"], merged["top_interest"].fillna(""))
                    c = profiler.coherence_
                    print(f"| {name} | {trainer} | {iterations} | {seed} | {c['c_npmi']:+.3f} | {c['c_v']:.3f} | "
                          f"{nmi:.3f} | {steps['tag'] - steps['topics']:.2f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
