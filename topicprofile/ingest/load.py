"""Ingest stage: read, validate and clean reviews, browsing events and orders.

Each ``clean_*`` function maps the user's columns to the standard names of
`topicprofile.schema`, cleans the values and returns a `LoadResult`: the standardized table
plus one rejects row for every input row it could not use (nothing is dropped silently).
``load_*`` = `read_table` + ``clean_*``. Orders are only standardized here: line items are
not aggregated and cancelled orders are kept (the RFM stage decides).
"""

from __future__ import annotations

import logging
import numbers
import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from topicprofile.ingest.dates import (
    as_day, check_date_format, infer_date_order, latest_today, parse_with_format, to_iso_dates,
)  # fmt: skip
from topicprofile.errors import ConfigError, DataValidationError
from topicprofile.ingest.files import (
    UNDECODABLE,
    clean_text,
    iter_read_table,
    parse_amounts,
    parse_ratings,
    parse_timestamps,
    read_table,
    to_text,
)
from topicprofile.schema import (
    AMOUNT, CUSTOMER_ID, ORDER_ID, PRODUCT, QUERY, RATING, REJECT_COLUMNS, ROW, SOURCE,
    STATUS, TEXT, TIMESTAMP, TITLE, URL,
)  # fmt: skip

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

IN_MEMORY_SOURCE = "<DataFrame>"
MAX_REJECT_VALUE_CHARS = 200
#: Longest text a review or browsing event may have after cleaning; longer rows are rejected
#: (a whole book pasted into one review is not a review, and the tokenizer refuses 1M characters).
MAX_TEXT_CHARS = 100_000
_TOO_LONG = f"text longer than {MAX_TEXT_CHARS:,} characters"
_REJECT_COLUMN, _REASON, _VALUE = REJECT_COLUMNS[2], REJECT_COLUMNS[3], REJECT_COLUMNS[4]
_BROWSING_CONTENT = (TEXT, TITLE, QUERY, URL)
_MAX_FOUND_SHOWN = 20


@dataclass(frozen=True)
class _TableSpec:
    kind: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    one_of: tuple[str, ...] = ()  # at least one of these must be present
    option: str = "--columns"  # the CLI option that maps this table's columns

    @property
    def names(self) -> tuple[str, ...]:
        return self.required + self.optional


_REVIEWS = _TableSpec("reviews", (CUSTOMER_ID, TEXT), (TIMESTAMP, RATING, PRODUCT))
_BROWSING = _TableSpec(
    "browsing", (CUSTOMER_ID,), (TIMESTAMP, *_BROWSING_CONTENT), _BROWSING_CONTENT, "--browsing-columns"
)
_ORDERS = _TableSpec("orders", (CUSTOMER_ID, ORDER_ID, TIMESTAMP, AMOUNT), (STATUS,), (), "--orders-columns")

#: Standard names a column map may use (keys of ``columns`` / ``--columns``).
STANDARD_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys(_REVIEWS.names + _BROWSING.names + _ORDERS.names)
)


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


def check_text_lengths(texts: list[str]) -> None:
    """Refuse a text longer than `MAX_TEXT_CHARS` (free text given directly, as to ``tag_text``).

    Raises
    ------
    DataValidationError
        Names the first text over the limit, its position (1-based) and length.
    """
    for i, text in enumerate(texts, start=1):
        if len(text) > MAX_TEXT_CHARS:
            raise DataValidationError(
                f"text {i} is {len(text):,} characters long, longer than {MAX_TEXT_CHARS:,} characters. "
                "Split it into the reviews it holds."
            )


# ---------------------------------------------------------------------------------------
# Column mapping


def parse_column_map(spec: str | Mapping[str, str] | None) -> dict[str, str]:
    """Parse a column map: standard name -> the user's column name.

    Parameters
    ----------
    spec : str, Mapping or None
        ``"text=review_body,customer_id=user_id"``, an equivalent mapping, or None.

    Returns
    -------
    dict of str to str
        ``{"text": "review_body", "customer_id": "user_id"}``; empty for None or ``""``.

    Raises
    ------
    ConfigError
        Bad syntax, an empty name, or a key that is not a standard column name.
    """
    if spec is None:
        return {}
    pairs = list(spec.items()) if isinstance(spec, Mapping) else _split_spec(spec)
    mapping: dict[str, str] = {}
    for standard, user in pairs:
        standard, user = str(standard).strip(), str(user).strip()
        if standard not in STANDARD_COLUMNS:
            raise ConfigError(
                f"unknown standard column {standard!r} in the column map. "
                f"Accepted names: {', '.join(STANDARD_COLUMNS)}."
            )
        if not user:
            raise ConfigError(
                f"column map: no column given for {standard!r} (use {standard}=<your column>)."
            )
        mapping[standard] = user
    return mapping


