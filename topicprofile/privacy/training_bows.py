"""The bags of words the topic model was trained on (issue 14): what lets ``forget`` subtract a
customer's contribution from the topic statistics exactly, whatever texts the model keeps.

``training_bows.parquet`` in a model version holds one row per fitted document with words, in fit
order: ``customer_id``, ``date`` (``"YYYY-MM-DD"``, ``""`` undated), ``term_ids`` (vocabulary ids)
and ``counts`` (how often each occurs), both ``list<int32>``. No text and no word order, but it is
personal data derived from the texts: ``privacy-report`` lists it, ``forget`` and ``prune`` remove
rows from it, and with ``--keep-texts none`` the model keeps none (``forget`` can then only mark the
model "refit due"). The model's training documents are these rows (``pooling="document"``) or, by
default (``pooling="customer"``), the sum of each customer's rows: the counts LDA was trained on.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse

from topicprofile import schema

__all__ = ["COUNTS", "TERM_IDS", "TRAINING_BOWS", "TrainingBows", "pooled_counts", "read_training_bows"]

TRAINING_BOWS = "training_bows.parquet"
TERM_IDS = "term_ids"
COUNTS = "counts"
_SCHEMA = pa.schema([
    (schema.CUSTOMER_ID, pa.string()), (schema.DATE, pa.string()),
    (TERM_IDS, pa.list_(pa.int32())), (COUNTS, pa.list_(pa.int32())),
])  # fmt: skip


def _chunk_table(docs: pd.DataFrame, counts: sparse.csr_matrix) -> pa.Table:
    """One chunk's documents with words as rows of the record."""
    counts = counts.tocsr()
    counts.sort_indices()
    lengths = np.diff(counts.indptr)
    keep = np.flatnonzero(lengths > 0)
    offsets = np.zeros(keep.size + 1, dtype=np.int32)
    np.cumsum(lengths[keep], out=offsets[1:])
    on_terms = np.repeat(lengths > 0, lengths)
    ids = counts.indices[on_terms].astype(np.int32)
    values = np.rint(counts.data[on_terms]).astype(np.int32)  # word counts: whole numbers
    dates = docs[schema.DATE] if schema.DATE in docs else pd.Series([""] * len(docs))
    return pa.table({
        schema.CUSTOMER_ID: pa.array(docs[schema.CUSTOMER_ID].astype(str).to_numpy()[keep], pa.string()),
        schema.DATE: pa.array(dates.astype(str).to_numpy()[keep], pa.string()),
        TERM_IDS: pa.ListArray.from_arrays(pa.array(offsets), pa.array(ids)),
        COUNTS: pa.ListArray.from_arrays(pa.array(offsets), pa.array(values)),
    }, schema=_SCHEMA)  # fmt: skip


class TrainingBows:
    """The record as one Parquet file: made by a fit (:meth:`collect`, a temporary file removed with
    the object) or opened in a saved model (:meth:`open`); :meth:`write_parquet` copies it into a version."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @classmethod
    def open(cls, path: str | os.PathLike[str] | TrainingBows) -> TrainingBows:
        """The record in a saved model's file (or ``path`` itself when it is a record already: a
        state that never went through a folder)."""
        return path if isinstance(path, TrainingBows) else cls(path)

    @classmethod
    def collect(cls, chunks: Iterable[tuple[pd.DataFrame, sparse.csr_matrix]]) -> TrainingBows:
        """The record of the fit's ``(documents, counts)`` chunks (documents with ``customer_id`` and ``date``)."""
        return cls._written(_chunk_table(docs, counts) for docs, counts in chunks)

    @classmethod
    def _written(cls, tables: Iterable[pa.Table]) -> TrainingBows:
        """A record in a temporary file (removed with the object) holding ``tables``' rows in order."""
        import pyarrow.parquet as pq  # not at import: the profiler's import stays light

        directory = tempfile.mkdtemp(prefix="topicprofile-bows-")
        record = cls(Path(directory) / TRAINING_BOWS)
        record._cleanup = weakref.finalize(record, shutil.rmtree, directory, True)
        with pq.ParquetWriter(str(record.path), _SCHEMA) as writer:
            for table in tables:
                writer.write_table(table)
        return record

    def appended(self, docs: pd.DataFrame, counts: sparse.csr_matrix) -> TrainingBows:
        """A new record: these rows, then ``docs`` with their word ``counts`` (one row per document),
        as ``update`` folds new texts into the topics."""
        return TrainingBows._written([read_training_bows(self.path), _chunk_table(docs, counts)])

    def write_parquet(self, path: str | os.PathLike[str]) -> None:
        shutil.copyfile(self.path, path)


def read_training_bows(path: str | os.PathLike[str], customer_ids: Iterable[str] | None = None) -> pa.Table:
    """The record's rows (all, or those of ``customer_ids``), in order."""
    import pyarrow.parquet as pq

    filters = None if customer_ids is None else [(schema.CUSTOMER_ID, "in", sorted(set(customer_ids)))]
    return pq.read_table(str(path), filters=filters, schema=_SCHEMA)


def pooled_counts(
    rows: pa.Table, *, n_terms: int, customer_ids: list[str] | None = None
) -> sparse.csr_matrix:
    """Rows of the record as a count matrix: one row per record row, or, given ``customer_ids``, one
    row per customer (in that order) summing their rows (a customer without rows: an empty row)."""
    offsets = np.zeros(rows.num_rows + 1, dtype=np.int64)
    ids = values = np.zeros(0, dtype=np.int32)
    if rows.num_rows:
        np.cumsum(pc.list_value_length(rows.column(TERM_IDS)).to_numpy(zero_copy_only=False), out=offsets[1:])
        ids = pc.list_flatten(rows.column(TERM_IDS)).to_numpy(zero_copy_only=False)
        values = pc.list_flatten(rows.column(COUNTS)).to_numpy(zero_copy_only=False)
    matrix = sparse.csr_matrix((values.astype(np.int32), ids, offsets), shape=(rows.num_rows, n_terms))
    if customer_ids is None:
        return matrix
    position = {c: i for i, c in enumerate(customer_ids)}
    owner = np.array([position[c] for c in rows.column(schema.CUSTOMER_ID).to_pylist()], dtype=np.int64)
    pooling = sparse.csr_matrix(
        (np.ones(rows.num_rows, dtype=np.int32), (owner, np.arange(rows.num_rows))),
        shape=(len(customer_ids), rows.num_rows),
    )
    pooled = (pooling @ matrix).tocsr()
    pooled.sort_indices()
    return pooled
