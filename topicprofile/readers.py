"""Read files and raw values into pandas objects: the low level of the ingest stage.

`read_table` turns a CSV / TSV / JSON Lines / JSON / Parquet file (text formats optionally
``.gz`` or ``.bz2`` compressed) into a DataFrame of strings, detecting the encoding. The
value functions turn raw columns of any dtype into clean typed Series, vectorized:
`to_text`, `clean_text`, `parse_timestamps`, `parse_ratings`, `parse_amounts`.
`topicprofile.loaders` builds the standardized tables and the rejects on top of them.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import html
import io
import json
import logging
import math
import numbers
import os
import re
import warnings
from datetime import date, datetime
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from topicprofile.errors import ConfigError, DataValidationError

__all__ = [
    "read_table",
    "iter_read_table",
    "resolve_encoding",
    "to_text",
    "clean_text",
    "parse_timestamps",
    "parse_ratings",
    "parse_amounts",
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
_DETECT_SAMPLE_BYTES = 200_000
_MIN_GB2312_SHARE = 0.9
# Encodings charset-normalizer may pick from: those shop and spreadsheet exports use. Without
# this list it prefers exotic pages on short files (hp_roman8 for German cp1252 text).
_CANDIDATE_ENCODINGS = [
    "cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258",
    "cp874", "iso8859_2", "iso8859_15", "koi8_r", "big5", "cp932", "euc_jp", "cp949", "gb18030",
]  # fmt: skip

# Whitespace as Python's str.isspace sees it, plus control characters and the BOM. Written
# with literal characters and \xhh escapes only (no \s, \d, \b), so pandas can hand the
# patterns to pyarrow's RE2, many times faster than its fallback to Python's re.
_ODD_SPACE_CHARS = "\\x00-\\x1f\\x7f-\\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_SPACE_CHARS = " " + _ODD_SPACE_CHARS
_SPACE_RUN = f"[{_SPACE_CHARS}]+"
_ODD_SPACE = f"[{_ODD_SPACE_CHARS}]|  "  # whitespace that is not a lone ' '
_BLOCK_RE = r"(?is)<!--.*?-->|<(?:script|style)(?:[^>a-z0-9][^>]*)?>.*?</(?:script|style)[^>a-z0-9]*>"
_TAG_RE = r"(?i)</?[a-z][^<>]*>|<![^<>]*>"
_PARSER_LINE_RE = r"line (\d+)"
_RELATIVE_DATES = ("now", "today", "tomorrow", "yesterday")


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
        table = _parse_bytes(raw, codec, fmt, name)
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
        chunks = (table.iloc[i : i + chunk_rows].reset_index(drop=True) for i in range(0, len(table), chunk_rows))
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
            head = f.read(_DETECT_SAMPLE_BYTES)
    except (OSError, EOFError, ValueError) as e:
        raise DataValidationError(f"{name}: cannot read the file ({e}). Check the file or its extension.") from e
    codec = resolve_encoding(_sample(head) if len(head) == _DETECT_SAMPLE_BYTES else head,
                             encoding=encoding, name=name)  # fmt: skip
    text_head = head.decode(codec, errors="ignore")
    if not text_head.strip():
        raise DataValidationError(f"{name}: no data rows.")
    with _open_binary(path, compression) as f:
        try:
            if fmt == "jsonl":
                yield from _iter_json_lines(io.TextIOWrapper(f, encoding=codec, newline=""), name, chunk_rows)
                return
            reader = pd.read_csv(f, sep=_delimiter(text_head, fmt), encoding=codec, dtype=str,
                                 keep_default_na=False, na_filter=False, chunksize=chunk_rows)  # fmt: skip
            with reader:
                yield from reader
        except UnicodeDecodeError as e:
            raise DataValidationError(
                f"{name}: cannot decode as {codec!r} beyond the first {_DETECT_SAMPLE_BYTES // 1000} kB "
                f"({e.reason}). Pass the file's real encoding with --encoding."
            ) from e
        except pd.errors.EmptyDataError as e:
            raise DataValidationError(f"{name}: no data rows.") from e
        except pd.errors.ParserError as e:
            raise _malformed(e, name) from e


def _iter_json_lines(lines: IO[str], name: str, chunk_rows: int) -> Iterator[pd.DataFrame]:
    records: list[dict[str, object]] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        records.append(_json_objects(line, name, line=n)[0])
        if len(records) == chunk_rows:
            yield pd.DataFrame.from_records(records).apply(to_text)
            records = []
    if records:
        yield pd.DataFrame.from_records(records).apply(to_text)


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
# Encodings


def resolve_encoding(raw: bytes, *, encoding: str | None = None, name: str = "<bytes>") -> str:
    """The codec that decodes `raw` without error, detected when `encoding` is None.

    UTF-8 comes back as ``"utf-8-sig"`` so a BOM is stripped. An explicit `encoding` is
    checked strictly; when it fails the error names the offending byte and line and
    suggests the detected encoding.

    Raises
    ------
    DataValidationError
        The bytes cannot be decoded.
    ConfigError
        `encoding` is not a known codec name.
    """
    if encoding is None:
        detected = _detect_encoding(raw)
        if detected is None:
            raise DataValidationError(
                f"{name}: cannot detect the text encoding. Pass it with --encoding "
                "(for example --encoding gb18030 or --encoding cp1252)."
            )
        if detected != "utf-8-sig":
            logger.info("%s: detected encoding %s", name, detected)
        return detected
    codec = _lookup_codec(encoding)
    codec = "utf-8-sig" if codec == "utf-8" else codec
    try:
        raw.decode(codec)
    except UnicodeDecodeError as e:
        raise _decode_error(raw, encoding, e, name) from e
    return codec


def _lookup_codec(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError as e:
        raise ConfigError(
            f"unknown encoding {encoding!r}. Use a Python codec name such as utf-8, "
            "gb18030, cp1252 or latin-1."
        ) from e


def _decode_error(raw: bytes, encoding: str, e: UnicodeDecodeError, name: str) -> DataValidationError:
    line = raw.count(b"\n", 0, e.start) + 1
    suggestion = _detect_encoding(raw)
    hint = (
        f"Try --encoding {suggestion}."
        if suggestion not in (None, "utf-8-sig", codecs.lookup(encoding).name)
        else "Try --encoding with the file's real encoding (e.g. gb18030, cp1252)."
    )
    return DataValidationError(
        f"{name}: cannot decode as {encoding!r} (byte 0x{raw[e.start]:02x} at position "
        f"{e.start}, line {line}). {hint}"
    )


def _detect_encoding(raw: bytes) -> str | None:
    """UTF-8 (with BOM), UTF-16 (with BOM), GB18030 if plausible, else charset-normalizer."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16" if _decodes(raw, "utf-16") else None
    if _decodes(raw, "utf-8-sig"):
        return "utf-8-sig"
    if _decodes(raw, "gb18030") and _looks_like_chinese(raw):
        return "gb18030"
    guess = _charset_normalizer_guess(raw)
    return guess if guess is not None and _decodes(raw, guess) else None


