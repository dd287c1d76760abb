"""The fitted pieces of the recommender: popularity, collaborative filtering, topic -> item affinities.

* **CF**: implicit-feedback ALS (``implicit``; ``random_state`` and one thread, so a seed gives the
  same factors) on the customer x item matrix of order counts (confidence ``1 + c * log1p(n)``).
* **content**: ``A[t, i] = sum_u s[u, t] b[u, i] / sum_u s[u, t]`` (s = customer topic shares,
  b = bought i): the share of a topic's customers who bought the item.
* **popularity**: share of customers who bought the item.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from topicprofile.errors import ConfigError

__all__ = ["CfSettings", "Components", "fit_als", "fit_components"]


@dataclass(frozen=True)
class CfSettings:
    """ALS settings (see :class:`~topicprofile.actions.recommend.HybridRecommender`)."""

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

    @property
    def item_vectors(self) -> np.ndarray:
        """Items in CF space (n_items x d): the neighbour in a reason is the nearest owned item."""
        return self.item_factors

    def cf_scores(self, rows: np.ndarray) -> np.ndarray:
        """Raw CF scores (len(rows) x n_items, float32) of the customers at ``rows`` (>= 0)."""
        return self.user_factors[rows] @ self.item_factors.T


def fit_components(
    matrix: sp.csr_matrix, customers: pd.Index, shares: pd.DataFrame | None, settings: CfSettings
) -> Components:
    """Popularity, ALS factors and (with topic shares) affinities from the customer x item counts."""
    bought = (matrix > 0).astype("float64")
    popularity = np.asarray(bought.sum(axis=0)).ravel() / max(len(customers), 1)
    user_factors, item_factors = fit_als(matrix, settings)
    affinity = None
    if shares is not None:
        values = shares.reindex(customers).fillna(0.0).to_numpy()
        mass = values.sum(axis=0)
        affinity = np.asarray(bought.T @ values).T / np.where(mass > 0, mass, 1.0)[:, None]
    return Components(customers, popularity, user_factors, item_factors, affinity)


def fit_als(matrix: sp.csr_matrix, settings: CfSettings) -> tuple[np.ndarray, np.ndarray]:
    """(user factors, item factors) of implicit's ALS on the counts, seeded and on one thread."""
    try:  # an optional dependency (extra "actions"): only recommendations need it
        from implicit.cpu.als import AlternatingLeastSquares
    except ImportError as e:
        raise ConfigError(
            "recommendations need the 'implicit' package: pip install 'topicprofile[actions]'."
        ) from e

    confidence = matrix.copy()
    confidence.data = 1.0 + settings.confidence * np.log1p(confidence.data)
    with threadpool_limits(1):  # one BLAS thread: reproducible and light on shared cores
        model = AlternatingLeastSquares(
            factors=settings.factors, regularization=settings.regularization, iterations=settings.iterations,
            random_state=settings.random_state, num_threads=1, calculate_training_loss=False,
        )  # fmt: skip
        model.fit(confidence.astype("float32").tocsr(), show_progress=False)
    return np.asarray(model.user_factors), np.asarray(model.item_factors)
