"""Validate and clean a table of reviews or browsing events into a `LoadResult` (orders:
:mod:`topicprofile.ingest.orders`).

Each ``clean_*`` function maps the user's columns to the standard names of `topicprofile.schema`,
cleans the values and returns the standardized table plus one rejects row for every input row it
could not use. `TableInput` is the shared first step: the user's table with standard names resolved.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from topicprofile.ingest.dates import (
    check_date_format, infer_date_order, parse_with_format, to_iso_dates,
)  # fmt: skip
from topicprofile.ingest.columns import (
    BROWSING_CONTENT, BROWSING_SPEC, REVIEWS_SPEC, TableSpec, parse_column_map, resolve_columns,
)  # fmt: skip
from topicprofile.ingest.rejects import ChunkState, Rejector
from topicprofile.errors import DataValidationError
from topicprofile.ingest.limits import MAX_TEXT_CHARS, check_text_lengths
from topicprofile.ingest.encodings import UNDECODABLE
from topicprofile.ingest.values import clean_text, parse_ratings, parse_timestamps, to_text
from topicprofile.schema import (
    CUSTOMER_ID, PRODUCT, QUERY, RATING, ROW, SOURCE,
    TEXT, TIMESTAMP, TITLE, URL,
)  # fmt: skip

__all__ = [
    "LoadResult",
    "clean_reviews",
    "clean_browsing",
    "check_text_lengths",
    "MAX_TEXT_CHARS",
    "IN_MEMORY_SOURCE",
    "TableInput",
]

logger = logging.getLogger(__name__)

IN_MEMORY_SOURCE = "<DataFrame>"
_TOO_LONG = f"text longer than {MAX_TEXT_CHARS:,} characters"


@dataclass(frozen=True, eq=False)
class LoadResult:
    """The outcome of loading one input.

    Attributes
    ----------
    data : pandas.DataFrame
        Standardized, cleaned table (columns depend on the input kind), original row
        order, index reset.
    rejects : pandas.DataFrame
        One row per unusable input row, columns exactly `schema.REJECT_COLUMNS`.
    n_read : int
        Rows read from the input.
    source : str
        File name, or ``"<DataFrame>"`` for in-memory input.
    """

    data: pd.DataFrame
    rejects: pd.DataFrame
    n_read: int
    source: str

    @property
    def n_rejected(self) -> int:
        """Number of rejected input rows."""
        return len(self.rejects)

    def __repr__(self) -> str:
        return (
            f"LoadResult(source={self.source!r}, n_read={self.n_read}, "
            f"n_rows={len(self.data)}, n_rejected={self.n_rejected})"
        )


# ---------------------------------------------------------------------------------------
# Cleaning


class TableInput:
    """The user's table with standard names resolved; raw Series by standard name."""

    def __init__(
        self,
        df: pd.DataFrame,
        spec: TableSpec,
        columns: str | Mapping[str, str] | None,
        source: str,
        chunk: ChunkState | None = None,
        date_format: str | None = None,
    ) -> None:
        check_date_format(date_format)
        self.date_format = date_format
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
        if len(df) == 0:
            raise DataValidationError(f"{source}: no data rows.")
        self.spec, self.source, self.n_rows = spec, source, len(df)
        self.names = resolve_columns(df, spec, columns, source)
        self.frame = df.reset_index(drop=True)
        self.chunk = chunk
        self.rejector = (
            Rejector(source, self.n_rows)
            if chunk is None
            else Rejector(source, self.n_rows, first_row=chunk.first_row, seen=chunk.seen)
        )
        self._reject_undecodable(df.attrs.get(UNDECODABLE))
        ignored = set(parse_column_map(columns)) - set(spec.names)
        if ignored:
            logger.debug("%s: column map keys not used for %s: %s", source, spec.kind, sorted(ignored))

    def _reject_undecodable(self, info: Mapping[str, object] | None) -> None:
        """Reject the rows the reader found undecodable bytes in (``attrs`` of `read_table`'s tables)."""
        if not info:
            return
        rows: Mapping[int, tuple[str, str]] = info["rows"]  # type: ignore[assignment]
        mask = pd.Series(False, index=self.frame.index)
        reasons = pd.Series("", index=self.frame.index, dtype=object)
        values = pd.Series("", index=self.frame.index, dtype=object)
        for i, (column, reason) in rows.items():
            mask.iloc[i], reasons.iloc[i] = True, reason
            if column in self.frame.columns:
                values.iloc[i] = to_text(self.frame[column].iloc[i : i + 1]).iloc[0]
        columns = {column for column, _ in rows.values()}
        self.rejector.flag(mask, columns.pop() if len(columns) == 1 else "", reasons, values, kind=str(info["kind"]))

    def reject_long_text(self, text: pd.Series, standard: str) -> None:
        self.reject(text.str.len() > MAX_TEXT_CHARS, standard, _TOO_LONG)

    def label(self, standard: str) -> str:
        """The user's name of a standard column, for the rejects table."""
        return str(self.names.get(standard, standard))

    def reject(self, mask: pd.Series, standard: str, reason: str) -> None:
        self.rejector.flag(mask, self.label(standard), reason, self.raw(standard))

    def reject_duplicates(self, key: pd.DataFrame, standard: str) -> None:
        self.rejector.flag_duplicates(key, self.label(standard), self.raw(standard))

    def raw(self, standard: str) -> pd.Series:
        if standard in self.names:
            return self.frame[self.names[standard]]
        return pd.Series("", index=self.frame.index, dtype="str")

    def text(self, standard: str) -> pd.Series:
        return to_text(self.raw(standard)).str.strip()

    def extras(self) -> pd.DataFrame:
        used = set(self.names.values())
        return self.frame[[c for c in self.frame.columns if c not in used]]

    def timestamps(self, reject_empty: bool = False) -> pd.Series:
        """Parsed timestamps; numeric dates (03/04/2025) in the file's day/month order or ``date_format``."""
        raw = self.raw(TIMESTAMP)
        reason = "unparseable timestamp"
        if pd.api.types.is_datetime64_any_dtype(raw.dtype):
            timestamps, bad = parse_timestamps(raw)
        elif self.date_format is not None:
            text = to_text(raw).str.strip()
            timestamps = parse_with_format(text, self.date_format)
            bad = timestamps.isna() & (text != "")
            reason = f"timestamp not in --date-format {self.date_format}"
        else:
            text = to_text(raw).str.strip()
            order = self.chunk.date_order if self.chunk is not None else None
            if order is None:
                first = 1 if self.chunk is None else self.chunk.first_row
                order = infer_date_order(text, source=self.source, column=self.label(TIMESTAMP), first_row=first)
                if self.chunk is not None:
                    self.chunk.date_order = order
            timestamps, bad = parse_timestamps(to_iso_dates(text, order))
        if reject_empty:
            self.reject(timestamps.isna() & ~bad, TIMESTAMP, "missing timestamp")
        self.reject(bad, TIMESTAMP, reason)
        return timestamps

    def finish(self, data: pd.DataFrame, notes: list[str] | None = None) -> LoadResult:
        first = 1 if self.chunk is None else self.chunk.first_row
        data[ROW] = np.arange(first, first + self.n_rows, dtype="int64")
        data[SOURCE] = pd.Series(self.source, index=data.index, dtype="str")
        rej = self.rejector
        kept = data[rej.ok].reset_index(drop=True)
        if self.chunk is not None:  # one chunk of a file: the file-level checks come at its end
            self.chunk.first_row += self.n_rows
            self.chunk.n_kept += len(kept)
            for kind, n in rej.counts.items():
                self.chunk.counts[kind] = self.chunk.counts.get(kind, 0) + n
            return LoadResult(data=kept, rejects=rej.table(), n_read=self.n_rows, source=self.source)
        if kept.empty:
            raise DataValidationError(
                f"{self.source}: all {self.n_rows} rows were rejected ({rej.summary()})."
            )
        n_rejected = self.n_rows - len(kept)
        summary = f"{n_rejected} of {self.n_rows} rows rejected ({rej.summary()}); see the rejects file"
        issues = ([summary] if n_rejected else []) + (notes or [])
        if issues:
            logger.warning("%s: %s", self.source, "; ".join(issues))
        logger.info("%s: kept %d of %d %s rows", self.source, len(kept), self.n_rows, self.spec.kind)
        return LoadResult(data=kept, rejects=rej.table(), n_read=self.n_rows, source=self.source)


