"""Which review is fit to quote: readable (not shouting, not noise, a sensible length) and not a complaint.

Segment cards quote one review per segment as its example (:mod:`topicprofile.segments.cards`); the
fit keeps each customer's most quotable review (:class:`~topicprofile.text.corpus.CountedCorpus`)
by :func:`quote_rank`. The complaint test is a word list (English and Chinese) for texts without a
rating; with ratings, a low rating says it better (:func:`low_ratings`).
"""

from __future__ import annotations

import math
import re
import string

import numpy as np

__all__ = [
    "MAX_QUOTE_WORDS",
    "MIN_QUOTE_WORDS",
    "count_words",
    "is_readable",
    "low_ratings",
    "mentions",
    "quote_rank",
    "sounds_negative",
]

#: A quotable review has at least this many words ...
MIN_QUOTE_WORDS = 5
#: ... and at most this many (longer ones are cut to a snippet, and rarely representative).
MAX_QUOTE_WORDS = 60
#: At least this share of its non-space characters are letters (not digits, punctuation, symbols, markup).
MIN_LETTER_SHARE = 0.75
#: More than this share of its cased letters in capitals is shouting (checked from 10 cased letters on).
MAX_CAPITALS_SHARE = 0.5

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_NEGATIVE_WORDS = frozenset(
    {
        "awful",
        "terrible",
        "horrible",
        "worst",
        "bad",
        "poor",
        "poorly",
        "disappoint",
        "disappoints",
        "disappointed",
        "disappointing",
        "disappointment",
        "waste",
        "wasted",
        "wastes",
        "useless",
        "junk",
        "rubbish",
        "garbage",
        "broke",
        "broken",
        "breaks",
        "defective",
        "faulty",
        "flimsy",
        "overpriced",
        "refund",
        "refunded",
        "return",
        "returned",
        "returning",
        "complain",
        "complained",
        "complaint",
        "complaints",
        "boring",
        "dull",
        "tedious",
        "mediocre",
        "bland",
        "predictable",
        "predictably",
        "mess",
        "fail",
        "fails",
        "failed",
        "annoying",
        "leak",
        "leaks",
        "leaked",
        "leaking",
        "ripped",
        "cheaply",
        "unfortunately",
        "sadly",
    }
)
_NEGATIVE_PHRASES = re.compile(
    r"stopped working|n'?t work|never again|not worth|not (?:good|great|recommend)|would not recommend"
)
_WORD = re.compile(r"[a-z']+")
# deletion tables: counting characters of a kind as the length a translate() removes (C speed)
_UPPERCASE = string.ascii_uppercase + "".join(map(chr, range(0xC0, 0xDF)))
_NO_SPACE = str.maketrans("", "", string.whitespace + "\u00a0\u3000")
_NO_NOISE = str.maketrans("", "", string.digits + string.punctuation + "\u3001\u3002\uff01\uff0c\uff1f")
_NO_UPPER = str.maketrans("", "", _UPPERCASE)
_NO_LOWER = str.maketrans("", "", _UPPERCASE.lower())
_ASCII_SPACE = string.whitespace.encode()
_ASCII_NOISE = (string.digits + string.punctuation).encode()
_ASCII_UPPER = string.ascii_uppercase.encode()
_ASCII_LOWER = string.ascii_lowercase.encode()
#: Characters looked at for letters and capitals: a quote shows at most 160.
_HEAD = 240
_NEGATIVE_ZH = re.compile(
    r"很差|太差|质量差|差评|差劲|不好|失望|退货|退款|垃圾|糟糕|坏了|后悔|不值|难用|不满意|太慢|太贵|骗"
)


def count_words(text: str) -> int:
    """Whitespace words, or for Chinese (no spaces) one word per two characters."""
    return max(len(text.split()), len(_CJK.findall(text)) // 2)


def is_readable(text: str) -> bool:
    """A sensible length (:data:`MIN_QUOTE_WORDS` to :data:`MAX_QUOTE_WORDS`), mostly letters and not in
    capitals (Latin letters; judged on the first characters, the ones a quote shows)."""
    if not MIN_QUOTE_WORDS <= count_words(text) <= MAX_QUOTE_WORDS:
        return False
    head = text[:_HEAD]
    if head.isascii():  # the common case, on bytes: several times faster
        visible = head.encode().translate(None, _ASCII_SPACE)
        letters = len(visible.translate(None, _ASCII_NOISE))
        upper = len(visible) - len(visible.translate(None, _ASCII_UPPER))
        lower = len(visible) - len(visible.translate(None, _ASCII_LOWER))
    else:
        visible = head.translate(_NO_SPACE)
        letters = len(visible.translate(_NO_NOISE))
        upper = len(visible) - len(visible.translate(_NO_UPPER))
        lower = len(visible) - len(visible.translate(_NO_LOWER))
    if letters < MIN_LETTER_SHARE * len(visible):
        return False
    cased = upper + lower
    return cased < 10 or upper <= MAX_CAPITALS_SHARE * cased


def sounds_negative(text: str) -> bool:
    """Whether the text has a complaint word (English or Chinese): a rough test for unrated reviews."""
    lowered = text.lower()
    return (
        not _NEGATIVE_WORDS.isdisjoint(_WORD.findall(lowered))
        or bool(_NEGATIVE_PHRASES.search(lowered))
        or (not text.isascii() and bool(_NEGATIVE_ZH.search(text)))
    )


def mentions(text: str, label: str) -> int:
    """How many of an interest label's words the text names (``"outdoor · hike · tent"``: "hiking" names
    "hike", "tents" names "tent", "comedies" names "comedy"; Chinese words as substrings)."""
    found = 0
    lowered = text.lower()
    words = re.findall(r"\w+", lowered)
    for word in {w for part in label.lower().split(" · ") for w in re.split(r"[\s_]+", part) if w}:
        if _CJK.search(word):
            found += word in lowered
            continue
        stems = {word, word[:-1] + "i" if word.endswith("y") else word}
        if word.endswith("e") and len(word) >= 4:
            stems.add(word[:-1])
        found += any(len(stem) >= 3 and w.startswith(stem) for w in words for stem in stems)
    return found


def quote_rank(text: str, rating: float | None = None) -> tuple[bool, bool, float]:
    """Sort key of a review as a quote, larger is better: readable, then no complaint words, then rating."""
    rated = rating is not None and not math.isnan(rating)
    return is_readable(text), not sounds_negative(text), float(rating) if rated else -math.inf


def low_ratings(ratings: np.ndarray) -> np.ndarray:
    """Which ratings are low: in the bottom 40% of the scale (1 and 2 of 1-5 stars); NaN is not low.

    Ratings up to 5 are read on the 1-5 star scale; larger ones on the range seen.
    """
    ratings = np.asarray(ratings, dtype="float64")
    seen = ratings[~np.isnan(ratings)]
    if seen.size == 0:
        return np.zeros(ratings.shape, dtype=bool)
    low, high = (min(seen.min(), 1.0), 5.0) if seen.max() <= 5 else (seen.min(), seen.max())
    cut = low + 0.4 * (high - low)
    with np.errstate(invalid="ignore"):
        return ratings < cut
