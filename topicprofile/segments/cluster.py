"""Customer segments: KMeans on fused vectors, a card and a short name per segment, saved as JSON.

The stage in five calls (the profiler composes them)::

    table, cards = fit_segments(profiles, rfm, fuser=FeatureFuser(), segmenter=CustomerSegmenter())
    table = segment_customers(new_profiles, new_rfm, fuser=fuser, segmenter=segmenter, cards=cards)
    write_segments(model_dir, fuser=fuser, segmenter=segmenter, cards=cards)
    fuser, segmenter, cards = load_segments(model_dir)
    table, cards = rename_segments(relabelled_table, cards)      # after topics were renamed

``table`` is :func:`~topicprofile.segments.fuse.join_behavior`'s table (profile columns + RFM columns, one
row per customer with text and/or orders) plus ``segment_id`` and ``segment_name``.

Choosing the number of segments
-------------------------------
For each k in ``k_range`` (both ends included) KMeans is fitted with ``n_init=10`` and the seed; the
silhouette (on a seeded sample of at most 5,000 customers) scores it. The k with the highest
silhouette wins; scores within 0.001 of the best count as ties and the smallest such k wins. The default
range starts at 4: on the sample shop the best silhouette of all is k=2 (0.46, one-time buyers vs.
repeat buyers), a split the RFM scores already show, while k=5 (0.43) separates top customers, lapsing
repeat buyers, new buyers, lapsed one-off buyers and customers without orders.

Segment ids are ordered by size (0 = largest), so they read the same way on every run.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.cluster import KMeans
from sklearn.exceptions import NotFittedError as _SklearnNotFitted
from sklearn.metrics import pairwise_distances_argmin, silhouette_score
from sklearn.utils.validation import check_array, check_is_fitted
from threadpoolctl import threadpool_limits

from topicprofile import schema
from topicprofile.behavior import AVG_ORDER_VALUE, FREQUENCY, MONETARY, RECENCY_DAYS, RFM_SEGMENT
from topicprofile.errors import ConfigError, DataValidationError, ModelError, NotFittedError
from topicprofile.segments.fuse import BEHAVIOR_COLUMNS, NO_ORDERS_SEGMENT, FeatureFuser, join_behavior, topic_shares
from topicprofile.segments.fuse import require_columns as _require

__all__ = [
    "SEGMENT_ID",
    "SEGMENT_NAME",
    "SEGMENTS_FILE",
    "CustomerSegmenter",
    "fit_segments",
    "load_segment_cards",
    "load_segments",
    "name_segment",
    "rename_segments",
    "segment_cards",
    "segment_customers",
    "value_label",
    "write_segments",
]

logger = logging.getLogger(__name__)

SEGMENT_ID = "segment_id"
SEGMENT_NAME = "segment_name"
SEGMENTS_FILE = "segments.json"
SEGMENTS_FORMAT = 1
_N_INIT = 10
_SILHOUETTE_SAMPLE = 5000
_TIE = 1e-3


class CustomerSegmenter(BaseEstimator):  # type: ignore[misc]
    """KMeans segments of fused customer vectors, the number chosen by silhouette unless given.

    Parameters
    ----------
    n_segments : int or None, default None
        Number of segments; None chooses it in ``k_range`` (see the module docstring).
    k_range : (int, int), default (4, 8)
        Smallest and largest k tried when ``n_segments`` is None, both included.
    random_state : int, default 0
        Seed of KMeans and of the silhouette sample; same input and seed, same segments.

    Attributes
    ----------
    n_segments_ : int
        The number of segments used.
    silhouette_ : float
        Silhouette of the chosen segmentation (-1..1, higher is better separated).
    silhouette_by_k_ : dict of int to float
        Silhouette of every k tried (only the given k when ``n_segments`` is set).
    cluster_centers_ : ndarray, shape (n_segments_, n_features)
        Segment centres, row i = segment i; new customers go to the nearest one.
    labels_ : ndarray of int, shape (n_samples,)
        Segment of each training row.
    segment_sizes_ : ndarray of int
        Training customers per segment (non-increasing).
    n_features_in_ : int

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> X, _ = make_blobs(300, centers=5, cluster_std=0.4, random_state=1)
    >>> CustomerSegmenter(k_range=(2, 8)).fit(X).n_segments_
    5
    """

    def __init__(
        self, *, n_segments: int | None = None, k_range: tuple[int, int] = (4, 8), random_state: int = 0
    ) -> None:
        self.n_segments = n_segments
        self.k_range = k_range
        self.random_state = random_state

    def fit(self, X: Any, y: None = None) -> CustomerSegmenter:
        """Choose k (unless given) and fit KMeans.

        Parameters
        ----------
        X : array-like or DataFrame, shape (n_customers, n_features)
            Fused vectors, e.g. ``fused[fuser.get_feature_names_out()]``; no NaN.
        y : ignored

        Returns
        -------
        self

        Raises
        ------
        ConfigError
            ``n_segments`` or ``k_range`` is invalid.
        DataValidationError
            ``X`` has NaN, or fewer distinct customers than segments.
        """
        candidates = self._candidate_ks()
        X = _as_matrix(X, min_samples=2)
        n_distinct = len(np.unique(X, axis=0))
        usable = [k for k in candidates if k <= n_distinct and (self.n_segments is not None or k < len(X))]
        if not usable:
            raise DataValidationError(
                f"only {n_distinct} distinct customers, too few for {candidates[0]} segments; "
                "add customers or ask for fewer segments (n_segments / --segments)."
            )
        sample = _SILHOUETTE_SAMPLE if len(X) > _SILHOUETTE_SAMPLE else None
        fits: dict[int, KMeans] = {}
        scores: dict[int, float] = {}
        for k in usable:
            # One thread: KMeans sums in a thread-count-dependent order, so this keeps "same input +
            # seed = same segments" true across machines (and is faster on shop-sized data).
            with threadpool_limits(limits=1):
                fits[k] = KMeans(n_clusters=k, n_init=_N_INIT, random_state=self.random_state).fit(X)
            labels = fits[k].labels_
            valid = 2 <= len(np.unique(labels)) < len(X)
            scores[k] = (
                float(silhouette_score(X, labels, sample_size=sample, random_state=self.random_state))
                if valid
                else -1.0
            )
        best = max(scores.values())
        k = min(k for k, s in scores.items() if s >= best - _TIE)
        kmeans = fits[k]
        sizes = np.bincount(kmeans.labels_, minlength=k)
        order = np.argsort(-sizes, kind="stable")  # new id i = old cluster order[i]
        relabel = np.empty(k, dtype=np.int64)
        relabel[order] = np.arange(k)
        self.n_segments_ = int(k)
        self.silhouette_ = scores[k]
        self.silhouette_by_k_ = scores
        self.cluster_centers_ = kmeans.cluster_centers_[order]
        self.labels_ = relabel[kmeans.labels_]
        self.segment_sizes_ = sizes[order]
        self.n_features_in_ = X.shape[1]
        logger.info("segments: k=%d (silhouette %.3f), sizes %s", k, scores[k], self.segment_sizes_.tolist())
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Segment of each row: the nearest segment centre (no refitting)."""
        self._check_fitted()
        X = _as_matrix(X)
        if X.shape[1] != self.n_features_in_:
            raise DataValidationError(
                f"fused vectors have {X.shape[1]} features, the segments were fitted on "
                f"{self.n_features_in_}; "
                "use the same fuser (and topic model) as at fit."
            )
        return pairwise_distances_argmin(X, self.cluster_centers_).astype(np.int64)

    def fit_predict(self, X: Any, y: None = None) -> np.ndarray:
        """``fit(X).labels_``."""
        return self.fit(X).labels_

    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self, "cluster_centers_")
        except _SklearnNotFitted as e:
            raise NotFittedError("this CustomerSegmenter is not fitted yet: call fit() first") from e

    def _candidate_ks(self) -> list[int]:
        if self.n_segments is not None:
            if not _is_int(self.n_segments) or self.n_segments < 2:
                raise ConfigError(
                    f"n_segments must be an integer >= 2 or None (choose), got {self.n_segments!r}."
                )
            return [int(self.n_segments)]
        k_range = self.k_range
        if (
            not isinstance(k_range, Sequence)
            or len(k_range) != 2
            or not all(_is_int(k) for k in k_range)
            or not 2 <= k_range[0] <= k_range[1]
        ):
            raise ConfigError(f"k_range must be two integers 2 <= low <= high, got {k_range!r}.")
        return list(range(int(k_range[0]), int(k_range[1]) + 1))


