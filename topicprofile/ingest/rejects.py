"""Rejected rows: one rejects row per input row that cannot be used (nothing is dropped silently).

`ChunkState` carries duplicate-key memory and counts across the chunks of a streamed file;
`write_rejects` writes a rejects table atomically; `rejects_path_for` says where it goes.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from topicprofile._fs import atomic_path
from topicprofile.errors import DataValidationError
from topicprofile.ingest.values import to_text
from topicprofile.schema import (
    REJECT_COLUMNS, ROW, SOURCE,
)  # fmt: skip

__all__ = [
    "ChunkState",
    "write_rejects",
    "rejects_path_for",
    "MAX_REJECT_VALUE_CHARS",
]

logger = logging.getLogger(__name__)

MAX_REJECT_VALUE_CHARS = 200
_REJECT_COLUMN, _REASON, _VALUE = REJECT_COLUMNS[2], REJECT_COLUMNS[3], REJECT_COLUMNS[4]


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
class Rejector:
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




def write_rejects(rejects: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a rejects table as UTF-8 CSV, atomically (:func:`topicprofile._fs.atomic_path`).

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
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
        # CRLF (RFC 4180): Python's csv quotes a field holding a lone CR only when CR is in the terminator
        rejects.loc[:, list(REJECT_COLUMNS)].to_csv(f, index=False, lineterminator="\r\n")


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
