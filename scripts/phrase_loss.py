"""How many occurrences of vocabulary words are lost inside phrases outside the vocabulary.

    python scripts/phrase_loss.py

For the sample shop (corpora/ reviews + browsing) and the Rotten Tomatoes snippets
(../shared/data/rotten_tomatoes.csv.bz2): tokens, phrases and vocabulary as ``fit`` makes them
(default settings). A *known-word occurrence* is a token of the unphrased text that is in the
vocabulary; it is *kept* when the bag of words represents it (itself, or inside a phrase that is in
the vocabulary). Printed: the share lost without the fallback (phrase dropped whole) and with it
(:func:`topicprofile.text.vectorize.in_vocabulary`), and the share of texts left with fewer than 2
vocabulary words ("too little to tell").
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from topicprofile.ingest.documents import build_documents
from topicprofile.text.phrases import PhraseDetector
from topicprofile.app.sample import sample_dir
from topicprofile.text.tokenizer import SpacyTokenizer
from topicprofile.text.vectorize import PHRASE_DELIMITER, build_dictionary, in_vocabulary
from topicprofile.app.jobs import load_inputs

_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def kept(tokens: Sequence[str], token2id: dict[str, int]) -> int:
    """Known-word occurrences the in-vocabulary tokens represent."""
    n = 0
    for token in tokens:
        if token in token2id:
            n += sum(w in token2id for w in token.split(PHRASE_DELIMITER)) if PHRASE_DELIMITER in token else 1
    return n


def measure(name: str, texts: list[str]) -> None:
    tokens = SpacyTokenizer("en").tokenize(texts)
    phrased = PhraseDetector().fit(tokens).transform(tokens)
    token2id = build_dictionary(phrased).token2id
    known = sum(sum(t in token2id for t in doc) for doc in tokens)
    before = sum(kept([t for t in doc if t in token2id], token2id) for doc in phrased)
    after = sum(kept([t for t in in_vocabulary(doc, token2id) if t in token2id], token2id) for doc in phrased)
    thin_before = sum(sum(t in token2id for t in doc) < 2 for doc in phrased)
    thin_after = sum(sum(t in token2id for t in in_vocabulary(doc, token2id)) < 2 for doc in phrased)
    n = len(texts)
    print(f"{name}: {n:,} texts, {known:,} known-word occurrences; lost: "
          f"{1 - before / known:.2%} without the fallback, {1 - after / known:.2%} with it; "
          f"texts with < 2 vocabulary words: {thin_before / n:.2%} -> {thin_after / n:.2%}")  # fmt: skip


def main() -> None:
    logging.disable(logging.WARNING)
    corpora = sample_dir()
    loaded = load_inputs(reviews=corpora / "reviews.csv", browsing=corpora / "browsing.jsonl")
    measure("corpora/", build_documents(loaded["reviews"], loaded["browsing"])["text"].tolist())
    movies = pd.read_csv(_DATA / "rotten_tomatoes.csv.bz2")["text"].dropna().astype(str).tolist()
    measure("rotten_tomatoes", movies)


if __name__ == "__main__":
    main()
