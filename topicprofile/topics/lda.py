"""gensim LDA behind an estimator: fit on bags of words, transform to a dense doc-topic matrix.

gensim's ``LdaModel`` trains in its constructor, defaults to ``random_state=None`` and starts each
document's inference from random values drawn from one shared generator, so a document's topics
depend on which batch it sits in. :class:`LdaTopics` always seeds training, and infers document
topics with its own batched variational E-step (the same update as gensim's ``inference``) whose
starting point is seeded per document from the document's own words. A document's topics are
therefore the same whatever the batch size, chunking or order of the other documents, and the
documents seen at fit time get exactly the topics that :meth:`LdaTopics.transform` gives later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from scipy import sparse

from topicprofile.text.corpus import CsrCorpus
from topicprofile.topics.infer import INFER_BATCH as _INFER_BATCH
from topicprofile.topics.infer import doc_seeds as _doc_seeds  # noqa: F401  (tests use the old names)
from topicprofile.topics.infer import doc_topics, infer_gamma
from topicprofile.topics.infer import seeded_gamma as _seeded_gamma  # noqa: F401
from topicprofile.topics.infer import splitmix64 as _splitmix64
from topicprofile.topics.gibbs import resolve_gibbs_params, train_gibbs
from topicprofile.topics.review_mixture import resolve_review_params, train_review_mixture
from topicprofile.text.vectorize import bows_to_csr

__all__ = ["DEFAULT_LDA_PARAMS", "LdaTopics", "tree_sum"]

#: Defaults tuned for short reviews; the evidence is in docs/lda_defaults.md.
DEFAULT_LDA_PARAMS: dict[str, Any] = {
    "passes": 20,
    "iterations": 200,
    "update_every": 0,
    "chunksize": 4000,
    "alpha": "symmetric",
    "eta": None,
}

#: Training documents per reduction block: a pass adds up the E-step's statistics batch by batch
#: within a block, then the blocks' sums in a fixed binary tree (:func:`tree_sum`). A cluster that
#: holds whole blocks per task (:mod:`topicprofile.distributed`) adds them up in the same tree, so
#: its model is this one bit for bit.
REDUCE_BLOCK = 8 * _INFER_BATCH

#: ``blocks(topics, pass_)``: the summed statistics of each block of training documents, in order,
#: or fewer arrays whose :func:`tree_sum` is the same (a cluster's already reduced tree: its root).
BlockSstats = Callable[["LdaTopics", int], Iterable[np.ndarray]]
#: ``estep(counts)``: how each pass's :data:`BlockSstats` of the training matrix ``counts`` are computed.
EStep = Callable[[sparse.csr_matrix], BlockSstats]


def tree_sum(arrays: Iterable[np.ndarray]) -> np.ndarray:
    """The sum of ``arrays`` (at least one) added up in a fixed binary tree: pairs, then pairs of
    pairs, an odd one out carried up (``((a+b)+(c+d))+e``), holding at most log2(n) partial sums.

    The tree's shape depends only on the number of arrays, so any machine that adds the same
    arrays level by level in this shape gets the same bits; on a cluster the pairs are added on
    the workers and only the root reaches the driver (:mod:`topicprofile.distributed.lda`).
    """
    stack: list[tuple[int, np.ndarray]] = []  # (number of arrays in it, their sum), sizes decreasing
    for array in arrays:
        size = 1
        while stack and stack[-1][0] == size:
            _, left = stack.pop()
            array, size = left + array, 2 * size
        stack.append((size, array))
    if not stack:
        raise ValueError("tree_sum needs at least one array")
    total = stack.pop()[1]
    while stack:
        total = stack.pop()[1] + total
    return total


class LdaTopics:
    """Latent Dirichlet allocation topics (gensim ``LdaModel``), reproducible and batch-invariant.

    Parameters
    ----------
    n_topics : int
        Number of topics.
    passes, iterations, update_every, chunksize, alpha, eta
        Passed to :class:`gensim.models.LdaModel`; ``None`` takes :data:`DEFAULT_LDA_PARAMS`.
    trainer : {"vectorized", "gensim", "gibbs", "review"}, default "vectorized"
        ``"review"``: one topic per review drawn from its customer's interests, sampled on the
        documents with their customers (``fit(..., groups=)``; :mod:`topicprofile.topics.review_mixture`).
        ``"gibbs"`` trains with tomotopy's collapsed Gibbs sampler and converts the result into the
        same gensim model (:mod:`topicprofile.topics.gibbs`); ``iterations`` are then Gibbs sweeps
        (default 500), ``alpha``/``eta`` numbers (default 0.1/0.1, or a seed-prior matrix ``eta``)
        and ``passes``, ``update_every``, ``chunksize`` are not used. Inference is the same for all.
        Batch training (``update_every=0``) runs gensim's batch variational EM -- the same E-step,
        the same M-step blend and learning-rate schedule (``rho``), the same ``LdaModel`` state --
        but with the E-step vectorized over documents (:meth:`_infer_gamma`) instead of gensim's
        Python loop over documents: several times faster (docs/benchmarks.md). Each document's
        E-step starts from its own seeded values, as at :meth:`transform`. ``"gensim"`` calls
        ``LdaModel.update`` itself; online training (``update_every > 0``) always does.
    infer_iterations : int, default 100
        Cap on E-step iterations per document at :meth:`transform`.
    gamma_threshold : float, default 1e-3
        A document's E-step stops when its mean topic-weight change falls below this.
    random_state : int, default 0
        Seeds training and, mixed with each document's words, its inference.
    """

    def __init__(
        self,
        n_topics: int = 12,
        *,
        passes: int | None = None,
        iterations: int | None = None,
        update_every: int | None = None,
        chunksize: int | None = None,
        alpha: Any = None,
        eta: Any = None,
        trainer: str = "vectorized",
        infer_iterations: int = 100,
        gamma_threshold: float = 1e-3,
        random_state: int = 0,
    ) -> None:
        self.n_topics = n_topics
        self.passes = passes
        self.iterations = iterations
        self.update_every = update_every
        self.chunksize = chunksize
        self.alpha = alpha
        self.eta = eta
        self.trainer = trainer
        self.infer_iterations = infer_iterations
        self.gamma_threshold = gamma_threshold
        self.random_state = random_state

    def resolved_params(self) -> dict[str, Any]:
        """The training parameters actually used (``None`` replaced by the trainer's defaults)."""
        if self.trainer == "gibbs":
            return resolve_gibbs_params(iterations=self.iterations, alpha=self.alpha, eta=self.eta)
        if self.trainer == "review":
            return resolve_review_params(iterations=self.iterations, alpha=self.alpha, eta=self.eta)
        given = {
            "passes": self.passes,
            "iterations": self.iterations,
            "update_every": self.update_every,
            "chunksize": self.chunksize,
            "alpha": self.alpha,
            "eta": self.eta,
        }
        return {k: (DEFAULT_LDA_PARAMS[k] if v is None else v) for k, v in given.items()}

    def fit(
        self,
        bows: Sequence[Sequence[tuple[int, int]]],
        dictionary: Any,
        *,
        estep: EStep | None = None,
        groups: np.ndarray | None = None,
    ) -> LdaTopics:
        """Train on bags of words; returns ``self``.

        ``groups`` (``trainer="review"``, required there): each document's customer code, one per
        row of the training matrix (empty rows included).

        ``estep`` runs each pass's E-step elsewhere (a cluster, :mod:`topicprofile.distributed`) in
        batch variational training (``trainer="vectorized"``, ``update_every=0``, no seeded prior):
        given the training matrix, it returns the function that yields, per pass, what
        :meth:`block_sstats` gives for each block of :data:`REDUCE_BLOCK` rows, in order.

        Sets ``lda_`` (the gensim model), ``topic_word_`` (``n_topics × n_terms``, rows sum to 1),
        ``alpha_``, ``exp_elog_beta_`` and ``iterations_`` (the training iterations used).
        """
        from gensim.models import LdaModel

        if self.trainer not in {"vectorized", "gensim", "gibbs", "review"}:
            known = "'vectorized', 'gensim', 'gibbs' or 'review'"
            raise ValueError(f"trainer must be {known}, got {self.trainer!r}")
        params = self.resolved_params()
        self.iterations_ = int(params["iterations"])
        if self.trainer == "review":
            if groups is None or not isinstance(bows, CsrCorpus):
                raise ValueError("the review trainer needs the document counts and their customers")
            self.lda_ = train_review_mixture(bows.counts, groups, dictionary, n_topics=self.n_topics, params=params,
                                             random_state=self.random_state)  # fmt: skip
            self._set_fitted_arrays()
            return self
        if self.trainer == "gibbs":
            counts = bows.counts if isinstance(bows, CsrCorpus) else bows_to_csr(list(bows), len(dictionary))
            self.lda_ = train_gibbs(
                counts, dictionary, n_topics=self.n_topics, params=params, random_state=self.random_state
            )
            self._set_fitted_arrays()
            return self
        # a streamed corpus (re-iterable, with len, no empty documents) goes to gensim as it is
        corpus = bows if isinstance(bows, CsrCorpus) else [bow for bow in bows if bow]
        seeded = not isinstance(params["eta"], (str, type(None), float, int))
        vectorized = self.trainer == "vectorized" and not params["update_every"]
        if estep is not None and (seeded or not vectorized):
            raise ValueError("estep needs batch variational training (trainer 'vectorized', update_every 0, no seeds)")
        self.lda_: Any = LdaModel(
            corpus=None if seeded or vectorized else corpus,
            id2word=dictionary,
            num_topics=self.n_topics,
            random_state=self.random_state,
            eval_every=None,
            dtype=np.float64,
            **params,
        )
        if seeded:
            # Start from the prior itself, not from gensim's random topics: a seeded topic then
            # begins as its seeds, and the first E-step already assigns documents by them.
            self.lda_.state.sstats += np.asarray(params["eta"], dtype=np.float64)
            self.lda_.sync_state()
        if vectorized:
            counts = corpus.counts[corpus.rows] if isinstance(corpus, CsrCorpus) else bows_to_csr(corpus, len(dictionary))
            self._train_batch(counts, params, None if estep is None else estep(counts))
        elif seeded:
            self.lda_.update(corpus)
        self._set_fitted_arrays()
        return self

    def _train_batch(self, counts: sparse.csr_matrix, params: dict[str, Any], blocks: BlockSstats | None = None) -> None:
        """gensim's batch variational EM (``update_every=0``) with the E-step vectorized over documents."""
        from gensim.models.ldamodel import LdaState

        lda = self.lda_
        n_docs = counts.shape[0]
        if n_docs == 0:
            return
        lda.state.numdocs += n_docs
        chunksize = min(n_docs, params["chunksize"])
        if blocks is None:
            starts = range(0, n_docs, REDUCE_BLOCK)
            blocks = lambda topics, pass_: (
                topics.block_sstats(counts[s : s + REDUCE_BLOCK], first=s, pass_=pass_) for s in starts
            )
        for pass_ in range(params["passes"]):
            other = LdaState(lda.eta, lda.state.sstats.shape, lda.dtype)
            self.alpha_ = np.asarray(lda.alpha, dtype=np.float64)
            self.exp_elog_beta_ = np.asarray(lda.expElogbeta, dtype=np.float64)
            self.train_iterations_, self.train_threshold_ = int(params["iterations"]), float(lda.gamma_threshold)
            other.sstats += tree_sum(blocks(self, pass_))
            other.numdocs = n_docs
            rho = pow(lda.offset + pass_ + lda.num_updates / chunksize, -lda.decay)  # gensim's schedule
            lda.do_mstep(rho, other, pass_ > 0)

    def block_sstats(self, counts: sparse.csr_matrix, *, first: int, pass_: int) -> np.ndarray:
        """The E-step's expected topic-word counts (``n_topics × n_terms``) of one block of training
        documents: rows ``first, first + 1, ...`` of the training matrix, at pass ``pass_``.

        Uses the fitted-so-far ``alpha_``, ``exp_elog_beta_`` and the training E-step settings
        (``train_iterations_``, ``train_threshold_``). Training restarts every document's E-step each
        pass from fresh values, as gensim does, seeded by the document's position and the pass, so
        training is reproducible and a block gives the same result wherever it is computed.
        """
        positions = np.arange(first, first + counts.shape[0], dtype=np.uint64)
        seeds = _splitmix64(positions ^ _splitmix64(np.uint64(self.random_state * 1_000_003 + pass_)))
        total = np.zeros_like(self.exp_elog_beta_)
        for start in range(0, counts.shape[0], _INFER_BATCH):
            _, sstats = self._infer_gamma(
                counts[start : start + _INFER_BATCH], seeds[start : start + _INFER_BATCH],
                iterations=self.train_iterations_, threshold=self.train_threshold_, collect_sstats=True,
            )  # fmt: skip
            total += sstats
        return total

    def _terms_by_topics(self) -> np.ndarray:
        """``exp_elog_beta_`` transposed (``n_terms × n_topics``, C order), kept while that array is."""
        cached = getattr(self, "_terms_by_topics_cache", None)
        if cached is None or cached[0] is not self.exp_elog_beta_:
            cached = (self.exp_elog_beta_, np.ascontiguousarray(self.exp_elog_beta_.T))
            self._terms_by_topics_cache = cached
        return cached[1]

    def _set_fitted_arrays(self) -> None:
        self.topic_word_ = self.lda_.get_topics()
        self.alpha_ = np.asarray(self.lda_.alpha, dtype=np.float64)
        self.exp_elog_beta_ = np.asarray(self.lda_.expElogbeta, dtype=np.float64)

    @classmethod
    def from_gensim(cls, lda: Any, **params: Any) -> LdaTopics:
        """Wrap an already trained ``LdaModel`` (used when loading a saved model)."""
        topics = cls(n_topics=lda.num_topics, **params)
        topics.lda_ = lda
        topics._set_fitted_arrays()
        return topics

    # -- state as plain data (saved models) ------------------------------------------------
    #: The ``LdaModel`` settings kept in a saved model, besides its arrays.
    _STATE_KEYS = (
        "num_topics", "chunksize", "passes", "update_every", "decay", "offset", "eval_every", "iterations",
        "gamma_threshold", "minimum_probability", "minimum_phi_value", "per_word_topics",
        "optimize_alpha", "optimize_eta", "num_updates",
    )

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The fitted gensim model as plain data: JSON-ready settings (with ``folds``, what
        :func:`~topicprofile.topics.fold.fold_documents` added since the fit, when anything) and the
        arrays ``alpha`` (k), ``eta`` (V or k × V), ``sstats`` and ``exp_elog_beta`` (k × V)."""
        lda = self.lda_
        params = {key: getattr(lda, key) for key in self._STATE_KEYS}
        params.update(numdocs=int(lda.state.numdocs), dtype=np.dtype(lda.dtype).name)
        # this estimator's own settings that inference uses
        params["inference"] = {
            "random_state": self.random_state,
            "infer_iterations": self.infer_iterations,
            "gamma_threshold": self.gamma_threshold,
        }
        # documents folded in since the fit (topics/fold.py); readers ignore the key
        if getattr(self, "folds_", None):
            params["folds"] = list(self.folds_)
        arrays = {
            "alpha": np.asarray(lda.alpha, dtype=np.float64),
            "eta": np.asarray(lda.eta, dtype=np.float64),
            "sstats": np.asarray(lda.state.sstats, dtype=np.float64),
            "exp_elog_beta": np.asarray(lda.expElogbeta, dtype=np.float64),
        }
        return params, arrays

    @classmethod
    def from_state(cls, params: dict[str, Any], arrays: dict[str, np.ndarray], dictionary: Any) -> LdaTopics:
        """Rebuild the gensim model from :meth:`to_state`'s data (shapes checked by the caller).

        ``LdaModel`` is built without a corpus (no training), given the saved sufficient statistics
        and synced; its ``expElogbeta`` must then equal the saved one to rounding, and the saved
        array is kept so inference is bit-for-bit that of the fitted model.
        """
        from gensim.models import LdaModel

        settings = {k: params[k] for k in cls._STATE_KEYS[:-3]}
        lda = LdaModel(
            corpus=None, id2word=dictionary, alpha=arrays["alpha"], eta=arrays["eta"],
            random_state=params["inference"]["random_state"], dtype=np.dtype(params["dtype"]).type, **settings,
        )  # fmt: skip
        lda.optimize_alpha, lda.optimize_eta = bool(params["optimize_alpha"]), bool(params["optimize_eta"])
        lda.num_updates = int(params["num_updates"])
        lda.state.sstats = arrays["sstats"].astype(lda.dtype, copy=True)
        lda.state.numdocs = int(params["numdocs"])
        lda.sync_state()
        if not np.allclose(lda.expElogbeta, arrays["exp_elog_beta"], rtol=1e-9, atol=0.0):
            raise ValueError("exp_elog_beta does not follow from sstats and eta (the files do not belong together)")
        lda.expElogbeta = arrays["exp_elog_beta"].astype(lda.dtype, copy=True)
        inference = params["inference"]
        topics = cls.from_gensim(
            lda, random_state=int(inference["random_state"]), infer_iterations=int(inference["infer_iterations"]),
            gamma_threshold=float(inference["gamma_threshold"]),
        )
        topics.folds_ = list(params.get("folds", []))
        return topics

    # -- inference -----------------------------------------------------------------------
    def transform(self, bows: Sequence[Sequence[tuple[int, float]]]) -> np.ndarray:
        """Topic distribution of each document: an ``n_docs × n_topics`` array, rows sum to 1.

        An empty document gets the prior mean (``alpha`` normalized).
        """
        return self.transform_counts(bows_to_csr(bows, self.exp_elog_beta_.shape[1]))

    def transform_counts(self, counts: sparse.csr_matrix) -> np.ndarray:
        """:meth:`transform` for an ``n_docs × n_terms`` count matrix (rows are documents)."""
        return doc_topics(
            counts, alpha=self.alpha_, beta_t=self._terms_by_topics(), random_state=self.random_state,
            n_iterations=self.infer_iterations, threshold=self.gamma_threshold,
        )  # fmt: skip

    def _infer_gamma(
        self,
        counts: sparse.csr_matrix,
        seeds: np.ndarray,
        *,
        iterations: int | None = None,
        threshold: float | None = None,
        collect_sstats: bool = False,
    ) -> Any:
        """The variational E-step of :func:`~topicprofile.topics.infer.infer_gamma` with this model's
        ``alpha_`` and ``exp_elog_beta_`` (and, unless given, its inference settings)."""
        return infer_gamma(
            counts, seeds, alpha=self.alpha_, beta_t=self._terms_by_topics(), exp_elog_beta=self.exp_elog_beta_,
            n_iterations=self.infer_iterations if iterations is None else iterations,
            threshold=self.gamma_threshold if threshold is None else threshold, collect_sstats=collect_sstats,
        )  # fmt: skip
