"""Chinese tokens with rjieba (today's segmenter) against jieba (before), through the same filter.

    python scripts/rjieba_agreement.py [--data ../shared/data/zh_reviews.txt] [--examples 20]

Prints the share of reviews whose token lists are identical, the token-level differences grouped by
kind, and the time each segmenter took; docs/tokenizer_zh.md records a run.
"""

from __future__ import annotations

import argparse
import collections
import difflib
import logging
import time
from pathlib import Path

import spacy

from topicprofile.text.tokenizer import SpacyTokenizer

_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "zh_reviews.txt"


def jieba_tokenizer() -> SpacyTokenizer:
    """Our tokenizer with spaCy's jieba segmenter in place of rjieba (the code before the change)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tok = SpacyTokenizer("zh")
    tok._nlp = {"zh": spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})}
    return tok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=_DATA)
    parser.add_argument("--examples", type=int, default=20)
    args = parser.parse_args()
    texts = [line.rstrip("\n") for line in args.data.open(encoding="utf-8")]
    timings, outputs = {}, {}
    for name, tok in (("jieba", jieba_tokenizer()), ("rjieba", SpacyTokenizer("zh"))):
        tok.tokenize(texts[:10])  # load dictionaries outside the timing
        start = time.perf_counter()
        outputs[name] = tok.tokenize(texts)
        timings[name] = time.perf_counter() - start
    old, new = outputs["jieba"], outputs["rjieba"]
    same = sum(a == b for a, b in zip(old, new, strict=True))
    print(f"{len(texts)} reviews: identical tokens for {same} ({same / len(texts):.2%})")
    for name, seconds in timings.items():
        print(f"  {name}: {seconds:.2f} s, {len(texts) / seconds:,.0f} reviews/s (tokenize, one core)")
    changes: collections.Counter[tuple[str, str]] = collections.Counter()
    shown = 0
    for text, a, b in zip(texts, old, new, strict=True):
        if a == b:
            continue
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
            if op != "equal":
                changes[(" ".join(a[i1:i2]), " ".join(b[j1:j2]))] += 1
        if shown < args.examples:
            shown += 1
            print(f"\n{text[:80]}\n  jieba : {a}\n  rjieba: {b}")
    print(f"\n{sum(changes.values())} differing spans; most frequent (jieba -> rjieba):")
    for (a, b), n in changes.most_common(40):
        print(f"  {n:4d}  {a or '∅'}  ->  {b or '∅'}")


if __name__ == "__main__":
    main()
