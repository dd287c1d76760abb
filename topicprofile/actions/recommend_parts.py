"""The fitted pieces of the recommender: popularity, collaborative filtering, topic -> item affinities.

* **CF**: implicit-feedback ALS (``implicit``; ``random_state`` and one thread, so a seed gives the
  same factors) on the customer x item matrix of order counts (confidence ``1 + c * log1p(n)``), or
  implicit's item-item nearest neighbours (cosine, BM25 or TF-IDF weighting) of the same matrix.
* **content**: ``A[t, i] = sum_u s[u, t] b[u, i] / sum_u s[u, t]`` (s = customer topic shares,
  b = bought i): the share of a topic's customers who bought the item.
* **popularity**: share of customers who bought the item.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from topicprofile.errors import ConfigError

__all__ = ["CF_KINDS", "CfSettings", "Components", "fit_als", "fit_components", "fit_item_knn"]


CF_KINDS = ("als", "cosine", "bm25", "tfidf")


@dataclass(frozen=True)
class CfSettings:
    """CF settings (see :class:`~topicprofile.actions.recommend.HybridRecommender`)."""

    cf: str = "als"  # "als", or item-item nearest neighbours: "bm25", "cosine", "tfidf"
    neighbours: int = 100
    factors: int = 8
    regularization: float = 1.0
    iterations: int = 15
    confidence: float = 10.0
    random_state: int = 0


@dataclass
class Components:
    """Fitted pieces of one training run."""

    customers: pd.Index
    popularity: np.ndarray
    user_factors: np.ndarray
    item_factors: np.ndarray
    affinity: np.ndarray | None  # n_topics x n_items
    similarity: sp.csr_matrix | None = None  # item x item (nearest-neighbour CF)
    history: sp.csr_matrix | None = None  # customer x item weights the similarity is applied to

    def cf_scores(self, rows: np.ndarray) -> np.ndarray:
        """Raw CF scores (len(rows) x n_items, float32) of the customers at ``rows`` (>= 0)."""
        if self.similarity is not None:
            return np.asarray((self.history[rows] @ self.similarity).todense(), dtype="float32")
        return self.user_factors[rows] @ self.item_factors.T

    def item_similarity(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """CF similarity of item pairs ``(a[i], b[i])``: the neighbour in a reason is the most similar."""
        if self.similarity is not None:
            return np.asarray(self.similarity[a, b], dtype="float64").ravel()
        unit = self.item_factors / (np.linalg.norm(self.item_factors, axis=1, keepdims=True) + 1e-12)
        return np.einsum("ij,ij->i", unit[a], unit[b])


def fit_components(
    matrix: sp.csr_matrix, customers: pd.Index, shares: pd.DataFrame | None, settings: CfSettings
) -> Components:
    """Popularity, ALS factors and (with topic shares) affinities from the customer x item counts."""
    bought = (matrix > 0).astype("float64")
    popularity = np.asarray(bought.sum(axis=0)).ravel() / max(len(customers), 1)
    similarity = history = None
    if settings.cf == "als":
        user_factors, item_factors = fit_als(matrix, settings)
    else:
        similarity, history = fit_item_knn(matrix, settings)
        user_factors = item_factors = np.zeros((0, 0), dtype="float32")
    affinity = None
    if shares is not None:
        values = shares.reindex(customers).fillna(0.0).to_numpy()
        mass = values.sum(axis=0)
        affinity = np.asarray(bought.T @ values).T / np.where(mass > 0, mass, 1.0)[:, None]
    return Components(customers, popularity, user_factors, item_factors, affinity, similarity, history)


def _implicit(name: str):
    try:  # an optional dependency (extra "actions"): only recommendations need it
        if name == "als":
            from implicit.cpu.als import AlternatingLeastSquares as model
        else:
            from implicit import nearest_neighbours

            model = {
                "bm25": nearest_neighbours.BM25Recommender, "cosine": nearest_neighbours.CosineRecommender,
                "tfidf": nearest_neighbours.TFIDFRecommender,
            }[name]  # fmt: skip
    except ImportError as e:
        raise ConfigError(
            "recommendations need the 'implicit' package: pip install 'topicprofile[actions]'."
        ) from e
    return model


def fit_item_knn(matrix: sp.csr_matrix, settings: CfSettings) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """(item x item similarity, customer x item history) of implicit's nearest-neighbour CF.

    Each item keeps its ``neighbours`` most similar items (BM25, cosine or TF-IDF weighting of the
    bought matrix); a customer's score of an item is the sum of its similarities to what they bought.
    """
    history = matrix.copy().astype("float32")
    history.data = np.log1p(history.data)  # repeat purchases count, with diminishing weight
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Method expects CSR input")  # implicit's own conversion
        model = _implicit(settings.cf)(K=settings.neighbours, num_threads=1)
        model.fit(history, show_progress=False)
    return model.similarity.astype("float32").tocsr(), history.tocsr()


def fit_als(matrix: sp.csr_matrix, settings: CfSettings) -> tuple[np.ndarray, np.ndarray]:
    """(user factors, item factors) of implicit's ALS on the counts, seeded and on one thread."""
    confidence = matrix.copy()
    confidence.data = 1.0 + settings.confidence * np.log1p(confidence.data)
    with threadpool_limits(1):  # one BLAS thread: reproducible and light on shared cores
        model = _implicit("als")(
            factors=settings.factors, regularization=settings.regularization, iterations=settings.iterations,
            random_state=settings.random_state, num_threads=1, calculate_training_loss=False,
        )  # fmt: skip
        model.fit(confidence.astype("float32").tocsr(), show_progress=False)
    return np.asarray(model.user_factors), np.asarray(model.item_factors)
