"""Raw values -> clean typed Series, vectorized: `to_text`, `clean_text`, `parse_timestamps`,
`parse_ratings`, `parse_amounts` (used by :mod:`topicprofile.ingest.clean`); `url_to_words`
(browsing URLs -> words, used by :mod:`topicprofile.ingest.documents`)."""

from __future__ import annotations

import html
import json
import logging
import math
import numbers
import re
import warnings
from datetime import date, datetime
from urllib.parse import parse_qsl, unquote_plus, urlsplit

import numpy as np
import pandas as pd

__all__ = [
    "to_text",
    "clean_text",
    "parse_timestamps",
    "parse_ratings",
    "parse_amounts",
    "url_to_words",
]

logger = logging.getLogger(__name__)

# Whitespace as Python's str.isspace sees it, plus control characters and the BOM. Written
# with literal characters and \xhh escapes only (no \s, \d, \b), so pandas can hand the
# patterns to pyarrow's RE2, many times faster than its fallback to Python's re.
_ODD_SPACE_CHARS = "\\x00-\\x1f\\x7f-\\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_SPACE_CHARS = " " + _ODD_SPACE_CHARS
_SPACE_RUN = f"[{_SPACE_CHARS}]+"
_ODD_SPACE = f"[{_ODD_SPACE_CHARS}]|  "  # whitespace that is not a lone ' '
_BLOCK_RE = r"(?is)<!--.*?-->|<(?:script|style)(?:[^>a-z0-9][^>]*)?>.*?</(?:script|style)[^>a-z0-9]*>"
_TAG_RE = r"(?i)</?[a-z][^<>]*>|<![^<>]*>"
_RELATIVE_DATES = ("now", "today", "tomorrow", "yesterday")


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


# Path and query pieces of shop URLs that carry no interest.
_URL_STOP = frozenset(
    "www com net org html htm php aspx jsp index c p cat category categories product products "
    "item items search s q shop store collections collection pages page en us".split()
)
_SEARCH_PARAMS = frozenset({"q", "query", "search", "s", "k", "keyword", "keywords", "term", "wd", "text"})
_SPLIT_SLUG = re.compile(r"[-_/.+~,;:=]+")


def url_to_words(url: str) -> str:
    """Turn a browsing URL into words: path slugs and search-query values.

    Parameters
    ----------
    url : str
        An absolute or relative URL, e.g. ``https://shop.example.com/c/outdoor/hiking-boots?q=tent``.

    Returns
    -------
    str
        Space-separated words, e.g. ``"outdoor hiking boots tent"``; ``""`` for an empty URL.

    Examples
    --------
    >>> url_to_words("https://shop.example.com/search?q=trail+running+shoes&ref=nav")
    'trail running shoes'
    """
    if not url:
        return ""
    parts = urlsplit(url.strip())
    words: list[str] = []
    for piece in _SPLIT_SLUG.split(unquote_plus(parts.path)):
        if piece and piece.lower() not in _URL_STOP:
            words.append(piece)
    for key, value in parse_qsl(parts.query, keep_blank_values=False):
        if key.lower() in _SEARCH_PARAMS:
            words.extend(w for w in _SPLIT_SLUG.split(value.replace("+", " ")) if w)
    return " ".join(words)
