"""Where topics sit on the intertopic map, and which words tell a topic apart (LDAvis relevance).

Pure numpy: Jensen–Shannon distances between the topics' word distributions, placed in two
dimensions by classical (Torgerson) multidimensional scaling — the map pyLDAvis draws, computed
here so the report needs no network and no extra package.
"""

from __future__ import annotations

import numpy as np

__all__ = ["classical_mds", "intertopic_map", "js_distances", "relevance", "top_relevant"]

#: LDAvis' suggested λ (Sievert & Shirley 2014: 0.6 was best in their user study).
DEFAULT_LAMBDA = 0.6


def _rows_as_distributions(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] < 1:
        raise ValueError(f"expected a k × V matrix, got shape {matrix.shape}")
    if (matrix < 0).any():
        raise ValueError("topic-word weights must be non-negative")
    sums = matrix.sum(axis=1, keepdims=True)
    if (sums <= 0).any():
        raise ValueError("every topic needs some word weight")
    return matrix / sums


def js_distances(topic_word: np.ndarray) -> np.ndarray:
    """k × k Jensen–Shannon distances (base 2, so in [0, 1]) between the rows of ``topic_word``.

    >>> d = js_distances(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]))
    >>> np.round(d, 6).tolist()
    [[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    p = _rows_as_distributions(topic_word)
    k = p.shape[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        logp = np.where(p > 0, np.log2(p), 0.0)
    out = np.zeros((k, k))
    for i in range(k):
        m = 0.5 * (p[i] + p)  # (k, V): the mixture of topic i with every topic
        with np.errstate(divide="ignore", invalid="ignore"):
            logm = np.where(m > 0, np.log2(m), 0.0)
        kl_i = (p[i] * (logp[i] - logm)).sum(axis=1)
        kl_j = (p * (logp - logm)).sum(axis=1)
        out[i] = np.sqrt(np.clip(0.5 * (kl_i + kl_j), 0.0, 1.0))
    out = 0.5 * (out + out.T)
    np.fill_diagonal(out, 0.0)
    return out


def classical_mds(distances: np.ndarray, n_components: int = 2) -> np.ndarray:
    """Torgerson MDS: coordinates whose Euclidean distances approximate ``distances``.

    Double-centres the squared distances, keeps the top eigenvectors (negative eigenvalues are
    clipped to zero); the sign of each axis is fixed so the largest coordinate is positive, which
    makes the layout deterministic.
    """
    d = np.asarray(distances, dtype=np.float64)
    n = d.shape[0]
    if d.shape != (n, n):
        raise ValueError(f"expected a square matrix, got shape {d.shape}")
    centre = np.eye(n) - np.full((n, n), 1.0 / n)
    b = -0.5 * centre @ (d**2) @ centre
    values, vectors = np.linalg.eigh(b)
    order = np.argsort(values)[::-1][:n_components]
    values = np.clip(values[order], 0.0, None)
    coords = vectors[:, order] * np.sqrt(values)
    if coords.shape[1] < n_components:  # fewer topics than axes
        coords = np.hstack([coords, np.zeros((n, n_components - coords.shape[1]))])
    for axis in range(n_components):
        column = coords[:, axis]
        if column.size and column[np.argmax(np.abs(column))] < 0:
            coords[:, axis] = -column
    return coords


def intertopic_map(topic_word: np.ndarray) -> np.ndarray:
    """k × 2 map coordinates of the topics (classical MDS of their Jensen–Shannon distances)."""
    return classical_mds(js_distances(topic_word), 2)


def relevance(topic_word: np.ndarray, term_counts: np.ndarray, lam: float = DEFAULT_LAMBDA) -> np.ndarray:
    """LDAvis relevance ``λ·log p(w|t) + (1−λ)·log(p(w|t) / p(w))`` for every topic and term (k × V).

    ``term_counts`` are the corpus counts of the terms (``dictionary_.cfs``); a term never counted
    gets ``-inf``. λ = 1 ranks by probability in the topic, λ = 0 by lift (distinctiveness).
    """
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lambda must be in [0, 1], got {lam}")
    p = _rows_as_distributions(topic_word)
    counts = np.asarray(term_counts, dtype=np.float64)
    if counts.shape != (p.shape[1],):
        raise ValueError(f"term_counts has shape {counts.shape}, expected ({p.shape[1]},)")
    total = counts.sum()
    marginal = counts / total if total > 0 else np.full_like(counts, 1.0 / counts.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        logp = np.log(p)
        lift = logp - np.log(marginal)
    out = lam * logp + (1.0 - lam) * lift
    out[:, marginal <= 0] = -np.inf
    out[p <= 0] = -np.inf
    return out


def top_relevant(
    topic_word: np.ndarray, term_counts: np.ndarray, *, lam: float = DEFAULT_LAMBDA, n: int = 10
) -> list[list[tuple[int, float, float, float]]]:
    """Per topic, the ``n`` most relevant terms: ``(term id, relevance, p(w|t), p(w))``, best first."""
    p = _rows_as_distributions(topic_word)
    counts = np.asarray(term_counts, dtype=np.float64)
    marginal = counts / counts.sum() if counts.sum() > 0 else np.zeros_like(counts)
    scores = relevance(topic_word, term_counts, lam)
    result = []
    for t in range(p.shape[0]):
        order = np.lexsort((np.arange(p.shape[1]), -scores[t]))[:n]  # ties: lower id first
        result.append([(int(w), float(scores[t, w]), float(p[t, w]), float(marginal[w]))
                       for w in order if np.isfinite(scores[t, w])])  # fmt: skip
    return result