def _split_spec(spec: str) -> list[tuple[str, str]]:
    pairs = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        standard, sep, user = item.partition("=")
        if not sep:
            raise ConfigError(
                f"column map: {item!r} is not of the form standard=column "
                "(e.g. text=review_body,customer_id=user_id)."
            )
        pairs.append((standard, user))
    return pairs


def _resolve_columns(
    df: pd.DataFrame, spec: _TableSpec, columns: str | Mapping[str, str] | None, source: str
) -> dict[str, object]:
    """Standard name -> the df column holding it; raises for missing required columns."""
    mapping = {k: v for k, v in parse_column_map(columns).items() if k in spec.names}
    resolved: dict[str, object] = {}
    for standard, user in mapping.items():
        found = _find_column(df.columns, user, source, spec.option)
        if found is None:
            raise DataValidationError(
                f"{source}: column {user!r} (mapped to {standard!r}) does not exist "
                f"(found: {_shown_columns(df)})."
            )
        resolved[standard] = found
    taken = set(resolved.values())
    for standard in spec.names:
        if standard not in resolved:
            found = _find_column([c for c in df.columns if c not in taken], standard, source, spec.option)
            if found is not None:
                resolved[standard] = found
    _check_required(df, spec, resolved, source)
    return {standard: resolved[standard] for standard in spec.names if standard in resolved}


def _find_column(candidates: object, wanted: str, source: str, option: str) -> object | None:
    """Exact name first, else the unique case-insensitive match ignoring outer spaces."""
    names = list(candidates)  # type: ignore[call-overload]
    if wanted in names:
        return wanted
    key = wanted.strip().casefold()
    matches = [c for c in names if str(c).strip().casefold() == key]
    if len(matches) > 1:
        raise DataValidationError(
            f"{source}: several columns match {wanted!r} ({', '.join(map(str, matches))}). "
            f"Rename one or map it with {option} {wanted}=<your column>."
        )
    return matches[0] if matches else None


def _check_required(
    df: pd.DataFrame, spec: _TableSpec, resolved: Mapping[str, object], source: str
) -> None:
    missing = [name for name in spec.required if name not in resolved]
    if missing:
        quoted = ", ".join(f"'{name}'" for name in missing)
        noun, verb, it = ("column", "is", "it") if len(missing) == 1 else ("columns", "are", "them")
        hint = ",".join(f"{name}=<your column>" for name in missing)
        raise DataValidationError(
            f"{source}: required {noun} {quoted} {verb} missing (found: {_shown_columns(df)}). "
            f"Map {it} with {spec.option} {hint}."
        )
    if spec.one_of and not any(name in resolved for name in spec.one_of):
        quoted = ", ".join(f"'{name}'" for name in spec.one_of)
        raise DataValidationError(
            f"{source}: needs at least one of the columns {quoted} (found: {_shown_columns(df)}). "
            f"Map one with {spec.option} {spec.one_of[0]}=<your column>."
        )


def _shown_columns(df: pd.DataFrame) -> str:
    names = [str(c) for c in df.columns]
    more = f", ... ({len(names)} in all)" if len(names) > _MAX_FOUND_SHOWN else ""
    return (", ".join(names[:_MAX_FOUND_SHOWN]) or "no columns") + more


# ---------------------------------------------------------------------------------------
# Rejects


class _SeenKeys:
    """Keys (hashed rows) kept in earlier chunks of a file and the row each was first seen in.

    64-bit hashes (``pandas.util.hash_pandas_object``) in a sorted array: 16 bytes per kept row,
    so de-duplicating a file read in chunks costs little memory.
    """

    def __init__(self) -> None:
        self.hashes = np.empty(0, dtype=np.uint64)
        self.rows = np.empty(0, dtype=np.int64)

    @staticmethod
    def _hash(key: pd.DataFrame) -> np.ndarray:
        return pd.util.hash_pandas_object(key, index=False).to_numpy(dtype=np.uint64)

    def lookup(self, key: pd.DataFrame) -> np.ndarray:
        """The first row of each key seen before, 0 where new."""
        hashes = self._hash(key)
        pos = np.searchsorted(self.hashes, hashes).clip(max=max(len(self.hashes) - 1, 0))
        found = (self.hashes[pos] == hashes) if len(self.hashes) else np.zeros(len(hashes), dtype=bool)
        return np.where(found, self.rows[pos] if len(self.rows) else 0, 0)

    def add(self, key: pd.DataFrame, rows: np.ndarray) -> None:
        hashes = np.concatenate([self.hashes, self._hash(key)])
        rows = np.concatenate([self.rows, rows])
        order = np.argsort(hashes, kind="stable")
        self.hashes, self.rows = hashes[order], rows[order]


