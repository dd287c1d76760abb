"""The cleaned documents on disk: Parquet shards appended and read back chunk by chunk.

:class:`DocumentStore` keeps the cleaned documents (``customer_id, channel, text``) as Parquet
shards in a folder, written chunk by chunk as the input is read and read back chunk by chunk by
each pass of the fit, so a fit never holds all texts in memory.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from topicprofile import schema
from topicprofile.config import DEFAULT_CHUNK_ROWS
from topicprofile.ingest.documents import update_fingerprint

__all__ = ["DEFAULT_CHUNK_ROWS", "DOC_FIELDS", "STORED_FIELDS", "DocumentStore", "combine_fingerprints"]

#: The columns a document carries through the fit.
DOC_FIELDS = (schema.CUSTOMER_ID, schema.CHANNEL, schema.TEXT)
#: The columns a saved model keeps of a document: its day too (``""`` undated), for retention.
STORED_FIELDS = (*DOC_FIELDS, schema.DATE)


def combine_fingerprints(parts: list[str]) -> str:
    """The fingerprint of documents in several parts: SHA-256 of the parts' digests in order."""
    return hashlib.sha256(b"".join(bytes.fromhex(part) for part in parts)).hexdigest()


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

    def __init__(
        self, directory: str | os.PathLike[str] | None = None, *, chunk_rows: int = DEFAULT_CHUNK_ROWS
    ):
        if directory is None:
            directory = tempfile.mkdtemp(prefix="topicprofile-docs-")
            self._cleanup = weakref.finalize(self, shutil.rmtree, directory, True)
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.chunk_rows = chunk_rows
        self.n_docs = 0
        self._paths: list[Path] = []
        self._digest = hashlib.sha256()
        self._parts: list[str] = []  # the fingerprints of the finished parts (input files)
        self._part_docs = 0

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
        store._parts, store._part_docs = [], 0
        return store

    @classmethod
    def from_frame(cls, docs: pd.DataFrame, *, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> DocumentStore:
        """A temporary store holding ``docs`` (columns :data:`DOC_FIELDS`)."""
        store = cls(chunk_rows=chunk_rows)
        store.append(docs)
        return store

    @property
    def fingerprint(self) -> str:
        """The documents' SHA-256 (:func:`~topicprofile.ingest.documents.fingerprint`) when they came
        as one part; for several parts (input files, :meth:`new_part`) the SHA-256 of the parts' digests
        in order, which a cluster computes from its partitions without gathering the texts."""
        parts = self._parts + ([self._digest.hexdigest()] if self._part_docs or not self._parts else [])
        return parts[0] if len(parts) == 1 else combine_fingerprints(parts)

    def new_part(self) -> None:
        """Start a new part of the fingerprint (the next input file); a part without documents is none."""
        if self._part_docs:
            self._parts.append(self._digest.hexdigest())
            self._digest, self._part_docs = hashlib.sha256(), 0

    def add_shards(self, paths: list[Path], sizes: list[int], fingerprint: str) -> None:
        """Take over Parquet shards written elsewhere (a cluster's workers, in this store's folder) as
        the next part: ``sizes`` their documents, ``fingerprint`` the part's digest."""
        self.new_part()
        self._paths.extend(Path(p) for p in paths)
        self.n_docs += sum(sizes)
        if sum(sizes):
            self._parts.append(fingerprint)

    def append(self, docs: pd.DataFrame) -> None:
        """Add documents (columns :data:`STORED_FIELDS` + ``month`` + ``rating``; others are dropped) after those already stored.

        ``month`` (``"YYYY-MM"`` or ``""``, when given) and ``rating`` (as text, ``"nan"`` when none)
        live only in the shards the fit streams: they feed the monthly interest shares and the choice
        of the reviews segment cards quote, and :meth:`write_parquet` leaves them out of a saved model.
        ``date`` (``"YYYY-MM-DD"``, when given) is saved with the model (``""`` for documents given without).
        """
        for part in self.pieces(docs, self.chunk_rows):
            update_fingerprint(self._digest, part)
            self._part_docs += len(part)
            path = self.directory / f"part-{len(self._paths):06d}.parquet"
            part.to_parquet(path, index=False)
            self._paths.append(path)
            self.n_docs += len(part)

    @staticmethod
    def pieces(docs: pd.DataFrame, chunk_rows: int) -> Iterator[pd.DataFrame]:
        """``docs`` as :meth:`append` stores them: the stored columns as text, cut into shards of ``chunk_rows``."""
        fields = [*DOC_FIELDS, *(c for c in (schema.DATE, schema.MONTH, schema.RATING) if c in docs)]
        docs = docs[fields].astype(str).reset_index(drop=True)
        for start in range(0, len(docs), chunk_rows):
            yield docs.iloc[start : start + chunk_rows]

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
            pd.read_parquet(path, filters=[(schema.CUSTOMER_ID, "==", customer_id)])
            for path in self._shards()
        ]
        if not parts:
            return pd.DataFrame(columns=list(DOC_FIELDS))
        return pd.concat(parts, ignore_index=True)[list(DOC_FIELDS)]

    def write_parquet(self, path: str | os.PathLike[str]) -> None:
        """All documents (:data:`STORED_FIELDS`) as one Parquet file (row group per shard), streamed
        shard by shard; a model saved before dates were kept gives its documents ``date`` ``""``."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        writer = None
        try:
            for shard in self._shards():
                names = pq.read_schema(shard).names
                table = pq.read_table(shard, columns=[c for c in STORED_FIELDS if c in names])
                if schema.DATE not in table.column_names:
                    table = table.append_column(schema.DATE, pa.array([""] * table.num_rows, pa.string()))
                if writer is None:
                    writer = pq.ParquetWriter(str(path), table.schema)
                writer.write_table(table)
            if writer is None:
                pd.DataFrame(columns=list(STORED_FIELDS)).to_parquet(path, index=False)
        finally:
            if writer is not None:
                writer.close()
