"""Find a file's text encoding, and mark the byte runs that no encoding decodes.

`resolve_encoding` checks a named encoding or detects one (UTF-8 / UTF-16 with or without BOM,
the Chinese GB family, cp1252/latin-1, charset-normalizer as a last guess). `UndecodableRuns`
finds undecodable byte runs on demand so `topicprofile.ingest.files` can flag their rows.
"""

from __future__ import annotations

import codecs
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd

from topicprofile.errors import ConfigError, DataValidationError


__all__ = [
    "resolve_encoding",
    "UndecodableRuns",
    "flag_undecodable",
    "slice_rows",
    "UNDECODABLE",
    "MARK",
    "MARK_ERRORS",
    "DETECT_SAMPLE_BYTES",
]

logger = logging.getLogger(__name__)

#: Bytes read to detect a file's encoding (the head of a streamed file).
DETECT_SAMPLE_BYTES = 200_000
_MIN_GB2312_SHARE = 0.9
# Chinese text runs in blocks of ideographs; bytes of another encoding read as GB18030 give
# ideographs scattered among Latin letters ("café" -> "caf茅").
_MIN_CJK_NEIGHBOUR_SHARE = 0.5
# A sample with fewer valid multi-byte UTF-8 characters than this share of its undecodable runs is
# not UTF-8 (the valid ones are chance: "Ã©" in cp1252); with more it is UTF-8 with damaged rows.
_MIN_UTF8_SHARE = 0.05
#: Key of ``DataFrame.attrs`` where the readers list the rows holding undecodable bytes.
UNDECODABLE = "topicprofile.undecodable"
# Each undecodable run of bytes is read as one U+FFFF (a noncharacter: no real text has it) so the
# rows holding one are found after parsing; U+FFFD replaces it in the values kept.
MARK = "\uffff"
MARK_ERRORS = "topicprofile.mark"
codecs.register_error(MARK_ERRORS, lambda e: (MARK, e.end))  # type: ignore[arg-type,return-value]
# Encodings charset-normalizer may pick from: those shop and spreadsheet exports use. Without
# this list it prefers exotic pages on short files (hp_roman8 for German cp1252 text).
_CANDIDATE_ENCODINGS = [
    "cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258",
    "cp874", "iso8859_2", "iso8859_15", "koi8_r", "big5", "cp932", "euc_jp", "cp949", "gb18030",
]  # fmt: skip


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
            DETECT_SAMPLE_BYTES // 1000, guess,
        )  # fmt: skip
    return guess


def _utf8_counts(raw: bytes, *, partial: bool) -> tuple[int, int]:
    """(valid non-ASCII characters, undecodable byte runs) when `raw` is read as UTF-8."""
    text = codecs.getincrementaldecoder("utf-8")(MARK_ERRORS).decode(raw[:DETECT_SAMPLE_BYTES],
                                                                       final=not partial and len(raw) <= DETECT_SAMPLE_BYTES)  # fmt: skip
    n_bad = text.count(MARK)
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
    if len(raw) <= DETECT_SAMPLE_BYTES and not partial:
        return raw
    head = raw[:DETECT_SAMPLE_BYTES]
    cut = head.rfind(b"\n")
    return head[: cut + 1] if cut > 0 else head


# ---------------------------------------------------------------------------------------
# Undecodable bytes


class UndecodableRuns:
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


def flag_undecodable(frame: pd.DataFrame, undecodable: UndecodableRuns, *, header: bool) -> pd.DataFrame:
    """Find the rows holding marks of undecodable bytes: their reasons go to ``frame.attrs``
    (row position -> (column, reason)); marks become U+FFFD. With `header`, marks in the column
    names are counted first (the header comes first in the file)."""
    if header and any(MARK in str(c) for c in frame.columns):
        undecodable.reasons(sum(str(c).count(MARK) for c in frame.columns))
        frame = frame.rename(columns=lambda c: str(c).replace(MARK, "\ufffd"))
    text_columns = [c for c in frame.columns if frame[c].dtype == object or isinstance(frame[c].dtype, pd.StringDtype)]
    counts = {c: frame[c].str.count(MARK).fillna(0).to_numpy(dtype=np.int64) for c in text_columns
              if frame[c].str.contains(MARK, regex=False).any()}  # fmt: skip
    if not counts:
        return frame
    total = sum(counts.values())
    rows: dict[int, tuple[str, str]] = {}
    for i in np.flatnonzero(total):
        column = next(str(c) for c in counts if counts[c][i])
        rows[int(i)] = (column, undecodable.reasons(int(total[i])))
    frame = frame.copy()
    for c in counts:
        frame[c] = frame[c].str.replace(MARK, "\ufffd", regex=False)
    frame.attrs[UNDECODABLE] = {"rows": rows, "kind": f"invalid {undecodable.label}"}
    return frame


def slice_rows(table: pd.DataFrame, start: int, stop: int) -> pd.DataFrame:
    """Rows ``start:stop`` of a table read whole, its undecodable rows renumbered."""
    part = table.iloc[start:stop].reset_index(drop=True)
    info = table.attrs.get(UNDECODABLE)
    if info is not None:
        rows = {i - start: v for i, v in info["rows"].items() if start <= i < stop}
        part.attrs = {UNDECODABLE: {"rows": rows, "kind": info["kind"]}} if rows else {}
    return part
