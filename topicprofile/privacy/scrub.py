"""Scrub personal data from texts: typed placeholders replace e-mail addresses, phone numbers,
payment card numbers, IP addresses, street addresses and URLs whose query strings carry identifiers.

Each detector is a cheap test (a character that must be present) followed by a regular expression;
phone numbers are confirmed by Google's ``phonenumbers`` matcher, which runs only on the few texts
that hold seven digits in a row-ish (see ``scripts/bench_scrub.py`` for the cost against tokenizing).
Detectors run in a fixed order (URL, e-mail, IP, card, phone, address) so that a later one never
sees the inside of an earlier one's match.

Names of people need a named-entity model: :class:`~topicprofile.privacy.names.NameScrubber` (the
``topicprofile[privacy]`` extra, Microsoft Presidio over a spaCy pipeline loaded from a folder, so
nothing is downloaded), passed as ``names=``.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

import pandas as pd

from topicprofile import schema
from topicprofile.privacy.names import NameScrubber
from topicprofile.privacy.placeholders import PLACEHOLDERS, merge_spans, placeholder

__all__ = [
    "SCRUB_COUNTS_ATTR",
    "SCRUB_KINDS",
    "luhn_ok",
    "scrub_documents",
    "scrub_text",
    "scrub_texts",
]

#: Key of ``DataFrame.attrs`` where ``build_documents`` leaves the counts per kind.
SCRUB_COUNTS_ATTR = "scrub_counts"

#: Kinds scrubbed by default (names need :class:`NameScrubber`).
SCRUB_KINDS = tuple(k for k in PLACEHOLDERS if k != "PERSON")

# -- URL -------------------------------------------------------------------------------------------
_URL = re.compile(r"(?:\b[a-z][a-z0-9+.-]*://|\bwww\.)[^\s<>\"'）】]+", re.IGNORECASE)


def _url(match: re.Match[str]) -> str | None:
    """A URL whose query string or fragment could carry an identifier (or that holds an e-mail
    address) is replaced whole; a bare link to a page is kept (the tokenizer drops URLs anyway)."""
    url = match.group(0).rstrip(".,;:!?)]}")
    return placeholder("URL") + match.group(0)[len(url) :] if ("?" in url or "#" in url or "@" in url) else None


# -- e-mail ----------------------------------------------------------------------------------------
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")

# -- IP addresses ----------------------------------------------------------------------------------
# Patterns start with a character class, not a look-behind, so the regex engine skips ahead to
# candidates quickly; the boundaries are checked in the replacement function (``_apart``).
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:%\w+)?(?![\w:])")


def _ipv6(match: re.Match[str]) -> str | None:
    try:
        ipaddress.IPv6Address(match.group(0).split("%")[0])
    except ValueError:  # times (10:30:45), ratios, emoticons
        return None
    return placeholder("IP")


def _apart(match: re.Match[str], joiners: str) -> bool:
    """Whether the match is not glued to more digits (or to ``joiners`` followed by digits)."""
    text, start, end = match.string, match.start(), match.end()
    if start and (text[start - 1].isdigit() or text[start - 1] in joiners):
        return False
    glued_after = text[end : end + 1].isdigit() or (text[end : end + 1] in joiners and text[end + 1 : end + 2].isdigit())
    return not (end < len(text) and glued_after)


def _ipv4(match: re.Match[str]) -> str | None:
    octets = match.group(0).split(".")
    if not _apart(match, ".") or any(int(o) > 255 or (len(o) > 1 and o[0] == "0") for o in octets):
        return None
    # All octets below 10 is a version number ("1.0.5.0"), not an address a customer would type.
    return placeholder("IP") if any(len(o) > 1 for o in octets) else None


# -- payment cards ---------------------------------------------------------------------------------
# 13-19 digits, optionally grouped by single spaces or dashes; issuer prefixes 2-6 (Mastercard 2-series,
# Amex/Diners/JCB, Visa, Mastercard, Discover/UnionPay) keep most Luhn-valid order numbers out.
_CARD = re.compile(r"[2-6]\d{2,3}(?:[ \-]?\d){9,15}")


def luhn_ok(digits: str) -> bool:
    """Whether a string of digits passes the Luhn check (the check digit of payment cards)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(match: re.Match[str]) -> str | None:
    if not _apart(match, "-") or _part_of_id(match.string, match.start(), match.end()):
        return None
    digits = re.sub(r"\D", "", match.group(0))
    if not 13 <= len(digits) <= 19 or len(set(digits)) == 1 or not luhn_ok(digits):
        return None
    return placeholder("CARD")


