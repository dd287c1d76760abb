"""Customer segments: KMeans on fused vectors; cards in :mod:`~topicprofile.segments.cards`, saving in :mod:`~topicprofile.segments.saved`.

The stage in five calls (the profiler composes them)::

    table, cards = fit_segments(profiles, rfm, fuser=FeatureFuser(), segmenter=CustomerSegmenter())
    table = segment_customers(new_profiles, new_rfm, fuser=fuser, segmenter=segmenter, cards=cards)
    write_segments(model_dir, fuser=fuser, segmenter=segmenter, cards=cards)   # segments/saved.py
    fuser, segmenter, cards = load_segments(model_dir)                        # segments/saved.py
    table, cards = rename_segments(relabelled_table, cards)      # after topics were renamed

``table`` is :func:`~topicprofile.segments.join.join_behavior`'s table (profile columns + RFM columns, one
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

import logging
from collections.abc import Iterable, Iterator, Sequence
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
from topicprofile.errors import ConfigError, DataValidationError, NotFittedError
from topicprofile.schema import SEGMENT_ID, SEGMENT_NAME
from topicprofile.segments.cards import MIN_EXAMPLE_WORDS, name_segment, segment_cards, value_label
from topicprofile.segments.columns import require_columns
from topicprofile.segments.fuse import FeatureFuser, shares_frame
from topicprofile.segments.join import BEHAVIOR_COLUMNS, join_behavior
from topicprofile.tag.table import CustomerTags, tags_of_table

__all__ = [
    "MIN_EXAMPLE_WORDS",
    "SEGMENT_ID",
    "SEGMENT_NAME",
    "CustomerSegmenter",
    "fit_segments",
    "name_segment",
    "rename_segments",
    "segment_blocks",
    "segment_cards",
    "segment_customers",
    "value_label",
]

logger = logging.getLogger(__name__)

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

    def to_state(self) -> dict[str, Any]:
        """The fitted segmenter as plain data (JSON-ready; floats at full precision)."""
        self._check_fitted()
        return {
            "params": {**self.get_params(), "k_range": list(self.k_range)},
            "cluster_centers": self.cluster_centers_.tolist(),
            "segment_sizes": self.segment_sizes_.tolist(),
            "n_segments": self.n_segments_,
            "silhouette": self.silhouette_,
            "silhouette_by_k": {str(k): v for k, v in self.silhouette_by_k_.items()},
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> CustomerSegmenter:
        """Rebuild from :meth:`to_state`'s data; raises KeyError, TypeError or ValueError when it is not such data."""
        params = dict(state["params"])
        params["k_range"] = tuple(params["k_range"])
        segmenter = cls(**params)
        segmenter.cluster_centers_ = np.asarray(state["cluster_centers"], dtype="float64")
        segmenter.segment_sizes_ = np.asarray(state["segment_sizes"], dtype="int64")
        segmenter.n_segments_ = int(state["n_segments"])
        segmenter.silhouette_ = float(state["silhouette"])
        segmenter.silhouette_by_k_ = {int(k): float(v) for k, v in state["silhouette_by_k"].items()}
        segmenter.n_features_in_ = segmenter.cluster_centers_.shape[1]
        return segmenter

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
    tags: CustomerTags | None = None,
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Fit ``fuser`` and ``segmenter`` (in place) on the customers of both tables; cards and table.

    Parameters
    ----------
    profiles : pandas.DataFrame or None
        Text profiles (:meth:`TopicProfiler.profile`); None without text.
    tags : CustomerTags, optional
        The text customers' topic shares and tags as numbers (what the fuser and the cards read);
        without them they are read back from ``profiles`` (:func:`~topicprofile.tag.table.tags_of_table`).
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
    tags = _numbers(profiles, tags)
    fused = fuser.fit_transform(shares_frame(tags), rfm)
    segmenter.fit(fused[fuser.get_feature_names_out()])
    table = _joined(profiles, rfm, fuser)
    labels = pd.Series(segmenter.labels_, index=fused.index)
    table[SEGMENT_ID] = labels.reindex(table[schema.CUSTOMER_ID].astype(str)).to_numpy()
    cards = segment_cards(table, tags=tags, reviews=reviews)
    table[SEGMENT_NAME] = table[SEGMENT_ID].map({c[SEGMENT_ID]: c["name"] for c in cards})
    return table, cards


