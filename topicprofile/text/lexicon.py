"""The word data the tokenizer reads: the shipped stop-word and lemma-override lists, and spaCy's
lookup lemma table read directly (with the check that a lemmatizer is nothing but that table).

Used by :class:`~topicprofile.text.tokenizer.SpacyTokenizer` and its per-word filter
(:mod:`topicprofile.text.word_filter`); the CLI reads the stop-word lists without building a tokenizer.
"""

from __future__ import annotations

import gzip
import json
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_DOMAIN_STOP_WORDS", "LEMMA_OVERRIDES", "lookup_table", "plain_lookup"]


def _read_word_file(name: str) -> frozenset[str]:
    text = resources.files("topicprofile.data").joinpath(name).read_text(encoding="utf-8")
    return frozenset(w.strip().lower() for w in text.splitlines() if w.strip() and not w.startswith("#"))


#: Words every shop's reviews are full of that say nothing about a customer's interests (shipped
#: as ``topicprofile/data/shop_stop_words_<lang>.txt``). Replace with ``stop_words=`` / ``--stop-words``.
DEFAULT_DOMAIN_STOP_WORDS: dict[str, frozenset[str]] = {
    lang: _read_word_file(f"shop_stop_words_{lang}.txt") for lang in ("en", "zh")
}


def _read_overrides(name: str) -> dict[str, str]:
    text = resources.files("topicprofile.data").joinpath(name).read_text(encoding="utf-8")
    pairs = (line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return {word.strip(): lemma.strip() for word, lemma in pairs}


#: Lemmas that replace a lookup table's where it maps a word onto a different word ("number" ->
#: "numb"), per language (``topicprofile/data/lemma_overrides_<lang>.txt``, which says how the list
#: was made).
LEMMA_OVERRIDES: dict[str, dict[str, str]] = {"en": _read_overrides("lemma_overrides_en.txt")}


def plain_lookup(lemmatizer: Any) -> bool:
    """Whether a lemmatizer component is spaCy's lookup lemmatizer as is: a word's lemma is its
    entry in the "lemma_lookup" table, else the word."""
    from spacy.pipeline import Lemmatizer

    return lemmatizer.mode == "lookup" and type(lemmatizer).lookup_lemmatize is Lemmatizer.lookup_lemmatize


def lookup_table(lang: str) -> dict[str, Any] | None:
    """spaCy's "lemma_lookup" table of ``lang`` from the ``spacy-lookups-data`` package, read as
    ``spacy.lookups.load_lookups`` reads it (the file the package names, else its ``.gz``), as a
    plain dict; ``None`` when the package or the table is missing."""
    try:
        import spacy_lookups_data
    except ImportError:
        return None
    tables = getattr(spacy_lookups_data, lang, None)
    if not isinstance(tables, dict) or "lemma_lookup" not in tables:
        return None
    path = Path(str(tables["lemma_lookup"]))
    try:
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))
        with gzip.open(path.with_suffix(path.suffix + ".gz"), "rt", encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
