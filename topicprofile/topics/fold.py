"""Fold new documents into a fitted topic model without a refit (``topicprofile update``).

A fitted model keeps LDA's sufficient statistics (``sstats``, ``n_topics × n_terms``): the
expected number of times each topic produced each word over the training documents. Folding new
documents in adds what the E-step expects of *them* against the current topics
(:func:`expected_counts`), so the old documents' share is kept as it was fitted and the topics
move by what the new ones bring. The topics stay the same topics under the same ids, on the same
vocabulary (words outside it are not counted; ``update`` reports them). It works the same for
both trainers: the Gibbs model is stored as the same gensim model, its topic-word counts as
``sstats``.

Methods (docs/update.md has the measurements that chose the default):

* ``"add"`` (default): ``sstats += E[counts of the new documents]``, then ``passes - 1`` more
  rounds in which the new documents' counts are recomputed against the folded topics, the old
  documents' share held fixed. This is incremental EM (Neal & Hinton 1998), and Hoffman et al.'s
  online update with the step the new documents' share of all documents earns.
* ``"online"``: gensim's ``LdaModel.update`` step: ``sstats = (1 - rho) sstats + rho (N / n) E``
  with gensim's schedule ``rho = (offset + num_updates / chunksize) ** -decay``; after a batch
  fit ``rho`` is large (0.7-1), so a small batch of new documents outweighs the whole model.

Each document's E-step starts from values seeded by its own words (as tagging does), and the
counts are added in row order: the same documents and model give the same folded model, bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from topicprofile.topics.lda import LdaTopics
from topicprofile.topics.unlearn import estep_counts

__all__ = [
    "DEFAULT_FOLD",
    "DEFAULT_FOLD_PASSES",
    "FOLD_METHODS",
    "FoldEStep",
    "FoldResult",
    "expected_counts",
    "fold_documents",
    "pool_rows",
]

#: ``update``'s fold methods; ``"none"`` keeps the topics as fitted.
FOLD_METHODS = ("add", "online", "none")
#: Chosen by measurement (docs/update.md).
DEFAULT_FOLD = "add"
#: Rounds of ``"add"``: the first adds the new documents' counts, each further one recomputes them.
DEFAULT_FOLD_PASSES = 1

#: ``estep(counts)`` -> ``expected(topics)``: how a fold computes :func:`expected_counts` of the rows
#: it folds (``counts``, set once) against ``topics``' current state, once per round. The default runs
#: here; :func:`topicprofile.distributed.fold.cluster_fold_estep` runs it on a Dask cluster.
FoldEStep = Callable[[sparse.csr_matrix], Callable[[LdaTopics], np.ndarray]]


@dataclass(frozen=True)
class FoldResult:
    """What a fold did: ``method``, documents and tokens folded, ``passes``, the weight ``rho`` the
    new documents got, and how far the topics moved (mean Hellinger distance, 0 = not at all)."""

    method: str
    n_documents: int
    n_tokens: int
    passes: int
    rho: float
    moved: float

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "n_documents": self.n_documents, "n_tokens": self.n_tokens,
                "passes": self.passes, "rho": round(self.rho, 6), "moved": round(self.moved, 6)}  # fmt: skip


def expected_counts(topics: LdaTopics, counts: sparse.csr_matrix) -> np.ndarray:
    """The E-step's expected topic-word counts (``n_topics × n_terms``) of the rows of ``counts``
    against ``topics``' current topics, with its inference settings; each row's start is seeded
    by its own words (:func:`~topicprofile.topics.infer.doc_seeds`), added up as training adds
    (:func:`~topicprofile.topics.unlearn.estep_counts`: batches in row order within blocks of
    16,384 rows, the blocks in a fixed binary tree)."""
    return estep_counts(sparse.csr_matrix(counts, dtype=np.float64), alpha=topics.alpha_,
                        exp_elog_beta=topics.exp_elog_beta_, random_state=topics.random_state,
                        iterations=topics.infer_iterations, threshold=topics.gamma_threshold)  # fmt: skip


def pool_rows(counts: sparse.csr_matrix, groups: Any) -> sparse.csr_matrix:
    """The rows of ``counts`` added up per group (e.g. customer), one row per group in sorted
    order: how a model fitted on pooled customers sees new documents."""
    codes, names = pd.factorize(np.asarray(groups, dtype=object), sort=True)
    rows = sparse.csr_matrix(
        (np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(len(names), counts.shape[0])
    )
    return (rows @ sparse.csr_matrix(counts, dtype=np.float64)).tocsr()


def fold_documents(
    topics: LdaTopics,
    counts: sparse.csr_matrix,
    *,
    method: str = DEFAULT_FOLD,
    passes: int = DEFAULT_FOLD_PASSES,
    estep: FoldEStep | None = None,
) -> FoldResult:
    """Fold the documents ``counts`` (``n_docs × n_terms``, the model's vocabulary) into ``topics``, in place.

    Empty rows are skipped. ``topics.lda_.state`` gets the folded statistics (``numdocs`` and
    ``num_updates`` grow by the documents folded, as gensim's update does) and the fitted arrays
    (``topic_word_``, ``exp_elog_beta_``) follow them; ``alpha`` and ``eta`` stay. The fold is
    recorded in ``topics.folds_`` (saved with the model). ``"none"`` changes nothing. ``estep``: where
    the E-step runs (:data:`FoldEStep`; default: here, :func:`expected_counts`); any ``estep`` that
    returns the same sums gives the same folded model.

    Raises
    ------
    ValueError
        An unknown ``method``, ``passes`` below 1, or ``counts`` not over the model's vocabulary.
    """
    if method not in FOLD_METHODS:
        raise ValueError(f"fold method must be one of {', '.join(FOLD_METHODS)}; got {method!r}")
    if not isinstance(passes, (int, np.integer)) or passes < 1:
        raise ValueError(f"fold passes must be an integer >= 1, got {passes!r}")
    if counts.shape[1] != topics.exp_elog_beta_.shape[1]:
        raise ValueError(f"counts have {counts.shape[1]} terms, the model {topics.exp_elog_beta_.shape[1]}")
    counts = sparse.csr_matrix(counts, dtype=np.float64)
    counts = counts[np.flatnonzero(np.diff(counts.indptr) > 0)]
    n_docs, n_tokens = counts.shape[0], round(float(counts.sum()))
    before = topics.topic_word_
    if method == "none" or n_docs == 0:
        return FoldResult(method, 0 if method == "none" else n_docs, 0, 0, 0.0, 0.0)
    expected = (lambda topics: expected_counts(topics, counts)) if estep is None else estep(counts)
    lda = topics.lda_
    old = np.array(lda.state.sstats, dtype=np.float64, copy=True)
    n_old = int(lda.state.numdocs)
    if method == "online":
        rho = _online_step(lda, expected(topics), n_docs)
        passes = 1
    else:
        rho = n_docs / max(n_old + n_docs, 1)
        for _ in range(passes):
            lda.state.sstats = old + expected(topics)
            lda.sync_state()
            topics._set_fitted_arrays()
        lda.state.numdocs = n_old + n_docs
        lda.num_updates += n_docs
    topics._set_fitted_arrays()
    moved = float(np.mean(np.sqrt(0.5 * ((np.sqrt(topics.topic_word_) - np.sqrt(before)) ** 2).sum(axis=1))))
    result = FoldResult(method, n_docs, n_tokens, passes, float(rho), moved)
    topics.folds_ = [*getattr(topics, "folds_", []), result.to_dict()]
    return result


def _online_step(lda: Any, sstats: np.ndarray, n_docs: int) -> float:
    """One batch step of gensim's ``LdaModel.update`` (``update_every=0``, one pass) given the
    new documents' expected counts; returns its ``rho``."""
    from gensim.models.ldamodel import LdaState

    chunksize = min(n_docs, lda.chunksize)
    rho = pow(lda.offset + lda.num_updates / chunksize, -lda.decay)
    lda.state.numdocs += n_docs
    other = LdaState(lda.eta, lda.state.sstats.shape, lda.dtype)
    other.sstats = sstats
    other.numdocs = n_docs
    lda.do_mstep(rho, other, False)
    return float(rho)