def segment_customers(
    profiles: pd.DataFrame | None,
    rfm: pd.DataFrame | None,
    *,
    fuser: FeatureFuser,
    segmenter: CustomerSegmenter,
    cards: Sequence[dict[str, Any]],
    tags: CustomerTags | None = None,
) -> pd.DataFrame:
    """Assign customers (new or known) to the fitted segments without refitting.

    Output: :func:`~topicprofile.segments.join.join_behavior`'s table (one row per customer of either input,
    sorted by id) plus ``segment_id`` (int) and ``segment_name`` (the name given at fit). ``tags``:
    as for :func:`fit_segments`.
    """
    fused = fuser.transform(shares_frame(_numbers(profiles, tags)), rfm)
    table = _joined(profiles, rfm, fuser)
    labels = pd.Series(segmenter.predict(fused[fuser.get_feature_names_out()]), index=fused.index)
    table[SEGMENT_ID] = labels.reindex(table[schema.CUSTOMER_ID].astype(str)).to_numpy()
    names = {int(c[SEGMENT_ID]): str(c["name"]) for c in cards}
    table[SEGMENT_NAME] = table[SEGMENT_ID].map(names).fillna("").astype(str)
    return table


def segment_blocks(
    blocks: Iterable[tuple[pd.DataFrame | None, CustomerTags | None, str | None]],
    rfm: pd.DataFrame | None,
    *,
    fuser: FeatureFuser,
    segmenter: CustomerSegmenter,
    cards: Sequence[dict[str, Any]],
) -> Iterator[pd.DataFrame]:
    """:func:`segment_customers` of consecutive blocks of customers, the orders split to match.

    ``blocks`` are ``(profiles, tags, last_id)`` in customer-id order: each block takes the orders'
    customers up to ``last_id`` (its last customer with text) and the last block (``last_id``
    None) all that remain, so customers with orders only land in the block where their id falls
    and the blocks put together equal one call on everything.
    """
    if rfm is not None:
        rfm = rfm.set_axis(rfm.index.astype(str)).sort_index()
    at = 0
    for profiles, tags, last_id in blocks:
        part = None
        if rfm is not None:
            end = len(rfm) if last_id is None else int(np.searchsorted(rfm.index, last_id, side="right"))
            part, at = rfm.iloc[at:end], end
        yield segment_customers(profiles, part, fuser=fuser, segmenter=segmenter, cards=cards, tags=tags)


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


def _numbers(profiles: pd.DataFrame | None, tags: CustomerTags | None) -> CustomerTags | None:
    """The text customers' numbers: given, or read back from a profile table made without them."""
    if tags is not None or profiles is None:
        return tags
    require_columns(profiles, (schema.CUSTOMER_ID, schema.INTEREST_TAGS), "profiles")
    tags = tags_of_table(profiles)
    if tags.shares is None:
        raise DataValidationError(
            "profiles: no topic_0, topic_1, ... columns (found: "
            f"{', '.join(map(str, profiles.columns))}); pass the table TopicProfiler.profile returns."
        )
    return tags


def _joined(profiles: pd.DataFrame | None, rfm: pd.DataFrame | None, fuser: FeatureFuser) -> pd.DataFrame:
    if rfm is None:  # a text-only shop still gets the contract's RFM columns, all "no orders"
        rfm = pd.DataFrame(columns=list(BEHAVIOR_COLUMNS), index=pd.Index([], dtype=object))
    return join_behavior(profiles, rfm, n_topics=len(fuser.topic_columns_))


# -- cards and names ----------------------------------------------------------------------------


# -- helpers ------------------------------------------------------------------------------------
def _as_matrix(X: Any, *, min_samples: int = 1) -> np.ndarray:
    try:
        return check_array(X, dtype="float64", ensure_min_samples=min_samples)
    except ValueError as e:
        raise DataValidationError(f"fused vectors: {e}") from e


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