def _decodes(raw: bytes, encoding: str) -> bool:
    try:
        raw.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _looks_like_chinese(raw: bytes) -> bool:
    # Latin-1 / cp1252 bytes often decode as GB18030 too ("Größe" -> "Gr鲞e"); real
    # simplified-Chinese text stays almost entirely inside the common GB2312 repertoire.
    sample = _sample(raw).decode("gb18030", errors="ignore")
    wide = [ch for ch in sample if ord(ch) > 127]
    if not wide:
        return True
    common = sum(1 for ch in wide if _decodes_gb2312(ch))
    return common / len(wide) >= _MIN_GB2312_SHARE


def _decodes_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _charset_normalizer_guess(raw: bytes) -> str | None:
    import charset_normalizer  # only needed for files that are neither UTF-8 nor GB18030

    matches = charset_normalizer.from_bytes(_sample(raw), cp_isolation=_CANDIDATE_ENCODINGS)
    best = matches.best()
    if best is None:
        return None
    # Single-byte Latin pages often tie; cp1252 (Western Windows / Excel) is the likeliest.
    if "cp1252" in best.could_be_from_charset:
        return "cp1252"
    for match in matches:
        if match.encoding == "cp1252" and match.chaos <= best.chaos and match.coherence >= best.coherence:
            return "cp1252"
    return str(best.encoding)


def _sample(raw: bytes) -> bytes:
    if len(raw) <= _DETECT_SAMPLE_BYTES:
        return raw
    head = raw[:_DETECT_SAMPLE_BYTES]
    cut = head.rfind(b"\n")
    return head[: cut + 1] if cut > 0 else head


# ---------------------------------------------------------------------------------------
# Parsing


