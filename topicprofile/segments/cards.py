"""Segment cards: size, RFM medians and mix, top interests with lift, a short name, example reviews.

Built from the segmented customer table (:func:`~topicprofile.segments.cluster.fit_segments`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from topicprofile import schema
from topicprofile.behavior import AVG_ORDER_VALUE, FREQUENCY, MONETARY, RECENCY_DAYS, RFM_SEGMENT
from topicprofile.errors import DataValidationError
from topicprofile.schema import SEGMENT_ID
from topicprofile.segments.columns import require_columns as _require
from topicprofile.segments.join import NO_ORDERS_SEGMENT
from topicprofile.segments.names import (
    MIXED,
    counted,
    distinct_names,
    distinctive_interests,
    percentile,
    short_interest,
    value_traits,
)
from topicprofile.tag.table import CustomerTags, tags_of_table
from topicprofile.text.quotes import (
    MIN_QUOTE_WORDS,
    count_words,
    is_readable,
    low_ratings,
    mentions,
    sounds_negative,
)

__all__ = ["MIN_EXAMPLE_WORDS", "name_segment", "segment_cards", "value_label"]


def segment_cards(
    profiles: pd.DataFrame,
    *,
    tags: CustomerTags | None = None,
    reviews: pd.DataFrame | None = None,
    n_interests: int = 3,
    n_examples: int = 2,
    min_interest_share: float = 0.1,
    min_lift: float = 1.2,
    max_p_value: float = 0.05,
    min_support: int = 5,
    snippet_chars: int = 160,
) -> list[dict[str, Any]]:
    """One card per segment: size, RFM medians and mix, top interests with lift, name, examples.

    Input: a customer table with ``customer_id``, ``segment_id``, ``recency_days``, ``frequency``,
    ``monetary``, ``avg_order_value`` and ``rfm_segment`` (as :func:`fit_segments` makes;
    ``n_documents`` is used when present), and the customers' interest tags as numbers (``tags``;
    without them they are read back from the table's ``interest_tags`` and ``interest_scores``,
    :func:`~topicprofile.tag.table.tags_of_table`).

    Card keys: ``segment_id``, ``name`` (see below), ``value`` (value part of the name, see
    :func:`value_label`), ``interest`` (the naming interest, or None), ``size``, ``share`` (of all
    customers), ``n_with_orders``, ``n_with_text``, ``rfm_medians`` (over the segment's customers
    with orders; None when it has none), ``rfm_segment_mix`` (``{rfm_segment: share}``, largest
    first), ``top_interests`` (``[{"interest", "share", "lift", "p_value"}]``: share of the segment
    tagged with it, lift = that share / the share in the whole base, and the chance of at least that
    many tagged customers in a random group of the segment's size; interests tagged on at least
    ``min_interest_share`` of the segment, highest lift first) and ``examples`` (``[{"customer_id",
    "text"}]``, cut to ``snippet_chars``). JSON-ready.

    The name tells the segment apart (:mod:`topicprofile.segments.names`): its value part, then the
    listed interest of highest lift that is *distinctive* (lift >= ``min_lift``, carried by at least
    ``min_support`` customers of the segment, hypergeometric p-value <= ``max_p_value``), or else
    the value median farthest from the base's ("Lapsed · one-time buyers"); names that repeat take
    the next trait, then the median orders and spend, then a number. "mixed interests" is left for a
    segment that nothing sets apart (without any tags in the base: the value part alone).

    The examples are reviews of the segment's customers most strongly tagged with its interest (the
    naming one, else its first listed one), readable ones first: of a sensible length, mostly
    letters, not in capitals (:func:`~topicprofile.text.quotes.is_readable`), and not complaints (a
    low rating when ``reviews`` has a ``rating`` column, complaint words otherwise).

    Parameters
    ----------
    profiles : pandas.DataFrame
        The segmented customer table.
    tags : CustomerTags, optional
        The customers' tags (customers of the table missing from it carry none).
    reviews : pandas.DataFrame, optional
        ``customer_id`` and ``text`` columns (``rating`` used when present); no examples without it.
    n_interests, n_examples : int
        Interests and example snippets per card.
    min_interest_share : float
        Minimum share of the segment an interest needs to be listed (avoids a lift of 10 from one customer).
    min_lift, max_p_value, min_support : float, float, int
        What makes an interest distinctive enough to name the segment after it. The p-value guard
        keeps chance lifts of small segments (1.3 from a handful of customers) out of the names.
    snippet_chars : int
        Longest snippet.

    Returns
    -------
    list of dict
        Cards ordered by segment id.
    """
    columns = (schema.CUSTOMER_ID, SEGMENT_ID, RECENCY_DAYS, FREQUENCY, MONETARY, RFM_SEGMENT)
    _require(profiles, columns if tags is not None else (*columns, schema.INTEREST_TAGS), "customer table")
    if profiles.empty:
        raise DataValidationError("customer table: no customers, so no segment cards.")
    profiles = profiles.reset_index(drop=True)
    aligned = (tags if tags is not None else tags_of_table(profiles)).reindex(
        profiles[schema.CUSTOMER_ID].astype(str)
    )
    tagged = pd.DataFrame(aligned.tagged, columns=aligned.labels)
    carried = sorted(label for label in aligned.labels if label.strip() and tagged[label].any())
    carriers, scores = tagged[carried], pd.DataFrame(aligned.scores, columns=aligned.labels)[carried]
    base_share = carriers.mean(axis=0)
    texts = _review_texts(reviews)
    cards, traits = [], []
    for segment_id, members in profiles.groupby(SEGMENT_ID, sort=True):
        seg_share = carriers.loc[members.index].mean(axis=0)
        listed = seg_share[seg_share >= min_interest_share]
        lift = listed / base_share[listed.index]
        ranked = sorted(listed.index, key=lambda label: (-lift[label], -listed[label], label))[:n_interests]
        counts = carriers.loc[members.index, ranked].sum(axis=0)
        top = [
            {
                "interest": label,
                "share": round(float(listed[label]), 3),
                "lift": round(float(lift[label]), 2),
                "p_value": _over_representation(int(counts[label]), carriers[label], len(members)),
            }
            for label in ranked
        ]
        distinctive = distinctive_interests(top, counts.to_dict(), min_lift=min_lift, max_p_value=max_p_value,
                                            min_support=min_support)  # fmt: skip
        interest = distinctive[0] if distinctive else None
        value = value_label(members, profiles)
        traits.append(
            [short_interest(label) for label in distinctive] + value_traits(members, profiles, value)
        )
        buyers = members[members[RFM_SEGMENT] != NO_ORDERS_SEGMENT]
        mix = members[RFM_SEGMENT].value_counts(normalize=True)
        focus = interest or (top[0]["interest"] if top else None)
        cards.append(
            {
                SEGMENT_ID: int(segment_id),
                "name": "",
                "value": value,
                "interest": interest,
                "size": len(members),
                "share": round(len(members) / len(profiles), 4),
                "n_with_orders": len(buyers),
                "n_with_text": int((members[schema.N_DOCUMENTS] > 0).sum())
                if schema.N_DOCUMENTS in members
                else None,
                "rfm_medians": _medians(buyers),
                "rfm_segment_mix": {str(k): round(float(v), 3) for k, v in mix.items()},
                "top_interests": top,
                "examples": _examples(members, focus, scores, texts, n=n_examples, chars=snippet_chars),
            }
        )
    names = distinct_names([c["value"] for c in cards], traits, tagged=bool(len(carriers.columns)))
    for card, name in zip(cards, names, strict=True):
        card["name"] = name
    _deduplicate_names(cards)
    return cards


def name_segment(members: pd.DataFrame, base: pd.DataFrame, *, interest: str | None = None) -> str:
    """A short segment name, value part and interest: ``"High value · outdoor"``.

    Parameters
    ----------
    members, base : pandas.DataFrame
        The segment's customers and all customers (``recency_days``, ``frequency``, ``monetary``,
        ``rfm_segment``).
    interest : str, optional
        The segment's interest label (its first term before ``" · "`` is used); None gives
        ``"mixed interests"``.
    """
    return _compose_name(value_label(members, base), interest)


def value_label(members: pd.DataFrame, base: pd.DataFrame) -> str:
    """The value part of a segment's name, from its RFM medians relative to the base.

    Each median of the segment's customers with orders is placed in the distribution of all customers
    with orders as a mid-rank percentile (0..1; for recency, 1 = most recent). The first rule that
    holds names the segment:

    1. half or more of the segment has no orders: ``"No orders yet"``;
    2. recency ≥ 0.5 and frequency ≥ 0.7 and monetary ≥ 0.7: ``"High value"``;
    3. recency < 0.4 and frequency > 0.5: ``"At risk"`` (bought often, not lately);
    4. recency < 0.4: ``"Lapsed"``;
    5. frequency ≤ 0.5 and recency ≥ 0.6: ``"New"``;
    6. frequency > 0.5: ``"Loyal"``;
    7. otherwise ``"Occasional"``.

    (Frequency exactly 0.5 is the middle of the base, e.g. every customer ordered once: not loyal.)
    """
    buyers = members[members[RFM_SEGMENT] != NO_ORDERS_SEGMENT]
    base_buyers = base[base[RFM_SEGMENT] != NO_ORDERS_SEGMENT]
    if len(buyers) * 2 <= len(members) or base_buyers.empty:
        return "No orders yet"
    r = 1.0 - percentile(buyers[RECENCY_DAYS].median(), base_buyers[RECENCY_DAYS])
    f = percentile(buyers[FREQUENCY].median(), base_buyers[FREQUENCY])
    m = percentile(buyers[MONETARY].median(), base_buyers[MONETARY])
    if r >= 0.5 and f >= 0.7 and m >= 0.7:
        return "High value"
    if r < 0.4:
        return "At risk" if f > 0.5 else "Lapsed"
    if f <= 0.5 and r >= 0.6:
        return "New"
    return "Loyal" if f > 0.5 else "Occasional"


def _compose_name(value: str, interest: str | None) -> str:
    return f"{value} · {short_interest(interest) if interest else MIXED}"


def _deduplicate_names(cards: list[dict[str, Any]]) -> None:
    """Names that repeat get the segment's median orders and spend, then a number if still not unique."""
    counts = pd.Series([c["name"] for c in cards]).value_counts()
    for card in cards:
        medians = card["rfm_medians"]
        if counts[card["name"]] > 1 and medians:
            card["name"] = (
                f"{card['name']} ({counted(medians[FREQUENCY], 'order', 'g')}, {medians[MONETARY]:,.0f} spent)"
            )
    seen: dict[str, int] = {}
    for card in cards:
        n = seen[card["name"]] = seen.get(card["name"], 0) + 1
        if n > 1:
            card["name"] = f"{card['name']} #{n}"


