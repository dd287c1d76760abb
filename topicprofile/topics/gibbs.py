"""Collapsed Gibbs sampling LDA (tomotopy), converted into a gensim ``LdaModel``.

tomotopy's ``LDAModel`` samples each token's topic given all the others (Griffiths & Steyvers
2004); with ``optim_interval`` > 0 it also optimises an asymmetric document-topic prior
``alpha`` every ``optim_interval`` iterations after ``burn_in`` (off by default, see
:data:`DEFAULT_GIBBS_PARAMS`). Its topics are more coherent on short reviews than variational
EM's (docs/benchmarks.md). The trained model becomes an ordinary gensim ``LdaModel``: the
topic-word counts are gensim's sufficient statistics ``state.sstats``, tomotopy's optimised
``alpha`` and the same topic-word prior ``eta`` are copied, and ``sync_state()`` derives
``expElogbeta``. Everything after training (the seeded, batch-invariant E-step of
:class:`~topicprofile.topics.lda.LdaTopics`, saving, labels) is the same for both trainers.

Memory: tomotopy holds every training document in memory (about 8 bytes per token, on top of
the count matrix) and cannot stream; documents are handed to it one row of the count matrix at a
time, so no second corpus is built in Python.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse

__all__ = ["DEFAULT_GIBBS_PARAMS", "train_gibbs", "train_tomotopy", "tomotopy_to_gensim", "resolve_gibbs_params"]

#: Defaults of the Gibbs trainer. ``alpha`` is tomotopy's default; ``eta`` 0.1 instead of its
#: 0.01: with the taxonomy on corpora/ (k=8, seeds 0-2) customers got their planted interest
#: under its name for 0.91/0.92/0.91 against 0.85/0.85/0.86, unseeded recovery alike (mean 0.86
#: and 0.87); the topic-word prior is also the base of the taxonomy's seed prior. tomotopy also
#: optimises an asymmetric alpha every 10 iterations by default; on corpora/ (k=8, pooled
#: customers, seeds 0-2) that let one topic collect the shop-generic words ("sale, return,
#: checkout") and with them many customers' top interest: planted recovery 0.82/0.78/0.83 against
#: 0.90/0.80/0.90 with the symmetric alpha kept (``optim_interval`` 0), and 0.78 against 0.85 with
#: the taxonomy (seed 0). ``burn_in`` only matters when ``optim_interval`` > 0.
DEFAULT_GIBBS_PARAMS: dict[str, Any] = {
    "iterations": 500,
    "burn_in": 50,
    "optim_interval": 0,
    "alpha": 0.1,
    "eta": 0.1,
}


def resolve_gibbs_params(*, iterations: Any, alpha: Any, eta: Any) -> dict[str, Any]:
    """The Gibbs settings actually used: ``None`` replaced by :data:`DEFAULT_GIBBS_PARAMS`.

    Raises
    ------
    ValueError
        ``alpha`` not a positive number (gensim's ``"symmetric"``/``"auto"`` are variational
        options), ``eta`` neither a positive number nor a ``n_topics × n_terms`` matrix, or
        ``iterations`` below 1.
    """
    given = {"iterations": iterations, "alpha": alpha, "eta": eta}
    params = {k: (DEFAULT_GIBBS_PARAMS[k] if given.get(k) is None else given[k]) for k in DEFAULT_GIBBS_PARAMS}
    if not isinstance(params["iterations"], (int, np.integer)) or params["iterations"] < 1:
        raise ValueError(f"iterations must be an integer >= 1 for the Gibbs trainer, got {params['iterations']!r}")
    if isinstance(params["alpha"], str) or not np.isscalar(params["alpha"]) or not params["alpha"] > 0:
        raise ValueError(f"alpha must be a positive number for the Gibbs trainer, got {params['alpha']!r}")
    if isinstance(params["eta"], str) or not np.all(np.asarray(params["eta"], dtype=float) > 0):
        raise ValueError(f"eta must be a positive number or matrix for the Gibbs trainer, got {params['eta']!r}")
    return params


def train_gibbs(
    counts: sparse.csr_matrix,
    dictionary: Any,
    *,
    n_topics: int,
    params: dict[str, Any],
    random_state: int,
) -> Any:
    """Train tomotopy LDA on the rows of ``counts`` and return the equivalent gensim ``LdaModel``.

    Parameters
    ----------
    counts : csr_matrix, shape (n_docs, n_terms)
        Word counts per training document, columns = ``dictionary`` ids. Empty rows are skipped.
    dictionary : gensim Dictionary
    n_topics : int
    params : dict
        From :func:`resolve_gibbs_params`. A matrix ``eta`` (a taxonomy's seed prior) becomes
        tomotopy's per-word topic prior (``set_word_prior``) on every word whose column differs
        from the matrix's most common value, which is the model's scalar ``eta``.
    random_state : int
        tomotopy's seed; one worker, so the same input and seed give the same model.
    """
    model = train_tomotopy(counts, dictionary, n_topics=n_topics, params=params, random_state=random_state)
    return tomotopy_to_gensim(model, dictionary, eta=params["eta"], random_state=random_state)


def train_tomotopy(
    counts: sparse.csr_matrix,
    dictionary: Any,
    *,
    n_topics: int,
    params: dict[str, Any],
    random_state: int,
) -> Any:
    """The trained ``tomotopy.LDAModel`` of :func:`train_gibbs` (before conversion)."""
    import tomotopy

    n_terms = len(dictionary)
    eta_matrix, base_eta = _eta_matrix(params["eta"], n_topics, n_terms)
    model = tomotopy.LDAModel(
        k=n_topics, alpha=float(params["alpha"]), eta=base_eta, seed=int(random_state) & 0xFFFFFFFF,
        min_cf=0, rm_top=0, tw=tomotopy.TermWeight.ONE,
    )  # fmt: skip
    model.burn_in = int(params["burn_in"])
    model.optim_interval = int(params["optim_interval"])
    _add_documents(model, counts, dictionary)
    if len(model.docs) == 0:
        raise ValueError("no training document has a word in the vocabulary")
    if eta_matrix is not None:
        for term in np.flatnonzero((eta_matrix != base_eta).any(axis=0)):
            word = dictionary[int(term)]
            if word in model.vocabs:  # tomotopy only knows the words the training documents hold
                model.set_word_prior(word, eta_matrix[:, term].tolist())
    model.train(int(params["iterations"]), workers=1)
    return model


def tomotopy_to_gensim(model: Any, dictionary: Any, *, eta: Any, random_state: int) -> Any:
    """A gensim ``LdaModel`` holding ``model``'s topic-word counts, optimised alpha and prior ``eta``."""
    from gensim.models import LdaModel

    n_topics, n_terms = model.k, len(dictionary)
    eta_matrix, base_eta = _eta_matrix(eta, n_topics, n_terms)
    ids_by_word = dictionary.token2id
    # tomotopy orders its vocabulary by frequency after training: map it onto the dictionary ids
    term_ids = np.fromiter((ids_by_word[w] for w in model.used_vocabs), dtype=np.int64, count=len(model.used_vocabs))
    # get_topic_word_dist(normalize=False) is count + the scalar eta (float32, word priors not added)
    raw = np.array([model.get_topic_word_dist(t, normalize=False) for t in range(n_topics)], dtype=np.float64)
    sstats = np.zeros((n_topics, n_terms), dtype=np.float64)
    sstats[:, term_ids] = np.maximum(np.rint(raw - np.float64(np.float32(base_eta))), 0.0)
    lda = LdaModel(
        id2word=dictionary, num_topics=n_topics, alpha=np.asarray(model.alpha, dtype=np.float64),
        eta=eta_matrix if eta_matrix is not None else np.full(n_terms, base_eta),
        random_state=random_state, dtype=np.float64,
    )  # fmt: skip
    lda.state.sstats = sstats
    lda.state.numdocs = len(model.docs)
    lda.sync_state()
    return lda


def _eta_matrix(eta: Any, n_topics: int, n_terms: int) -> tuple[np.ndarray | None, float]:
    """``(matrix or None, scalar)``: a scalar eta stays scalar; a matrix keeps its most common value as the scalar."""
    arr = np.asarray(eta, dtype=np.float64)
    if arr.ndim == 0:
        return None, float(arr)
    matrix = np.broadcast_to(arr, (n_topics, n_terms)) if arr.ndim == 1 else arr
    if matrix.shape != (n_topics, n_terms):
        raise ValueError(f"eta must be {n_topics} × {n_terms}, got shape {matrix.shape}")
    values, freq = np.unique(matrix, return_counts=True)
    return np.ascontiguousarray(matrix), float(values[np.argmax(freq)])


def _add_documents(model: Any, counts: sparse.csr_matrix, dictionary: Any) -> None:
    """Each non-empty row as a list of words: its terms in dictionary id order, each repeated by its count."""
    if not counts.has_sorted_indices:
        counts = counts.sorted_indices()
    words = np.array([dictionary[i] for i in range(len(dictionary))], dtype=object)
    indptr, indices = counts.indptr, counts.indices
    repeats = np.rint(counts.data).astype(np.int64)
    for row in range(counts.shape[0]):
        start, end = indptr[row], indptr[row + 1]
        if end > start:
            model.add_doc(words[np.repeat(indices[start:end], repeats[start:end])].tolist())