# -- phone numbers ---------------------------------------------------------------------------------
# Candidate texts: seven digits with at most separators between them. Only these reach phonenumbers.
_PHONE_HINT = re.compile(r"\d(?:[\s().\-/]{0,3}\d){6}")
# A mainland Chinese mobile number, bare or grouped 3-4-4 (phonenumbers needs region CN for the bare form).
_CN_MOBILE = re.compile(r"(?<![\d])(?:(?:\+|00)86[\s\-]?)?1[3-9]\d(?:[\s\-]?\d{4}){2}(?!\d)")
# Words right before a number that make it an order, invoice or tracking number, not a phone number.
_NOT_PHONE_BEFORE = re.compile(
    r"(?:order|invoice|tracking|ref(?:erence)?|item|sku|model|part|serial|isbn(?:-1[03])?|no\.?|number|#|订单|单号|编号)"
    r"[\s:#.号：]*$",
    re.IGNORECASE,
)
# Dates and year ranges that phonenumbers' POSSIBLE leniency would accept ("2023-05-12", "12.05.2023 14:30").
_DATE = re.compile(r"[12]\d{3}\s*[\-–/]\s*[12]\d{3}|\d{4}[\-/.]\d{1,2}[\-/.]\d{1,2}|\d{1,2}[\-/.]\d{1,2}[\-/.]\d{2,4}")
#: Regions whose national formats are recognised without a leading "+country code". Numbers written
#: without "+" need 10 digits at least (area code included): 7-digit local numbers are left alone,
#: since year ranges, ISBNs and prices look the same.
PHONE_REGIONS = ("US", "GB", "CN")


def _phone_spans(text: str, regions: Sequence[str]) -> list[tuple[int, int]]:
    import phonenumbers

    spans = [m.span() for m in _CN_MOBILE.finditer(text)]
    for region in regions:
        matcher = phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE)
        spans.extend((m.start, m.end) for m in matcher)
    kept = []
    for start, end in spans:
        letter = re.search(r"[^\W\d_]", text[start:end])  # an extension ("x12", "ext. 3") or a size ("1680x1050")
        end = start + letter.start() if letter else end
        raw = text[start:end].rstrip(" .-/")
        end = start + len(raw)
        digits = sum(ch.isdigit() for ch in raw)
        grouped = raw.startswith("+") or "(" in raw or bool(re.search(r"\d[\s.\-]\d", raw))
        if digits < 10 and not raw.startswith("+") or _DATE.search(raw) or _part_of_id(text, start, end):
            continue
        if not grouped and not _CN_MOBILE.fullmatch(raw) and digits != 11:
            continue  # a bare run of digits is an id more often than a phone number
        kept.append((start, end))
    return merge_spans(kept)


def _part_of_id(text: str, start: int, end: int) -> bool:
    """Whether the digits at ``text[start:end]`` continue a word ("1Z999AA10123456784") or follow
    a word that makes them an order, invoice or tracking number."""
    before, after = text[max(0, start - 2) : start], text[end : end + 1]
    if re.search(r"[A-Za-z0-9][\-/]?$", before) or re.match(r"[A-Za-z0-9克元块件个斤米]", after):
        return True  # glued to letters or digits: a model, part or tracking number
    return bool(_NOT_PHONE_BEFORE.search(text[max(0, start - 12) : start]))


# -- street addresses ------------------------------------------------------------------------------
_STREET_TYPES = (
    "Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Way|Terrace|"
    "Close|Crescent|Highway|Hwy|Parkway|Pkwy|Square|Sq"
)
# "<number> <Capitalised words> <street type>", e.g. "221B Baker Street", "1600 Pennsylvania Ave NW".
_ADDRESS_EN = re.compile(
    rf"\d{{1,5}}[A-Za-z]?\s+(?:[A-Z][A-Za-z'\-]+\.?\s+){{1,4}}(?:{_STREET_TYPES})\b\.?"
    r"(?:\s+(?:N|S|E|W|NE|NW|SE|SW)\b)?(?:,?\s+(?:Apt|Suite|Unit|Flat)\.?\s*#?\w+)?"
)
# "…路/街/大道/巷/弄 <number> 号 [<number> 室/楼]", e.g. "上海市南京东路100号3楼".
_ADDRESS_ZH = re.compile(
    r"[\u4e00-\u9fff]{1,10}(?:路|街|大道|大街|巷|弄|胡同)\s*\d{1,5}(?:[\-之]\d{1,4})?\s*号"
    r"(?:\s*\d{1,5}\s*(?:室|楼|层|单元|幢|栋))*"
)

