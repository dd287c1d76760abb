"""Segment names that tell segments apart: the value part, then what distinguishes the segment most.

A segment's *traits* are what sets it apart from the whole base, best first: the interests that are
over-represented in it (highest lift first, :func:`distinctive_interests`), then the value medians that
lie far from the base's (:func:`value_traits`). Its name is its value part and its first trait
("High value · audio", "Lapsed · one-time buyers"); names that still repeat take the next trait
(:func:`distinct_names`), and "mixed interests" is left for a segment nothing sets apart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from topicprofile.behavior import AVG_ORDER_VALUE, FREQUENCY, MONETARY, RECENCY_DAYS, RFM_SEGMENT
from topicprofile.segments.join import NO_ORDERS_SEGMENT

__all__ = [
    "MIN_VALUE_CONTRAST",
    "MIXED",
    "counted",
    "distinct_names",
    "distinctive_interests",
    "percentile",
    "short_interest",
    "value_traits",
]

#: The name's second part when nothing distinguishes the segment.
MIXED = "mixed interests"
#: A value median is a trait when its percentile in the base is at least this far from the middle (0.5).
MIN_VALUE_CONTRAST = 0.15

#: dimension -> (phrase when high, phrase when low); recency is read as "how recent" (high = recent).
_VALUE_PHRASES = {
    RECENCY_DAYS: ("recent buyers", "long since last order"),
    FREQUENCY: ("frequent buyers", "few orders"),
    MONETARY: ("big spenders", "small spenders"),
    AVG_ORDER_VALUE: ("big baskets", "small baskets"),
}
#: What each value part already says (a trait on one of these dimensions would repeat it).
_SAID = {
    "High value": {RECENCY_DAYS, FREQUENCY, MONETARY},
    "At risk": {RECENCY_DAYS, FREQUENCY},
    "Lapsed": {RECENCY_DAYS},
    "New": {RECENCY_DAYS, FREQUENCY},
    "Loyal": {FREQUENCY},
    "Occasional": {FREQUENCY},
}


def distinctive_interests(
    top: Sequence[Mapping[str, Any]], counts: Mapping[str, int], *, min_lift: float, max_p_value: float,
    min_support: int,
) -> list[str]:  # fmt: skip
    """The labels of the interests that distinguish a segment, highest lift first.

    ``top`` are the card's listed interests (``interest``, ``lift``, ``p_value``, highest lift
    first) and ``counts`` the segment's customers tagged with each: an interest distinguishes the
    segment when its lift is at least ``min_lift``, at least ``min_support`` of the segment carry it
    and chance would rarely put that many there (``p_value`` at most ``max_p_value``).
    """
    return [
        t["interest"]
        for t in top
        if t["lift"] >= min_lift
        and t["p_value"] <= max_p_value
        and counts.get(t["interest"], 0) >= min_support
    ]


def value_traits(members: pd.DataFrame, base: pd.DataFrame, value: str) -> list[str]:
    """The segment's value medians that lie far from the base's, farthest first, as phrases.

    Each median of the segment's customers with orders is placed among all customers with orders
    (mid-rank percentile, recency turned round so that 1 is most recent); one at least
    :data:`MIN_VALUE_CONTRAST` from the middle is a trait, unless the value part already says it
    ("Lapsed" says recency). A frequency whose median is one order reads "one-time buyers".
    """
    buyers = members[members[RFM_SEGMENT] != NO_ORDERS_SEGMENT]
    base_buyers = base[base[RFM_SEGMENT] != NO_ORDERS_SEGMENT]
    if buyers.empty or base_buyers.empty or value not in _SAID:
        return []
    found = []
    for column, (high, low) in _VALUE_PHRASES.items():
        if column in _SAID[value] or column not in buyers or column not in base_buyers:
            continue
        median = float(buyers[column].median())
        at = percentile(median, base_buyers[column])
        if column == RECENCY_DAYS:
            at = 1.0 - at
        if abs(at - 0.5) >= MIN_VALUE_CONTRAST:
            phrase = high if at > 0.5 else low
            if column == FREQUENCY and median == 1:
                phrase = "one-time buyers"
            found.append((-abs(at - 0.5), phrase))
    return [phrase for _, phrase in sorted(found)]


def distinct_names(values: Sequence[str], traits: Sequence[Sequence[str]], *, tagged: bool) -> list[str]:
    """``"<value> · <trait>"`` per segment, more traits (``", "``-joined) where names repeat.

    Without traits the name is ``"<value> · mixed interests"`` (``tagged``: the base has interest
    tags) or the value part alone. Names the traits cannot tell apart are returned repeated.
    """
    depth = [1] * len(values)

    def name(i: int) -> str:
        if traits[i]:
            return f"{values[i]} · {', '.join(traits[i][: depth[i]])}"
        return f"{values[i]} · {MIXED}" if tagged else values[i]

    names = [name(i) for i in range(len(values))]
    while True:
        counts = Counter(names)
        grow = [i for i, n in enumerate(names) if counts[n] > 1 and depth[i] < len(traits[i])]
        if not grow:
            return names
        for i in grow:
            depth[i] += 1
            names[i] = name(i)


def counted(n: float, noun: str, spec: str = ",") -> str:
    """``n`` formatted with ``spec`` and the English ``noun``, plural unless it reads 1: "1 order", "2 orders"."""
    text = format(n, spec)
    return f"{text} {noun if text in ('1', '1.0') else noun + 's'}"


def short_interest(label: str) -> str:
    """An interest label's first term: ``"outdoor · hike · tent"`` -> ``"outdoor"``."""
    return label.split(" · ")[0].strip()


def percentile(value: float, values: pd.Series) -> float:
    """Mid-rank percentile of ``value`` among ``values`` (0..1)."""
    v = values.to_numpy(dtype="float64")
    return float(((v < value).sum() + 0.5 * (v == value).sum()) / len(v))
