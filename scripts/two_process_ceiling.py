#!/usr/bin/env python
"""The most two tokenizer processes can gain on this machine: two independent processes doing the
same tokenizing at once, against one alone (no pool, no pickling: the ceiling of any 2-worker speed-up).

Reads the benchmark's real texts from ``../shared/data`` (the English critic snippets four times
over, about 51,000 texts; the 16,548 Chinese reviews);
prints, per language, the median time of one process alone and of the slower of two run together,
over ``--runs`` repeats. See docs/benchmarks.md ("Two workers").

    python scripts/two_process_ceiling.py --runs 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def texts_of(lang: str) -> list[str]:
    if lang == "en":
        import pandas as pd

        frame = pd.read_csv(DATA / "rotten_tomatoes.csv.bz2")
        return frame.loc[frame["category"] != "plot", "text"].dropna().astype(str).tolist() * 4
    with open(DATA / "zh_reviews.txt", encoding="utf-8") as fh:
        return [line.strip() for line in fh if line.strip()]


def child(lang: str) -> float:
    """Seconds one process takes to tokenize the texts (pipeline built and warmed up first)."""
    from topicprofile.text.tokenizer import SpacyTokenizer

    texts = texts_of(lang)
    tokenizer = SpacyTokenizer(lang)
    tokenizer.tokenize(texts[:200])
    start = time.perf_counter()
    tokenizer.tokenize(texts)
    return time.perf_counter() - start


def run(lang: str, n: int) -> list[float]:
    cmd = [sys.executable, __file__, "--child", lang]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(n)]
    return [json.loads(p.communicate()[0]) for p in procs]


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2])))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--langs", nargs="+", default=["en", "zh"], choices=["en", "zh"])
    args = ap.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"needs the real texts in {DATA}")
    print("| language | one process alone, s | two at once, slower one, s | throughput, two vs one |")
    print("|---|---|---|---|")
    for lang in args.langs:
        alone, pair = [], []
        for _ in range(args.runs):
            alone.append(run(lang, 1)[0])
            pair.append(max(run(lang, 2)))
        a, b = statistics.median(alone), statistics.median(pair)
        print(f"| {lang} | {a:.2f} | {b:.2f} | {2 * a / b:.2f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
