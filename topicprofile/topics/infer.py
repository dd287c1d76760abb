"""The variational E-step of LDA inference: document topics from a fitted model's arrays.

The update is gensim's ``LdaModel.inference`` (Hoffman et al. 2010), batched over documents, with
each document's starting point seeded from its own words (see :mod:`topicprofile.topics.lda`), so
a document's topics do not depend on the other documents. :class:`~topicprofile.topics.lda.LdaTopics`
trains and infers through these functions, and :class:`TopicInference` applies them to the arrays
of a saved model alone: tagging a text needs numpy and scipy's sparse matrices and digamma here,
neither gensim nor scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse
from scipy.special import psi

__all__ = [
    "INFER_BATCH",
    "TopicInference",
    "check_exp_elog_beta",
    "doc_seeds",
    "doc_topics",
    "infer_gamma",
    "iterate_gamma",
    "seeded_gamma",
    "select_rows",
    "splitmix64",
    "topic_word",
]  # fmt: skip

INFER_BATCH = 2048  # documents per vectorized E-step batch (bounds memory, not results)


@dataclass(frozen=True)
class TopicInference:
    """What inferring document topics needs from a fitted model: ``alpha`` (k), ``exp_elog_beta``
    (k × V) and the inference settings (the model's seed, iteration cap, convergence threshold)."""

    alpha: np.ndarray
    exp_elog_beta: np.ndarray
    random_state: int
    iterations: int
    threshold: float
    beta_t: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "beta_t", np.ascontiguousarray(self.exp_elog_beta.T))

    @property
    def n_terms(self) -> int:
        return int(self.exp_elog_beta.shape[1])

    def transform_counts(self, counts: sparse.csr_matrix) -> np.ndarray:
        """Topic distribution of each row of an ``n_docs × n_terms`` count matrix (rows sum to 1);
        the same numbers as :meth:`LdaTopics.transform_counts <topicprofile.topics.lda.LdaTopics.transform_counts>`."""
        return doc_topics(counts, alpha=self.alpha, beta_t=self.beta_t, random_state=self.random_state,
                          n_iterations=self.iterations, threshold=self.threshold)  # fmt: skip


