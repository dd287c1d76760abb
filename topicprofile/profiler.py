"""TopicProfiler: the one object that knows the order of the stages.

``documents -> text encoder (tokenizer, phrases, vocabulary, TF-IDF: text/encoder.py) -> topics ->
per-customer aggregation (tag/aggregate.py) -> tags and the profile table (tag/table.py) ->
segments (segments/)``. Each fitted part turns itself into plain data (``to_state``/``from_state``);
:mod:`topicprofile.store` writes and reads that data.
"""

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError as _SklearnNotFitted
from sklearn.utils.validation import check_is_fitted

from topicprofile import schema
from topicprofile.behavior import compute_rfm
from topicprofile.distributed import DaskBackend, cluster_estep, cluster_infer, cluster_tokenize, cluster_topic_chunks
from topicprofile.errors import ConfigError, DataValidationError, NotFittedError
from topicprofile.ingest.documents import Input, as_loaded, build_documents
from topicprofile.ingest.load import check_text_lengths, clean_orders
from topicprofile.segments.cluster import MIN_EXAMPLE_WORDS, CustomerSegmenter, fit_segments, rename_segments, segment_customers
from topicprofile.segments.fuse import FeatureFuser
from topicprofile.segments.saved import segments_document, segments_from_document
from topicprofile.store import load_model, save_model
from topicprofile.tag.aggregate import aggregate_topics, count_corpus, customer_block
from topicprofile.tag.explain import explain_tags
from topicprofile.tag.table import order_columns, profile_table, relabel, text_tags
from topicprofile.tag.tagger import AGGREGATIONS, CustomerTopics, InterestTagger, anchor_matrix
from topicprofile.text.corpus import DEFAULT_CHUNK_ROWS, CsrCorpus, DocumentStore
from topicprofile.text.encoder import TextEncoder, make_tokenizer
from topicprofile.text.lang import check_lang, language_mismatch
from topicprofile.text.tokenizer import SpacyTokenizer
from topicprofile.topics import LdaTopics, apply_label_overrides
from topicprofile.topics.describe import describe_topics
from topicprofile.topics.gibbs import resolve_gibbs_params
from topicprofile.topics.seeding import convergence_warnings, seed_prior, validate_taxonomy
from topicprofile.topics.tuning import DEFAULT_K_VALUES, choose_n_topics

__all__ = ["TopicProfiler", "ProgressCallback"]

logger = logging.getLogger(__name__)

#: ``progress(step, done, total)``: called as long steps advance; ``total`` is None when unknown.
ProgressCallback = Callable[[str, int, "int | None"], None]
#: Documents whose texts are checked against ``lang`` before tokenizing (first ones, in order).
LANG_SAMPLE = 2_000
#: A vocabulary needs this many words per topic: below, topics share their few words and mean nothing.
MIN_WORDS_PER_TOPIC = 5



#: ``trainer`` parameter -> :class:`LdaTopics` trainer.
_TRAINERS = {"vb": "vectorized", "gibbs": "gibbs"}


def _no_progress(step: str, done: int, total: int | None) -> None:
    return None