@dataclass
class ChunkState:
    """Where a chunked read of one file stands: its next row number, the keys kept so far, the
    counts of rows read, kept and rejected by reason (see :func:`iter_load`)."""

    first_row: int = 1
    seen: _SeenKeys = field(default_factory=_SeenKeys)
    n_kept: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    date_order: str | None = None  # day-first / month-first, decided by the first chunk that tells


@dataclass
class _Rejector:
    """Collects rejects; a row keeps only its first reason."""

    source: str
    n_rows: int
    first_row: int = 1
    seen: _SeenKeys | None = None
    ok: np.ndarray = field(init=False)
    parts: list[pd.DataFrame] = field(default_factory=list, init=False)
    counts: dict[str, int] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.ok = np.ones(self.n_rows, dtype=bool)

    def flag(
        self, mask: pd.Series, column: str, reason: str | pd.Series, raw: pd.Series, kind: str = ""
    ) -> None:
        """Reject the rows in `mask` not rejected yet; `column` and `raw` are the user's."""
        hit = np.asarray(mask, dtype=bool) & self.ok
        if not hit.any():
            return
        self.ok &= ~hit
        kind = kind or str(reason)
        self.counts[kind] = self.counts.get(kind, 0) + int(hit.sum())
        reasons = reason[hit].to_numpy() if isinstance(reason, pd.Series) else reason
        self.parts.append(pd.DataFrame({
            ROW: np.flatnonzero(hit) + self.first_row, _REJECT_COLUMN: column, _REASON: reasons,
            _VALUE: to_text(raw[hit]).str.slice(0, MAX_REJECT_VALUE_CHARS).to_numpy(),
        }))  # fmt: skip

    def flag_duplicates(self, key: pd.DataFrame, column: str, raw: pd.Series) -> None:
        """Reject later copies of a key among the rows still accepted: 'duplicate of row N'.

        With ``seen`` (reading in chunks), copies of keys kept in earlier chunks count too.
        """
        if self.seen is not None:
            live = key[self.ok]
            first = pd.Series(self.seen.lookup(live), index=live.index)
            earlier = pd.Series(False, index=key.index)
            earlier[first.index] = first > 0
            reasons = pd.Series("", index=key.index, dtype=object)
            reasons[first.index] = "duplicate of row " + first.astype(str)
            self.flag(earlier, column, reasons, raw, kind="duplicate")
        self._flag_copies(key, column, raw)
        if self.seen is not None:
            kept = key[self.ok]
            self.seen.add(kept, kept.index.to_numpy() + self.first_row)

    def _flag_copies(self, key: pd.DataFrame, column: str, raw: pd.Series) -> None:
        live = key[self.ok]
        copies = live[live.duplicated(keep=False)]
        if copies.empty:
            return
        rows = pd.Series(copies.index + self.first_row, index=copies.index)
        first = rows.groupby([copies[c] for c in copies.columns], sort=False, dropna=False).transform("first")
        later = pd.Series(False, index=key.index)
        later[copies.index] = rows != first
        reasons = pd.Series("", index=key.index, dtype=object)
        reasons[copies.index] = "duplicate of row " + first.astype(str)
        self.flag(later, column, reasons, raw, kind="duplicate")

    def table(self) -> pd.DataFrame:
        empty = pd.DataFrame({ROW: np.array([], dtype="int64"), _REJECT_COLUMN: [], _REASON: [], _VALUE: []})
        rejects = pd.concat(self.parts or [empty], ignore_index=True)
        rejects = rejects.sort_values(ROW, kind="stable", ignore_index=True)
        rejects.insert(0, SOURCE, self.source)
        rejects = rejects.astype({ROW: "int64"} | {c: "str" for c in REJECT_COLUMNS if c != ROW})
        return rejects.loc[:, list(REJECT_COLUMNS)]

    def summary(self) -> str:
        return ", ".join(f"{n} {kind}" for kind, n in self.counts.items())


# ---------------------------------------------------------------------------------------
# Cleaning