# -- composing the stage ------------------------------------------------------------------------
def fit_segments(
    profiles: pd.DataFrame | None,
    rfm: pd.DataFrame | None,
    *,
    fuser: FeatureFuser,
    segmenter: CustomerSegmenter,
    reviews: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Fit ``fuser`` and ``segmenter`` (in place) on the customers of both tables; cards and table.

    Parameters
    ----------
    profiles : pandas.DataFrame or None
        Text profiles (:meth:`TopicProfiler.profile`); None without text.
    rfm : pandas.DataFrame or None
        Scored RFM table (:func:`~topicprofile.behavior.compute_rfm`); None without orders.
    fuser, segmenter
        Unfitted estimators carrying the settings; fitted here.
    reviews : pandas.DataFrame, optional
        ``customer_id``, ``text``: example snippets for the cards.

    Returns
    -------
    (pandas.DataFrame, list of dict)
        The segmented customer table (see :func:`segment_customers`) and the segment cards.
    """
    shares = topic_shares(profiles) if profiles is not None else None
    fused = fuser.fit_transform(shares, rfm)
    segmenter.fit(fused[fuser.get_feature_names_out()])
    table = _joined(profiles, rfm, fuser)
    labels = pd.Series(segmenter.labels_, index=fused.index)
    table[SEGMENT_ID] = labels.reindex(table[schema.CUSTOMER_ID].astype(str)).to_numpy()
    cards = segment_cards(table, reviews=reviews)
    table[SEGMENT_NAME] = table[SEGMENT_ID].map({c[SEGMENT_ID]: c["name"] for c in cards})
    return table, cards


def segment_customers(
    profiles: pd.DataFrame | None,
    rfm: pd.DataFrame | None,
    *,
    fuser: FeatureFuser,
    segmenter: CustomerSegmenter,
    cards: Sequence[dict[str, Any]],
) -> pd.DataFrame:
    """Assign customers (new or known) to the fitted segments without refitting.

    Output: :func:`~topicprofile.segments.fuse.join_behavior`'s table (one row per customer of either input,
    sorted by id) plus ``segment_id`` (int) and ``segment_name`` (the name given at fit).
    """
    shares = topic_shares(profiles) if profiles is not None else None
    fused = fuser.transform(shares, rfm)
    table = _joined(profiles, rfm, fuser)
    labels = pd.Series(segmenter.predict(fused[fuser.get_feature_names_out()]), index=fused.index)
    table[SEGMENT_ID] = labels.reindex(table[schema.CUSTOMER_ID].astype(str)).to_numpy()
    names = {int(c[SEGMENT_ID]): str(c["name"]) for c in cards}
    table[SEGMENT_NAME] = table[SEGMENT_ID].map(names).fillna("").astype(str)
    return table


def rename_segments(
    table: pd.DataFrame, cards: Sequence[dict[str, Any]]
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Cards and ``segment_name`` rebuilt after topics were renamed; segments and examples are kept.

    Call it with the relabelled customer table (``interest_tags`` in the new names) after
    :meth:`TopicProfiler.set_topic_labels`: names and interest lists follow the new labels, the
    customers' segments do not change.
    """
    examples = {int(c[SEGMENT_ID]): c.get("examples", []) for c in cards}
    renamed = segment_cards(table)
    for card in renamed:
        card["examples"] = examples.get(card[SEGMENT_ID], [])
    table = table.copy()
    table[SEGMENT_NAME] = table[SEGMENT_ID].map({c[SEGMENT_ID]: c["name"] for c in renamed})
    return table, renamed