def clean_reviews(
    df: pd.DataFrame,
    *,
    columns: str | Mapping[str, str] | None = None,
    source: str = IN_MEMORY_SOURCE,
    chunk: ChunkState | None = None,
    date_format: str | None = None,
) -> LoadResult:
    """Standardize and clean a reviews table.

    Input: one row per review with at least a customer id and a text column (optional
    timestamp, rating, product). Output `LoadResult.data` columns: ``customer_id`` (str),
    ``text`` (str, cleaned), ``timestamp`` (datetime64[ns], NaT allowed), ``rating``
    (float, NaN allowed), ``product`` (str), ``row`` (int, 1-based), ``source`` (str).

    Parameters
    ----------
    df : pandas.DataFrame
        The user's table, e.g. from `read_table`.
    columns : str or Mapping, optional
        Column map, see `parse_column_map`. Keys for other input kinds are ignored.
    source : str
        Name used in messages and the rejects table.
    chunk : ChunkState, optional
        Set when ``df`` is one chunk of a file read in chunks (:class:`StreamedLoad`): row
        numbers continue from earlier chunks, duplicates of their rows are rejected too, and the
        file-level checks (every row rejected) wait for the end of the file.
    date_format : str, optional
        strftime format of the timestamp column (``"%d/%m/%Y"``); values that do not match are
        rejected. Default: ISO 8601 and other unambiguous forms; numeric dates such as
        ``03/04/2025`` are read day-first or month-first as the file's other values prove
        (:mod:`topicprofile.ingest.dates`), and a file where nothing tells is refused.

    Returns
    -------
    LoadResult
        Rejects reasons: invalid UTF-8 at byte N (bytes the file's encoding cannot decode,
        found by the reader), missing customer id, empty text, text longer than 100,000
        characters, unparseable timestamp, duplicate of row N (same customer and same cleaned text).

    Raises
    ------
    DataValidationError
        A required column is missing, the table is empty, or every row is rejected.

    Examples
    --------
    >>> result = clean_reviews(pd.DataFrame({"customer_id": ["007"], "text": ["Great &amp; cheap"]}))
    >>> result.data.loc[0, "text"]
    'Great & cheap'
    """
    inp = TableInput(df, REVIEWS_SPEC, columns, source, chunk, date_format)
    customer_ids, text = inp.text(CUSTOMER_ID), clean_text(inp.raw(TEXT))
    inp.reject(customer_ids == "", CUSTOMER_ID, "missing customer id")
    inp.reject(text == "", TEXT, "empty text")
    inp.reject_long_text(text, TEXT)
    timestamps = inp.timestamps()
    ratings, bad_ratings = parse_ratings(inp.raw(RATING))
    data = pd.DataFrame({
        CUSTOMER_ID: customer_ids, TEXT: text, TIMESTAMP: timestamps, RATING: ratings,
        PRODUCT: clean_text(inp.raw(PRODUCT)),
    })  # fmt: skip
    inp.reject_duplicates(data[[CUSTOMER_ID, TEXT]], TEXT)
    n_bad = int((bad_ratings.to_numpy() & inp.rejector.ok).sum())  # kept rows only
    note = f"{n_bad} non-numeric rating{'s' if n_bad != 1 else ''} set to NaN"
    return inp.finish(data, [note] if n_bad else None)


