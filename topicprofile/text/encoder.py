"""TextEncoder: the one path from text to word counts (tokenizer -> phrases -> dictionary -> TF-IDF).

Fitted once on a :class:`~topicprofile.ingest.docstore.DocumentStore`; fit, profile, ``tag_text``,
``explain``, tuning and taxonomy seeding all encode text through it, so every caller sees exactly
the fit-time preprocessing.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from topicprofile import schema
from topicprofile.text.cache import TokenCache
from topicprofile.ingest.docstore import DocumentStore
from topicprofile.text.corpus import TokenShards, row_bow
from topicprofile.text.counter import WordCounter
from topicprofile.text.lang import AUTO, detect_script
from topicprofile.text.phrases import PhraseDetector
from topicprofile.text.pool import default_workers, iter_tokenize_parallel
from topicprofile.text.tokenizer import SpacyTokenizer
from topicprofile.text.vectorize import (
    TfidfKeywords, bows_to_csr, build_dictionary, dictionary_from_state, dictionary_to_state, in_vocabulary, to_bows,
)  # fmt: skip

__all__ = ["LearnVocabulary", "TextEncoder", "TokenizeChunks", "make_tokenizer", "vocabulary_counts"]

#: ``tokenize(tokenizer, store)``: the tokens of each chunk of ``store``, in order (e.g. on a cluster).
TokenizeChunks = Callable[[SpacyTokenizer, DocumentStore], Iterable[list[list[str]]]]
#: ``learn(encoder)``: sets the encoder's ``phrases_`` and ``dictionary_`` from the tokens its
#: ``tokenize`` made (e.g. from partition counts on a cluster) and returns True, or returns False.
LearnVocabulary = Callable[["TextEncoder"], bool]

logger = logging.getLogger(__name__)

#: ``report(step, done, total)``: progress of the long steps.
Report = Callable[[str, int, "int | None"], None]


def make_tokenizer(
    lang: str, *, spacy_model: str | None = None, stop_words: Sequence[str] | None = None,
    taxonomy: Mapping[str, Sequence[str]] | None = None,
) -> SpacyTokenizer:  # fmt: skip
    """The tokenizer of a fit; a taxonomy's Chinese seed words go into the segmenter's dictionary
    (a seed split in two never matches)."""
    seeds = chinese_seed_words(taxonomy) if lang in ("zh", AUTO) else []
    return SpacyTokenizer(lang, spacy_model=spacy_model, stop_words=stop_words, user_words=seeds or None)


def vocabulary_counts(
    tokens: list[list[str]], *, phrases: PhraseDetector | None, dictionary: Any
) -> tuple[list[Sequence[str]], sparse.csr_matrix]:
    """A chunk's tokens after ``phrases`` and in the vocabulary (what LDA sees), and their counts
    (``n_docs × n_terms``): the fit's counting step, here or on a cluster's worker."""
    tokens = phrases.transform(tokens) if phrases is not None else tokens
    chunk = [in_vocabulary(doc, dictionary.token2id) for doc in tokens]
    return chunk, bows_to_csr(to_bows(dictionary, chunk), len(dictionary))


def chinese_seed_words(taxonomy: Mapping[str, Sequence[str]] | None) -> list[str]:
    """The taxonomy's single Chinese words (no spaces), for the segmenter's dictionary."""
    words = (w for seeds in (taxonomy or {}).values() if isinstance(seeds, (list, tuple)) for w in seeds)
    return sorted({w for w in words if isinstance(w, str) and detect_script(w) == "zh" and w.split() == [w]})


class TextEncoder:
    """Tokenizer + phrases + dictionary + TF-IDF keywords, fitted once and applied everywhere.

    Parameters
    ----------
    tokenizer : SpacyTokenizer
    phrases : bool
        Learn frequent word pairs (``hiking_boots``).
    no_below, no_above, keep_n
        Vocabulary filter (:func:`~topicprofile.text.vectorize.build_dictionary`).

    Fitted attributes: ``phrases_`` (a :class:`PhraseDetector` or None), ``dictionary_`` and
    ``keywords_`` (:class:`TfidfKeywords`).
    """

    def __init__(
        self, tokenizer: SpacyTokenizer, *, phrases: bool = True, no_below: int | None = None,
        no_above: float = 0.5, keep_n: int = 50_000,
    ) -> None:  # fmt: skip
        self.tokenizer = tokenizer
        self.phrases = phrases
        self.no_below = no_below
        self.no_above = no_above
        self.keep_n = keep_n

    @classmethod
    def from_parts(
        cls, tokenizer: SpacyTokenizer, *, phrases: PhraseDetector | None, dictionary: Any, keywords: TfidfKeywords
    ) -> TextEncoder:
        """A fitted encoder from its saved parts (see :mod:`topicprofile.store`)."""
        encoder = cls(tokenizer, phrases=phrases is not None)
        encoder.phrases_, encoder.dictionary_, encoder.keywords_ = phrases, dictionary, keywords
        return encoder

    def to_state(self) -> dict[str, Any]:
        """The fitted encoder as plain data: ``tokenizer`` (its config), ``phrases`` (or None),
        ``dictionary`` and ``tfidf`` (each a pair: JSON-ready settings, numpy arrays)."""
        return {
            "tokenizer": self.tokenizer.get_config(),
            "phrases": None if self.phrases_ is None else self.phrases_.to_state(),
            "dictionary": dictionary_to_state(self.dictionary_),
            "tfidf": self.keywords_.to_state(),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> TextEncoder:
        """Rebuild a fitted encoder from :meth:`to_state`'s data (checked by the caller)."""
        dictionary = dictionary_from_state(*state["dictionary"])
        phrases = None if state["phrases"] is None else PhraseDetector.from_state(state["phrases"])
        return cls.from_parts(
            SpacyTokenizer.from_config(state["tokenizer"]), phrases=phrases, dictionary=dictionary,
            keywords=TfidfKeywords.from_state(*state["tfidf"], dictionary),
        )  # fmt: skip

    @property
    def n_terms(self) -> int:
        return len(self.dictionary_)

    # -- fitting ---------------------------------------------------------------------------
    def fit_vocabulary(
        self, store: DocumentStore, *, report: Report, workers: int | None = None, cache_dir: str | None = None,
        tokenize: TokenizeChunks | None = None, learn: LearnVocabulary | None = None,
    ) -> TokenShards:  # fmt: skip
        """Tokenize the store (or read its tokens from the cache), learn phrases and the
        dictionary; returns the tokens (on disk, one shard per store chunk). ``tokenize`` tokenizes
        the store's chunks elsewhere (a cluster, :mod:`topicprofile.distributed`) instead of ``workers``
        local processes; the tokens are the same. ``learn`` (default: ``tokenize.learn`` if it has
        one) learns the phrases and the dictionary there too, from counts that add up to this
        process's, when it can."""
        tokens = self._token_shards(store, report, workers=workers, cache_dir=cache_dir, tokenize=tokenize)
        learn = learn if learn is not None else getattr(tokenize, "learn", None)
        if learn is not None:
            report("vocabulary", 0, None)
            if learn(self):
                return tokens
        if self.phrases:
            report("phrases", 0, None)
            self.phrases_: PhraseDetector | None = PhraseDetector().fit(tokens.iter_docs())
        else:
            self.phrases_ = None
        report("vocabulary", 0, None)
        self.dictionary_ = build_dictionary(
            (doc for chunk in self._phrased(tokens.chunks()) for doc in chunk),
            no_below=self.no_below, no_above=self.no_above, keep_n=self.keep_n,
        )  # fmt: skip
        return tokens

    def iter_vocabulary_counts(self, tokens: TokenShards) -> Iterator[tuple[list[Sequence[str]], sparse.csr_matrix]]:
        """Per chunk of fitted tokens: the in-vocabulary tokens (what LDA sees) and their counts."""
        for chunk in tokens.chunks():
            yield vocabulary_counts(chunk, phrases=self.phrases_, dictionary=self.dictionary_)

    def fit_keywords(self, bows: Iterable[Sequence[tuple[int, int]]]) -> TextEncoder:
        """Fit the TF-IDF keyword model on the documents' bags of words."""
        self.keywords_ = TfidfKeywords().fit(bows, self.dictionary_)
        return self

    def _token_shards(
        self, store: DocumentStore, report: Report, *, workers: int | None, cache_dir: str | None,
        tokenize: TokenizeChunks | None = None,
    ) -> TokenShards:  # fmt: skip
        """From the token cache when it has them, else tokenized by ``workers`` processes (and then cached)."""
        remote = getattr(tokenize, "remote", False)  # tokens kept on a cluster: no cache (it reads every text here)
        cache = TokenCache(Path(cache_dir) / "tokens") if cache_dir is not None and not remote else None
        key = cache.key(store.iter_column(schema.TEXT), self.tokenizer) if cache is not None else None
        if cache is not None and key is not None:
            cached = TokenShards.from_docs(cache.iter_docs(key), store.chunk_sizes(), store.directory / "tokens")
            if cached is not None:
                logger.info("tokens of %d documents from the cache (%s)", store.n_docs, cache.path(key))
                report("tokenize", store.n_docs, store.n_docs)
                return cached
        shards = TokenShards(store.directory / "tokens")
        report("tokenize", 0, store.n_docs)
        if remote:
            return tokenize(self.tokenizer, store)  # type: ignore[return-value]  # TokenShards-like, on the workers
        if tokenize is not None:
            done = 0
            for chunk in tokenize(self.tokenizer, store):
                shards.append(chunk)
                done += len(chunk)
                report("tokenize", done, store.n_docs)
        else:
            tokens = iter_tokenize_parallel(
                self.tokenizer, store.iter_column(schema.TEXT),
                workers=workers if workers is not None else default_workers(store.n_docs),
                progress=lambda _, done, __: report("tokenize", done, store.n_docs),
            )  # fmt: skip
            for size in store.chunk_sizes():
                shards.append(list(itertools.islice(tokens, size)))
        if cache is not None and key is not None:
            try:
                cache.put(key, shards.iter_docs())
            except (OSError, ValueError, TypeError) as e:  # a cache never fails the fit
                logger.warning("could not store the tokens in the cache %s (%s)", cache.directory, e)
        return shards

    def _phrased(self, chunks: Iterable[list[list[str]]]) -> Iterator[list[list[str]]]:
        for chunk in chunks:
            yield self.phrases_.transform(chunk) if self.phrases_ is not None else chunk

    # -- applying --------------------------------------------------------------------------
    def counter(self) -> WordCounter:
        """The fitted parts as a :class:`~topicprofile.text.counter.WordCounter` (what applying
        them to new text needs); :meth:`tokens`, :meth:`encode` and :meth:`counts` go through it."""
        return WordCounter(self.tokenizer, phrases=self.phrases_, token2id=self.dictionary_.token2id)

    def tokens(self, texts: Sequence[str]) -> list[list[str]]:
        """Exactly the fit-time preprocessing: tokens, then phrases."""
        return self.counter().tokens(texts)

    def encode(self, texts: Sequence[str]) -> tuple[list[list[tuple[int, int]]], np.ndarray]:
        """Bags of words of texts and their in-vocabulary token counts."""
        return self.counter().encode(texts)

    def counts(self, bows: Sequence[Sequence[tuple[int, float]]]) -> sparse.csr_matrix:
        """Bags of words as a ``n_docs × n_terms`` count matrix."""
        return self.counter().counts(bows)

    def iter_counts(
        self, chunks: Iterable[pd.DataFrame], *, n_docs: int, workers: int | None = None
    ) -> Iterator[tuple[pd.DataFrame, sparse.csr_matrix]]:
        """Chunks of documents with their count matrices (texts tokenized by ``workers`` processes)."""
        frames, for_texts = itertools.tee(chunks)
        texts = (text for frame in for_texts for text in frame[schema.TEXT].tolist())
        workers = workers if workers is not None else default_workers(n_docs)
        tokens = iter_tokenize_parallel(self.tokenizer, texts, workers=workers)
        for frame in frames:
            chunk = list(itertools.islice(tokens, len(frame)))
            if self.phrases_ is not None:
                chunk = self.phrases_.transform(chunk)
            yield frame, bows_to_csr(to_bows(self.dictionary_, chunk), self.n_terms)

    def keywords(self, counts: sparse.csr_matrix, *, n: int) -> list[list[str]]:
        """Each row's top TF-IDF keywords (phrases joined with ``_``)."""
        return [self.keywords_.keywords([row_bow(counts, i)], n=n) for i in range(counts.shape[0])]