def _over_representation(count: int, tagged: pd.Series, n_members: int) -> float:
    """P(at least ``count`` tagged customers in a random draw of ``n_members``): hypergeometric tail."""
    from scipy.stats import hypergeom

    return round(float(hypergeom.sf(count - 1, len(tagged), int(tagged.sum()), n_members)), 6)


def _medians(buyers: pd.DataFrame) -> dict[str, float] | None:
    if buyers.empty:
        return None
    columns = [c for c in (RECENCY_DAYS, FREQUENCY, MONETARY, AVG_ORDER_VALUE) if c in buyers]
    return {c: round(float(buyers[c].median()), 2) for c in columns}


#: A review needs at least this many words to be quoted as a segment's example.
MIN_EXAMPLE_WORDS = MIN_QUOTE_WORDS
#: Customers (the most strongly tagged with the card's interest) whose reviews are looked at for its examples.
_EXAMPLE_LOOKS = 50


def _review_texts(reviews: pd.DataFrame | None) -> dict[str, list[tuple[str, bool]]]:
    """Customer -> their quotable reviews as ``(text, low rating)``, in input order."""
    if reviews is None:
        return {}
    _require(reviews, (schema.CUSTOMER_ID, schema.TEXT), "reviews")
    frame = reviews.dropna(subset=[schema.TEXT])
    text = frame[schema.TEXT].astype(str)
    rating = pd.to_numeric(frame[schema.RATING], errors="coerce") if schema.RATING in frame else None
    low = low_ratings(rating.to_numpy()) if rating is not None else np.zeros(len(frame), dtype=bool)
    keep = text.map(count_words).to_numpy() >= MIN_EXAMPLE_WORDS
    pairs = pd.Series(list(zip(text[keep], low[keep], strict=True)), dtype=object)
    return (
        pairs.groupby(frame[schema.CUSTOMER_ID].astype(str)[keep].to_numpy(), sort=False).agg(list).to_dict()
    )