def clean_browsing(
    df: pd.DataFrame,
    *,
    columns: str | Mapping[str, str] | None = None,
    source: str = IN_MEMORY_SOURCE,
    chunk: ChunkState | None = None,
    date_format: str | None = None,
) -> LoadResult:
    """Standardize and clean a browsing-events table.

    Input: one row per event with a customer id and at least one of text, title, query,
    url (optional timestamp). Output columns: ``customer_id``, ``timestamp``
    (datetime64[ns], NaT allowed), ``text`` (the non-empty cleaned text, title and query
    joined by spaces), ``title``, ``query``, ``url`` (kept as is, not split into words),
    ``row``, ``source``.

    Parameters and errors are as for `clean_reviews`. Reject reasons: missing customer id,
    no text, title, query or url, unparseable timestamp, duplicate of row N (same customer,
    timestamp, text and url: repeated visits at other times are kept).
    """
    inp = TableInput(df, BROWSING_SPEC, columns, source, chunk, date_format)
    customer_ids = inp.text(CUSTOMER_ID)
    body, title, query = (clean_text(inp.raw(name)) for name in (TEXT, TITLE, QUERY))
    url = inp.text(URL)
    text = (body + " " + title + " " + query).str.replace(" +", " ", regex=True).str.strip()
    content = [name for name in BROWSING_CONTENT if name in inp.names]
    inp.reject(customer_ids == "", CUSTOMER_ID, "missing customer id")
    inp.rejector.flag(
        (text == "") & (url == ""), "|".join(map(inp.label, content)), "no text, title, query or url",
        inp.raw(content[0]),
    )  # fmt: skip
    inp.rejector.flag(text.str.len() > MAX_TEXT_CHARS, inp.label(content[0]), _TOO_LONG, inp.raw(content[0]))
    timestamps = inp.timestamps()
    data = pd.DataFrame({
        CUSTOMER_ID: customer_ids, TIMESTAMP: timestamps, TEXT: text, TITLE: title, QUERY: query, URL: url,
    })  # fmt: skip
    inp.reject_duplicates(data[[CUSTOMER_ID, TIMESTAMP, TEXT, URL]], CUSTOMER_ID)
    return inp.finish(data)