def _joined(profiles: pd.DataFrame | None, rfm: pd.DataFrame | None, fuser: FeatureFuser) -> pd.DataFrame:
    if rfm is None:  # a text-only shop still gets the contract's RFM columns, all "no orders"
        rfm = pd.DataFrame(columns=list(BEHAVIOR_COLUMNS), index=pd.Index([], dtype=object))
    return join_behavior(profiles, rfm, n_topics=len(fuser.topic_columns_))


# -- cards and names ----------------------------------------------------------------------------
def segment_cards(
    profiles: pd.DataFrame,
    *,
    reviews: pd.DataFrame | None = None,
    n_interests: int = 3,
    n_examples: int = 2,
    min_interest_share: float = 0.1,
    min_lift: float = 1.2,
    max_p_value: float = 0.01,
    snippet_chars: int = 160,
) -> list[dict[str, Any]]:
    """One card per segment: size, RFM medians and mix, top interests with lift, name, examples.

    Input: a customer table with ``customer_id``, ``segment_id``, ``interest_tags`` (``;``-joined
    labels), ``recency_days``, ``frequency``, ``monetary``, ``avg_order_value`` and ``rfm_segment``
    (as :func:`fit_segments` makes); ``interest_scores`` and ``n_documents`` are used when present.

    Card keys: ``segment_id``, ``name``, ``value`` (value part of the name, see :func:`value_label`),
    ``interest`` (the naming interest: the listed interest of highest lift that is *distinctive*,
    lift >= ``min_lift`` and over-represented beyond chance, hypergeometric p-value <= ``max_p_value``;
    else None and the name says "mixed interests"; without any tags in the base the name is the value
    part alone), ``size``, ``share`` (of all customers), ``n_with_orders``,
    ``n_with_text``, ``rfm_medians`` (over the segment's customers with orders; None when it has
    none), ``rfm_segment_mix`` (``{rfm_segment: share}``, largest first), ``top_interests``
    (``[{"interest", "share", "lift", "p_value"}]``: share of the segment tagged with it, lift = that
    share / the share in the whole base, and the chance of at least that many tagged customers in a
    random group of the segment's size; interests tagged on at least ``min_interest_share`` of the segment,
    highest lift first) and ``examples`` (``[{"customer_id", "text"}]``: a review of the customers
    most strongly tagged with the naming interest, cut to ``snippet_chars``). JSON-ready.

    Parameters
    ----------
    profiles : pandas.DataFrame
        The segmented customer table.
    reviews : pandas.DataFrame, optional
        ``customer_id`` and ``text`` columns; no examples without it.
    n_interests, n_examples : int
        Interests and example snippets per card.
    min_interest_share : float
        Minimum share of the segment an interest needs to be listed (avoids a lift of 10 from one customer).
    min_lift, max_p_value : float
        What makes an interest distinctive enough to name the segment after it. The p-value guard
        keeps chance lifts of small segments (1.3 from a handful of customers) out of the names.
    snippet_chars : int
        Longest snippet.

    Returns
    -------
    list of dict
        Cards ordered by segment id.
    """
    columns = (
        schema.CUSTOMER_ID,
        SEGMENT_ID,
        schema.INTEREST_TAGS,
        RECENCY_DAYS,
        FREQUENCY,
        MONETARY,
        RFM_SEGMENT,
    )
    _require(profiles, columns, "customer table")
    if profiles.empty:
        raise DataValidationError("customer table: no customers, so no segment cards.")
    profiles = profiles.reset_index(drop=True)
    tags = profiles[schema.INTEREST_TAGS].fillna("").astype(str).str.get_dummies(sep=";")
    tags = tags.loc[:, [c for c in tags.columns if c.strip()]]
    base_share = tags.mean(axis=0)
    texts = _review_texts(reviews)
    cards = []
    for segment_id, members in profiles.groupby(SEGMENT_ID, sort=True):
        seg_share = tags.loc[members.index].mean(axis=0)
        listed = seg_share[seg_share >= min_interest_share]
        lift = listed / base_share[listed.index]
        ranked = sorted(listed.index, key=lambda label: (-lift[label], -listed[label], label))[:n_interests]
        counts = tags.loc[members.index, ranked].sum(axis=0)
        top = [
            {
                "interest": label,
                "share": round(float(listed[label]), 3),
                "lift": round(float(lift[label]), 2),
                "p_value": _over_representation(int(counts[label]), tags[label], len(members)),
            }
            for label in ranked
        ]
        distinctive = [t for t in top if t["lift"] >= min_lift and t["p_value"] <= max_p_value]
        interest = distinctive[0]["interest"] if distinctive else None
        value = value_label(members, profiles)
        buyers = members[members[RFM_SEGMENT] != NO_ORDERS_SEGMENT]
        mix = members[RFM_SEGMENT].value_counts(normalize=True)
        cards.append(
            {
                SEGMENT_ID: int(segment_id),
                "name": _compose_name(value, interest) if len(tags.columns) else value,
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
                "examples": _examples(members, interest, texts, n=n_examples, chars=snippet_chars),
            }
        )
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
    r = 1.0 - _percentile(buyers[RECENCY_DAYS].median(), base_buyers[RECENCY_DAYS])
    f = _percentile(buyers[FREQUENCY].median(), base_buyers[FREQUENCY])
    m = _percentile(buyers[MONETARY].median(), base_buyers[MONETARY])
    if r >= 0.5 and f >= 0.7 and m >= 0.7:
        return "High value"
    if r < 0.4:
        return "At risk" if f > 0.5 else "Lapsed"
    if f <= 0.5 and r >= 0.6:
        return "New"
    return "Loyal" if f > 0.5 else "Occasional"


