"""Tokens and word counts on disk, streamed in chunks: what lets a fit hold neither all texts nor all tokens.

The documents themselves wait in a :class:`~topicprofile.ingest.docstore.DocumentStore`;
:class:`TokenShards` and :class:`CountedCorpus` keep each pass's tokens and counts beside it, and
:class:`CsrCorpus` streams the rows of a sparse count matrix to gensim as bags of words, so LDA
trains on a corpus that is never a Python list.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
from scipy import sparse

from topicprofile import schema
from topicprofile.ingest.docstore import DEFAULT_CHUNK_ROWS, DOC_FIELDS, DocumentStore  # re-exported
from topicprofile.text.quotes import count_words, quote_rank

logger = logging.getLogger(__name__)


class KeywordFitter(Protocol):
    """What :meth:`CountedCorpus.fit_keywords` needs of the encoder (a
    :class:`~topicprofile.text.encoder.TextEncoder`; a protocol, so this module needs no import of it)."""

    def fit_keywords(self, bows: Iterable[Sequence[tuple[int, int]]]) -> object: ...


__all__ = [
    "COHERENCE_DOCS",
    "DEFAULT_CHUNK_ROWS",
    "DOC_FIELDS",
    "CountedCorpus",
    "CsrCorpus",
    "DocumentStore",
    "TokenShards",
    "review_candidates",
    "row_bow",
]

#: Coherence is measured on at most this many documents (a seeded random sample beyond it): the
#: co-occurrence counts of a sample this size are stable, and it bounds the memory of the tokens kept.
COHERENCE_DOCS = 100_000


class TokenShards:
    """Token lists on disk, one Parquet shard (a ``list<string>`` column) per chunk of documents."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._paths: list[Path] = []

    def append(self, tokens: list[list[str]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = self.directory / f"tokens-{len(self._paths):06d}.parquet"
        pq.write_table(pa.table({"tokens": pa.array(tokens, type=pa.list_(pa.string()))}), str(path))
        self._paths.append(path)

    @classmethod
    def from_docs(
        cls, docs: Iterator[list[str]] | None, chunk_sizes: list[int], directory: str | os.PathLike[str]
    ) -> TokenShards | None:
        """Shards cut from a stream of token lists (a token cache entry) to ``chunk_sizes``; None
        when there is no stream, or it breaks or does not hold exactly that many documents (logged)."""
        if docs is None:
            return None
        try:
            shards = cls(directory)
            for size in chunk_sizes:
                chunk = list(itertools.islice(docs, size))
                if len(chunk) != size:
                    raise ValueError(f"the entry ends early: {len(chunk)} of a chunk of {size} documents")
                shards.append(chunk)
            if next(docs, None) is not None:
                raise ValueError("the entry holds more documents than the input")
        except Exception as e:  # noqa: BLE001 - a damaged cache entry means: tokenize again
            logger.warning("token cache entry is unusable (%s: %s); tokenizing again", type(e).__name__, e)
            return None
        return shards

    def chunks(self) -> Iterator[list[list[str]]]:
        import pyarrow.parquet as pq

        for path in self._paths:
            yield pq.read_table(str(path)).column("tokens").to_pylist()

    def iter_docs(self) -> Iterator[list[str]]:
        for chunk in self.chunks():
            yield from chunk


#: Characters kept of each customer's example review: segment cards quote at most 160 (``snippet_chars``),
#: cut at a word boundary of the whitespace-collapsed text, which this prefix keeps intact.
EXAMPLE_CHARS = 400
#: A review rated this or better (or unrated), readable and without complaint words, is kept as the
#: customer's quote without looking further.
GOOD_RATING = 4.0


#: Per customer, the reviews of a chunk that may become its quote, in order: ``(text, rating, rank)``.
Candidates = dict[str, list[tuple[str, float, tuple[bool, bool, float]]]]


def review_candidates(docs: pd.DataFrame, min_example_words: int | None) -> Candidates:
    """Each customer's reviews of ``docs`` (of at least ``min_example_words`` words; None: none)
    that rank above all of its earlier ones there (:func:`~topicprofile.text.quotes.quote_rank`), in
    order, whitespace collapsed and cut to :data:`EXAMPLE_CHARS`.

    A review left out ranks no higher than an earlier candidate, so choosing the quote over these
    chunk by chunk (:meth:`CountedCorpus.add_counted`) picks what choosing over all reviews in order picks."""
    if min_example_words is None:
        return {}
    reviews = docs[docs[schema.CHANNEL] == schema.REVIEWS]
    ratings = (
        pd.to_numeric(reviews[schema.RATING], errors="coerce")
        if schema.RATING in reviews
        else pd.Series(np.nan, index=reviews.index)
    )
    candidates: Candidates = {}
    for customer, text, rating in zip(
        reviews[schema.CUSTOMER_ID], reviews[schema.TEXT], ratings, strict=True
    ):
        if count_words(text) < min_example_words:
            continue
        rank = quote_rank(text, rating)
        chain = candidates.setdefault(customer, [])
        if not chain or rank > chain[-1][2]:
            chain.append((" ".join(text.split())[:EXAMPLE_CHARS], float(rating), rank))
    return candidates


class CountedCorpus:
    """The documents' word-count matrices, one ``.npz`` shard per chunk, beside the document store.

    Filled by the fit's counting pass (:meth:`add`), which also keeps what later steps need without
    another pass over the text: a seeded sample of token lists for coherence
    (:data:`COHERENCE_DOCS`), each customer's most quotable review of at least ``min_example_words``
    words (None: none kept; :func:`~topicprofile.text.quotes.quote_rank`: readable, no complaint words,
    best rated, then the first) with its rating, its whitespace collapsed and cut to
    :data:`EXAMPLE_CHARS` (quotes are shorter), and the customers' pooled counts (``pooled``, set by
    the caller).
    """

    def __init__(self, store: DocumentStore, directory: str | os.PathLike[str], *, seed: int,
                 min_example_words: int | None) -> None:  # fmt: skip
        self.store = store
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.min_example_words = min_example_words
        self.n_docs = 0
        self.n_nonempty = 0
        self.sample_tokens: list[list[str]] = []
        self.pooled: sparse.csr_matrix | None = None
        self._paths: list[Path] = []
        self._first_reviews: dict[str, tuple[str, float, tuple[bool, bool, float]]] = {}
        self._settled: set[str] = set()  # customers whose kept review cannot be bettered
        self._sampled = np.ones(store.n_docs, dtype=bool)
        if store.n_docs > COHERENCE_DOCS:
            self._sampled[:] = False
            rng = np.random.default_rng(seed)
            self._sampled[rng.choice(store.n_docs, COHERENCE_DOCS, replace=False)] = True

    def add(self, docs: pd.DataFrame, counts: sparse.csr_matrix, tokens: list[list[str]]) -> None:
        """Record one chunk: its documents, their count matrix and their (phrased) tokens."""
        path = self.directory / f"counts-{len(self._paths):06d}.npz"
        sparse.save_npz(path, counts, compressed=False)
        self._paths.append(path)
        keep = self.sample_positions(len(docs))
        self.add_counted(len(docs), int((np.diff(counts.indptr) > 0).sum()), [tokens[i] for i in keep],
                         review_candidates(docs, self.min_example_words))  # fmt: skip

    def sample_positions(self, n_docs: int) -> np.ndarray:
        """Which of the next ``n_docs`` documents (positions in that chunk) are in the coherence sample:
        the sample is drawn over the documents' positions in the whole corpus, not over chunks."""
        return np.flatnonzero(self._sampled[self.n_docs : self.n_docs + n_docs])

    def add_counted(
        self, n_docs: int, n_nonempty: int, sample_tokens: list[list[str]], candidates: Candidates
    ) -> None:
        """Record what a chunk's counting gave (here or on a cluster's worker): its size, its documents
        with words, its sampled tokens and its reviews' candidates (:func:`review_candidates`)."""
        self.sample_tokens.extend(sample_tokens)
        self.n_docs += n_docs
        self.n_nonempty += n_nonempty
        for customer, chain in candidates.items():
            for text, rating, rank in chain:  # a customer's first quotable review, or a better one
                if customer in self._settled:
                    break
                kept = self._first_reviews.get(customer)
                if kept is None or rank > kept[2]:
                    self._first_reviews[customer] = (text, rating, rank)
                    if rank[0] and rank[1] and not rating < GOOD_RATING:  # readable, no complaint, rated 4+
                        self._settled.add(customer)

    @property
    def first_reviews(self) -> pd.DataFrame:
        """``customer_id, text, rating``: each customer's most quotable review (NaN rating: unrated)."""
        kept = self._first_reviews
        return pd.DataFrame(
            {
                schema.CUSTOMER_ID: list(kept),
                schema.TEXT: [v[0] for v in kept.values()],
                schema.RATING: np.array([v[1] for v in kept.values()], dtype="float64"),
            }
        )

    def fit_keywords(self, encoder: KeywordFitter) -> None:
        """Fit ``encoder``'s TF-IDF keywords on every document's bag of words."""
        encoder.fit_keywords(self.iter_bows())

    def matrices(self) -> Iterator[sparse.csr_matrix]:
        for path in self._paths:
            yield sparse.load_npz(path).tocsr()

    def iter_chunks(self) -> Iterator[tuple[pd.DataFrame, sparse.csr_matrix]]:
        """``(documents, counts)`` per chunk, in order."""
        yield from zip(self.store.chunks(), self.matrices(), strict=True)

    def iter_bows(self) -> Iterator[list[tuple[int, float]]]:
        """Every document's bag of words (empty ones too), in order."""
        for counts in self.matrices():
            for i in range(counts.shape[0]):
                yield row_bow(counts, i)

    def doc_matrix(self) -> sparse.csr_matrix:
        """All documents' counts as one matrix (for per-document training)."""
        return sparse.vstack(list(self.matrices()), format="csr")

    def doc_customers(self) -> np.ndarray:
        """Each document's customer as an integer code (the rows of :meth:`doc_matrix`, in order)."""
        ids = pd.concat([docs[schema.CUSTOMER_ID] for docs in self.store.chunks()], ignore_index=True)
        return pd.factorize(ids.astype(str))[0].astype(np.int64)


def row_bow(counts: sparse.csr_matrix, i: int) -> list[tuple[int, float]]:
    """Row ``i`` of a CSR count matrix as a gensim bag of words."""
    start, end = counts.indptr[i], counts.indptr[i + 1]
    return list(zip(counts.indices[start:end].tolist(), counts.data[start:end].tolist(), strict=True))


class CsrCorpus:
    """The non-empty rows of a sparse count matrix as a re-iterable gensim corpus of ``(id, count)`` lists.

    gensim iterates the corpus once per pass; nothing but the matrix is held in memory.
    """

    def __init__(self, counts: sparse.csr_matrix) -> None:
        self.counts = counts.tocsr()
        lengths = np.diff(self.counts.indptr)
        self.rows = np.flatnonzero(lengths > 0)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[list[tuple[int, float]]]:
        for row in self.rows:
            yield row_bow(self.counts, row)