def topic_word(sstats: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """The topic-word distributions (rows sum to 1) of sufficient statistics and the prior ``eta``,
    as gensim's ``LdaModel.get_topics()`` computes them (``lambda = eta + sstats``, rows normalised)."""
    topics = eta + sstats
    return topics / topics.sum(axis=1)[:, None]


def check_exp_elog_beta(exp_elog_beta: np.ndarray, *, sstats: np.ndarray, eta: np.ndarray) -> None:
    """Raise ValueError unless ``exp_elog_beta`` follows from ``sstats`` and ``eta`` (to rounding),
    as gensim's ``sync_state`` derives it: the saved arrays belong together."""
    lam = eta + sstats
    expected = np.exp(psi(lam) - psi(np.sum(lam, axis=1))[:, np.newaxis])
    if not np.allclose(expected, exp_elog_beta, rtol=1e-9, atol=0.0):
        raise ValueError(
            "exp_elog_beta does not follow from sstats and eta (the files do not belong together)"
        )


def doc_topics(
    counts: sparse.csr_matrix, *, alpha: np.ndarray, beta_t: np.ndarray, random_state: int, n_iterations: int,
    threshold: float,
) -> np.ndarray:  # fmt: skip
    """Topic distributions of the rows of ``counts`` (``n_docs × n_terms``): an ``n_docs × n_topics``
    array whose rows sum to 1; an empty row gets the prior mean (``alpha`` normalised).

    ``beta_t`` is ``exp(E[log beta])`` as ``n_terms × n_topics`` (C order).
    """
    out = np.empty((counts.shape[0], beta_t.shape[1]), dtype=np.float64)
    for start in range(0, counts.shape[0], INFER_BATCH):
        chunk = counts if counts.shape[0] <= INFER_BATCH else counts[start : start + INFER_BATCH]
        gamma = infer_gamma(chunk, doc_seeds(chunk, random_state), alpha=alpha, beta_t=beta_t,
                            n_iterations=n_iterations, threshold=threshold)  # fmt: skip
        out[start : start + chunk.shape[0]] = gamma / gamma.sum(axis=1, keepdims=True)
    return out


def infer_gamma(
    counts: sparse.csr_matrix,
    seeds: np.ndarray,
    *,
    alpha: np.ndarray,
    beta_t: np.ndarray,
    n_iterations: int,
    threshold: float,
    exp_elog_beta: np.ndarray | None = None,
    collect_sstats: bool = False,
) -> Any:
    """Variational E-step (Hoffman et al. 2010, as gensim's ``LdaModel.inference``), batched.

    Every document is iterated on its own until it converges and keeps the gamma of the
    iteration it converged in, so its result does not depend on the other rows of ``counts``.
    With ``collect_sstats`` (which needs ``exp_elog_beta``, ``n_topics × n_terms``), also returns
    the expected topic-word counts of the batch for the M-step, as gensim does. The iterations
    are :func:`iterate_gamma`.
    """
    gamma = seeded_gamma(seeds, beta_t.shape[1])
    lengths = np.diff(counts.indptr)
    nonempty = lengths > 0
    gamma[~nonempty] = alpha
    counts, _ = select_rows(counts, nonempty)
    if counts.shape[0] and n_iterations > 0:
        iterate_gamma(gamma, np.flatnonzero(nonempty), counts, beta_t, alpha, n_iterations=n_iterations,
                      threshold=threshold)  # fmt: skip
    if not collect_sstats:
        return gamma
    g = gamma[nonempty]
    exp_elog_theta = np.exp(psi(g) - psi(g.sum(axis=1, keepdims=True)))
    token_doc = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
    token_beta = np.take(beta_t, counts.indices, axis=0)
    phinorm = np.einsum("ij,ij->i", np.take(exp_elog_theta, token_doc, axis=0), token_beta) + 1e-100
    scaled = sparse.csr_matrix((counts.data / phinorm, counts.indices, counts.indptr), shape=counts.shape)
    sstats = np.asarray((scaled.T @ exp_elog_theta).T) * exp_elog_beta
    return gamma, sstats


def iterate_gamma(
    gamma: np.ndarray,
    docs: np.ndarray,
    counts: sparse.csr_matrix,
    beta_t: np.ndarray,
    alpha: np.ndarray,
    *,
    n_iterations: int,
    threshold: float,
) -> None:
    """The E-step iterations of :func:`infer_gamma`, in place on the rows ``docs`` of ``gamma``.

    ``counts`` holds those documents' rows (none empty), ``beta_t`` is ``exp(E[log beta])`` as
    ``n_terms × n_topics``. A document stops when its mean gamma change falls below ``threshold``
    and keeps that iteration's gamma.

    Nothing is sliced or built per iteration (re-slicing ``counts`` and building sparse matrices
    cost ~0.1-0.2 ms per iteration, most of a one-row batch's time and of the many iterations a
    few slow documents keep a training batch going): each stored term's topic weights are
    gathered once (``token_beta``), and one sparse matrix gets new values (``scaled.data``) per
    iteration. Converged documents keep being computed (their gamma already stored) until at most
    half of the working set still iterates; only then are the arrays compacted, so the extra work
    is at most 2× and compactions are few.
    """
    g = gamma[docs]
    n_topics = g.shape[1]
    iterating = np.ones(docs.size, dtype=bool)
    token_doc = np.repeat(np.arange(docs.size), np.diff(counts.indptr))
    token_beta = np.take(beta_t, counts.indices, axis=0)
    scaled = _same_structure(counts)
    for _ in range(n_iterations):
        exp_elog_theta = np.exp(psi(g) - psi(g.sum(axis=1, keepdims=True)))
        phinorm = np.einsum("ij,ij->i", np.take(exp_elog_theta, token_doc, axis=0), token_beta) + 1e-100
        np.divide(counts.data, phinorm, out=scaled.data)
        new_g = alpha + exp_elog_theta * (scaled @ beta_t)
        mean_change = np.add.reduce(np.abs(new_g - g), axis=1) / n_topics  # .mean(axis=1), less overhead
        converged = ~(mean_change >= threshold) & iterating
        g = new_g
        if not converged.any():
            continue
        gamma[docs[converged]] = g[converged]
        iterating &= ~converged
        n_iterating = np.count_nonzero(iterating)
        if n_iterating == 0:
            return
        if 2 * n_iterating <= docs.size:  # compact: drop the converged documents and their tokens
            counts, on_tokens = select_rows(counts, iterating)
            docs, g, token_beta = docs[iterating], g[iterating], token_beta[on_tokens]
            iterating = np.ones(docs.size, dtype=bool)
            token_doc = np.repeat(np.arange(docs.size), np.diff(counts.indptr))
            scaled = _same_structure(counts)
    gamma[docs[iterating]] = g[iterating]  # the iteration cap was reached


def _same_structure(counts: sparse.csr_matrix) -> sparse.csr_matrix:
    """A matrix sharing ``counts``' structure, with its own float64 ``data`` array to overwrite."""
    return sparse.csr_matrix(
        (counts.data.astype(np.float64), counts.indices, counts.indptr), shape=counts.shape
    )


def select_rows(counts: sparse.csr_matrix, keep: np.ndarray) -> tuple[sparse.csr_matrix, np.ndarray | slice]:
    """The rows ``keep`` (boolean) of ``counts``, built from its arrays without scipy's indexing;
    also which stored terms were kept (a boolean array, or a slice when all rows are)."""
    first, last = counts.indptr[0], counts.indptr[-1]
    if first == 0 and counts.data.size == last and keep.all():
        return counts, slice(None)
    lengths = np.diff(counts.indptr)
    on_tokens = np.repeat(keep, lengths)
    indptr = np.zeros(np.count_nonzero(keep) + 1, dtype=counts.indptr.dtype)
    np.cumsum(lengths[keep], out=indptr[1:])
    data, indices = counts.data[first:last][on_tokens], counts.indices[first:last][on_tokens]
    return sparse.csr_matrix((data, indices, indptr), shape=(indptr.size - 1, counts.shape[1])), on_tokens


def doc_seeds(counts: sparse.csr_matrix, random_state: int) -> np.ndarray:
    """One 64-bit seed per document from its own term ids and counts (and the model's seed)."""
    base = splitmix64(np.uint64(random_state & 0xFFFFFFFFFFFFFFFF))
    seeds = np.full(counts.shape[0], base, dtype=np.uint64)
    lengths = np.diff(counts.indptr)
    nonempty = np.flatnonzero(lengths > 0)
    if nonempty.size:
        with np.errstate(over="ignore"):
            mix = splitmix64(
                counts.indices.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
                ^ counts.data.astype(np.uint64)
            )
        per_doc = np.bitwise_xor.reduceat(mix, counts.indptr[nonempty])
        seeds[nonempty] = splitmix64(per_doc ^ base)
    return seeds


def splitmix64(x: np.ndarray | np.uint64) -> Any:
    """SplitMix64 finalizer: a fast, well-mixed 64-bit hash (vectorized)."""
    with np.errstate(over="ignore"):
        x = np.uint64(0x9E3779B97F4A7C15) + np.asarray(x, dtype=np.uint64)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def seeded_gamma(seeds: np.ndarray, n_topics: int) -> np.ndarray:
    """Starting topic weights near 1 (as gensim's Gamma(100, 1/100) draw), one stream per seed."""
    k = np.arange(1, n_topics + 1, dtype=np.uint64)
    h = splitmix64(seeds[:, None] ^ splitmix64(k)[None, :])
    uniform = (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    return 0.9 + 0.2 * uniform  # mean 1, spread like Gamma(100, 0.01) (sd 0.1)
