"""Recommendations per customer: collaborative filtering + topic interests + popularity, blended.

An *item* is whatever the orders carry: the ``product`` column if present, else ``category``.
Three scores per customer and item, each scaled to [0, 1] per customer: CF, content (the
customer's interest vector times topic -> item affinities) and popularity, fitted in
:mod:`~topicprofile.actions.recommend_parts`; popularity stands in for CF when a customer has no
orders and for content when a customer has no text.

The CF model and then the blend weights are chosen on a time split *of the training orders* (the
last ``validation_share`` of the period is held out, the components are refitted on the rest, the
CF candidates and then the weight grid are scored by NDCG@k, then everything is refitted on all
orders) -- never set by hand. Items bought in the last
``exclusion_days`` before ``as_of`` are never recommended.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from itertools import product as grid_product

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from threadpoolctl import threadpool_limits

from topicprofile.actions.recommend_lines import (
    check_lines,
    item_lines,
    pairs,
    sample_customers,
    shares_table,
    window,
)  # fmt: skip
from topicprofile.actions.recommend_parts import CF_KINDS, CfSettings, Components, fit_components
from topicprofile.actions.recommend_rank import (
    COMPONENTS,
    ITEM,
    Scores,
    blend,
    rank_metrics,
    scale_rows,
    top_items,
)
from topicprofile.actions.recommend_reasons import reason_keys, reason_text, recommendation_table
from topicprofile.errors import ConfigError, NotFittedError
from topicprofile.schema import CUSTOMER_ID, ORDER_ID, TIMESTAMP

__all__ = ["ITEM", "HybridRecommender", "item_lines", "rank_metrics"]

logger = logging.getLogger(__name__)

_GRID_STEP = 0.25
_MAX_JUDGED = 5000  # customers scored when choosing the blend weights
_MAX_CHOICE_FIT = 25_000  # customers whose early orders fit the components that choose CF and weights
_CHUNK = 1024  # customers scored at once (bounds memory: chunk x items x top)
_CF_ALONE = {"cf": 1.0, "content": 0.0, "popularity": 0.0}
#: What ``cf="auto"`` tries on the validation split (the other ALS / neighbour settings are the estimator's).
CF_CANDIDATES: tuple[dict[str, object], ...] = (
    {"cf": "als", "factors": 4}, {"cf": "als", "factors": 16}, {"cf": "als", "factors": 32},
    {"cf": "cosine"}, {"cf": "bm25"},
)  # fmt: skip


class HybridRecommender(BaseEstimator):  # type: ignore[misc]
    """CF + content + popularity recommender with blend weights chosen on a time split.

    Parameters
    ----------
    cf : {"auto", "als", "cosine", "bm25", "tfidf"}, default "auto"
        The collaborative filter: implicit's ALS, or its item-item nearest neighbours with that
        weighting. "auto" chooses among :data:`CF_CANDIDATES` on the validation split (by NDCG@k
        of CF alone), before the blend weights: the best setting depends on the shop (ALS with 4
        factors on a catalogue of 4 categories x 50 products, 32 factors or item-item cosine on
        40 shelves x 25 products; scripts/eval_recommend_real.py).
    neighbours : int, default 100
        Neighbours kept per item by the item-item filters.
    factors, regularization, iterations : ALS settings (``implicit``); ``factors`` is used when
        ``cf="als"``, regularization 1.0 suits few orders per customer.
    confidence : float, default 10.0
        ``c`` in the ALS confidence ``1 + c * log1p(orders)``.
    top : int, default 10
        ``k`` of NDCG@k used to choose the weights, and the default list length.
    exclusion_days : int or None, default 90
        Items bought this many days before ``as_of`` are not recommended (None: ever bought).
    validation_share : float, default 0.2
        Last share of the training period held out to choose the weights.
    weights : mapping, optional
        Fixed ``{"cf", "content", "popularity"}`` weights (skips the choice; for ablations).
    random_state : int, default 0
    """

    def __init__(
        self,
        *,
        cf: str = "auto",
        neighbours: int = 100,
        factors: int = 8,
        regularization: float = 1.0,
        iterations: int = 15,
        confidence: float = 10.0,
        top: int = 10,
        exclusion_days: int | None = 90,
        validation_share: float = 0.2,
        weights: Mapping[str, float] | None = None,
        random_state: int = 0,
    ) -> None:
        self.cf = cf
        self.neighbours = neighbours
        self.factors = factors
        self.regularization = regularization
        self.iterations = iterations
        self.confidence = confidence
        self.top = top
        self.exclusion_days = exclusion_days
        self.validation_share = validation_share
        self.weights = weights
        self.random_state = random_state

    # -- fitting -------------------------------------------------------------------------------
    def fit(self, lines: pd.DataFrame, topic_shares: pd.DataFrame | None = None) -> HybridRecommender:
        """Learn items, popularity, ALS factors, topic affinities and the blend weights.

        ``lines``: :func:`item_lines` output. ``topic_shares``: n_customers x n_topics, index
        ``customer_id`` (e.g. ``fuse.topic_shares(profiler.profile(...))``), from text written
        before the orders' end; customers without a row have no interest vector.
        """
        check_lines(lines)
        self.items_ = pd.Index(np.sort(lines[ITEM].unique()))
        self.topic_shares_ = None if topic_shares is None else shares_table(topic_shares)
        self.as_of_ = lines[TIMESTAMP].max().normalize()
        with threadpool_limits(1):  # one BLAS thread: see _rank
            self.cf_, self.weights_, self.validation_ = self._choose(lines)
            self.components_ = self._fit_components(lines, self._settings(self.cf_))
        return self

    def _settings(self, choice: Mapping[str, object]) -> CfSettings:
        base = {
            "cf": self.cf, "neighbours": self.neighbours, "factors": self.factors,
            "regularization": self.regularization, "iterations": self.iterations,
            "confidence": self.confidence, "random_state": self.random_state,
        }  # fmt: skip
        settings = CfSettings(**{**base, **choice})
        if settings.cf not in CF_KINDS:
            raise ConfigError(f"cf must be 'auto' or one of {list(CF_KINDS)}, got {settings.cf!r}.")
        return settings

    def _fit_components(
        self, lines: pd.DataFrame, settings: CfSettings, matrix: tuple[sp.csr_matrix, pd.Index] | None = None
    ) -> Components:
        counts, customers = self._matrix(lines) if matrix is None else matrix
        return fit_components(counts, customers, self.topic_shares_, settings)

    def _matrix(self, lines: pd.DataFrame) -> tuple[sp.csr_matrix, pd.Index]:
        per = lines.drop_duplicates([CUSTOMER_ID, ORDER_ID, ITEM]).groupby([CUSTOMER_ID, ITEM]).size()
        customers = pd.Index(np.sort(per.index.get_level_values(0).unique()), name=CUSTOMER_ID)
        rows = customers.get_indexer(per.index.get_level_values(0))
        cols = self.items_.get_indexer(per.index.get_level_values(1))
        shape = (len(customers), len(self.items_))
        return sp.csr_matrix((per.to_numpy(dtype="float64"), (rows, cols)), shape=shape), customers

    def _choose(
        self, lines: pd.DataFrame
    ) -> tuple[dict[str, object], dict[str, float], list[dict[str, float]]]:
        """(CF choice, blend weights, the weight grid's scores) from a time split of ``lines``.

        The last ``validation_share`` of the period is held out; the components are fitted on the
        rest (a seeded sample of customers: enough to rank settings, at a bounded cost), each CF
        candidate is scored alone, then the weight grid with the best one, by NDCG@k.
        """
        fixed_cf = {} if self.cf != "auto" else dict(CF_CANDIDATES[0])
        self.cf_validation_: list[dict[str, object]] = []
        start, end = lines[TIMESTAMP].min(), lines[TIMESTAMP].max()
        split = start + (end - start) * (1 - self.validation_share)
        early, late = lines[lines[TIMESTAMP] < split], lines[lines[TIMESTAMP] >= split]
        if self.weights is not None and self.cf != "auto":
            return fixed_cf, _normalised(self.weights), []
        default = {"cf": 1 / 3, "content": 1 / 3, "popularity": 1 / 3}
        if early.empty or late[CUSTOMER_ID].nunique() < 20:
            logger.warning("too few orders after %s to choose the blend weights; using equal weights", split)
            return fixed_cf, default if self.weights is None else _normalised(self.weights), []
        rng = np.random.default_rng(self.random_state)
        judged = np.sort(late[CUSTOMER_ID].unique())
        if len(judged) > _MAX_JUDGED:  # a seeded sample is enough to rank 15 weightings
            judged = np.sort(rng.choice(judged, _MAX_JUDGED, replace=False))
        sample = sample_customers(early, judged, _MAX_CHOICE_FIT, rng)
        ids = pd.Index(judged)
        targets, keep, excluded = self._targets(early, late, ids, split)
        if not keep.any():
            return fixed_cf, default if self.weights is None else _normalised(self.weights), []
        ids, targets, excluded = ids[keep], targets[keep], excluded[keep]
        choice = self._choose_cf(sample, ids, targets, excluded)
        if self.weights is not None:
            return choice, _normalised(self.weights), []
        tried = self._score_weights(ids, targets, excluded)
        best = max(tried, key=lambda t: (round(t["ndcg"], 12), t["hit_rate"]))
        return choice, {c: best[c] for c in COMPONENTS}, tried

    def _choose_cf(
        self, sample: pd.DataFrame, ids: pd.Index, targets: sp.csr_matrix, excluded: sp.csr_matrix
    ) -> dict[str, object]:
        """The CF candidate with the best NDCG@k alone; leaves its components fitted on ``sample``."""
        candidates = CF_CANDIDATES if self.cf == "auto" else ({},)
        best, best_key = None, None
        matrix = self._matrix(sample)
        for choice in candidates:
            self.components_ = self._fit_components(sample, self._settings(choice), matrix)
            top = self._rank(ids, excluded, {"cf": _CF_ALONE}, self.top)["cf"]
            hit, ndcg = rank_metrics(top, targets, self.top)
            self.cf_validation_.append({**choice, "hit_rate": hit, "ndcg": ndcg})
            if best_key is None or (round(ndcg, 12), hit) > best_key:
                best, best_key, components = dict(choice), (round(ndcg, 12), hit), self.components_
        self.components_ = components
        return best

    def _score_weights(
        self, ids: pd.Index, targets: sp.csr_matrix, excluded: sp.csr_matrix
    ) -> list[dict[str, float]]:
        grid = {}
        steps = np.arange(0, 1 + 1e-9, _GRID_STEP)
        for w_cf, w_content in grid_product(steps, steps):
            w_pop = 1.0 - w_cf - w_content
            if w_pop < -1e-9 or (w_content > 0 and self.topic_shares_ is None):
                continue
            grid[len(grid)] = {
                "cf": float(w_cf),
                "content": float(w_content),
                "popularity": float(max(w_pop, 0.0)),
            }
        tops = self._rank(ids, excluded, grid, self.top)
        tried = []
        for name, weights in grid.items():
            hit, ndcg = rank_metrics(tops[name], targets, self.top)
            tried.append({**weights, "hit_rate": hit, "ndcg": ndcg})
        return tried

    def _targets(
        self, before: pd.DataFrame, after: pd.DataFrame, ids: pd.Index, as_of: pd.Timestamp
    ) -> tuple[sp.csr_matrix, np.ndarray, sp.csr_matrix]:
        """Items bought after, minus those excluded at ``as_of``; customers with a target left."""
        bought_after = self._pairs(after, ids)
        excluded = self._pairs(self._window(before, as_of), ids)
        targets = bought_after - bought_after.multiply(excluded)
        targets.eliminate_zeros()
        return targets, np.asarray(targets.sum(axis=1)).ravel() > 0, excluded

    def _window(self, lines: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
        return window(lines, as_of, self.exclusion_days)

    def _pairs(self, lines: pd.DataFrame, ids: pd.Index) -> sp.csr_matrix:
        return pairs(lines, ids, self.items_)

    # -- scoring -------------------------------------------------------------------------------
    def _text_vectors(
        self, ids: pd.Index, table: pd.DataFrame | None
    ) -> tuple[np.ndarray | None, np.ndarray]:
        """Interest vectors of ``ids`` (zeros where unknown) and which customers have one."""
        if self.components_.affinity is None or table is None:
            return None, np.zeros(len(ids), dtype=bool)
        pos = table.index.get_indexer(ids)
        found = pos >= 0
        vectors = table.to_numpy()[np.maximum(pos, 0)].astype("float32")  # to_numpy: a view, no copy
        complete = ~np.isnan(vectors).any(axis=1)
        vectors[~(found & complete)] = 0.0
        return vectors, found & complete & (vectors.sum(axis=1) > 0)

    def _scores(
        self, ids: pd.Index, shares: pd.DataFrame | None = None, *, need: Iterable[str] = COMPONENTS
    ) -> Scores:
        """Component scores of ``ids``, each scaled to [0, 1] per customer (float32: enough to rank).

        Popularity (the same row for everyone) stands in where a component is missing: CF for a
        customer without orders, content for one without text. Components not in ``need`` are None.
        """
        comp = self.components_
        n, m = len(ids), len(self.items_)
        popularity = scale_rows(comp.popularity[None, :].astype("float32"))[0]
        rows = comp.customers.get_indexer(ids)
        known = rows >= 0
        table = self.topic_shares_ if shares is None else shares_table(shares)
        vectors, has_text = self._text_vectors(ids, table)
        cf = content = None
        if "cf" in need:
            cf = scale_rows(comp.cf_scores(np.maximum(rows, 0)))
            cf[~known] = popularity
        if "content" in need:
            if vectors is not None and has_text.any():
                content = scale_rows(vectors @ comp.affinity.astype("float32"))
                content[~has_text] = popularity
            else:
                content = np.broadcast_to(popularity, (n, m))
        return Scores(ids, cf, content, popularity, known, has_text, vectors)

    def _rank(
        self, ids: pd.Index, excluded: sp.csr_matrix, weightings: Mapping[object, Mapping[str, float]], k: int,
        shares: pd.DataFrame | None = None,
    ) -> dict[object, np.ndarray]:  # fmt: skip
        """Top-``k`` item indices of ``ids`` under each weighting, scored a chunk of customers at a time."""
        need = {c for w in weightings.values() for c in ("cf", "content") if w[c] > 0}
        parts: dict[object, list[np.ndarray]] = {name: [] for name in weightings}
        # One BLAS thread: the products here are small (chunk x factors x items), and a second
        # OpenBLAS thread spinning for a core that a loaded machine gives to someone else cost
        # more wall time than it saved; one thread also gives the same floats on every machine.
        with threadpool_limits(1):
            for start in range(0, len(ids), _CHUNK):
                rows = slice(start, start + _CHUNK)
                scores = self._scores(ids[rows], shares, need=need)
                for name, weights in weightings.items():
                    parts[name].append(top_items(blend(scores, weights), excluded[rows], k)[0])
        width = min(k, len(self.items_))
        return {name: np.vstack(p) if p else np.empty((0, width), dtype=int) for name, p in parts.items()}

    def _check_fitted(self) -> None:
        if not hasattr(self, "components_"):
            raise NotFittedError("HybridRecommender is not fitted yet; call fit(lines, topic_shares) first.")

    def recommend(
        self,
        lines: pd.DataFrame,
        *,
        customer_ids: list[str] | pd.Index | None = None,
        topic_shares: pd.DataFrame | None = None,
        as_of: str | pd.Timestamp | None = None,
        top: int | None = None,
        topic_labels: list[str] | None = None,
    ) -> pd.DataFrame:
        """Top-N items per customer not bought in the exclusion window, with score and reason.

        Output (long): one row per customer and rank, columns ``customer_id``, ``rank`` (1..N),
        ``item``, ``score`` (blended, 0..1), ``reason``. Customers default to everyone in ``lines``
        and in the topic shares; a customer unknown to both gets the popular items.
        """
        self._check_fitted()
        check_lines(lines, allow_empty=True)
        k = self.top if top is None else top
        if k < 1:
            raise ConfigError(f"top must be >= 1, got {k}.")
        table = self.topic_shares_ if topic_shares is None else shares_table(topic_shares)
        if customer_ids is None:
            known = pd.Index(lines[CUSTOMER_ID].astype(str).unique())
            ids = known if table is None else known.union(table.index, sort=False)
            ids = pd.Index(ids.unique().sort_values(), name=CUSTOMER_ID)
        else:
            ids = pd.Index(pd.Series(list(customer_ids), dtype="str"), name=CUSTOMER_ID)
        try:
            as_of_day = self.as_of_ if as_of is None else pd.Timestamp(as_of).normalize()
        except (TypeError, ValueError) as e:
            raise ConfigError(f"as_of {as_of!r} is not a date; use YYYY-MM-DD.") from e
        labels = topic_labels or ([] if table is None else [str(c) for c in table.columns])
        excluded_all = self._pairs(self._window(lines, as_of_day), ids)
        owned_all = self._pairs(lines, ids)
        need = [c for c in ("cf", "content") if self.weights_[c] > 0]
        parts: dict[str, list[np.ndarray]] = {"row": [], "item": [], "value": [], "reason": []}
        buffer = np.empty(
            (min(_CHUNK, len(ids)), len(self.items_)), dtype="float32"
        )  # reused: no page faults
        with threadpool_limits(1):  # see _rank
            for start in range(0, len(ids), _CHUNK):
                rows = slice(start, start + _CHUNK)
                scores = self._scores(ids[rows], table, need=need)
                blended = blend(scores, self.weights_, out=buffer[: len(scores.ids)])
                top, values = top_items(blended, excluded_all[rows], k)
                row = np.repeat(np.arange(start, start + len(top)), top.shape[1])
                ok = np.isfinite(values).ravel()  # fewer than k items when the customer bought nearly all
                parts["row"].append(row[ok])
                parts["item"].append(top.ravel()[ok])
                parts["value"].append(values.ravel()[ok])
                keys = reason_keys(top, scores, owned_all[rows], self.components_, self.weights_)
                parts["reason"].append(keys.ravel()[ok])
        joined = {name: np.concatenate(p) if p else np.empty(0, np.int64) for name, p in parts.items()}
        reasons = reason_text(np.unique(joined["reason"]), labels, self.items_, self.components_)
        return recommendation_table(ids, self.items_, joined, reasons)


def _normalised(weights: Mapping[str, float]) -> dict[str, float]:
    unknown = set(weights) - set(COMPONENTS)
    if unknown or any(v < 0 for v in weights.values()) or sum(weights.values()) <= 0:
        raise ConfigError(
            f"weights must be non-negative {list(COMPONENTS)} summing to > 0, got {dict(weights)}."
        )
    total = sum(weights.values())
    return {c: float(weights.get(c, 0.0)) / total for c in COMPONENTS}
