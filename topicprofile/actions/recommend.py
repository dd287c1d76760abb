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
from sklearn.base import BaseEstimator

from topicprofile.behavior import CANCELLED_STATUSES
from topicprofile.errors import ConfigError, DataValidationError, NotFittedError
from topicprofile.ingest.load import clean_orders
from topicprofile.schema import CUSTOMER_ID, ORDER_ID, ROW, STATUS, TIMESTAMP

__all__ = ["ITEM", "HybridRecommender", "item_lines", "rank_metrics"]

logger = logging.getLogger(__name__)

ITEM = "item"
ITEM_COLUMNS = ("product", "category")
_COMPONENTS = ("cf", "content", "popularity")
_GRID_STEP = 0.25
_MAX_JUDGED = 5000  # customers scored when choosing the blend weights
_CHUNK = 1024  # customers scored at once (bounds memory: chunk x items x top)


def item_lines(
    raw: pd.DataFrame, *, columns: str | Mapping[str, str] | None = None, item_column: str | None = None
) -> pd.DataFrame:
    """Standardized order lines (:func:`topicprofile.ingest.load.clean_orders`) plus an ``item`` column.

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


class HybridRecommender(BaseEstimator):  # type: ignore[misc]
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
        judged = np.sort(late[CUSTOMER_ID].unique())
        if len(judged) > _MAX_JUDGED:  # a seeded sample is enough to rank 15 weightings
            judged = np.sort(np.random.default_rng(self.random_state).choice(judged, _MAX_JUDGED, replace=False))
        scores = _scale_rows_all(self._raw_scores(pd.Index(judged)))
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
        """Lines of the exclusion window: the ``exclusion_days`` calendar days ending with ``as_of``'s day."""
        end = as_of.normalize() + pd.Timedelta(days=1)
        stamps = lines[TIMESTAMP]
        if self.exclusion_days is None:
            return lines[stamps < end]
        return lines[(stamps >= end - pd.Timedelta(days=self.exclusion_days)) & (stamps < end)]

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
        try:
            as_of_day = self.as_of_ if as_of is None else pd.Timestamp(as_of).normalize()
        except (TypeError, ValueError) as e:
            raise ConfigError(f"as_of {as_of!r} is not a date; use YYYY-MM-DD.") from e
        labels = topic_labels or ([] if table is None else [str(c) for c in table.columns])
        excluded_all = self._pairs(self._window(lines, as_of_day), ids)
        owned_all = self._pairs(lines, ids)
        blocks = []
        for start in range(0, len(ids), _CHUNK):
            chunk, rows = ids[start : start + _CHUNK], slice(start, start + _CHUNK)
            scores = _scale_rows_all(self._raw_scores(chunk, table))
            blended = _blend(scores, self.weights_)
            top_items = _top_items(blended, excluded_all[rows], k)
            reasons = self._reasons(chunk, top_items, scores, table, labels, owned_all[rows])
            blocks.append(self._rows(chunk, top_items, blended, excluded_all[rows], reasons))
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

    def _reasons(self, ids, top_items, scores, table, labels, owned: sp.csr_matrix) -> np.ndarray:
        """One line per recommendation: the interest that lifts the item most, the CF neighbour item."""
        comp, w = self.components_, self.weights_
        n, k = top_items.shape
        pop = pd.Series(comp.popularity[top_items].ravel()).map("popular: bought by {:.0%} of customers".format)
        interest = pd.Series("", index=pop.index)
        if w["content"] > 0 and comp.affinity is not None and scores["has_text"].any():
            vectors = table.reindex(ids).fillna(0.0).to_numpy()
            # the topic that lifts this item most above its base rate (not merely the largest share)
            lift = (comp.affinity - comp.popularity)[:, top_items]  # topics x n x k
            contrib = vectors.T[:, :, None] * lift
            best = contrib.argmax(axis=0)
            show = (np.take_along_axis(contrib, best[None], axis=0)[0] > 0) & scores["has_text"][:, None]
            names_t = np.array([labels[t] if t < len(labels) else str(t) for t in range(vectors.shape[1])], dtype=object)
            share = pd.Series(np.take_along_axis(vectors, best, axis=1).ravel()).map("{:.2f}".format)
            text = "interest: " + pd.Series(names_t[best.ravel()]) + " " + share
            interest = text.where(show.ravel(), "")
        neighbour = pd.Series("", index=pop.index)
        if w["cf"] > 0 and scores["known"].any() and owned.nnz:
            friend = self._neighbours(top_items, owned)
            names = np.append(self.items_.to_numpy().astype(object), "")
            found = pd.Series(names[friend.ravel()])
            neighbour = ("customers who bought " + found + " also bought this").where(found != "", "")
        both = (interest != "") & (neighbour != "")
        out = (interest + np.where(both, "; ", "") + neighbour).where((interest != "") | (neighbour != ""), pop)
        return out.to_numpy(dtype=object).reshape(n, k)

    def _neighbours(self, top_items: np.ndarray, owned: sp.csr_matrix) -> np.ndarray:
        """Per recommendation, the customer's own item most similar to it in ALS space (-1: none)."""
        factors = self.components_.item_factors
        unit = factors / (np.linalg.norm(factors, axis=1, keepdims=True) + 1e-12)
        n, k = top_items.shape
        owner = np.repeat(np.arange(n), np.diff(owned.indptr))
        rows, slots = np.repeat(owner, k), np.tile(np.arange(k), len(owner))
        mine = np.repeat(owned.indices, k)
        target = top_items[rows, slots]
        value = np.einsum("ij,ij->i", unit[target], unit[mine])
        value[target == mine] = -np.inf
        key = rows * k + slots
        order = np.lexsort((mine, -value, key))  # best neighbour first in each (customer, slot)
        first = order[np.unique(key[order], return_index=True)[1]]
        friend = np.full(n * k, -1)
        keep = np.isfinite(value[first])
        friend[key[first][keep]] = mine[first][keep]
        return friend.reshape(n, k)


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
    """Indices of the ``k`` best items per row, best first; excluded items sink to the end.

    ``argpartition`` finds the k candidates, then they are ordered by score and, on ties, by item
    index, so the ranking is the same on every run.
    """
    masked = np.where(np.asarray(excluded.todense()) > 0, -np.inf, scores)
    k = min(k, masked.shape[1])
    if k < masked.shape[1]:
        candidates = np.argpartition(-masked, k - 1, axis=1)[:, :k]
    else:
        candidates = np.broadcast_to(np.arange(k), masked.shape).copy()
    values = np.take_along_axis(masked, candidates, axis=1)
    order = np.lexsort((candidates, -values), axis=1)
    return np.take_along_axis(candidates, order, axis=1)