def _compose_name(value: str, interest: str | None) -> str:
    short = interest.split(" · ")[0].strip() if interest else "mixed interests"
    return f"{value} · {short}"


def _deduplicate_names(cards: list[dict[str, Any]]) -> None:
    """Names that repeat get the segment's median orders and spend, then a number if still not unique."""
    counts = pd.Series([c["name"] for c in cards]).value_counts()
    for card in cards:
        medians = card["rfm_medians"]
        if counts[card["name"]] > 1 and medians:
            n = medians[FREQUENCY]
            card["name"] = (
                f"{card['name']} ({n:g} order{'' if n == 1 else 's'}, {medians[MONETARY]:,.0f} spent)"
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


def _percentile(value: float, values: pd.Series) -> float:
    v = values.to_numpy(dtype="float64")
    return float(((v < value).sum() + 0.5 * (v == value).sum()) / len(v))


def _medians(buyers: pd.DataFrame) -> dict[str, float] | None:
    if buyers.empty:
        return None
    columns = [c for c in (RECENCY_DAYS, FREQUENCY, MONETARY, AVG_ORDER_VALUE) if c in buyers]
    return {c: round(float(buyers[c].median()), 2) for c in columns}


#: A review needs at least this many words to be quoted as a segment's example.
MIN_EXAMPLE_WORDS = 5


def _review_texts(reviews: pd.DataFrame | None) -> dict[str, list[str]]:
    if reviews is None:
        return {}
    _require(reviews, (schema.CUSTOMER_ID, schema.TEXT), "reviews")
    frame = reviews[[schema.CUSTOMER_ID, schema.TEXT]].dropna()
    frame = frame[frame[schema.TEXT].astype(str).str.split().str.len() >= MIN_EXAMPLE_WORDS]
    return frame.groupby(frame[schema.CUSTOMER_ID].astype(str), sort=False)[schema.TEXT].agg(list).to_dict()


def _examples(
    members: pd.DataFrame, interest: str | None, texts: dict[str, list[str]], *, n: int, chars: int
) -> list[dict[str, str]]:
    if not texts or n <= 0:
        return []
    ids = members[schema.CUSTOMER_ID].astype(str)
    strength = pd.Series(0.0, index=members.index)
    if interest and schema.INTEREST_SCORES in members:
        strength = members[schema.INTEREST_SCORES].map(lambda s: _score_of(s, interest))
    order = sorted(range(len(members)), key=lambda i: (-strength.iloc[i], ids.iloc[i]))
    examples = []
    for i in order:
        customer = ids.iloc[i]
        if customer in texts:
            examples.append({schema.CUSTOMER_ID: customer, schema.TEXT: _snippet(texts[customer][0], chars)})
            if len(examples) == n:
                break
    return examples


def _score_of(scores: object, interest: str) -> float:
    try:
        value = json.loads(scores).get(interest, 0.0) if isinstance(scores, str) and scores else 0.0
        return float(value)
    except (ValueError, AttributeError, TypeError):
        return 0.0


def _snippet(text: str, chars: int) -> str:
    text = " ".join(str(text).split())
    if len(text) <= chars:
        return text
    cut = text[: chars - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:.") + "…"


# -- saving and loading -------------------------------------------------------------------------
def write_segments(
    model_dir: str | os.PathLike[str],
    *,
    fuser: FeatureFuser,
    segmenter: CustomerSegmenter,
    cards: Sequence[dict[str, Any]],
) -> Path:
    """Write ``segments.json`` into ``model_dir``: settings, fitted state and cards (format 1).

    Layout: ``{"format_version": 1, "n_segments", "silhouette", "silhouette_by_k": {"4": s, ...},
    "fuser": {params + topic_columns, topic_mean, center, scale, never_bought}, "segmenter":
    {params + cluster_centers, segment_sizes}, "segments": [card, ...]}``. Floats are written with
    full precision, so segments assigned after :func:`load_segments` are identical.
    """
    from topicprofile.store import atomic_write_text

    segmenter._check_fitted()
    fuser._check_fitted()
    document = {
        "format_version": SEGMENTS_FORMAT,
        "n_segments": segmenter.n_segments_,
        "silhouette": segmenter.silhouette_,
        "silhouette_by_k": {str(k): v for k, v in segmenter.silhouette_by_k_.items()},
        "fuser": {
            "params": fuser.get_params(),
            "topic_columns": list(fuser.topic_columns_),
            "topic_mean": fuser.topic_mean_.tolist(),
            "center": fuser.center_.to_dict(),
            "scale": fuser.scale_.to_dict(),
            "never_bought": fuser.never_bought_.to_dict(),
            "n_customers": fuser.n_customers_,
        },
        "segmenter": {
            "params": {**segmenter.get_params(), "k_range": list(segmenter.k_range)},
            "cluster_centers": segmenter.cluster_centers_.tolist(),
            "segment_sizes": segmenter.segment_sizes_.tolist(),
        },
        "segments": list(cards),
    }
    path = Path(model_dir) / SEGMENTS_FILE
    atomic_write_text(path, json.dumps(document, ensure_ascii=False, indent=1))
    return path


def load_segment_cards(model_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Read ``segments.json`` of a model directory (the document :func:`write_segments` wrote).

    Raises
    ------
    ModelError
        The directory or file is missing, unreadable or of a newer format.
    """
    folder = Path(model_dir)
    if not folder.is_dir():
        raise ModelError(f"{folder}: model directory not found; fit one with `topicprofile fit`.")
    path = folder / SEGMENTS_FILE
    if not path.is_file():
        raise ModelError(
            f"{folder}: this model has no segments ({SEGMENTS_FILE} missing); refit it with orders "
            "(topicprofile fit ... --orders orders.csv)."
        )
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelError(f"{path}: unreadable segments file ({e}); refit the model.") from e
    version = document.get("format_version") if isinstance(document, dict) else None
    if not isinstance(version, int) or not isinstance(document.get("segments"), list):
        raise ModelError(f"{path}: corrupt segments file (no format_version or segments); refit the model.")
    if version > SEGMENTS_FORMAT:
        raise ModelError(f"{path}: segments format {version} is newer than this topicprofile reads; upgrade.")
    return document


def load_segments(
    model_dir: str | os.PathLike[str],
) -> tuple[FeatureFuser, CustomerSegmenter, list[dict[str, Any]]]:
    """The fitted fuser, segmenter and cards saved by :func:`write_segments`."""
    document = load_segment_cards(model_dir)
    try:
        state = document["fuser"]
        fuser = FeatureFuser(**state["params"])
        fuser.topic_columns_ = list(state["topic_columns"])
        fuser.topic_mean_ = pd.Series(state["topic_mean"], index=fuser.topic_columns_, dtype="float64")
        for name in ("center", "scale", "never_bought"):
            setattr(fuser, f"{name}_", pd.Series(state[name], dtype="float64"))
        fuser.n_customers_ = int(state["n_customers"])
        state = document["segmenter"]
        params = dict(state["params"])
        params["k_range"] = tuple(params["k_range"])
        segmenter = CustomerSegmenter(**params)
        segmenter.cluster_centers_ = np.asarray(state["cluster_centers"], dtype="float64")
        segmenter.segment_sizes_ = np.asarray(state["segment_sizes"], dtype="int64")
        segmenter.n_segments_ = int(document["n_segments"])
        segmenter.silhouette_ = float(document["silhouette"])
        segmenter.silhouette_by_k_ = {int(k): float(v) for k, v in document["silhouette_by_k"].items()}
        segmenter.n_features_in_ = segmenter.cluster_centers_.shape[1]
    except (KeyError, TypeError, ValueError) as e:
        raise ModelError(
            f"{model_dir}: corrupt {SEGMENTS_FILE} ({type(e).__name__}: {e}); refit the model."
        ) from e
    return fuser, segmenter, list(document["segments"])


# -- helpers ------------------------------------------------------------------------------------
def _as_matrix(X: Any, *, min_samples: int = 1) -> np.ndarray:
    try:
        return check_array(X, dtype="float64", ensure_min_samples=min_samples)
    except ValueError as e:
        raise DataValidationError(f"fused vectors: {e}") from e


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