def _parse_bytes(raw: bytes, codec: str, fmt: str, name: str) -> pd.DataFrame:
    head = raw[:_DETECT_SAMPLE_BYTES].decode(codec, errors="ignore")
    if not head.strip():
        raise DataValidationError(f"{name}: no data rows.")
    if fmt in ("jsonl", "json"):
        return _parse_json(raw.decode(codec), fmt, name)
    # Bytes + encoding: pandas' C reader is several times faster than from a StringIO.
    return _parse_delimited(io.BytesIO(raw), codec, _delimiter(head, fmt), name)


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
        return pd.read_csv(
            buffer, sep=sep, encoding=codec, dtype=str, keep_default_na=False, na_filter=False
        )
    except pd.errors.EmptyDataError as e:
        raise DataValidationError(f"{name}: no data rows.") from e
    except pd.errors.ParserError as e:
        raise _malformed(e, name) from e


def _malformed(e: pd.errors.ParserError, name: str) -> DataValidationError:
    detail = str(e).strip().removeprefix("Error tokenizing data. C error: ")
    found = re.search(_PARSER_LINE_RE, detail)
    where = f"at line {found.group(1)}" if found else "while parsing"
    return DataValidationError(f"{name}: malformed file {where} ({detail}). Check quoting and the delimiter.")


def _parse_json(text: str, fmt: str, name: str) -> pd.DataFrame:
    """JSON Lines, or (``.json`` only) one array of objects; values become strings (`to_text`)."""
    if fmt == "json" and text.lstrip().startswith("["):
        records = _json_objects(text, name, line=None)
    else:
        lines = enumerate(text.splitlines(), start=1)
        records = [_json_objects(line, name, line=n)[0] for n, line in lines if line.strip()]
    # stdlib json (not read_json): no guessing of number or date types, same on pandas 2 and 3
    return pd.DataFrame.from_records(records).apply(to_text)


def _json_objects(text: str, name: str, *, line: int | None) -> list[dict[str, object]]:
    where = f" at line {line}" if line else ""
    try:
        value = json.loads(text)
    except ValueError as e:
        raise DataValidationError(f"{name}: malformed JSON{where} ({e}).") from e
    values = value if line is None and isinstance(value, list) else [value]
    if not all(isinstance(v, dict) for v in values):
        expected = "one JSON object per line" if line else "an array of JSON objects"
        raise DataValidationError(f"{name}: malformed JSON{where}: expected {expected}.")
    return values


# ---------------------------------------------------------------------------------------
# Values


def to_text(values: pd.Series) -> pd.Series:
    """Any Series -> string Series without missing values.

    Missing values become ``""``; integral floats lose their ``.0`` (``7.0`` -> ``"7"``, so
    Parquet ids with nulls stay clean); strings are returned unchanged (``"007"`` stays).
    """
    if isinstance(values.dtype, pd.StringDtype):
        return values.fillna("").astype("str")
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_integer_dtype(values.dtype):
        return values.astype("string").fillna("").astype("str")
    if pd.api.types.is_float_dtype(values.dtype):
        return _floats_to_text(values.astype("float64"))
    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        return values.fillna("").astype("str")
    return values.astype(object).map(_scalar_to_text).astype("str")


def _floats_to_text(values: pd.Series) -> pd.Series:
    finite = np.isfinite(values)
    integral = finite & (values == np.floor(values)) & (values.abs() < 2**53)
    out = values.astype(object).map(_scalar_to_text)
    out[integral] = values[integral].astype("int64").astype(str)
    return out.astype("str")


