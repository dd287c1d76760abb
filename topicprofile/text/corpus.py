"""Documents on disk, streamed in chunks: what lets a fit hold neither all texts nor all tokens.

:class:`DocumentStore` keeps the cleaned documents (``customer_id, channel, text``) as Parquet
shards in a folder, written chunk by chunk as the input is read and read back chunk by chunk by
each pass of the fit. :class:`CsrCorpus` streams the rows of a sparse count matrix to gensim as
bags of words, so LDA trains on a corpus that is never a Python list.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from topicprofile import schema
from topicprofile.ingest.documents import update_fingerprint

logger = logging.getLogger(__name__)

__all__ = [
    "DocumentStore",
    "TokenShards",
    "CountedCorpus",
    "CsrCorpus",
    "row_bow",
    "DOC_FIELDS",
    "DEFAULT_CHUNK_ROWS",
    "COHERENCE_DOCS",
]

#: The columns a document carries through the fit.
DOC_FIELDS = (schema.CUSTOMER_ID, schema.CHANNEL, schema.TEXT)
#: Documents per chunk: large enough for spaCy batching and vectorized inference, small enough
#: that a chunk's texts, tokens and bags of words stay in the tens of megabytes.
DEFAULT_CHUNK_ROWS = 50_000
#: Coherence is measured on at most this many documents (a seeded random sample beyond it): the
#: co-occurrence counts of a sample this size are stable, and it bounds the memory of the tokens kept.
COHERENCE_DOCS = 100_000


class DocumentStore:
    """Cleaned documents as Parquet shards in a folder, appended and read in chunks.

    Parameters
    ----------
    directory : path or None
        Folder for the shards; ``None`` makes a temporary folder removed with the store.
    chunk_rows : int
        Rows per shard when appending large frames, and per chunk when reading.

    Attributes
    ----------
    n_docs : int
        Documents appended so far.
    fingerprint : str
        SHA-256 of the documents' customer, channel and text, in order (as
        :func:`topicprofile.ingest.documents.fingerprint`).
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None, *, chunk_rows: int = DEFAULT_CHUNK_ROWS):
        if directory is None:
            directory = tempfile.mkdtemp(prefix="topicprofile-docs-")
            self._cleanup = weakref.finalize(self, shutil.rmtree, directory, True)
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.chunk_rows = chunk_rows
        self.n_docs = 0
        self._paths: list[Path] = []
        self._digest = hashlib.sha256()

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> DocumentStore:
        """Read-only store over one Parquet file written by :meth:`write_parquet` (a saved model's documents)."""
        import pyarrow.parquet as pq

        store = cls.__new__(cls)
        store.directory = Path(path).parent
        store.chunk_rows = DEFAULT_CHUNK_ROWS
        store.n_docs = pq.ParquetFile(str(path)).metadata.num_rows
        store._paths = [Path(path)]
        store._digest = hashlib.sha256()
        return store

    @classmethod
    def from_frame(cls, docs: pd.DataFrame, *, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> DocumentStore:
        """A temporary store holding ``docs`` (columns :data:`DOC_FIELDS`)."""
        store = cls(chunk_rows=chunk_rows)
        store.append(docs)
        return store

    @property
    def fingerprint(self) -> str:
        return self._digest.hexdigest()

    def append(self, docs: pd.DataFrame) -> None:
        """Add documents (columns :data:`DOC_FIELDS`; others are dropped) after those already stored."""
        docs = docs[list(DOC_FIELDS)].astype(str).reset_index(drop=True)
        for start in range(0, len(docs), self.chunk_rows):
            part = docs.iloc[start : start + self.chunk_rows]
            update_fingerprint(self._digest, part)
            path = self.directory / f"part-{len(self._paths):06d}.parquet"
            part.to_parquet(path, index=False)
            self._paths.append(path)
            self.n_docs += len(part)

    def _shards(self) -> list[Path]:
        return list(self._paths)

    def shard_paths(self) -> list[Path]:
        """The Parquet shards in order, one per chunk of :meth:`chunks` (a cluster's workers read them)."""
        return self._shards()

    def chunks(self) -> Iterator[pd.DataFrame]:
        """The documents in order, one DataFrame per shard."""
        for path in self._shards():
            yield pd.read_parquet(path)

    def column(self, name: str) -> Iterator[list[str]]:
        """One column of the documents in order, a list per shard."""
        for path in self._shards():
            yield pd.read_parquet(path, columns=[name])[name].tolist()

    def iter_column(self, name: str) -> Iterator[str]:
        """One column of the documents in order, value by value."""
        for values in self.column(name):
            yield from values

    def chunk_sizes(self) -> list[int]:
        """Documents per shard, in order."""
        import pyarrow.parquet as pq

        return [pq.ParquetFile(str(path)).metadata.num_rows for path in self._shards()]

    def customer(self, customer_id: str) -> pd.DataFrame:
        """All documents of one customer, in order."""
        parts = [
            pd.read_parquet(path, filters=[(schema.CUSTOMER_ID, "==", customer_id)]) for path in self._shards()
        ]
        if not parts:
            return pd.DataFrame(columns=list(DOC_FIELDS))
        return pd.concat(parts, ignore_index=True)[list(DOC_FIELDS)]

    def write_parquet(self, path: str | os.PathLike[str]) -> None:
        """All documents as one Parquet file (row group per shard), streamed shard by shard."""
        import pyarrow.parquet as pq

        writer = None
        try:
            for shard in self._shards():
                table = pq.read_table(shard)
                if writer is None:
                    writer = pq.ParquetWriter(str(path), table.schema)
                writer.write_table(table)
            if writer is None:
                pd.DataFrame(columns=list(DOC_FIELDS)).to_parquet(path, index=False)
        finally:
            if writer is not None:
                writer.close()


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


class CountedCorpus:
    """The documents' word-count matrices, one ``.npz`` shard per chunk, beside the document store.

    Filled by the fit's counting pass (:meth:`add`), which also keeps what later steps need without
    another pass over the text: a seeded sample of token lists for coherence
    (:data:`COHERENCE_DOCS`), each customer's first review of at least ``min_example_words`` words
    (None: none kept) to quote (its whitespace collapsed, cut to :data:`EXAMPLE_CHARS`: quotes are
    shorter), and the customers' pooled counts (``pooled``, set by the caller).
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
        self._first_reviews: dict[str, str] = {}
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
        keep = self._sampled[self.n_docs : self.n_docs + len(docs)]
        self.sample_tokens.extend(t for t, k in zip(tokens, keep, strict=True) if k)
        self.n_docs += len(docs)
        self.n_nonempty += int((np.diff(counts.indptr) > 0).sum())
        if self.min_example_words is None:  # no examples wanted
            return
        reviews = docs[docs[schema.CHANNEL] == schema.REVIEWS]
        for customer, text in zip(reviews[schema.CUSTOMER_ID], reviews[schema.TEXT], strict=True):
            if customer not in self._first_reviews:
                words = text.split()
                if len(words) >= self.min_example_words:
                    self._first_reviews[customer] = " ".join(words)[:EXAMPLE_CHARS]

    @property
    def first_reviews(self) -> pd.DataFrame:
        """``customer_id, text``: each customer's first review long enough to quote."""
        return pd.DataFrame(
            {schema.CUSTOMER_ID: list(self._first_reviews), schema.TEXT: list(self._first_reviews.values())}
        )

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
