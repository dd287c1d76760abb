"""Read files and raw values into pandas objects: the low level of the ingest stage.

`read_table` turns a CSV / TSV / JSON Lines / JSON / Parquet file (text formats optionally
``.gz`` or ``.bz2`` compressed) into a DataFrame of strings, detecting the encoding. The
value functions turn raw columns of any dtype into clean typed Series, vectorized:
`to_text`, `clean_text`, `parse_timestamps`, `parse_ratings`, `parse_amounts`.
`topicprofile.ingest.load` builds the standardized tables and the rejects on top of them.
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
from collections import Counter
from collections.abc import Callable, Iterator
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
# Chinese text runs in blocks of ideographs; bytes of another encoding read as GB18030 give
# ideographs scattered among Latin letters ("café" -> "caf茅").
_MIN_CJK_NEIGHBOUR_SHARE = 0.5
# A sample with fewer valid multi-byte UTF-8 characters than this share of its undecodable runs is
# not UTF-8 (the valid ones are chance: "Ã©" in cp1252); with more it is UTF-8 with damaged rows.
_MIN_UTF8_SHARE = 0.05
_SCAN_BLOCK_BYTES = 1 << 16
#: Key of ``DataFrame.attrs`` where the readers list the rows holding undecodable bytes.
UNDECODABLE = "topicprofile.undecodable"
# Each undecodable run of bytes is read as one U+FFFF (a noncharacter: no real text has it) so the
# rows holding one are found after parsing; U+FFFD replaces it in the values kept.
_MARK = "\uffff"
_MARK_ERRORS = "topicprofile.mark"
codecs.register_error(_MARK_ERRORS, lambda e: (_MARK, e.end))  # type: ignore[arg-type,return-value]
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
_PARSER_ROW_RE = r"starting at row (\d+)"  # pandas counts rows from 0, the header included
_LONE_SURROGATE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
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
        table = _parse_bytes(raw, codec, fmt, name, _Undecodable(lambda: iter([raw]), codec))
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
        chunks = (_slice_rows(table, i, i + chunk_rows) for i in range(0, len(table), chunk_rows))
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
    # The head may end inside a character: detection and checks treat it as the start of more.
    codec = resolve_encoding(head, encoding=encoding, name=name, partial=len(head) == _DETECT_SAMPLE_BYTES)
    text_head = codecs.getincrementaldecoder(codec)("ignore").decode(head)
    if not text_head.strip():
        raise DataValidationError(f"{name}: no data rows.")
    undecodable = _Undecodable(lambda: _iter_blocks(path, compression), codec)
    with _open_binary(path, compression) as f:
        try:
            if fmt == "jsonl":
                lines = io.TextIOWrapper(f, encoding=codec, errors=_MARK_ERRORS, newline="")
                yield from _iter_json_lines(lines, name, chunk_rows, undecodable)
                return
            reader = pd.read_csv(f, sep=_delimiter(text_head, fmt), encoding=codec, encoding_errors=_MARK_ERRORS,
                                 dtype=str, keep_default_na=False, na_filter=False, chunksize=chunk_rows)  # fmt: skip
            with reader:
                for n, chunk in enumerate(reader):
                    _check_no_implicit_index(chunk, name)
                    yield _flag_undecodable(chunk, undecodable, header=n == 0)
        except UnicodeError as e:
            raise DataValidationError(
                f"{name}: cannot decode as {codec!r} beyond the first {_DETECT_SAMPLE_BYTES // 1000} kB "
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
    lines: IO[str], name: str, chunk_rows: int, undecodable: _Undecodable | None = None
) -> Iterator[pd.DataFrame]:
    records: list[dict[str, object]] = []
    marks: list[int] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        records.append(_json_line(line, name, n))
        marks.append(line.count(_MARK))
        if len(records) == chunk_rows:
            yield _json_frame(records, marks, undecodable)
            records, marks = [], []
    if records:
        yield _json_frame(records, marks, undecodable)


def _json_line(line: str, name: str, n: int) -> dict[str, object]:
    """One JSON Lines record; a line with undecodable bytes that no longer parses is an empty record
    (rejected for its bytes)."""
    if _MARK in line:
        try:
            return _json_objects(line, name, line=n)[0]
        except DataValidationError:
            return {}
    return _json_objects(line, name, line=n)[0]


def _json_frame(records: list[dict[str, object]], marks: list[int], undecodable: _Undecodable | None) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records).apply(to_text) if any(records) else pd.DataFrame(index=range(len(records)))
    if undecodable is None or not any(marks):
        return frame
    rows: dict[int, tuple[str, str]] = {}
    for i, n_marks in enumerate(marks):
        if n_marks:
            held = [str(c) for c in frame.columns if _MARK in frame[c].iloc[i]]
            rows[i] = (held[0].replace(_MARK, "\ufffd") if held else "", undecodable.reasons(n_marks))
    frame = frame.rename(columns=lambda c: str(c).replace(_MARK, "\ufffd"))
    frame = frame.apply(lambda col: col.str.replace(_MARK, "\ufffd", regex=False))
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
# Encodings


def resolve_encoding(
    raw: bytes, *, encoding: str | None = None, name: str = "<bytes>", partial: bool = False
) -> str:
    """The codec to read `raw` with, detected when `encoding` is None.

    UTF-8 comes back as ``"utf-8-sig"`` so a BOM is stripped. A file that is UTF-8 except
    for a few undecodable bytes is UTF-8 (the rows holding them are rejected by the loaders);
    another codec is chosen only when the bytes are clearly not UTF-8, and then a warning
    says which. An explicit `encoding` is checked strictly (UTF-8: unless the file is UTF-8
    with a few damaged bytes); when it fails the error names the offending byte and line
    and suggests the detected encoding.

    Parameters
    ----------
    raw : bytes
        The file's bytes, or its first bytes.
    partial : bool
        `raw` is the head of a longer file: a character cut at its end is not an error.

    Raises
    ------
    DataValidationError
        The bytes cannot be decoded.
    ConfigError
        `encoding` is not a known codec name.
    """
    if encoding is None:
        detected = _detect_encoding(raw, partial=partial, name=name)
        if detected is None:
            raise DataValidationError(
                f"{name}: cannot detect the text encoding. Pass it with --encoding "
                "(for example --encoding gb18030 or --encoding cp1252)."
            )
        return detected
    codec = _lookup_codec(encoding)
    codec = "utf-8-sig" if codec == "utf-8" else codec
    error = _first_error(raw, codec, partial=partial)
    if error is not None and not (codec == "utf-8-sig" and _mostly_utf8(raw, partial=partial)):
        raise _decode_error(raw, encoding, error, name, partial=partial)
    return codec


def _lookup_codec(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError as e:
        raise ConfigError(
            f"unknown encoding {encoding!r}. Use a Python codec name such as utf-8, "
            "gb18030, cp1252 or latin-1."
        ) from e


def _decode_error(
    raw: bytes, encoding: str, e: UnicodeDecodeError, name: str, *, partial: bool
) -> DataValidationError:
    line = raw.count(b"\n", 0, e.start) + 1
    suggestion = _detect_encoding(raw, partial=partial, name=name, quiet=True)
    hint = (
        f"Try --encoding {suggestion}."
        if suggestion not in (None, "utf-8-sig", codecs.lookup(encoding).name)
        else "Try --encoding with the file's real encoding (e.g. gb18030, cp1252)."
    )
    return DataValidationError(
        f"{name}: cannot decode as {encoding!r} (byte 0x{raw[e.start]:02x} at position "
        f"{e.start}, line {line}). {hint}"
    )


def _detect_encoding(raw: bytes, *, partial: bool = False, name: str = "<bytes>", quiet: bool = False) -> str | None:
    """UTF-8 (with BOM), UTF-16 (with BOM), GB18030 if plausible, else charset-normalizer.

    A sample that is UTF-8 but for a few undecodable runs stays UTF-8; a legacy code page is
    chosen only when the bytes are clearly not UTF-8, with a warning (unless `quiet`).
    """
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16" if _decodes(raw, "utf-16", partial=partial) else None
    n_multi, n_bad = _utf8_counts(raw, partial=partial)
    if n_bad == 0 or n_multi >= n_bad:
        return "utf-8-sig"
    if _decodes(raw, "gb18030", partial=partial) and _looks_like_chinese(raw, partial=partial):
        guess: str | None = "gb18030"
    elif n_multi >= _MIN_UTF8_SHARE * n_bad:
        return "utf-8-sig"  # mixed: the rows that are not UTF-8 are rejected with their byte
    else:
        guess = _charset_normalizer_guess(raw, partial=partial)
        guess = guess if guess is not None and _decodes(raw, guess, partial=partial) else None
    if guess is not None and not quiet:
        logger.warning(
            "%s: not UTF-8 (%d undecodable byte sequence%s, %d valid multi-byte character%s in the first %d kB); "
            "reading it as %s. If that is wrong, pass --encoding.",
            name, n_bad, "s" if n_bad != 1 else "", n_multi, "s" if n_multi != 1 else "",
            _DETECT_SAMPLE_BYTES // 1000, guess,
        )  # fmt: skip
    return guess


def _utf8_counts(raw: bytes, *, partial: bool) -> tuple[int, int]:
    """(valid non-ASCII characters, undecodable byte runs) when `raw` is read as UTF-8."""
    text = codecs.getincrementaldecoder("utf-8")(_MARK_ERRORS).decode(raw[:_DETECT_SAMPLE_BYTES],
                                                                       final=not partial and len(raw) <= _DETECT_SAMPLE_BYTES)  # fmt: skip
    n_bad = text.count(_MARK)
    n_high = len(text) - len(text.encode("ascii", errors="ignore"))
    return n_high - n_bad, n_bad


def _mostly_utf8(raw: bytes, *, partial: bool) -> bool:
    n_multi, n_bad = _utf8_counts(raw, partial=partial)
    return n_multi >= _MIN_UTF8_SHARE * n_bad and n_multi > 0


def _first_error(raw: bytes, codec: str, *, partial: bool) -> UnicodeDecodeError | None:
    try:
        codecs.getincrementaldecoder(codec)().decode(raw, final=not partial)
    except UnicodeDecodeError as e:
        return e
    return None


def _decodes(raw: bytes, encoding: str, *, partial: bool = False) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)().decode(raw, final=not partial)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _looks_like_chinese(raw: bytes, *, partial: bool = False) -> bool:
    # Latin-1 / cp1252 bytes often decode as GB18030 too ("Größe" -> "Gr鲞e"); real
    # simplified-Chinese text stays almost entirely inside the common GB2312 repertoire,
    # and its ideographs come in runs, not one at a time between Latin letters.
    sample = _sample(raw, partial=partial).decode("gb18030", errors="ignore")
    runs = re.findall("[^\x00-\x7f]+", sample)
    n_wide = sum(map(len, runs))
    if not n_wide:
        return True
    counts = Counter("".join(runs))
    common = sum(n for ch, n in counts.items() if _decodes_gb2312(ch))
    if common / n_wide < _MIN_GB2312_SHARE:
        return False
    paired = sum(len(run) for run in runs if len(run) > 1)
    return paired / n_wide >= _MIN_CJK_NEIGHBOUR_SHARE


def _decodes_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _charset_normalizer_guess(raw: bytes, *, partial: bool = False) -> str | None:
    import charset_normalizer  # only needed for files that are neither UTF-8 nor GB18030

    matches = charset_normalizer.from_bytes(_sample(raw, partial=partial), cp_isolation=_CANDIDATE_ENCODINGS)
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


def _sample(raw: bytes, *, partial: bool = False) -> bytes:
    """At most the first 200 kB, cut after a line end when `raw` goes on (never inside a character)."""
    if len(raw) <= _DETECT_SAMPLE_BYTES and not partial:
        return raw
    head = raw[:_DETECT_SAMPLE_BYTES]
    cut = head.rfind(b"\n")
    return head[: cut + 1] if cut > 0 else head


# ---------------------------------------------------------------------------------------
# Undecodable bytes


class _Undecodable:
    """The undecodable byte runs of one file, in order, found on demand (a clean file is never scanned).

    ``blocks`` gives the file's (decompressed) bytes in blocks; the runs are those the
    ``topicprofile.mark`` error handler turned into one U+FFFF each, so the n-th mark read is
    the n-th run here.
    """

    def __init__(self, blocks: Callable[[], Iterator[bytes]], codec: str) -> None:
        self._blocks = blocks
        # Decoding restarts after each run: without the BOM check ("utf-8-sig" would eat one).
        self.codec = "utf-8" if codec == "utf-8-sig" else codec
        self.label = "UTF-8" if self.codec == "utf-8" else codec
        self._runs: Iterator[tuple[int, bytes]] | None = None

    def _scan(self) -> Iterator[tuple[int, bytes]]:
        offset, carry = 0, b""  # file offset of data[0]; bytes of a character cut by a block end
        blocks = self._blocks()
        while True:
            block = next(blocks, b"")
            final = not block
            data, pos, pending = carry + block, 0, 0
            while True:
                decoder = codecs.getincrementaldecoder(self.codec)()
                try:
                    decoder.decode(data[pos:], final=final)
                except UnicodeDecodeError as e:
                    yield offset + pos + e.start, data[pos + e.start : pos + e.end]
                    pos += max(e.end, e.start + 1)
                    continue
                pending = len(decoder.getstate()[0])
                break
            if final:
                return
            carry = data[len(data) - pending :] if pending else b""
            offset += len(data) - len(carry)

    def reasons(self, n_marks: int) -> str:
        """The reject reason of a row holding `n_marks` marks (and consume their runs)."""
        if self._runs is None:
            self._runs = self._scan()
        runs = [run for run in (next(self._runs, None) for _ in range(n_marks)) if run is not None]
        if not runs:
            return f"invalid {self.label}"
        offset, bad = runs[0]
        more = f" and {len(runs) - 1} more" if len(runs) > 1 else ""
        return f"invalid {self.label} at byte {offset} (0x{bad.hex()}){more}"


def _flag_undecodable(frame: pd.DataFrame, undecodable: _Undecodable, *, header: bool) -> pd.DataFrame:
    """Find the rows holding marks of undecodable bytes: their reasons go to ``frame.attrs``
    (row position -> (column, reason)); marks become U+FFFD. With `header`, marks in the column
    names are counted first (the header comes first in the file)."""
    if header and any(_MARK in str(c) for c in frame.columns):
        undecodable.reasons(sum(str(c).count(_MARK) for c in frame.columns))
        frame = frame.rename(columns=lambda c: str(c).replace(_MARK, "\ufffd"))
    text_columns = [c for c in frame.columns if frame[c].dtype == object or isinstance(frame[c].dtype, pd.StringDtype)]
    counts = {c: frame[c].str.count(_MARK).fillna(0).to_numpy(dtype=np.int64) for c in text_columns
              if frame[c].str.contains(_MARK, regex=False).any()}  # fmt: skip
    if not counts:
        return frame
    total = sum(counts.values())
    rows: dict[int, tuple[str, str]] = {}
    for i in np.flatnonzero(total):
        column = next(str(c) for c in counts if counts[c][i])
        rows[int(i)] = (column, undecodable.reasons(int(total[i])))
    frame = frame.copy()
    for c in counts:
        frame[c] = frame[c].str.replace(_MARK, "\ufffd", regex=False)
    frame.attrs[UNDECODABLE] = {"rows": rows, "kind": f"invalid {undecodable.label}"}
    return frame


def _slice_rows(table: pd.DataFrame, start: int, stop: int) -> pd.DataFrame:
    """Rows ``start:stop`` of a table read whole, its undecodable rows renumbered."""
    part = table.iloc[start:stop].reset_index(drop=True)
    info = table.attrs.get(UNDECODABLE)
    if info is not None:
        rows = {i - start: v for i, v in info["rows"].items() if start <= i < stop}
        part.attrs = {UNDECODABLE: {"rows": rows, "kind": info["kind"]}} if rows else {}
    return part


# ---------------------------------------------------------------------------------------
# Parsing


def _parse_bytes(raw: bytes, codec: str, fmt: str, name: str, undecodable: _Undecodable) -> pd.DataFrame:
    head = codecs.getincrementaldecoder(codec)("ignore").decode(raw[:_DETECT_SAMPLE_BYTES])
    if not head.strip():
        raise DataValidationError(f"{name}: no data rows.")
    if fmt in ("jsonl", "json"):
        text = raw.decode(codec, errors=_MARK_ERRORS)
        if fmt == "json" and text.lstrip().startswith("["):
            return _flag_undecodable(_parse_json(text, fmt, name), undecodable, header=False)
        # lines as a file gives them (not str.splitlines: JSON strings may hold U+2028 or \x1c)
        frames = list(_iter_json_lines(io.StringIO(text, newline=""), name, 2**62, undecodable))
        if not frames:
            raise DataValidationError(f"{name}: no data rows.")
        return frames[0]
    # Bytes + encoding: pandas' C reader is several times faster than from a StringIO.
    table = _parse_delimited(io.BytesIO(raw), codec, _delimiter(head, fmt), name)
    return _flag_undecodable(table, undecodable, header=True)


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
        table = pd.read_csv(buffer, sep=sep, encoding=codec, encoding_errors=_MARK_ERRORS, dtype=str,
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