def _scalar_to_text(value: object) -> str:
    if value is None or value is pd.NaT or value is pd.NA:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isnan(number):
            return ""
        return str(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def clean_text(values: pd.Series) -> pd.Series:
    """Clean free text: HTML entities and tags, Unicode NFKC, whitespace.

    Entities are unescaped twice (``&amp;lt;`` -> ``<``); ``<script>`` / ``<style>`` blocks
    and comments are removed; tags become a space; NFKC folds full-width Latin to ASCII and
    keeps Chinese; every run of Unicode whitespace becomes one space; ends are stripped.
    """
    text = to_text(values)
    if not (text != "").any():
        return text
    text = _where(text, text.str.contains("&", regex=False), lambda s: s.map(_unescape_twice))
    text = _where(text, _non_ascii(text), lambda s: s.str.normalize("NFKC"))  # ASCII is NFKC
    text = _where(
        text,
        text.str.contains("<", regex=False),
        lambda s: s.str.replace(_BLOCK_RE, " ", regex=True).str.replace(_TAG_RE, " ", regex=True),
    )
    text = _where(
        text, text.str.contains(_ODD_SPACE, regex=True), lambda s: s.str.replace(_SPACE_RUN, " ", regex=True)
    )
    return text.str.strip()


def _where(text: pd.Series, mask: pd.Series, transform) -> pd.Series:  # type: ignore[no-untyped-def]
    """Apply `transform` only to the rows in `mask` (most rows need no work)."""
    if not mask.any():
        return text
    out = text.copy()
    out[mask] = transform(text[mask]).astype("str")
    return out


def _non_ascii(text: pd.Series) -> pd.Series:
    if hasattr(text.str, "isascii"):  # pandas >= 3
        return ~text.str.isascii()
    return text.str.contains("[^\\x00-\\x7f]", regex=True)


def _unescape_twice(value: str) -> str:
    once = html.unescape(value)
    return html.unescape(once) if "&" in once else once


def parse_timestamps(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Raw timestamps -> naive ``datetime64[ns]`` (UTC for tz-aware input) and a bad mask.

    Accepts datetime dtypes, ISO 8601 (with or without offset), formats pandas can infer
    (``2024/03/05``), 10-digit epoch seconds, 13-digit epoch milliseconds and 8-digit
    ``YYYYMMDD``. Empty -> NaT with ``bad`` False; non-empty but unparseable (or outside
    1677-2262) -> NaT with ``bad`` True.
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        parsed = _to_naive_ns(values)
        return parsed, parsed.isna() & values.notna()
    text = to_text(values).str.strip()
    pending = text != ""
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    if not pending.any():
        return parsed, pd.Series(False, index=text.index)
    pieces = []
    for pattern, kwargs in (
        ("[0-9]{10}", {"unit": "s"}),
        ("[0-9]{13}", {"unit": "ms"}),
        ("[0-9]{8}", {"format": "%Y%m%d"}),
    ):
        mask = pending & text.str.fullmatch(pattern)
        if mask.any():
            raw = text[mask].astype("int64") if "unit" in kwargs else text[mask]
            pieces.append(pd.to_datetime(raw, errors="coerce", **kwargs))
        pending &= ~mask
    pending &= ~text.str.fullmatch("[0-9]+") & ~text.str.lower().isin(_RELATIVE_DATES)
    if pending.any():
        pieces.extend(_parse_date_strings(text[pending]))
    for piece in pieces:
        parsed[piece.index] = _to_naive_ns(piece)
    return parsed, parsed.isna() & (text != "")


def _parse_date_strings(text: pd.Series) -> list[pd.Series]:
    """ISO 8601 first (fast), then one inferred format, then element-wise for the rest."""
    pieces = []
    left = text
    for fmt in ("ISO8601", None, "mixed"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "could not infer format"
            parsed = pd.to_datetime(left, errors="coerce", utc=True, format=fmt)
        pieces.append(parsed[parsed.notna()])
        left = left[parsed.isna()]
        if left.empty:
            break
    return pieces


def _to_naive_ns(values: pd.Series) -> pd.Series:
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    in_range = values.isna() | ((values >= pd.Timestamp.min) & (values <= pd.Timestamp.max))
    return values.where(in_range).astype("datetime64[ns]")


def parse_ratings(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Raw ratings -> float64 (NaN when empty or not a number) and a not-a-number mask.

    A decimal comma is accepted (``"4,5"`` -> 4.5).
    """
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        numbers_ = values.astype("float64")
        return numbers_.where(np.isfinite(numbers_)), pd.Series(False, index=values.index)
    text = to_text(values).str.strip()
    numbers_ = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce").astype("float64")
    numbers_ = numbers_.where(np.isfinite(numbers_))
    return numbers_, numbers_.isna() & (text != "")


def parse_amounts(values: pd.Series) -> pd.Series:
    """Raw money amounts -> float64, NaN where empty or not a number.

    Strips currency symbols ($ € £ ¥ ￥) and whitespace; understands thousands separators
    (``"1,234.50"``, ``"1.234,50"``) and a decimal comma with 1-2 decimals (``"12,50"``).
    Negative amounts are returned as they are; the caller decides.
    """
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        amounts = values.astype("float64")
        return amounts.where(np.isfinite(amounts))
    text = to_text(values).str.replace(f"[$€£¥￥{_SPACE_CHARS}]", "", regex=True)
    us = text.str.fullmatch(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?")
    eu = text.str.fullmatch(r"[+-]?[0-9]{1,3}(?:\.[0-9]{3})+,[0-9]*")
    comma = text.str.fullmatch(r"[+-]?[0-9]+,[0-9]{1,2}")
    text = _where(text, us, lambda s: s.str.replace(",", "", regex=False))
    text = _where(text, eu, lambda s: s.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
    text = _where(text, comma, lambda s: s.str.replace(",", ".", regex=False))
    amounts = pd.to_numeric(text, errors="coerce").astype("float64")
    return amounts.where(np.isfinite(amounts))