class TopicProfiler(BaseEstimator):  # type: ignore[misc]
    """Fit topics on customers' reviews and browsing, then tag customers and new text with interests.

    Parameters
    ----------
    n_topics : int or "auto", default 12
        Number of LDA topics; ``"auto"`` fits each k of ``k_values`` with five seeds and keeps the
        most stable one (:func:`topicprofile.topics.tuning.tune_k`; the table is ``tuning_``).
    lang : str, default "en"
        Language of the text ("en", "zh", or another spaCy language code).
    random_state : int, default 0
        Seed for everything random; same input and seed give the same topics and tags.
    spacy_model : str or None
        An installed trained spaCy pipeline to use instead of the blank one (keeps content words by POS).
    stop_words : sequence of str or None
        Domain stop words added to spaCy's; ``None`` uses the built-in shop list.
    phrases : bool, default True
        Join frequent word pairs into phrases (``hiking_boots``).
    pooling : {"customer", "document"}, default "customer"
        Train LDA on each customer's texts pooled into one document (robust on short reviews and
        page titles), or on the individual documents. Tags are always inferred per document.
    no_below, no_above, keep_n
        Vocabulary filter (gensim ``filter_extremes``); ``no_below=None`` keeps words found in at
        least 0.3% of the documents (and at least 3), see :func:`~topicprofile.text.vectorize.default_no_below`.
    trainer : {"gibbs", "vb"}, default "gibbs"
        How LDA is trained: tomotopy's collapsed Gibbs sampling (the default: it won on real shops,
        docs/quality.md) or gensim's variational Bayes (batch, vectorized); Gibbs sampling (:mod:`topicprofile.topics.gibbs`), converted into the same gensim model, so
        tagging, explanations and saving do not depend on it. Gibbs holds the training documents
        (pooled customers or documents, see ``pooling``) in memory.
    passes, iterations, update_every, alpha, eta
        LDA training settings; ``None`` uses the trainer's defaults (docs/lda_defaults.md; Gibbs:
        500 iterations, alpha 0.1, eta 0.1; ``passes`` and ``update_every`` are VB only).
    tag_threshold, max_tags, min_tokens, channel_weights
        Interest tagging, see :class:`~topicprofile.tag.tagger.InterestTagger`.
    aggregation : {"sharpened", "length"}, default "sharpened"
        A customer's topic vector: the mean of their documents' sharpened vectors (``p² / Σp²``, each
        document counting once times its channel weight), and every customer with a vocabulary word
        gets a top interest; or ``"length"``, the length- and channel-weighted mean with every tag
        thresholded (the rule before; :mod:`topicprofile.tag.tagger`).
    anchor_threshold : float, default 0.5
        For short texts and customers (fewer than ``anchor_below`` vocabulary words, default 10), a
        topic becomes a tag only if the text holds a word with ``p(topic | word)`` at least this (an
        anchor word, :func:`~topicprofile.tag.tagger.anchor_matrix`): generic short reviews ("love it,
        great value") abstain instead of getting an arbitrary tag. 0 turns the rule off.
    n_keywords : int, default 5
        TF-IDF keywords per customer.
    topic_labels : mapping of int to str, or None
        Names replacing the automatic labels of some topics.
    text_weight, behavior_weight : float, default 1.0
        Weights of the topic shares and of the standardized log1p(RFM) features in the fused
        customer vector that segments are clustered on (when orders are given).
    n_segments : int or None
        Number of customer segments; ``None`` picks it by silhouette within ``segment_k_range``.
    taxonomy : mapping of str to list of str, or None
        The shop's interests and their seed words (:func:`topicprofile.topics.seeding.load_taxonomy`):
        topic ``k`` is guided towards interest ``k`` and named after it; the other topics are
        labelled as emerging interests.
    k_values : sequence of int
        The topic counts ``n_topics="auto"`` tries.
    chunk_rows : int, default 50,000
        Documents per chunk: fitting and tagging stream the documents through every step in chunks
        of this size (tokens and word counts wait on disk between passes), so memory does not grow
        with the corpus; results do not depend on it.
    workers : int or None
        Tokenizer processes (:mod:`topicprofile.text.pool`); ``None`` picks by machine and corpus
        size (one process for small corpora). Results do not depend on it.
    cache_dir : str or None
        Folder of the token cache (:mod:`topicprofile.text.cache`): tokens are stored under a
        fingerprint of the texts and the tokenizer settings, so refitting the same texts with other
        LDA settings skips tokenization. ``None`` (the API default) caches nothing; the CLI uses
        :func:`~topicprofile.text.cache.default_cache_dir`.

    Examples
    --------
    >>> import pandas as pd
    >>> reviews = pd.read_csv("corpora/reviews.csv", dtype=str)  # doctest: +SKIP
    >>> tp = TopicProfiler(n_topics=8).fit(reviews=reviews)      # doctest: +SKIP
    >>> tp.tag_text(["Love these trail shoes, great grip on wet rocks"])  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        n_topics: int | str = 12,
        lang: str = "en",
        random_state: int = 0,
        spacy_model: str | None = None,
        stop_words: Sequence[str] | None = None,
        phrases: bool = True,
        pooling: str = "customer",
        trainer: str = "gibbs",
        no_below: int | None = None,
        no_above: float = 0.5,
        keep_n: int = 50_000,
        passes: int | None = None,
        iterations: int | None = None,
        update_every: int | None = None,
        alpha: Any = None,
        eta: Any = None,
        tag_threshold: float = 0.2,
        max_tags: int = 3,
        min_tokens: int = 2,
        anchor_threshold: float = 0.5,
        anchor_below: int = 10,
        channel_weights: Mapping[str, float] | None = None,
        aggregation: str = "sharpened",
        n_keywords: int = 5,
        topic_labels: Mapping[int, str] | None = None,
        text_weight: float = 1.0,
        behavior_weight: float = 1.0,
        n_segments: int | None = None,
        segment_k_range: tuple[int, int] = (4, 8),
        taxonomy: Mapping[str, Sequence[str]] | None = None,
        k_values: Sequence[int] = DEFAULT_K_VALUES,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        workers: int | None = None,
        cache_dir: str | None = None,
    ) -> None:
        self.n_topics = n_topics
        self.lang = lang
        self.random_state = random_state
        self.spacy_model = spacy_model
        self.stop_words = stop_words
        self.phrases = phrases
        self.pooling = pooling
        self.trainer = trainer
        self.no_below = no_below
        self.no_above = no_above
        self.keep_n = keep_n
        self.passes = passes
        self.iterations = iterations
        self.update_every = update_every
        self.alpha = alpha
        self.eta = eta
        self.tag_threshold = tag_threshold
        self.max_tags = max_tags
        self.min_tokens = min_tokens
        self.anchor_threshold = anchor_threshold
        self.anchor_below = anchor_below
        self.channel_weights = channel_weights
        self.aggregation = aggregation
        self.n_keywords = n_keywords
        self.topic_labels = topic_labels
        self.text_weight = text_weight
        self.behavior_weight = behavior_weight
        self.n_segments = n_segments
        self.segment_k_range = segment_k_range
        self.taxonomy = taxonomy
        self.k_values = k_values
        self.chunk_rows = chunk_rows
        self.workers = workers
        self.cache_dir = cache_dir

    # -- fitting ---------------------------------------------------------------------------
    def fit(
        self,
        reviews: Input = None,
        browsing: Input = None,
        orders: Input = None,
        *,
        as_of: str | pd.Timestamp | None = None,
        progress: ProgressCallback | None = None,
    ) -> TopicProfiler:
        """Learn phrases, vocabulary, TF-IDF and topics from customers' texts.

        Parameters
        ----------
        reviews : DataFrame or LoadResult, optional
            Columns ``customer_id, text`` (+ optional ``timestamp, rating, product``).
        browsing : DataFrame or LoadResult, optional
            Columns ``customer_id`` and any of ``text, title, query, url``.
        orders : DataFrame or LoadResult, optional
            Columns ``customer_id, order_id, timestamp, amount`` (+ ``status``): adds RFM value
            features and customer segments (``segmenter_``, ``segment_cards_``).
        as_of : date, optional
            Reference date for recency; default the latest order date.
        progress : callable, optional
            Receives ``(step, done, total)`` as long steps advance.

        Returns
        -------
        self
        """
        self._validate_params()
        store = DocumentStore.from_frame(build_documents(reviews, browsing), chunk_rows=self.chunk_rows)
        return self.fit_documents(store, orders, as_of=as_of, progress=progress)

    def fit_documents(
        self,
        documents: DocumentStore,
        orders: Input = None,
        *,
        as_of: str | pd.Timestamp | None = None,
        progress: ProgressCallback | None = None,
        backend: DaskBackend | None = None,
    ) -> TopicProfiler:
        """:meth:`fit` on documents already in a :class:`~topicprofile.text.corpus.DocumentStore`.

        This is how files too large for memory are fitted (:func:`topicprofile.app.jobs.fit_files`
        streams them into a store chunk by chunk); the model keeps the store for :meth:`explain`.
        With a ``backend`` (:class:`topicprofile.distributed.DaskBackend`) LDA's E-step runs on its
        cluster: the same model, bit for bit (``trainer="vb"`` only; docs/distributed.md).
        """
        self._validate_params()
        if backend is not None:
            self._check_cluster_fit()
        rfm = _rfm(orders, as_of=as_of)  # before the long steps: bad orders fail fast
        return self._fit_store(documents, rfm, progress or _no_progress, backend)

    def _check_cluster_fit(self) -> None:
        """What a cluster can train identically: batch variational LDA without a seeded prior."""
        if self.trainer == "gibbs":
            raise ConfigError(
                "the gibbs trainer cannot run on a Dask cluster (its sampler is sequential); use "
                "--trainer vb, which trains the same model on the cluster as on one machine"
            )
        if self.taxonomy or (self.update_every or 0) > 0:
            raise ConfigError("a Dask cluster trains batch LDA without --taxonomy (update_every 0): fit those locally")

    def _fit_store(
        self, store: DocumentStore, rfm: pd.DataFrame | None, report: ProgressCallback, backend: DaskBackend | None = None
    ) -> TopicProfiler:
        """Fit on documents streamed from ``store``: every pass reads them chunk by chunk."""
        if store.n_docs == 0:
            raise DataValidationError("no documents to fit on")
        mismatch = language_mismatch(itertools.islice(store.iter_column(schema.TEXT), LANG_SAMPLE), self.lang)
        if mismatch:
            logger.warning("%s", mismatch)
        self.encoder_ = TextEncoder(self._make_tokenizer(), phrases=self.phrases, no_below=self.no_below,
                                    no_above=self.no_above, keep_n=self.keep_n)  # fmt: skip
        tokenize = None if backend is None else cluster_tokenize(backend)
        tokens = self.encoder_.fit_vocabulary(store, report=report, workers=self.workers, cache_dir=self.cache_dir,
                                              tokenize=tokenize)  # fmt: skip
        corpus = count_corpus(store, tokens, self.encoder_, report=report, seed=self.random_state,
                              min_example_words=MIN_EXAMPLE_WORDS if rfm is not None else None)  # fmt: skip
        fewest = min(self._k_candidates()) if self.n_topics == "auto" else self.n_topics
        if corpus.n_nonempty < fewest:
            raise DataValidationError(
                f"only {corpus.n_nonempty} document(s) have words in the vocabulary, fewer than "
                f"--topics {fewest}; add text or ask for fewer topics"
            )
        self._check_vocabulary(fewest)
        self.encoder_.fit_keywords(corpus.iter_bows())
        report("topics", 0, None)
        training = corpus.pooled if self.pooling == "customer" else corpus.doc_matrix()
        self._choose_n_topics(CsrCorpus(training), corpus.sample_tokens, report)
        eta = self._seed_prior(training.shape[0])
        estep = None if backend is None else cluster_estep(backend)
        self.topics_ = self._make_lda(eta).fit(CsrCorpus(training), self.dictionary_, estep=estep)
        self.taxonomy_warnings_ = (
            convergence_warnings(self.topics_.topic_word_, self.seed_ids_, list(self.taxonomy or {}))
            if self.taxonomy
            else []
        )
        chunks = corpus.iter_chunks() if backend is None else cluster_infer(backend, corpus.iter_chunks(), topics=self.topics_)
        customers, topic_mass = self._aggregate(chunks, report, total=store.n_docs, pooled=corpus.pooled)
        report("quality", 0, None)
        described = describe_topics(self.topics_.topic_word_, self.dictionary_, tokens=corpus.sample_tokens,
                                    topic_mass=topic_mass, seeded_names=list(self.taxonomy or {}))  # fmt: skip
        self.auto_labels_, self.coherence_, self.topic_info_ = described.auto_labels, described.coherence, described.table
        self.set_topic_labels(self.topic_labels or {})
        self.n_documents_ = store.n_docs
        self.input_fingerprint_ = store.fingerprint
        self.documents_: DocumentStore | None = store
        report("profiles", 0, None)
        self.profiles_ = self._profiles(customers)
        self._fit_segments(rfm, reviews=corpus.first_reviews)
        return self

    # the encoder's fitted parts, under the names the API has always had
    tokenizer_ = property(lambda self: self.encoder_.tokenizer, doc="The fitted :class:`SpacyTokenizer`.")
    phrases_ = property(lambda self: self.encoder_.phrases_, doc="The fitted :class:`PhraseDetector` or None.")
    dictionary_ = property(lambda self: self.encoder_.dictionary_, doc="The vocabulary (gensim Dictionary).")
    keywords_ = property(lambda self: self.encoder_.keywords_, doc="The TF-IDF keyword model.")

    def _aggregate(
        self, chunks: Iterable[tuple[pd.DataFrame, Any]], report: ProgressCallback, *, total: int | None,
        pooled: Any = None,
    ) -> tuple[CustomerTopics, np.ndarray]:
        return aggregate_topics(chunks, topics=self.topics_, channel_weights=self._make_tagger().weights(),
                                report=report, total=total, pooled=pooled, aggregation=self.aggregation)  # fmt: skip

    def _k_candidates(self) -> list[int]:
        n_interests = len(self.taxonomy or {})
        return [k for k in self.k_values if k >= max(2, n_interests)] or [max(2, n_interests)]

    def _choose_n_topics(self, training: Any, tokens: list[list[str]], report: ProgressCallback) -> None:
        """``n_topics_``: the parameter, or for ``"auto"`` the k chosen by :func:`choose_n_topics`."""
        if self.n_topics == "auto":
            report("choose k", 0, None)
        lda_params = {"passes": self.passes, "iterations": self.iterations, "update_every": self.update_every,
                      "alpha": self.alpha}  # fmt: skip
        self.n_topics_, self.tuning_ = choose_n_topics(
            self.n_topics, training, self.dictionary_, tokens, k_values=self._k_candidates(), lda_params=lda_params
        )

    def _seed_prior(self, n_training_docs: int) -> Any:
        """The taxonomy's topic-word prior (``eta``), or the ``eta`` parameter without a taxonomy."""
        self.seed_ids_: list[list[int]] = []
        self.missing_seeds_: dict[str, list[str]] = {}
        if not self.taxonomy:
            return self.eta
        prior = seed_prior(
            validate_taxonomy(self.taxonomy),
            n_topics=self.n_topics_,
            dictionary=self.dictionary_,
            encode=self.encoder_.tokens,
            n_training_docs=n_training_docs,
            base=self._make_lda(self.eta).resolved_params()["eta"] if self.trainer == "gibbs" else None,
        )
        self.seed_ids_, self.missing_seeds_ = prior.seed_ids, prior.missing
        return prior.eta

    def _fit_segments(self, rfm: pd.DataFrame | None, *, reviews: pd.DataFrame) -> None:
        """Fuse RFM with topic shares and cluster customers into named segments."""
        self.segmenter_: CustomerSegmenter | None = None
        self.fuser_: FeatureFuser | None = None
        self.segment_cards_: list[dict[str, Any]] = []
        if rfm is None:
            return
        self.fuser_ = FeatureFuser(text_weight=self.text_weight, behavior_weight=self.behavior_weight)
        self.segmenter_ = CustomerSegmenter(
            n_segments=self.n_segments, k_range=self.segment_k_range, random_state=self.random_state
        )
        table, self.segment_cards_ = fit_segments(
            self.profiles_, rfm, fuser=self.fuser_, segmenter=self.segmenter_, reviews=reviews
        )
        self.profiles_ = order_columns(table)

    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self, "topics_")
        except _SklearnNotFitted as e:
            raise NotFittedError(
                "this TopicProfiler is not fitted yet: call fit() or TopicProfiler.load() first"
            ) from e

    def _validate_params(self) -> None:
        if self.n_topics != "auto" and (not isinstance(self.n_topics, (int, np.integer)) or self.n_topics < 2):
            raise ConfigError(f"n_topics must be an integer >= 2 or 'auto', got {self.n_topics!r}")
        if not 0.0 <= self.anchor_threshold <= 1.0:
            raise ConfigError(f"anchor_threshold must be within [0, 1], got {self.anchor_threshold!r}")
        if not 0.0 <= self.tag_threshold <= 1.0:
            raise ConfigError(f"tag_threshold must be within [0, 1], got {self.tag_threshold!r}")
        if self.pooling not in {"customer", "document"}:
            raise ConfigError(f"pooling must be 'customer' or 'document', got {self.pooling!r}")
        if self.aggregation not in AGGREGATIONS:
            raise ConfigError(f"aggregation must be 'sharpened' or 'length', got {self.aggregation!r}")
        if self.max_tags < 1:
            raise ConfigError(f"max_tags must be >= 1, got {self.max_tags!r}")
        for name in ("passes", "iterations"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1):
                raise ConfigError(f"{name} must be an integer >= 1 (or None for the tuned default), got {value!r}")
        if self.trainer not in _TRAINERS:
            raise ConfigError(f"trainer must be 'vb' or 'gibbs', got {self.trainer!r}")
        if self.trainer == "gibbs":
            try:
                resolve_gibbs_params(iterations=self.iterations, alpha=self.alpha, eta=self.eta)
            except ValueError as e:
                raise ConfigError(str(e)) from e
        check_lang(self.lang)

    def _check_vocabulary(self, n_topics: int) -> None:
        """Refuse a vocabulary too small to tell ``n_topics`` topics apart (a model of a few words)."""
        need = MIN_WORDS_PER_TOPIC * n_topics
        if len(self.dictionary_) < need:
            rule = f"--no-below {self.no_below}" if self.no_below is not None else "the rare-word filter"
            raise DataValidationError(
                f"vocabulary has {len(self.dictionary_)} words after {rule}; need at least {need} for "
                f"{n_topics} topics ({MIN_WORDS_PER_TOPIC} per topic). Lower --no-below, ask for fewer "
                "--topics or add text."
            )

    def _make_tokenizer(self) -> SpacyTokenizer:
        return make_tokenizer(self.lang, spacy_model=self.spacy_model, stop_words=self.stop_words, taxonomy=self.taxonomy)

    def _make_lda(self, eta: Any = None) -> LdaTopics:
        return LdaTopics(
            self.n_topics_,
            passes=self.passes,
            iterations=self.iterations,
            update_every=self.update_every,
            alpha=self.alpha,
            eta=eta,
            trainer=_TRAINERS[self.trainer],
            random_state=self.random_state,
        )

    def _make_tagger(self) -> InterestTagger:
        return InterestTagger(
            threshold=self.tag_threshold,
            max_tags=self.max_tags,
            min_tokens=self.min_tokens,
            anchor_below=self.anchor_below,
            channel_weights=self.channel_weights,
            aggregation=self.aggregation,
        )

    def set_topic_labels(self, labels: Mapping[int, str]) -> TopicProfiler:
        """Rename topics (``{topic_id: name}``); other topics keep their automatic labels."""
        self._check_fitted()
        bad = [k for k in labels if not (isinstance(k, (int, np.integer)) and 0 <= k < self.n_topics_)]
        if bad:
            raise ConfigError(f"topic ids must be within 0..{self.n_topics_ - 1}, got {bad}")
        clean = {int(k): str(v).strip() for k, v in labels.items()}
        if any(not v or ";" in v for v in clean.values()):
            raise ConfigError("topic labels must be non-empty and must not contain ';'")
        self.topic_labels_ = apply_label_overrides(self.auto_labels_, clean)
        if len(set(self.topic_labels_)) != len(self.topic_labels_):
            raise ConfigError(f"topic labels must be unique, got {self.topic_labels_}")
        self.topic_info_["label"] = self.topic_labels_
        if hasattr(self, "profiles_"):
            self.profiles_ = relabel(self.profiles_, self.topic_labels_)
            if getattr(self, "segmenter_", None) is not None:
                table, self.segment_cards_ = rename_segments(self.profiles_, self.segment_cards_)
                self.profiles_ = order_columns(table)
        return self

    # -- applying --------------------------------------------------------------------------
    def tag_text(self, texts: str | Iterable[str]) -> list[dict[str, Any]]:
        """Interest tags of each text, with scores and the topic distribution.

        Returns
        -------
        list of dict
            Per text: ``tags`` (list of ``{"label", "topic", "score"}``, strongest first; empty when
            the text is too thin), ``topics`` (topic shares, summing to 1) and ``n_tokens``.
        """
        self._check_fitted()
        items = [texts] if isinstance(texts, str) else list(texts)
        check_text_lengths(items)
        bows, n_tokens = self.encoder_.encode(items)
        counts = self.encoder_.counts(bows)
        doc_topics = self.topics_.transform_counts(counts)
        anchors = self._anchor_counts(counts)
        tags = self._make_tagger().topic_tags(doc_topics, n_tokens, anchors)
        return text_tags(tags, doc_topics, n_tokens, self.topic_labels_)

    def profile(
        self,
        reviews: Input = None,
        browsing: Input = None,
        orders: Input = None,
        *,
        as_of: str | pd.Timestamp | None = None,
        progress: ProgressCallback | None = None,
        backend: DaskBackend | None = None,
    ) -> pd.DataFrame:
        """One row per customer: interest tags, scores, documents and keywords (see README's output contract).

        With a model fitted on orders, customers (known or new) also get RFM columns and are
        assigned to the fitted segments without refitting; ``orders`` may then come alone.
        ``backend``: tag on a Dask cluster (:meth:`iter_profiles`).
        """
        self._check_fitted()
        store = None
        if reviews is not None or browsing is not None or orders is None:
            store = DocumentStore.from_frame(build_documents(reviews, browsing), chunk_rows=self.chunk_rows)
        return self.profile_documents(store, orders, as_of=as_of, progress=progress, backend=backend)

    def profile_documents(
        self,
        documents: DocumentStore | None,
        orders: Input = None,
        *,
        as_of: str | pd.Timestamp | None = None,
        progress: ProgressCallback | None = None,
        backend: DaskBackend | None = None,
    ) -> pd.DataFrame:
        """:meth:`profile` of documents in a :class:`~topicprofile.text.corpus.DocumentStore`, streamed chunk by chunk."""
        (table,) = self.iter_profiles(documents, orders, as_of=as_of, progress=progress, block_rows=None, backend=backend)
        return table

    def iter_profiles(
        self,
        documents: DocumentStore | None,
        orders: Input = None,
        *,
        as_of: str | pd.Timestamp | None = None,
        progress: ProgressCallback | None = None,
        block_rows: int | None = DEFAULT_CHUNK_ROWS,
        backend: DaskBackend | None = None,
    ) -> Iterator[pd.DataFrame]:
        """:meth:`profile_documents` as consecutive blocks of at most ``block_rows`` customers.

        The documents are streamed and added up per customer first (a customer's documents may be
        anywhere in the input); then the profile rows, with their tags, keywords and segments, are
        built one block at a time, so an output of millions of customers can be written block by
        block without ever holding the whole table. Blocks follow the customer-id order and, put
        together, equal :meth:`profile_documents`. ``block_rows=None`` gives one block. With a
        ``backend`` the documents are tokenized and their topics inferred on its cluster, with the
        same result (:mod:`topicprofile.distributed.tagging`).
        """
        self._check_fitted()
        if block_rows is not None and block_rows < 1:
            raise ConfigError(f"block_rows must be at least 1, got {block_rows!r}")
        report = progress or _no_progress
        rfm = _rfm(orders, as_of=as_of)
        if rfm is not None and self.segmenter_ is None:
            logger.warning("this model was fitted without orders: the orders are ignored (refit with orders)")
        if documents is None and self.segmenter_ is None:
            raise DataValidationError("this model was fitted without orders; give reviews or browsing")
        customers = None
        if documents is not None:
            chunks: Iterable[tuple[Any, ...]] = (
                self.encoder_.iter_counts(documents.chunks(), n_docs=documents.n_docs, workers=self.workers)
                if backend is None
                else cluster_topic_chunks(backend, documents, encoder=self.encoder_, topics=self.topics_)
            )
            customers = self._aggregate(chunks, report, total=documents.n_docs)[0]
        n = 0 if customers is None else len(customers.customer_ids)
        step = max(n, 1) if block_rows is None else block_rows
        bounds = [*range(0, n, step), n] if n else [0, 0]
        if self.segmenter_ is not None and rfm is not None:  # split the orders' customers by id likewise
            rfm = rfm.set_axis(rfm.index.astype(str)).sort_index()
        rfm_at = 0
        for start, stop in itertools.pairwise(bounds):
            block = None if customers is None else self._profiles(customer_block(customers, start, stop))
            if self.segmenter_ is None:
                yield block
                continue
            part = None
            if rfm is not None:
                last = stop == n
                end = len(rfm) if last else int(np.searchsorted(rfm.index, customers.customer_ids[stop - 1], side="right"))
                part, rfm_at = rfm.iloc[rfm_at:end], end
            yield order_columns(segment_customers(
                block, part, fuser=self.fuser_, segmenter=self.segmenter_, cards=self.segment_cards_
            ))  # fmt: skip

    def _profiles(self, customers: CustomerTopics) -> pd.DataFrame:
        """The profile table from per-customer aggregates (shares, counts, pooled word counts)."""
        topic_tags = self._make_tagger().customer_tags(customers.shares, customers.n_tokens, self._anchor_counts(customers.counts))
        keywords = self.encoder_.keywords(customers.counts, n=self.n_keywords)
        return profile_table(customers, topic_tags=topic_tags, keywords=keywords, labels=self.topic_labels_)

    def _anchor_counts(self, counts: Any) -> np.ndarray | None:
        """Per row of a count matrix and topic, how many tokens are anchor words of the topic (:mod:`topicprofile.tag.tagger`)."""
        if self.anchor_threshold <= 0:
            return None
        # The anchor matrix depends only on the fitted topics: built once, rebuilt when the topics
        # (refit, load), their prevalence or anchor_threshold (set_params) change.
        topic_word, prevalence = self.topics_.topic_word_, self.topic_info_["prevalence"].to_numpy()
        key = (prevalence.tobytes(), self.anchor_threshold)
        cached = getattr(self, "_anchor_cache", None)
        if cached is None or cached[0] is not topic_word or cached[1] != key:
            cached = (topic_word, key, anchor_matrix(topic_word, prevalence, self.anchor_threshold))
            self._anchor_cache = cached
        return np.asarray(counts @ cached[2])

    def explain(
        self,
        customer_id: str,
        reviews: Input = None,
        browsing: Input = None,
        *,
        n_words: int = 8,
        n_snippets: int = 3,
    ) -> dict[str, Any]:
        """Evidence for one customer's interest tags (:mod:`topicprofile.tag.explain`).

        Parameters
        ----------
        customer_id : str
        reviews, browsing : DataFrame or LoadResult, optional
            Needed only for customers the model was not fitted on; when given, the customer's
            documents are taken from them instead of from the model.
        n_words, n_snippets : int
            Words and snippets per tag.

        Returns
        -------
        dict
            ``customer_id, source ("model" or "input"), n_documents, n_tokens, top_interest`` and
            ``tags``: per tag its ``label, topic, score``, the ``words`` that carried it and the
            ``snippets`` of the customer's texts that support it most.
        """
        self._check_fitted()
        customer_id = str(customer_id)
        if reviews is not None or browsing is not None:
            docs, source, where = build_documents(reviews, browsing), "input", "the given files"
            mine = docs[docs[schema.CUSTOMER_ID] == customer_id].reset_index(drop=True)
        elif self.documents_ is not None:
            source, where = "model", "the data this model was fitted on; give the files with their reviews/browsing"
            mine = self.documents_.customer(customer_id)
        else:
            raise DataValidationError(
                "this model was saved without its documents; give the customer's reviews/browsing files"
            )
        if mine.empty:
            raise DataValidationError(f"customer {customer_id!r} is not in {where}")
        bows, _ = self.encoder_.encode(mine[schema.TEXT].tolist())
        counts = self.encoder_.counts(bows)
        doc_topics = self.topics_.transform_counts(counts)
        customer = self._aggregate([(mine, counts)], _no_progress, total=None)[0]
        (topic_tags,) = self._make_tagger().customer_tags(customer.shares, customer.n_tokens, self._anchor_counts(customer.counts))
        tags = [(int(k), float(customer.shares[0, k])) for k, _ in topic_tags]
        return {
            schema.CUSTOMER_ID: customer_id,
            "source": source,
            schema.N_DOCUMENTS: int(customer.n_documents[0]),
            "n_tokens": int(customer.n_tokens[0]),
            schema.TOP_INTEREST: self.topic_labels_[tags[0][0]] if tags else "",
            "tags": explain_tags(
                tags,
                labels=self.topic_labels_,
                bows=bows,
                doc_topics=doc_topics,
                topic_word=self.topics_.topic_word_,
                dictionary=self.dictionary_,
                texts=mine[schema.TEXT].tolist(),
                channels=mine[schema.CHANNEL].tolist(),
                channel_weights=self._make_tagger().weights(),
                n_words=n_words,
                n_snippets=n_snippets,
            ),
        }

    def topics(self) -> pd.DataFrame:
        """One row per topic: id, label, automatic label, terms, prevalence and coherence."""
        self._check_fitted()
        return self.topic_info_.copy()

    def segments(self) -> list[dict[str, Any]]:
        """The segment cards (size, RFM medians, RFM-segment mix, top interests with lift, name, examples)."""
        self._check_fitted()
        return list(self.segment_cards_)

    # -- persistence -----------------------------------------------------------------------
    def report(self, path: str, **options: Any) -> dict[str, Any]:
        """Write the offline HTML report of this model (:func:`topicprofile.report.write_report`;
        needs the ``report`` extra). Returns its path, size, sections and charts."""
        from topicprofile.report import write_report  # optional extra (jinja2, altair, vl-convert)

        return write_report(self, path, **options)

    def save(self, path: str, *, force: bool = False) -> None:
        """Save the fitted model to directory ``path`` as a new version, published atomically.

        Every part is plain data (JSON, Parquet, ``.npy``); see :mod:`topicprofile.store`. ``path``
        may be new, a saved model or, with ``force``, a folder holding other files (left alone).
        """
        self._check_fitted()
        save_model(self.to_state(), path, force=force)

    @classmethod
    def load(cls, path: str) -> TopicProfiler:
        """Read a model written by :meth:`save` (its current version); raises ModelError if missing,
        corrupt, incompatible, or of format 1 (pickles, refused: ``topicprofile convert-model --trust``)."""
        return load_model(path, cls.from_state)

    def to_state(self) -> dict[str, Any]:
        """The fitted model as plain data, each part from its own ``to_state()`` (written by
        :func:`topicprofile.store.save_model`); ``documents`` is the :class:`DocumentStore` or None."""
        self._check_fitted()
        resolved = self.topics_.resolved_params().items()
        manifest = {
            "params": self.get_params(),
            "n_segments": len(self.segment_cards_),
            "tokenizer": self.tokenizer_.get_config(),
            "lda": {k: ("seeded by the taxonomy" if hasattr(v, "shape") else v) for k, v in resolved},
            "input": {"fingerprint": self.input_fingerprint_, "n_documents": self.n_documents_},
            "n_customers": int(len(self.profiles_)),
            "n_terms": len(self.dictionary_),
            "coherence": self.coherence_,
            "n_topics": self.n_topics_,
            "tuning": None if self.tuning_ is None else self.tuning_.to_dict(orient="records"),
            "topic_labels": list(self.topic_labels_),
        }
        segments = None
        if self.segmenter_ is not None:
            segments = segments_document(fuser=self.fuser_, segmenter=self.segmenter_, cards=self.segment_cards_)
        return {"manifest": manifest, "encoder": self.encoder_.to_state(), "lda": self.topics_.to_state(),
                "topics": self.topic_info_.drop(columns=["label"]), "profiles": self.profiles_,
                "documents": self.documents_, "segments": segments}  # fmt: skip

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> TopicProfiler:
        """A fitted profiler from :meth:`to_state`'s data as :func:`topicprofile.store.read_state` reads it."""
        manifest = state["manifest"]
        params = dict(manifest["params"])
        for name in ("k_values", "segment_k_range"):
            if params.get(name) is not None:
                params[name] = tuple(params[name])
        if params.get("topic_labels"):
            params["topic_labels"] = {int(k): v for k, v in params["topic_labels"].items()}
        params.setdefault("aggregation", "length")  # saved before the sharpened mean: keep its rule
        profiler = cls(**params)
        profiler.encoder_ = TextEncoder.from_state(state["encoder"])
        profiler.topics_ = LdaTopics.from_state(*state["lda"], profiler.dictionary_)
        profiler.n_topics_ = profiler.topics_.n_topics
        profiler.tuning_ = pd.DataFrame(manifest["tuning"]) if manifest.get("tuning") else None
        profiler.topic_info_ = state["topics"]
        profiler.auto_labels_ = profiler.topic_info_["auto_label"].tolist()
        profiler.coherence_ = manifest["coherence"]
        profiler.n_documents_ = manifest["input"]["n_documents"]
        profiler.input_fingerprint_ = manifest["input"]["fingerprint"]
        profiler.profiles_ = state["profiles"]
        profiler.documents_ = DocumentStore.open(state["documents"]) if state["documents"] is not None else None
        profiler.fuser_, profiler.segmenter_, profiler.segment_cards_ = None, None, []
        if state["segments"] is not None:
            profiler.fuser_, profiler.segmenter_, profiler.segment_cards_ = segments_from_document(
                state["segments"], where=state.get("folder", "model")
            )
        # the profiles and segments were saved with these labels: no relabelling needed
        profiler.topic_labels_ = list(manifest["topic_labels"])
        profiler.topic_info_["label"] = profiler.topic_labels_
        return profiler


def _rfm(orders: Input, *, as_of: Any) -> pd.DataFrame | None:
    """Scored RFM table of the orders (cleaned first when a DataFrame), or None without orders."""
    loaded = as_loaded(orders, functools.partial(clean_orders, as_of=as_of), name="orders")
    return None if loaded is None else compute_rfm(loaded.data, as_of=as_of)