def _address(match: re.Match[str]) -> str | None:
    start = match.start()
    return None if start and match.string[start - 1].isalnum() else placeholder("ADDRESS")


_Replacer = Callable[[re.Match[str]], "str | None"]
# (kind, must-contain test, pattern, replacement or None for "always the placeholder")
_DETECTORS: list[tuple[str, Callable[[str], bool], re.Pattern[str], _Replacer | None]] = [
    ("URL", lambda t: "://" in t or "www." in t or "WWW." in t, _URL, _url),
    ("EMAIL", lambda t: "@" in t, _EMAIL, None),
    ("IP", lambda t: "." in t, _IPV4, _ipv4),
    ("IP", lambda t: "::" in t or t.count(":") >= 5, _IPV6, _ipv6),
    ("CARD", lambda t: True, _CARD, _card),
]


_DIGIT = re.compile(r"\d")


def scrub_text(text: str, counts: Counter[str] | None = None, *, phone_regions: Sequence[str] = PHONE_REGIONS) -> str:
    """``text`` with personal data replaced by typed placeholders; adds what was found to ``counts``.

    Examples
    --------
    >>> scrub_text("Mail jo@example.com or call +44 20 7946 0958, order 12345678")
    'Mail <EMAIL> or call <PHONE>, order 12345678'
    """
    if not isinstance(text, str) or not text:
        return text
    counts = counts if counts is not None else Counter()
    has_digits = _DIGIT.search(text) is not None
    for kind, hint, pattern, replace in _DETECTORS:
        if kind in ("IP", "CARD") and not has_digits:
            continue
        if not hint(text):
            continue
        text = _sub(text, pattern, kind, replace, counts)
    if has_digits and _PHONE_HINT.search(text):
        spans = _phone_spans(text, phone_regions)
        for start, end in reversed(spans):
            text = text[:start] + placeholder("PHONE") + text[end:]
        counts["PHONE"] += len(spans)
    if has_digits:
        text = _sub(text, _ADDRESS_EN, "ADDRESS", _address, counts)
        if "号" in text:
            text = _sub(text, _ADDRESS_ZH, "ADDRESS", None, counts)
    return text


def _sub(text: str, pattern: re.Pattern[str], kind: str, replace: _Replacer | None, counts: Counter[str]) -> str:
    def one(match: re.Match[str]) -> str:
        out = placeholder(kind) if replace is None else replace(match)
        if out is None:
            return match.group(0)
        counts[kind] += 1
        return out

    return pattern.sub(one, text)


def scrub_texts(
    texts: Iterable[str], *, names: NameScrubber | None = None, phone_regions: Sequence[str] = PHONE_REGIONS
) -> tuple[list[str], dict[str, int]]:
    """Scrub many texts.

    Parameters
    ----------
    texts : iterable of str
        Review or browsing texts; non-strings (missing values) pass through unchanged.
    names : NameScrubber or None
        Also replace names of people by ``<PERSON>`` (needs the ``privacy`` extra).
    phone_regions : sequence of str
        Regions whose national phone formats (without "+country code") are recognised.

    Returns
    -------
    (list of str, dict)
        The scrubbed texts in input order, and the number of replacements per kind
        (``{"EMAIL": 3, "PHONE": 1, ...}``, every kind of :data:`SCRUB_KINDS` present, 0 if none).
    """
    counts: Counter[str] = Counter()
    out = [scrub_text(t, counts, phone_regions=phone_regions) for t in texts]
    if names is not None:
        out = names.scrub(out, counts)
    kinds = SCRUB_KINDS + (("PERSON",) if names is not None else ())
    return out, {k: int(counts.get(k, 0)) for k in kinds}


def scrub_documents(docs: pd.DataFrame, *, names: NameScrubber | None = None) -> tuple[pd.DataFrame, dict[str, int]]:
    """Scrub the ``text`` column of a documents table (``ingest.documents.build_documents``'s output).

    Returns a copy with the text replaced and the counts per kind; other columns are unchanged.
    """
    texts, counts = scrub_texts(docs[schema.TEXT].tolist(), names=names)
    out = docs.copy()
    out[schema.TEXT] = pd.Series(texts, index=docs.index, dtype=docs[schema.TEXT].dtype)
    return out, counts
