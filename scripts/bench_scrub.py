"""Cost of PII scrubbing against tokenizing, on 20,000 real English reviews (distinct texts).

    PYTHONPATH=. python scripts/bench_scrub.py [--n 20000] [--repeats 3]

Reads ../shared/data (Amazon reviews + Rotten Tomatoes snippets), times ``scrub_texts`` and
``SpacyTokenizer(lang="en").tokenize`` (a fresh tokenizer each run: no warm word cache), prints the
medians and the ratio. The target is scrubbing <= 15% of tokenizing.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import pandas as pd

from topicprofile.privacy.scrub import scrub_texts
from topicprofile.text.tokenizer import SpacyTokenizer

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def load_texts(n: int) -> list[str]:
    amazon = pd.read_csv(DATA / "en_amazon_reviews_4cats.csv.bz2")
    tomatoes = pd.read_csv(DATA / "rotten_tomatoes.csv.bz2")
    texts = (amazon["title"].fillna("") + ". " + amazon["text"].fillna("")).tolist() + tomatoes["text"].fillna("").tolist()
    return list(dict.fromkeys(texts))[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    texts = load_texts(args.n)
    scrub_s, token_s = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        _, counts = scrub_texts(texts)
        scrub_s.append(time.perf_counter() - start)
        tokenizer = SpacyTokenizer(lang="en")
        tokenizer.tokenize(texts[:10])  # pipeline load is not tokenizing
        start = time.perf_counter()
        tokenizer.tokenize(texts)
        token_s.append(time.perf_counter() - start)
    scrub, token = statistics.median(scrub_s), statistics.median(token_s)
    print(f"texts: {len(texts)}  words: {sum(len(t.split()) for t in texts)}")
    print(f"found: {counts}")
    print(f"scrub_texts  median {scrub:.2f} s  ({', '.join(f'{s:.2f}' for s in scrub_s)})")
    print(f"tokenize     median {token:.2f} s  ({', '.join(f'{s:.2f}' for s in token_s)})")
    print(f"scrub / tokenize = {scrub / token:.1%}")


if __name__ == "__main__":
    main()
