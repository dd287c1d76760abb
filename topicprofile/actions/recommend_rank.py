"""Scoring primitives of the recommender: per-customer scaling, the blend, top-k and rank metrics.

Everything here works on dense ``n x items`` score blocks (float32: enough to rank) of a chunk of
customers, so memory stays bounded whatever the number of customers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["COMPONENTS", "ITEM", "Scores", "blend", "rank_metrics", "recall_at", "scale_rows", "top_items"]

ITEM = "item"  # the output column; the orders' product or category
COMPONENTS = ("cf", "content", "popularity")


@dataclass
class Scores:
    """Scaled component scores of some customers (see ``HybridRecommender._scores``)."""

    ids: pd.Index
    cf: np.ndarray | None  # n x items
    content: np.ndarray | None  # n x items
    popularity: np.ndarray  # items: the same row for everyone
    known: np.ndarray  # has orders
    has_text: np.ndarray  # has an interest vector
    vectors: np.ndarray | None  # n x topics


def scale_rows(values: np.ndarray) -> np.ndarray:
    """Each row min-max scaled to [0, 1], in place (a constant row becomes zeros)."""
    low = values.min(axis=1, keepdims=True)
    span = values.max(axis=1, keepdims=True) - low
    values -= low
    values /= np.where(span > 0, span, 1)
    return values


def blend(scores: Scores, weights: Mapping[str, float], out: np.ndarray | None = None) -> np.ndarray:
    """Weighted sum of the scaled components (n x items, float32), written into ``out`` if given."""
    shape = (len(scores.ids), len(scores.popularity))
    blended = np.empty(shape, dtype="float32") if out is None or out.shape != shape else out
    # a tiny popularity term breaks ties the same way every time
    np.multiply(np.float32(weights["popularity"] + 1e-6), scores.popularity, out=blended)
    for name in ("cf", "content"):
        if weights[name] > 0:
            blended += np.float32(weights[name]) * getattr(scores, name)
    return blended


def top_items(scores: np.ndarray, excluded: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores of the ``k`` best items per row, best first; excluded items sink to the end.

    ``scores`` is overwritten (excluded items become -inf). ``argpartition`` finds the k
    candidates, then they are ordered by score and, on ties, by item index, so the ranking is the
    same on every run.
    """
    rows, cols = excluded.nonzero()
    scores[rows, cols] = -np.inf
    m = scores.shape[1]
    k = min(k, m)
    if k < m:
        candidates = np.argpartition(scores, m - k, axis=1)[:, m - k :]
    else:
        candidates = np.broadcast_to(np.arange(m), scores.shape).copy()
    values = np.take_along_axis(scores, candidates, axis=1)
    order = np.lexsort((candidates, -values), axis=1)
    return np.take_along_axis(candidates, order, axis=1), np.take_along_axis(values, order, axis=1)


def rank_metrics(top: np.ndarray, targets: sp.csr_matrix, k: int) -> tuple[float, float]:
    """Hit-rate@k and NDCG@k of ranked item indices ``top`` (n x >=k) against a binary target matrix."""
    k = min(k, top.shape[1])  # a catalogue smaller than k: every item is listed
    top = top[:, :k]
    hits = np.asarray(targets[np.arange(top.shape[0])[:, None], top].todense()) > 0
    gains = (hits / np.log2(np.arange(2, k + 2))).sum(axis=1)
    n_rel = np.minimum(np.asarray(targets.sum(axis=1)).ravel(), k).astype(int)
    ideal = np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))[np.maximum(n_rel, 1) - 1]
    return float(hits.any(axis=1).mean()), float((gains / ideal).mean())


def recall_at(top: np.ndarray, targets: sp.csr_matrix) -> float:
    """Mean over customers of the share of their target items found in their list ``top`` (n x k)."""
    found = np.asarray(targets[np.arange(top.shape[0])[:, None], top].todense()) > 0
    n_targets = np.asarray((targets > 0).sum(axis=1)).ravel()
    return float((found.sum(axis=1) / np.maximum(n_targets, 1)).mean())
