"""Output tables: profiles and rejects written atomically as CSV or Parquet, floats rounded,
spreadsheet formulas escaped (:func:`~topicprofile._fs.escape_csv_frame`) unless ``raw_csv``."""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pandas as pd

from topicprofile._fs import atomic_path, escape_csv_frame
from topicprofile.errors import DataValidationError
from topicprofile.ingest.load import write_rejects
from topicprofile.privacy.scrub import scrub_texts

__all__ = ["MONEY_COLUMNS", "SHARE_DECIMALS", "TableWriter", "round_output", "write_rejects_csv", "write_table"]

#: Output columns holding money: rounded to cents. Every other float column: to 4 places.
MONEY_COLUMNS = ("monetary", "avg_order_value")
SHARE_DECIMALS = 4


def write_rejects_csv(rejects: pd.DataFrame, path: str | os.PathLike[str], *, raw_csv: bool = False) -> None:
    """:func:`~topicprofile.ingest.load.write_rejects` with the rejected values escaped for spreadsheets
    (:func:`~topicprofile._fs.escape_csv_frame`) unless ``raw_csv``; atomic, umask permissions."""
    rejects = rejects.assign(value=scrub_texts(rejects["value"].tolist())[0])  # privacy hook (issue 14): no PII in rejects
    write_rejects(rejects if raw_csv else escape_csv_frame(rejects), path)


def round_output(table: pd.DataFrame) -> pd.DataFrame:
    """The output table with float noise removed: money columns to cents, other floats (topic
    shares, scores) to 4 places. Applied to CSV and Parquet alike, so both give the same numbers."""
    decimals = {
        name: 2 if name in MONEY_COLUMNS else SHARE_DECIMALS
        for name, dtype in table.dtypes.items()
        if pd.api.types.is_float_dtype(dtype)
    }
    return table.round(decimals) if decimals else table


def write_table(table: pd.DataFrame, path: str | os.PathLike[str], *, raw_csv: bool = False) -> None:
    """Write CSV (UTF-8) or Parquet, by extension, atomically (temporary file + ``os.replace``);
    CSV text cells are escaped for spreadsheets unless ``raw_csv``."""
    with TableWriter(path, raw_csv=raw_csv) as writer:
        writer.write(table)


class TableWriter:
    """Write a table block by block to CSV (UTF-8) or Parquet, chosen by the file's extension.

    Blocks go to a temporary file next to ``path``, which replaces ``path`` when the writer is
    closed (:func:`~topicprofile._fs.atomic_path`: readers see the old file or the whole new one,
    never a part; the file gets the umask's permissions). On an error inside the ``with`` block —
    a full disk included — the temporary file is removed and ``path`` is left as it was.
    Every block must have the columns of the first; a Parquet file takes the first block's
    column types. CSV text cells starting like a formula (``=``, ``+``, ``-``, ``@``, tab, CR) get
    a leading ``'`` unless ``raw_csv``; Parquet is typed data and is written as it is.

    Examples
    --------
    >>> with TableWriter("out/profiles.csv") as writer:  # doctest: +SKIP
    ...     for block in profiler.iter_profiles(store):
    ...         writer.write(block)
    """

    SUFFIXES = (".csv", ".parquet", ".pq")

    def __init__(self, path: str | os.PathLike[str], *, raw_csv: bool = False) -> None:
        self.path = Path(path)
        self.suffix = self.check_suffix(path)
        self.raw_csv = raw_csv
        self._columns: list[str] | None = None
        self._parquet: Any = None
        self._schema: Any = None
        self._tmp: Path | None = None
        self._stack: ExitStack | None = None

    @classmethod
    def check_suffix(cls, path: str | os.PathLike[str]) -> str:
        """The output's suffix; :class:`DataValidationError` unless it is ``.csv`` or ``.parquet``."""
        suffix = Path(path).suffix.lower()
        if suffix not in cls.SUFFIXES:
            raise DataValidationError(f"{Path(path)}: output must end in .csv or .parquet")
        return suffix

    def __enter__(self) -> TableWriter:
        self._stack = ExitStack()
        self._tmp = self._stack.enter_context(atomic_path(self.path))
        return self

    def write(self, block: pd.DataFrame) -> None:
        """Append a block of rows (the first block also sets the header / schema)."""
        if self._tmp is None:
            raise RuntimeError("TableWriter.write() outside its `with` block")
        first = self._columns is None
        if first:
            self._columns = list(block.columns)
        elif list(block.columns) != self._columns:
            raise ValueError(f"{self.path}: a block's columns differ from the first block's")
        if self.suffix == ".csv":
            text = block if self.raw_csv else escape_csv_frame(block)
            with open(self._tmp, "a" if not first else "w", encoding="utf-8", newline="") as fh:
                text.to_csv(fh, index=False, header=first, lineterminator="\r\n")  # RFC 4180: a lone CR is quoted
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        if first:
            table = pa.Table.from_pandas(block, preserve_index=False)
            self._schema = table.schema
            self._parquet = pq.ParquetWriter(str(self._tmp), self._schema)
        else:
            table = pa.Table.from_pandas(block, schema=self._schema, preserve_index=False)
        self._parquet.write_table(table)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool | None:
        assert self._stack is not None
        stack, self._stack, self._tmp = self._stack, None, None
        with stack:  # publishes the file on success, removes the temporary file on any error
            if self._parquet is not None:
                self._parquet.close()
            if exc_type is None and self._columns is None:
                raise ValueError(f"{self.path}: nothing was written")
            if exc_type is not None:
                raise exc
        return None
