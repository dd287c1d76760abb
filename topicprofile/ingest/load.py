"""Ingest stage: read, validate and clean reviews, browsing events and orders.

``load_*`` = `read_table` + ``clean_*`` (:mod:`topicprofile.ingest.clean`): a `LoadResult`, the
standardized table plus one rejects row for every input row it could not use (nothing is dropped
silently). `StreamedLoad` does the same chunk by chunk. This module is the ingest stage's public
face: it re-exports the names callers use (``clean_*``, ``parse_column_map``, ``write_rejects``...)
from :mod:`~topicprofile.ingest.files`, :mod:`~topicprofile.ingest.columns`,
:mod:`~topicprofile.ingest.rejects` and :mod:`~topicprofile.ingest.clean`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd

from topicprofile.ingest.dates import check_date_format
from topicprofile.ingest.clean import (
    MAX_TEXT_CHARS,
    LoadResult,
    check_text_lengths,
    clean_browsing,
    clean_reviews,
)
from topicprofile.ingest.orders import clean_orders
from topicprofile.ingest.columns import STANDARD_COLUMNS, parse_column_map
from topicprofile.ingest.rejects import ChunkState, Rejector, rejects_path_for, write_rejects
from topicprofile.errors import DataValidationError
from topicprofile.ingest.files import iter_read_table, read_table

__all__ = [
    "LoadResult",
    "read_table",
    "parse_column_map",
    "clean_reviews",
    "clean_browsing",
    "clean_orders",
    "load_reviews",
    "load_browsing",
    "load_orders",
    "StreamedLoad",
    "ChunkState",
    "write_rejects",
    "rejects_path_for",
    "check_text_lengths",
    "MAX_TEXT_CHARS",
    "STANDARD_COLUMNS",
]

logger = logging.getLogger(__name__)



def load_reviews(
    path: str | os.PathLike[str],
    *,
    columns: str | Mapping[str, str] | None = None,
    encoding: str | None = None,
    date_format: str | None = None,
) -> LoadResult:
    """`read_table` + `clean_reviews`; ``source`` is the file name."""
    parse_column_map(columns)  # fail on a bad map before reading a large file
    check_date_format(date_format)
    return clean_reviews(
        read_table(path, encoding=encoding), columns=columns, source=Path(path).name, date_format=date_format
    )


def load_browsing(
    path: str | os.PathLike[str],
    *,
    columns: str | Mapping[str, str] | None = None,
    encoding: str | None = None,
    date_format: str | None = None,
) -> LoadResult:
    """`read_table` + `clean_browsing`; ``source`` is the file name."""
    parse_column_map(columns)
    check_date_format(date_format)
    return clean_browsing(
        read_table(path, encoding=encoding), columns=columns, source=Path(path).name, date_format=date_format
    )


def load_orders(
    path: str | os.PathLike[str],
    *,
    columns: str | Mapping[str, str] | None = None,
    encoding: str | None = None,
    date_format: str | None = None,
    max_amount: float | None = None,
    as_of: str | pd.Timestamp | None = None,
    today: str | pd.Timestamp | None = None,
) -> LoadResult:
    """`read_table` + `clean_orders` (see it for the keywords); ``source`` is the file name."""
    parse_column_map(columns)
    check_date_format(date_format)
    return clean_orders(
        read_table(path, encoding=encoding), columns=columns, source=Path(path).name,
        date_format=date_format, max_amount=max_amount, as_of=as_of, today=today,
    )  # fmt: skip


class StreamedLoad:
    """One input file read and cleaned in chunks, for inputs too large to hold at once.

    Iterate it (once) for a :class:`LoadResult` per chunk; rows are numbered and de-duplicated
    across chunks exactly as when the whole file is loaded. After the iteration it carries the
    file's summary like a :class:`LoadResult`: ``source``, ``n_read``, ``n_rejected``, ``rejects``.

    Parameters
    ----------
    kind : {"reviews", "browsing", "orders"}
    path : path
    columns, encoding, date_format
        As for :func:`load_reviews`.
    chunk_rows : int
        Rows per chunk.

    Raises
    ------
    DataValidationError
        As the loaders: a missing file or column, no data rows, or every row of the file rejected.
    """

    def __init__(
        self,
        kind: str,
        path: str | os.PathLike[str],
        *,
        columns: str | Mapping[str, str] | None = None,
        encoding: str | None = None,
        chunk_rows: int = 50_000,
        date_format: str | None = None,
    ) -> None:
        parse_column_map(columns)  # fail on a bad map before reading
        check_date_format(date_format)
        self.kind, self.path, self.columns, self.encoding = kind, Path(path), columns, encoding
        self.date_format = date_format
        self.chunk_rows = chunk_rows
        self.source = self.path.name
        self.n_read = 0
        self.rejects = Rejector(self.source, 0).table()

    @property
    def n_rejected(self) -> int:
        return len(self.rejects)

    def __iter__(self) -> Iterator[LoadResult]:
        cleaner = {"reviews": clean_reviews, "browsing": clean_browsing, "orders": clean_orders}[self.kind]
        state = ChunkState()
        parts = []
        for frame in iter_read_table(self.path, encoding=self.encoding, chunk_rows=self.chunk_rows):
            result = cleaner(frame, columns=self.columns, source=self.source, chunk=state, date_format=self.date_format)
            if result.n_rejected:
                parts.append(result.rejects)
            yield result
        self.n_read = state.first_row - 1
        if parts:
            self.rejects = pd.concat(parts, ignore_index=True)
        summary = ", ".join(f"{n} {kind}" for kind, n in state.counts.items())
        if state.n_kept == 0:
            raise DataValidationError(f"{self.source}: all {self.n_read} rows were rejected ({summary}).")
        if self.n_rejected:
            logger.warning(
                "%s: %d of %d rows rejected (%s); see the rejects file", self.source, self.n_rejected,
                self.n_read, summary,
            )  # fmt: skip
        logger.info("%s: kept %d of %d %s rows", self.source, state.n_kept, self.n_read, self.kind)
