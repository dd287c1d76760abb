"""Take training documents out of a fitted LDA model's statistics (issue 14: ``forget``, ``prune``).

LDA's sufficient statistics (``sstats``, ``n_topics × n_terms``) are the sum over the training
documents of each document's expected topic-word counts under the variational posterior (the
E-step). :func:`subtract_documents` computes those counts for the documents to remove against the
current model -- the E-step of :func:`~topicprofile.topics.infer.infer_gamma`, each document
started from values seeded by its own words, as at inference, with the model's inference
settings -- and subtracts them (clipped at 0), then derives ``exp_elog_beta`` again as gensim's
``sync_state`` does. Both trainers store the same gensim state, so this holds for the Gibbs
trainer too.

This is exact against the current model, not a refit: training ran many passes in which every
document shaped the topics the others were assigned to, and the vocabulary stays. A model whose
statistics were changed so is marked "refit due".
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.special import psi

from topicprofile.topics import lda
from topicprofile.topics.infer import INFER_BATCH, doc_seeds, infer_gamma

__all__ = ["estep_block_counts", "estep_counts", "exp_elog_beta_of", "subtract_documents"]


def estep_counts(
    counts: sparse.csr_matrix, *, alpha: np.ndarray, exp_elog_beta: np.ndarray, random_state: int,
    iterations: int, threshold: float,
) -> np.ndarray:  # fmt: skip
    """The E-step's expected topic-word counts (``n_topics × n_terms``) of the rows of ``counts``,
    summed, against the model ``alpha`` / ``exp_elog_beta`` (each row seeded from its own words).

    Summed as training sums (:mod:`topicprofile.topics.lda`): batch by batch within each block of
    :data:`~topicprofile.topics.lda.REDUCE_BLOCK` rows (:func:`estep_block_counts`), then the blocks in
    :func:`~topicprofile.topics.lda.tree_sum`'s fixed tree, so a cluster that computes one block per
    task and adds them in the same tree gets these bits (:mod:`topicprofile.distributed.fold`). Up to
    one block (16,384 rows) this is the plain batch-by-batch sum.
    """
    size = lda.REDUCE_BLOCK  # read at call time (tests make blocks small)
    settings = {"alpha": alpha, "exp_elog_beta": exp_elog_beta, "random_state": random_state,
                "iterations": iterations, "threshold": threshold}  # fmt: skip
    if counts.shape[0] <= size:
        return estep_block_counts(counts, **settings)
    return lda.tree_sum(
        estep_block_counts(counts[start : start + size], **settings)
        for start in range(0, counts.shape[0], size)
    )


def estep_block_counts(
    counts: sparse.csr_matrix, *, alpha: np.ndarray, exp_elog_beta: np.ndarray, random_state: int,
    iterations: int, threshold: float,
) -> np.ndarray:  # fmt: skip
    """:func:`estep_counts` of one block: its batches' statistics added in row order."""
    beta_t = np.ascontiguousarray(exp_elog_beta.T)
    total = np.zeros_like(exp_elog_beta, dtype=np.float64)
    for start in range(0, counts.shape[0], INFER_BATCH):
        chunk = counts[start : start + INFER_BATCH]
        if not chunk.nnz:
            continue
        _, sstats = infer_gamma(
            chunk, doc_seeds(chunk, random_state), alpha=alpha, beta_t=beta_t, n_iterations=iterations,
            threshold=threshold, exp_elog_beta=exp_elog_beta, collect_sstats=True,
        )  # fmt: skip
        total += sstats
    return total


def exp_elog_beta_of(sstats: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """``exp(E[log beta])`` of sufficient statistics and the prior, as gensim's ``sync_state`` gives it."""
    lam = eta + sstats
    return np.exp(psi(lam) - psi(np.sum(lam, axis=1))[:, np.newaxis])


def subtract_documents(
    sstats: np.ndarray, *, eta: np.ndarray, alpha: np.ndarray, exp_elog_beta: np.ndarray,
    removed: sparse.csr_matrix, added: sparse.csr_matrix | None = None, random_state: int, iterations: int,
    threshold: float,
) -> tuple[np.ndarray, np.ndarray, float]:  # fmt: skip
    """New ``(sstats, exp_elog_beta, tokens_removed)`` after taking the training documents ``removed``
    out of the model (and putting ``added`` in: a customer's pooled document that lost some texts).

    Both sets of expected counts are computed against the current model (``alpha``,
    ``exp_elog_beta``) before anything changes; the result is clipped at 0. ``tokens_removed`` is the
    net expected count taken out.
    """
    settings = {"alpha": alpha, "exp_elog_beta": exp_elog_beta, "random_state": random_state,
                "iterations": iterations, "threshold": threshold}  # fmt: skip
    delta = estep_counts(removed, **settings)
    if added is not None and added.nnz:
        delta -= estep_counts(added, **settings)
    new = np.maximum(sstats - delta, 0.0)
    return new, exp_elog_beta_of(new, eta), float(delta.sum())