class _Input:
    """The user's table with standard names resolved; raw Series by standard name."""

    def __init__(
        self,
        df: pd.DataFrame,
        spec: _TableSpec,
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
        self.names = _resolve_columns(df, spec, columns, source)
        self.frame = df.reset_index(drop=True)
        self.chunk = chunk
        self.rejector = (
            _Rejector(source, self.n_rows)
            if chunk is None
            else _Rejector(source, self.n_rows, first_row=chunk.first_row, seen=chunk.seen)
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
    inp = _Input(df, _REVIEWS, columns, source, chunk, date_format)
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
    inp = _Input(df, _BROWSING, columns, source, chunk, date_format)
    customer_ids = inp.text(CUSTOMER_ID)
    body, title, query = (clean_text(inp.raw(name)) for name in (TEXT, TITLE, QUERY))
    url = inp.text(URL)
    text = (body + " " + title + " " + query).str.replace(" +", " ", regex=True).str.strip()
    content = [name for name in _BROWSING_CONTENT if name in inp.names]
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


def clean_orders(
    df: pd.DataFrame,
    *,
    columns: str | Mapping[str, str] | None = None,
    source: str = IN_MEMORY_SOURCE,
    chunk: ChunkState | None = None,
    date_format: str | None = None,
    max_amount: float | None = None,
    as_of: str | pd.Timestamp | None = None,
    today: str | pd.Timestamp | None = None,
) -> LoadResult:
    """Standardize an orders table (one row per order or per line item).

    Output columns: ``customer_id``, ``order_id`` (str), ``timestamp`` (datetime64[ns],
    never NaT), ``amount`` (float, >= 0; currency symbols and thousands separators
    removed), ``status`` (str, lowercased, ``""`` when absent), ``row``, ``source``. Line
    items are not aggregated and cancelled orders are kept.

    Orders that would skew RFM are rejected: a line dated after ``today`` (one future date
    would move the as-of day and every customer's recency) or after ``as_of``, a line above
    ``max_amount``, and every line of an order id found under more than one customer (which
    customer placed it cannot be told; reason ``order id also under customer X``). Amounts
    more than :data:`OUTLIER_RATIO` times the median positive amount are kept but reported in
    one warning with their count, so that a typo such as 1e9 is seen.

    Parameters
    ----------
    df, columns, source, chunk, date_format
        As for `clean_reviews`. With ``chunk`` the order id and outlier checks see one chunk.
    max_amount : float, optional
        Lines with a larger amount are rejected (``--max-amount``).
    as_of : date, optional
        Lines dated after this day are rejected (``--as-of``).
    today : date, optional
        Lines dated after this day are rejected. Default: the current date where it is latest
        on Earth (UTC+14), so that no order placed today anywhere is refused.

    Reject reasons: missing customer id, missing order id, missing timestamp, unparseable
    timestamp, non-numeric amount (also empty), negative amount, amount above --max-amount,
    dated after today / after --as-of, duplicate of row N (the whole row identical, extra
    columns such as product or quantity included), order id also under customer X.

    Raises
    ------
    DataValidationError
        As for `clean_reviews`, or the numeric dates are ambiguous (see ``date_format``).
    ConfigError
        ``max_amount`` is not a positive number, ``as_of`` or ``today`` not a date, or
        ``date_format`` not a strftime format.
    """
    if max_amount is not None and (
        isinstance(max_amount, bool) or not isinstance(max_amount, numbers.Real) or not max_amount > 0
    ):
        raise ConfigError(f"max amount must be a positive number, got {max_amount!r}.")
    last_day = as_day(today, what="today") if today is not None else latest_today()
    as_of_day = as_day(as_of, what="as-of") if as_of is not None else None
    inp = _Input(df, _ORDERS, columns, source, chunk, date_format)
    customer_ids, order_ids = inp.text(CUSTOMER_ID), inp.text(ORDER_ID)
    inp.reject(customer_ids == "", CUSTOMER_ID, "missing customer id")
    inp.reject(order_ids == "", ORDER_ID, "missing order id")
    timestamps = inp.timestamps(reject_empty=True)
    amounts = parse_amounts(inp.raw(AMOUNT))
    inp.reject(amounts.isna(), AMOUNT, "non-numeric amount")
    inp.reject(amounts < 0, AMOUNT, "negative amount")
    if max_amount is not None:
        inp.reject(amounts > max_amount, AMOUNT, f"amount above --max-amount {max_amount:g}")
    days = timestamps.dt.normalize()
    inp.reject(days > last_day, TIMESTAMP, f"dated after today ({last_day.date()})")
    if as_of_day is not None:
        inp.reject(days > as_of_day, TIMESTAMP, f"dated after --as-of {as_of_day.date()}")
    data = pd.DataFrame({
        CUSTOMER_ID: customer_ids, ORDER_ID: order_ids, TIMESTAMP: timestamps, AMOUNT: amounts,
        STATUS: inp.text(STATUS).str.lower(),
    })  # fmt: skip
    extras = inp.extras().apply(to_text).add_prefix("extra:")
    inp.reject_duplicates(pd.concat([data, extras], axis=1), ORDER_ID)
    _reject_shared_order_ids(inp, customer_ids, order_ids)
    note = _outlier_note(amounts[inp.rejector.ok], first_row=1 if chunk is None else chunk.first_row)
    return inp.finish(data, [note] if note else None)


#: An amount more than this many times the median positive amount is reported as a likely typo.
#: A ratio to the median, not median + k * MAD: order amounts are skewed, and on a shop with a
#: median of 40 and a MAD of 20 a MAD rule would flag every 300 order; 100x flags 4,000+.
OUTLIER_RATIO = 100


def _reject_shared_order_ids(inp: _Input, customer_ids: pd.Series, order_ids: pd.Series) -> None:
    """Reject every line of an order id that appears under more than one customer."""
    known = (customer_ids != "") & (order_ids != "")
    pairs = pd.DataFrame({"o": order_ids[known], "c": customer_ids[known]}).drop_duplicates()
    owners = pairs.groupby("o", sort=False)["c"].agg(list)
    shared = owners[owners.str.len() > 1]
    if shared.empty:
        return
    hit = known & order_ids.isin(shared.index)
    others = order_ids[hit].map(shared)
    reasons = pd.Series("", index=order_ids.index, dtype=object)
    reasons[hit] = [
        "order id also under customer " + ", ".join(c for c in owners_[:4] if c != own)
        + (f" (+{len(owners_) - 4} more)" if len(owners_) > 4 else "")
        for own, owners_ in zip(customer_ids[hit], others)
    ]
    inp.rejector.flag(hit, inp.label(ORDER_ID), reasons, inp.raw(ORDER_ID), kind="order id under several customers")


def _outlier_note(amounts: pd.Series, *, first_row: int) -> str | None:
    """One line on the kept amounts above ``OUTLIER_RATIO`` x the median positive amount, or None."""
    positive = amounts[amounts > 0]
    if positive.empty:
        return None
    median = float(positive.median())
    high = amounts > OUTLIER_RATIO * median
    if not high.any():
        return None
    n, largest = int(high.sum()), amounts[high].idxmax()
    return (
        f"{n} amount{'s are' if n != 1 else ' is'} more than {OUTLIER_RATIO}x the median amount {median:,.2f} "
        f"(largest {amounts[largest]:,.2f} in row {largest + first_row}); kept - check "
        f"{'them' if n != 1 else 'it'}, or reject such lines with --max-amount"
    )


# ---------------------------------------------------------------------------------------
# Files


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
        self.rejects = _Rejector(self.source, 0).table()

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


def write_rejects(rejects: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a rejects table as UTF-8 CSV, atomically (temporary file + `os.replace`).

    Parameters
    ----------
    rejects : pandas.DataFrame
        Columns `schema.REJECT_COLUMNS` (e.g. `LoadResult.rejects`, or several concatenated).
    path : str or os.PathLike
        Target file; its directory is created if needed.

    Raises
    ------
    DataValidationError
        `rejects` lacks one of the reject columns.
    OSError
        The file cannot be written.
    """
    missing = [c for c in REJECT_COLUMNS if c not in rejects.columns]
    if missing:
        raise DataValidationError(f"rejects table lacks the columns {', '.join(missing)}.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8", newline="") as f:
            # CRLF (RFC 4180): Python's csv quotes a field holding a lone CR only when CR is in the terminator
            rejects.loc[:, list(REJECT_COLUMNS)].to_csv(f, index=False, lineterminator="\r\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def rejects_path_for(output_path: str | os.PathLike[str]) -> Path:
    """Where the rejects of a run go, next to its output.

    ``out/profiles.csv`` -> ``out/profiles.rejects.csv`` (also for ``.parquet`` or
    ``.csv.gz``); a directory (existing, ending in a separator, or a path without suffix
    such as a model directory ``models/shop``) -> ``models/shop/rejects.csv``.
    """
    text = os.fspath(output_path)
    path = Path(text)
    if path.is_dir() or text.endswith(("/", os.sep)) or (not path.exists() and not path.suffix):
        return path / "rejects.csv"
    name = path.name
    if path.suffix.lower() in (".gz", ".bz2"):
        name = name[: -len(path.suffix)]
    stem = Path(name).stem
    return path.with_name(f"{stem or name}.rejects.csv")
