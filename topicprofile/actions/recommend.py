"""Recommendations per customer: collaborative filtering + topic interests + popularity, blended.

An *item* is whatever the orders carry: the ``product`` column if present, else ``category``.
Three scores per customer and item, each scaled to [0, 1] per customer:

* **CF**: implicit-feedback ALS (``implicit``; ``random_state`` and one thread, so a seed gives the
  same factors) on the customer x item matrix of order counts (confidence ``1 + c * log1p(n)``).
* **content**: topic -> item affinities learned from who bought what, ``A[t, i] = sum_u s[u, t] b[u, i] /
  sum_u s[u, t]`` (s = customer topic shares, b = bought i), times the customer's interest vector.
* **popularity**: share of customers who bought the item; it stands in for CF when a customer has no
  orders and for content when a customer has no text.

The blend weights are chosen on a time split *of the training orders* (the last ``validation_share``
of the period is held out, the components are refitted on the rest, the weight grid is scored by
NDCG@k, then everything is refitted on all orders) -- never set by hand. Items bought in the last
``exclusion_days`` before ``as_of`` are never recommended.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import product as grid_product

import numpy as np
import pandas as pd
import scipy.sparse as sp

from topicprofile.behavior import CANCELLED_STATUSES
from topicprofile.errors import ConfigError, DataValidationError, NotFittedError
from topicprofile.loaders import clean_orders
from topicprofile.schema import CUSTOMER_ID, ORDER_ID, ROW, STATUS, TIMESTAMP

__all__ = ["ITEM", "HybridRecommender", "item_lines", "rank_metrics"]

logger = logging.getLogger(__name__)

ITEM = "item"
ITEM_COLUMNS = ("product", "category")
_COMPONENTS = ("cf", "content", "popularity")
_GRID_STEP = 0.25
_CHUNK = 4096


def item_lines(
    raw: pd.DataFrame, *, columns: str | Mapping[str, str] | None = None, item_column: str | None = None
) -> pd.DataFrame:
    """Standardized order lines (:func:`topicprofile.loaders.clean_orders`) plus an ``item`` column.

    Input: an orders table as read from the file (any column names; ``columns`` maps them). The item
    is ``item_column``, or ``product`` / ``category``, whichever exists first. Output: the loader's
    columns plus ``item`` (str); cancelled lines and lines without an item are dropped.
    """
    raw = raw.reset_index(drop=True)
    name = item_column or next((c for c in ITEM_COLUMNS if c in raw.columns), None)
    if name is None or name not in raw.columns:
        raise DataValidationError(
            f"orders: no item column ({item_column or 'product or category'}) to recommend from (found: "
            f"{', '.join(map(str, raw.columns))}); add one or name it with --item-column."
        )
    lines = clean_orders(raw, columns=columns, source="orders").data
    lines[ITEM] = raw[name].iloc[lines[ROW].to_numpy() - 1].fillna("").astype(str).str.strip().to_numpy()
    status = lines[STATUS].fillna("").astype(str).str.strip().str.lower()
    return lines[(lines[ITEM] != "") & ~status.isin(CANCELLED_STATUSES)].reset_index(drop=True)


def rank_metrics(top: np.ndarray, targets: sp.csr_matrix, k: int) -> tuple[float, float]:
    """Hit-rate@k and NDCG@k of ranked item indices ``top`` (n x >=k) against a binary target matrix."""
    k = min(k, top.shape[1])  # a catalogue smaller than k: every item is listed
    top = top[:, :k]
    hits = np.asarray(targets[np.arange(top.shape[0])[:, None], top].todense()) > 0
    gains = (hits / np.log2(np.arange(2, k + 2))).sum(axis=1)
    n_rel = np.minimum(np.asarray(targets.sum(axis=1)).ravel(), k).astype(int)
    ideal = np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))[np.maximum(n_rel, 1) - 1]
    return float(hits.any(axis=1).mean()), float((gains / ideal).mean())


@dataclass
class _Components:
    """Fitted pieces of one training run."""

    customers: pd.Index
    popularity: np.ndarray
    user_factors: np.ndarray
    item_factors: np.ndarray
    affinity: np.ndarray | None  # n_topics x n_items


class HybridRecommender:
    """CF + content + popularity recommender with blend weights chosen on a time split.

    Parameters
    ----------
    factors, regularization, iterations : ALS settings (``implicit``).
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
        factors: int = 32,
        regularization: float = 0.05,
        iterations: int = 15,
        confidence: float = 10.0,
        top: int = 10,
        exclusion_days: int | None = 90,
        validation_share: float = 0.2,
        weights: Mapping[str, float] | None = None,
        random_state: int = 0,
    ) -> None:
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
        _check_lines(lines)
        self.items_ = pd.Index(np.sort(lines[ITEM].unique()))
        self.topic_shares_ = None if topic_shares is None else _shares(topic_shares)
        self.as_of_ = lines[TIMESTAMP].max().normalize()
        self.weights_, self.validation_ = self._choose_weights(lines)
        self.components_ = self._fit_components(lines)
        return self

    def _fit_components(self, lines: pd.DataFrame) -> _Components:
        matrix, customers = self._matrix(lines)
        bought = (matrix > 0).astype("float64")
        popularity = np.asarray(bought.sum(axis=0)).ravel() / max(len(customers), 1)
        user_factors, item_factors = self._als(matrix)
        affinity = None
        if self.topic_shares_ is not None:
            shares = self.topic_shares_.reindex(customers).fillna(0.0).to_numpy()
            mass = shares.sum(axis=0)
            affinity = np.asarray(bought.T @ shares).T / np.where(mass > 0, mass, 1.0)[:, None]
        return _Components(customers, popularity, user_factors, item_factors, affinity)

    def _matrix(self, lines: pd.DataFrame) -> tuple[sp.csr_matrix, pd.Index]:
        per = lines.drop_duplicates([CUSTOMER_ID, ORDER_ID, ITEM]).groupby([CUSTOMER_ID, ITEM]).size()
        customers = pd.Index(np.sort(per.index.get_level_values(0).unique()), name=CUSTOMER_ID)
        rows = customers.get_indexer(per.index.get_level_values(0))
        cols = self.items_.get_indexer(per.index.get_level_values(1))
        shape = (len(customers), len(self.items_))
        return sp.csr_matrix((per.to_numpy(dtype="float64"), (rows, cols)), shape=shape), customers

    def _als(self, matrix: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        from threadpoolctl import threadpool_limits

        try:  # an optional dependency (extra "actions"): only recommendations need it
            from implicit.cpu.als import AlternatingLeastSquares
        except ImportError as e:
            raise ConfigError(
                "recommendations need the 'implicit' package: pip install 'topicprofile[actions]'."
            ) from e

        confidence = matrix.copy()
        confidence.data = 1.0 + self.confidence * np.log1p(confidence.data)
        with threadpool_limits(1):  # one BLAS thread: reproducible and light on shared cores
            model = AlternatingLeastSquares(
                factors=self.factors, regularization=self.regularization, iterations=self.iterations,
                random_state=self.random_state, num_threads=1, calculate_training_loss=False,
            )  # fmt: skip
            model.fit(confidence.astype("float32").tocsr(), show_progress=False)
        return np.asarray(model.user_factors), np.asarray(model.item_factors)

    def _choose_weights(self, lines: pd.DataFrame) -> tuple[dict[str, float], list[dict[str, float]]]:
        if self.weights is not None:
            return _normalised(self.weights), []
        start, end = lines[TIMESTAMP].min(), lines[TIMESTAMP].max()
        split = start + (end - start) * (1 - self.validation_share)
        early, late = lines[lines[TIMESTAMP] < split], lines[lines[TIMESTAMP] >= split]
        default = {"cf": 1 / 3, "content": 1 / 3, "popularity": 1 / 3}
        if early.empty or late[CUSTOMER_ID].nunique() < 20:
            logger.warning("too few orders after %s to choose the blend weights; using equal weights", split)
            return default, []
        self.components_ = self._fit_components(early)
        scores = _scale_rows_all(self._raw_scores(pd.Index(late[CUSTOMER_ID].unique())))
        targets, keep, excluded = self._targets(early, late, scores["ids"], split)
        tried = []
        steps = np.arange(0, 1 + 1e-9, _GRID_STEP)
        for w_cf, w_content in grid_product(steps, steps):
            w_pop = 1.0 - w_cf - w_content
            if w_pop < -1e-9 or (w_content > 0 and self.topic_shares_ is None):
                continue
            weights = {"cf": float(w_cf), "content": float(w_content), "popularity": float(max(w_pop, 0.0))}
            top = _top_items(_blend(scores, weights)[keep], excluded[keep], self.top)
            hit, ndcg = rank_metrics(top, targets[keep], self.top)
            tried.append({**weights, "hit_rate": hit, "ndcg": ndcg})
        if not tried or not keep.any():
            return default, tried
        best = max(tried, key=lambda t: (round(t["ndcg"], 12), t["hit_rate"]))
        return {c: best[c] for c in _COMPONENTS}, tried

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
        if self.exclusion_days is None:
            return lines[lines[TIMESTAMP] <= as_of]
        return lines[(lines[TIMESTAMP] > as_of - pd.Timedelta(days=self.exclusion_days)) & (lines[TIMESTAMP] <= as_of)]

    def _pairs(self, lines: pd.DataFrame, ids: pd.Index) -> sp.csr_matrix:
        rows = ids.get_indexer(lines[CUSTOMER_ID])
        cols = self.items_.get_indexer(lines[ITEM])
        ok = (rows >= 0) & (cols >= 0)
        pairs = sp.csr_matrix((np.ones(ok.sum()), (rows[ok], cols[ok])), shape=(len(ids), len(self.items_)))
        pairs.data[:] = 1.0
        return pairs

    # -- scoring -------------------------------------------------------------------------------
    def _raw_scores(self, ids: pd.Index, shares: pd.DataFrame | None = None) -> dict[str, object]:
        """Unscaled component scores of ``ids``; popularity stands in where a component is missing."""
        comp = self.components_
        n = len(ids)
        popularity = np.broadcast_to(comp.popularity, (n, len(self.items_)))
        rows = comp.customers.get_indexer(ids)
        known = rows >= 0
        cf = np.array(popularity, dtype="float64")
        cf[known] = comp.user_factors[rows[known]] @ comp.item_factors.T
        content = np.array(popularity, dtype="float64")
        has_text = np.zeros(n, dtype=bool)
        table = self.topic_shares_ if shares is None else _shares(shares)
        if comp.affinity is not None and table is not None:
            vectors = table.reindex(ids)
            has_text = vectors.notna().all(axis=1).to_numpy() & (vectors.sum(axis=1).to_numpy() > 0)
            content[has_text] = vectors.to_numpy()[has_text] @ comp.affinity
        return {"ids": ids, "cf": cf, "content": content, "popularity": np.array(popularity),
                "known": known, "has_text": has_text}  # fmt: skip

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
        _check_lines(lines, allow_empty=True)
        k = self.top if top is None else top
        if k < 1:
            raise ConfigError(f"top must be >= 1, got {k}.")
        table = self.topic_shares_ if topic_shares is None else _shares(topic_shares)
        if customer_ids is None:
            known = list(lines[CUSTOMER_ID].unique()) + ([] if table is None else list(table.index))
            customer_ids = np.sort(pd.unique(pd.Series(known, dtype="str")))
        ids = pd.Index(pd.Series(list(customer_ids), dtype="str"), name=CUSTOMER_ID)
        as_of_day = self.as_of_ if as_of is None else pd.Timestamp(as_of)
        labels = topic_labels or ([] if table is None else [str(c) for c in table.columns])
        codes = self.items_.get_indexer(lines[ITEM])
        owned = pd.Series(codes[codes >= 0]).groupby(lines[CUSTOMER_ID].to_numpy()[codes >= 0]).unique()
        blocks = []
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            scores = _scale_rows_all(self._raw_scores(chunk, table))
            excluded = self._pairs(self._window(lines, as_of_day), chunk)
            blended = _blend(scores, self.weights_)
            top_items = _top_items(blended, excluded, k)
            reasons = self._reasons(chunk, top_items, scores, table, labels, owned)
            blocks.append(self._rows(chunk, top_items, blended, excluded, reasons))
        return pd.concat(blocks, ignore_index=True)

    def _rows(self, ids, top_items, blended, excluded, reasons) -> pd.DataFrame:
        n, k = top_items.shape
        picked = np.take_along_axis(blended, top_items, axis=1)
        allowed = np.take_along_axis(np.asarray(excluded.todense()) == 0, top_items, axis=1)
        frame = pd.DataFrame({
            CUSTOMER_ID: np.repeat(ids.to_numpy(), k), "rank": np.tile(np.arange(1, k + 1), n),
            ITEM: self.items_.to_numpy()[top_items.ravel()], "score": np.round(picked.ravel(), 4),
            "reason": reasons.ravel(),
        })  # fmt: skip
        return frame[allowed.ravel()]  # fewer than k items when the customer bought nearly all

    def _reasons(self, ids, top_items, scores, table, labels, owned: pd.Series) -> np.ndarray:
        """One line per recommendation: the strongest interest behind it, the CF neighbour item."""
        comp, w = self.components_, self.weights_
        pop = comp.popularity[top_items]
        out = np.array([f"popular: bought by {p:.0%} of customers" for p in pop.ravel()], dtype=object)
        out = out.reshape(top_items.shape)
        if w["content"] > 0 and comp.affinity is not None and scores["has_text"].any():
            vectors = table.reindex(ids).fillna(0.0).to_numpy()
            for r in np.flatnonzero(scores["has_text"]):
                # the topic that lifts this item most above its base rate (not merely the largest share)
                lift = comp.affinity[:, top_items[r]] - comp.popularity[top_items[r]]
                contrib = vectors[r][:, None] * lift  # topics x k
                best = contrib.argmax(axis=0)
                for j, t in enumerate(best):
                    if contrib[t, j] > 0:
                        out[r, j] = f"interest: {labels[t] if t < len(labels) else t} {vectors[r, t]:.2f}"
        if w["cf"] > 0 and scores["known"].any():
            norms = np.linalg.norm(comp.item_factors, axis=1) + 1e-12
            similar = (comp.item_factors @ comp.item_factors.T) / np.outer(norms, norms)
            rows = comp.customers.get_indexer(ids)
            for r in np.flatnonzero(scores["known"]):
                had = owned.get(ids[r])
                if had is None or not len(had):
                    continue
                for j, item in enumerate(top_items[r]):
                    base = [b for b in had if b != item]
                    if base:
                        friend = base[int(np.argmax(similar[item, base]))]
                        out[r, j] = f"{out[r, j]}; customers who bought {self.items_[friend]} also bought this"
        return out


def _check_lines(lines: pd.DataFrame, *, allow_empty: bool = False) -> None:
    if not isinstance(lines, pd.DataFrame):
        raise DataValidationError(f"orders must be a pandas DataFrame, got {type(lines).__name__}.")
    missing = [c for c in (CUSTOMER_ID, ORDER_ID, TIMESTAMP, ITEM) if c not in lines.columns]
    if missing:
        raise DataValidationError(
            f"orders: column(s) {', '.join(map(repr, missing))} missing; make the table with item_lines."
        )
    if lines.empty and not allow_empty:
        raise DataValidationError("orders: no order lines with an item; nothing to learn from.")


def _shares(topic_shares: pd.DataFrame) -> pd.DataFrame:
    table = topic_shares.copy()
    table.index = table.index.astype(str)
    return table.astype("float64")


def _normalised(weights: Mapping[str, float]) -> dict[str, float]:
    unknown = set(weights) - set(_COMPONENTS)
    if unknown or any(v < 0 for v in weights.values()) or sum(weights.values()) <= 0:
        raise ConfigError(f"weights must be non-negative {list(_COMPONENTS)} summing to > 0, got {dict(weights)}.")
    total = sum(weights.values())
    return {c: float(weights.get(c, 0.0)) / total for c in _COMPONENTS}


def _scale_rows(values: np.ndarray) -> np.ndarray:
    low = values.min(axis=1, keepdims=True)
    span = values.max(axis=1, keepdims=True) - low
    return (values - low) / np.where(span > 0, span, 1.0)


def _scale_rows_all(scores: dict[str, object]) -> dict[str, object]:
    return {**scores, **{c: _scale_rows(scores[c]) for c in _COMPONENTS}}  # type: ignore[arg-type]


def _blend(scores: Mapping[str, object], weights: Mapping[str, float]) -> np.ndarray:
    # a tiny popularity term breaks ties the same way every time
    total = sum(weights[c] * scores[c] for c in _COMPONENTS)  # type: ignore[operator]
    return np.asarray(total) + 1e-6 * np.asarray(scores["popularity"])


def _top_items(scores: np.ndarray, excluded: sp.csr_matrix, k: int) -> np.ndarray:
    """Indices of the ``k`` best items per row; excluded items sink to the end."""
    masked = np.where(np.asarray(excluded.todense()) > 0, -np.inf, scores)
    k = min(k, masked.shape[1])
    # stable: ties keep item order, so the ranking never depends on the platform's sort
    return np.argsort(-masked, axis=1, kind="stable")[:, :k]
