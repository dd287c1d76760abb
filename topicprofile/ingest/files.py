"""Read files into pandas objects: formats, compression, parsing (the lowest level of the ingest stage).

`read_table` / `iter_read_table` turn a CSV / TSV / JSON Lines / JSON / Parquet file (text formats
optionally ``.gz`` or ``.bz2`` compressed) into a DataFrame of strings; the encoding is found by
:mod:`topicprofile.ingest.encodings` and undecodable rows are flagged. Raw columns become typed
values in :mod:`topicprofile.ingest.values`; :mod:`topicprofile.ingest.load` builds the
standardized tables and the rejects on top of them.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import json
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pandas as pd

from topicprofile.errors import DataValidationError
from topicprofile.ingest.encodings import (
    DETECT_SAMPLE_BYTES,
    MARK,
    MARK_ERRORS,
    UNDECODABLE,
    UndecodableRuns,
    flag_undecodable,
    resolve_encoding,
    slice_rows,
)
from topicprofile.ingest.values import to_text


__all__ = [
    "read_table",
    "iter_read_table",
    "UNDECODABLE",
]

logger = logging.getLogger(__name__)

_FORMATS = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".txt": "txt",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
    ".parquet": "parquet", ".pq": "parquet",
}  # fmt: skip
_DECOMPRESSORS = {".gz": gzip.decompress, ".bz2": bz2.decompress}
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open}
_SUPPORTED = (
    "Supported: .csv, .tsv, .txt, .jsonl, .ndjson, .json, .parquet, .pq "
    "(text formats may also be .gz or .bz2 compressed)."
)
_SCAN_BLOCK_BYTES = 1 << 16
_PARSER_LINE_RE = r"line (\d+)"
_PARSER_ROW_RE = r"starting at row (\d+)"  # pandas counts rows from 0, the header included
_LONE_SURROGATE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


# ---------------------------------------------------------------------------------------
# Files


def read_table(path: str | os.PathLike[str], *, encoding: str | None = None) -> pd.DataFrame:
    """Read a tabular file into a DataFrame, all columns as strings (Parquet keeps its types).

    Parameters
    ----------
    path : str or os.PathLike
        ``.csv``, ``.tsv``, ``.txt`` (delimiter sniffed: tab, comma, semicolon or
        whitespace), ``.jsonl`` / ``.ndjson`` (one object per line), ``.json`` (JSON Lines
        or an array of objects), ``.parquet`` / ``.pq``. Text formats may end in ``.gz`` or
        ``.bz2``.
    encoding : str, optional
        Text encoding. None detects it: UTF-8 (a BOM is stripped), else GB18030 if the
        text decodes to plausible Chinese, else charset-normalizer's best guess.

    Returns
    -------
    pandas.DataFrame
        One row per data row, in file order. Text formats give string columns where an
        empty field is ``""`` and text such as ``"NA"`` stays text.

    Raises
    ------
    DataValidationError
        Missing file, directory, unsupported extension, undecodable bytes, malformed
        content, or no data rows.
    ConfigError
        `encoding` is not a known codec name.

    Examples
    --------
    >>> read_table("corpora/reviews.csv").columns.tolist()  # doctest: +SKIP
    ['customer_id', 'text', 'timestamp', 'rating']
    """
    path = Path(path)
    name = path.name
    if not path.exists():
        raise DataValidationError(f"{name}: file not found (looked for {path.absolute()}).")
    if path.is_dir():
        raise DataValidationError(f"{name}: is a directory; pass a file.")
    fmt, compression = _detect_format(path)
    if fmt == "parquet":
        table = _read_parquet(path)
    else:
        raw = _read_bytes(path, compression)
        codec = resolve_encoding(raw, encoding=encoding, name=name)
        table = _parse_bytes(raw, codec, fmt, name, UndecodableRuns(lambda: iter([raw]), codec))
    if len(table) == 0:
        raise DataValidationError(f"{name}: no data rows.")
    logger.info("%s: read %d rows, %d columns", name, len(table), table.shape[1])
    return table


def iter_read_table(
    path: str | os.PathLike[str], *, encoding: str | None = None, chunk_rows: int = 50_000
) -> Iterator[pd.DataFrame]:
    """:func:`read_table` in chunks of ``chunk_rows`` rows, so a large file is never all in memory.

    The encoding is detected on the first 200 kB (as :func:`read_table` does on its sample); a
    byte further on that does not decode is reported with its line. CSV/TSV are read with
    pandas' chunked C reader, JSON Lines line by line, Parquet by record batches. A ``.json``
    array cannot be streamed and is read whole, then cut into chunks. Concatenated, the chunks
    equal :func:`read_table`'s table.
    """
    path = Path(path)
    name = path.name
    if not path.exists():
        raise DataValidationError(f"{name}: file not found (looked for {path.absolute()}).")
    if path.is_dir():
        raise DataValidationError(f"{name}: is a directory; pass a file.")
    fmt, compression = _detect_format(path)
    n_rows = 0
    if fmt == "parquet":
        chunks: Iterator[pd.DataFrame] = _iter_parquet(path, chunk_rows)
    elif fmt == "json":
        table = read_table(path, encoding=encoding)
        chunks = (slice_rows(table, i, i + chunk_rows) for i in range(0, len(table), chunk_rows))
    else:
        chunks = _iter_text(path, compression, fmt, encoding, chunk_rows)
    for chunk in chunks:
        n_rows += len(chunk)
        if len(chunk):
            yield chunk
    if n_rows == 0:
        raise DataValidationError(f"{name}: no data rows.")
    logger.info("%s: read %d rows in chunks of %d", name, n_rows, chunk_rows)


def _iter_parquet(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(str(path))
        for batch in parquet.iter_batches(batch_size=chunk_rows):
            yield batch.to_pandas()
    except (OSError, ValueError) as e:  # pyarrow's ArrowInvalid is a ValueError
        raise DataValidationError(f"{path.name}: not a valid Parquet file ({e}).") from e


def _open_binary(path: Path, compression: str | None) -> IO[bytes]:
    opener = _OPENERS.get(compression or "", open)
    return opener(path, "rb")  # type: ignore[no-any-return]


def _iter_text(
    path: Path, compression: str | None, fmt: str, encoding: str | None, chunk_rows: int
) -> Iterator[pd.DataFrame]:
    name = path.name
    try:
        with _open_binary(path, compression) as f:
            head = f.read(DETECT_SAMPLE_BYTES)
    except (OSError, EOFError, ValueError) as e:
        raise DataValidationError(f"{name}: cannot read the file ({e}). Check the file or its extension.") from e
    # The head may end inside a character: detection and checks treat it as the start of more.
    codec = resolve_encoding(head, encoding=encoding, name=name, partial=len(head) == DETECT_SAMPLE_BYTES)
    text_head = codecs.getincrementaldecoder(codec)("ignore").decode(head)
    if not text_head.strip():
        raise DataValidationError(f"{name}: no data rows.")
    undecodable = UndecodableRuns(lambda: _iter_blocks(path, compression), codec)
    with _open_binary(path, compression) as f:
        try:
            if fmt == "jsonl":
                lines = io.TextIOWrapper(f, encoding=codec, errors=MARK_ERRORS, newline="")
                yield from _iter_json_lines(lines, name, chunk_rows, undecodable)
                return
            reader = pd.read_csv(f, sep=_delimiter(text_head, fmt), encoding=codec, encoding_errors=MARK_ERRORS,
                                 dtype=str, keep_default_na=False, na_filter=False, chunksize=chunk_rows)  # fmt: skip
            with reader:
                for n, chunk in enumerate(reader):
                    _check_no_implicit_index(chunk, name)
                    yield flag_undecodable(chunk, undecodable, header=n == 0)
        except UnicodeError as e:
            raise DataValidationError(
                f"{name}: cannot decode as {codec!r} beyond the first {DETECT_SAMPLE_BYTES // 1000} kB "
                f"({e}). Pass the file's real encoding with --encoding."
            ) from e
        except pd.errors.EmptyDataError as e:
            raise DataValidationError(f"{name}: no data rows.") from e
        except pd.errors.ParserError as e:
            raise _malformed(e, name) from e
        except (OSError, EOFError) as e:  # a compressed file cut short
            raise DataValidationError(f"{name}: cannot read the file ({e}). Check the file or its extension.") from e


def _iter_blocks(path: Path, compression: str | None) -> Iterator[bytes]:
    with _open_binary(path, compression) as f:
        while block := f.read(_SCAN_BLOCK_BYTES):
            yield block


def _check_no_implicit_index(frame: pd.DataFrame, name: str) -> None:
    """pandas makes the first column the index when the first data row has one field more than
    the header, shifting every column by one: that is a malformed row, not data."""
    if not isinstance(frame.index, pd.RangeIndex):
        raise DataValidationError(
            f"{name}: malformed file at line 2 (the first data row has {frame.shape[1] + 1} fields, the header "
            f"{frame.shape[1]}). Check quoting and the delimiter."
        )


def _iter_json_lines(
    lines: IO[str], name: str, chunk_rows: int, undecodable: UndecodableRuns | None = None
) -> Iterator[pd.DataFrame]:
    records: list[dict[str, object]] = []
    marks: list[int] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        records.append(_json_line(line, name, n))
        marks.append(line.count(MARK))
        if len(records) == chunk_rows:
            yield _json_frame(records, marks, undecodable)
            records, marks = [], []
    if records:
        yield _json_frame(records, marks, undecodable)


def _json_line(line: str, name: str, n: int) -> dict[str, object]:
    """One JSON Lines record; a line with undecodable bytes that no longer parses is an empty record
    (rejected for its bytes)."""
    if MARK in line:
        try:
            return _json_objects(line, name, line=n)[0]
        except DataValidationError:
            return {}
    return _json_objects(line, name, line=n)[0]


def _json_frame(records: list[dict[str, object]], marks: list[int], undecodable: UndecodableRuns | None) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records).apply(to_text) if any(records) else pd.DataFrame(index=range(len(records)))
    if undecodable is None or not any(marks):
        return frame
    rows: dict[int, tuple[str, str]] = {}
    for i, n_marks in enumerate(marks):
        if n_marks:
            held = [str(c) for c in frame.columns if MARK in frame[c].iloc[i]]
            rows[i] = (held[0].replace(MARK, "\ufffd") if held else "", undecodable.reasons(n_marks))
    frame = frame.rename(columns=lambda c: str(c).replace(MARK, "\ufffd"))
    frame = frame.apply(lambda col: col.str.replace(MARK, "\ufffd", regex=False))
    frame.attrs[UNDECODABLE] = {"rows": rows, "kind": f"invalid {undecodable.label}"}
    return frame


def _detect_format(path: Path) -> tuple[str, str | None]:
    suffixes = [s.lower() for s in path.suffixes]
    compression = suffixes.pop() if suffixes and suffixes[-1] in _DECOMPRESSORS else None
    ext = suffixes[-1] if suffixes else ""
    fmt = _FORMATS.get(ext)
    if fmt is None or (fmt == "parquet" and compression):
        shown = "".join(path.suffixes[-2:]) or "(none)"
        hint = " Save the sheet as 'CSV UTF-8' first." if ext in (".xlsx", ".xls") else ""
        raise DataValidationError(
            f"{path.name}: unsupported file type '{shown}'. {_SUPPORTED}{hint}"
        )
    return fmt, compression


def _read_bytes(path: Path, compression: str | None) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataValidationError(f"{path.name}: cannot read the file ({e.strerror}).") from e
    if compression is None:
        return raw
    try:
        return _DECOMPRESSORS[compression](raw)
    except (OSError, EOFError, ValueError) as e:
        raise DataValidationError(
            f"{path.name}: not a valid {compression} file ({e}). Check the file or its extension."
        ) from e


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except ImportError as e:
        raise DataValidationError(f"{path.name}: reading Parquet needs pyarrow ({e}).") from e
    except (OSError, ValueError) as e:  # pyarrow's ArrowInvalid is a ValueError
        raise DataValidationError(f"{path.name}: not a valid Parquet file ({e}).") from e


# ---------------------------------------------------------------------------------------
# Parsing


def _parse_bytes(raw: bytes, codec: str, fmt: str, name: str, undecodable: UndecodableRuns) -> pd.DataFrame:
    head = codecs.getincrementaldecoder(codec)("ignore").decode(raw[:DETECT_SAMPLE_BYTES])
    if not head.strip():
        raise DataValidationError(f"{name}: no data rows.")
    if fmt in ("jsonl", "json"):
        text = raw.decode(codec, errors=MARK_ERRORS)
        if fmt == "json" and text.lstrip().startswith("["):
            return flag_undecodable(_parse_json(text, fmt, name), undecodable, header=False)
        # lines as a file gives them (not str.splitlines: JSON strings may hold U+2028 or \x1c)
        frames = list(_iter_json_lines(io.StringIO(text, newline=""), name, 2**62, undecodable))
        if not frames:
            raise DataValidationError(f"{name}: no data rows.")
        return frames[0]
    # Bytes + encoding: pandas' C reader is several times faster than from a StringIO.
    table = _parse_delimited(io.BytesIO(raw), codec, _delimiter(head, fmt), name)
    return flag_undecodable(table, undecodable, header=True)


def _delimiter(text: str, fmt: str) -> str:
    if fmt == "tsv":
        return "\t"
    header = text.lstrip("\r\n").split("\n", 1)[0]
    if fmt == "csv" and "," in header:
        return ","
    for sep in ("\t", ",", ";"):
        if sep in header:
            return sep
    return r"\s+" if fmt == "txt" and " " in header.strip() else ","


def _parse_delimited(buffer: io.BytesIO, codec: str, sep: str, name: str) -> pd.DataFrame:
    try:
        table = pd.read_csv(buffer, sep=sep, encoding=codec, encoding_errors=MARK_ERRORS, dtype=str,
                            keep_default_na=False, na_filter=False)  # fmt: skip
    except pd.errors.EmptyDataError as e:
        raise DataValidationError(f"{name}: no data rows.") from e
    except pd.errors.ParserError as e:
        raise _malformed(e, name) from e
    _check_no_implicit_index(table, name)
    return table


def _malformed(e: pd.errors.ParserError, name: str) -> DataValidationError:
    detail = str(e).strip().removeprefix("Error tokenizing data. C error: ")
    found = re.search(_PARSER_LINE_RE, detail)
    row = re.search(_PARSER_ROW_RE, detail)
    where = f"at line {found.group(1)}" if found else f"at line {int(row.group(1)) + 1}" if row else "while parsing"
    return DataValidationError(f"{name}: malformed file {where} ({detail}). Check quoting and the delimiter.")


def _parse_json(text: str, fmt: str, name: str) -> pd.DataFrame:
    """JSON Lines, or (``.json`` only) one array of objects; values become strings (`to_text`)."""
    if fmt == "json" and text.lstrip().startswith("["):
        records = _json_objects(text, name, line=None)
    else:
        lines = enumerate(io.StringIO(text, newline=""), start=1)
        records = [_json_objects(line, name, line=n)[0] for n, line in lines if line.strip()]
    # stdlib json (not read_json): no guessing of number or date types, same on pandas 2 and 3
    return pd.DataFrame.from_records(records).apply(to_text)


def _json_objects(text: str, name: str, *, line: int | None) -> list[dict[str, object]]:
    where = f" at line {line}" if line else ""
    try:
        value = json.loads(text)
    except ValueError as e:
        raise DataValidationError(f"{name}: malformed JSON{where} ({e}).") from e
    if "\\u" in text and _LONE_SURROGATE.search(json.dumps(value)):
        value = _without_lone_surrogates(value)
    values = value if line is None and isinstance(value, list) else [value]
    if not all(isinstance(v, dict) for v in values):
        expected = "one JSON object per line" if line else "an array of JSON objects"
        raise DataValidationError(f"{name}: malformed JSON{where}: expected {expected}.")
    return values


def _without_lone_surrogates(value: object) -> object:
    """JSON escapes may spell half a surrogate pair ("\\ud800"), which is no text: U+FFFD instead."""
    if isinstance(value, str):
        return re.sub("[\ud800-\udfff]", "\ufffd", value)
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_lone_surrogates(v) for v in value]
    return value