def _examples(
    members: pd.DataFrame, interest: str | None, scores: pd.DataFrame, texts: dict[str, list[tuple[str, bool]]],
    *, n: int, chars: int,
) -> list[dict[str, str]]:  # fmt: skip
    """Reviews of the :data:`_EXAMPLE_LOOKS` customers most strongly tagged with ``interest`` (all
    members without one): good quotes first (:func:`_flaws`), then those naming the interest's words
    (:func:`~topicprofile.text.quotes.mentions`), then the most strongly tagged writer."""
    if not texts or n <= 0:
        return []
    ids = members[schema.CUSTOMER_ID].astype(str).to_numpy()
    strength = scores.loc[members.index, interest].to_numpy() if interest else np.zeros(len(members))
    with_text = np.array([customer in texts for customer in ids], dtype=bool)
    tagged = with_text & (strength > 0)
    pool = np.flatnonzero(tagged if tagged.any() else with_text)
    order = sorted(pool, key=lambda i: (-strength[i], ids[i]))[:_EXAMPLE_LOOKS]
    seen = []
    for rank, i in enumerate(order):
        for text, low in texts[ids[i]]:
            seen.append((_flaws(text, low), -mentions(text, interest or ""), rank, ids[i], text))
    best: dict[str, str] = {}
    for *_, customer, text in sorted(seen):
        if customer not in best:
            best[customer] = text
        if len(best) == n:
            break
    return [
        {schema.CUSTOMER_ID: customer, schema.TEXT: _snippet(text, chars)} for customer, text in best.items()
    ]


def _flaws(text: str, low_rating: bool) -> int:
    """How bad a quote the review is: unreadable 4, low rating 2, complaint words 1 (summed; 0 is good)."""
    return 4 * (not is_readable(text)) + 2 * bool(low_rating) + int(sounds_negative(text))


def _snippet(text: str, chars: int) -> str:
    text = " ".join(str(text).split())
    if len(text) <= chars:
        return text
    cut = text[: chars - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:.") + "…"
