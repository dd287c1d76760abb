"""TopicProfiler: the one object that knows the order of the stages.

``documents -> text encoder (tokenizer, phrases, vocabulary, TF-IDF: text/encoder.py) -> topics
(topics/train.py) -> per-customer aggregation (tag/aggregate.py) -> tags and the profile table
(tag/table.py) -> segments (segments/)``. Each fitted part turns itself into plain data
(``to_state``/``from_state``); :mod:`topicprofile.store` writes and reads that data. How a call
runs (processes, chunk size, token cache) is a :class:`~topicprofile.config.RunOptions` given to
the call, never part of the model.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import logging
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError as _SklearnNotFitted
from sklearn.utils.validation import check_is_fitted

from topicprofile import schema
from topicprofile.behavior import compute_rfm
from topicprofile.config import DEFAULT_CHUNK_ROWS, DEFAULT_K_VALUES, RunOptions, TagConfig, TopicsConfig
from topicprofile.distributed import (
    DaskBackend,
    cluster_estep,
    cluster_infer,
    cluster_tokenize,
    cluster_topic_chunks,
)
from topicprofile.errors import ConfigError, DataValidationError, NotFittedError
from topicprofile.ingest.docstore import STORED_FIELDS, DocumentStore
from topicprofile.ingest.documents import Input, as_loaded, build_documents
from topicprofile.ingest.load import clean_orders
from topicprofile.privacy.minimize import KEEP_TEXTS, SnippetPicker
from topicprofile.privacy.training_bows import TrainingBows
from topicprofile.profiler_state import fitted_state, restore_fitted, saved_params
from topicprofile.segments.cluster import (
    MIN_EXAMPLE_WORDS,
    CustomerSegmenter,
    fit_segments,
    rename_segments,
    segment_blocks,
)
from topicprofile.segments.fuse import FeatureFuser
from topicprofile.store import load_model, save_model
from topicprofile.tag.aggregate import MonthlyTopics, aggregate_topics, count_corpus, customer_block
from topicprofile.tag.explain import customer_documents, explain_customer
from topicprofile.tag.table import (
    CustomerTags,
    customer_tags,
    order_columns,
    profile_table,
    relabel,
)
from topicprofile.tag.tagger import AnchorCounts, CustomerTopics, InterestTagger
from topicprofile.tag.texts import TextTagger
from topicprofile.text.encoder import TextEncoder, make_tokenizer
from topicprofile.text.lang import check_lang, language_mismatch
from topicprofile.text.tokenizer import SpacyTokenizer
from topicprofile.topics import apply_label_overrides
from topicprofile.topics.describe import describe_topics
from topicprofile.topics.gibbs import DEFAULT_GIBBS_PARAMS
from topicprofile.topics.matching import (
    WARM_START,
    TopicMatch,
    match_topics,
    permute_topics,
    vocabulary,
    warm_prior,
)
from topicprofile.topics.train import (
    check_topic_params,
    check_vocabulary,
    fewest_topics,
    requested_topics,
    train_topics,
)

__all__ = ["ProgressCallback", "TopicProfiler"]

logger = logging.getLogger(__name__)

#: ``progress(step, done, total)``: called as long steps advance; ``total`` is None when unknown.
ProgressCallback = Callable[[str, int, "int | None"], None]
#: Documents whose texts are checked against ``lang`` before tokenizing (first ones, in order).
LANG_SAMPLE = 2_000
#: Former constructor keywords that are run options now (:class:`RunOptions`).
RUN_KEYWORDS = ("workers", "chunk_rows", "cache_dir")

#: The profile column of each customer's tag topics (``"3;0"``).
_INTEREST_TOPICS = "interest_topics"


def _no_progress(step: str, done: int, total: int | None) -> None:
    return None


def _legacy_run_options(options: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Run options given the old way (as estimator parameters), with a DeprecationWarning."""
    unknown = sorted(set(options) - set(RUN_KEYWORDS))
    if unknown:
        raise TypeError(f"{where} got an unexpected keyword argument {unknown[0]!r}")
    if options:
        names = ", ".join(f"{k}=" for k in options)
        warnings.warn(
            f"TopicProfiler {names} is deprecated: these are run options, pass run=RunOptions({names}...) "
            "to fit/profile (topicprofile.config.RunOptions); they are not saved with the model",
            DeprecationWarning,
            stacklevel=3,
        )
    return dict(options)


class TopicProfiler(BaseEstimator):  # type: ignore[misc]
    """Fit topics on customers' reviews and browsing, then tag customers and new text with interests.

    Parameters
    ----------
    n_topics : int, "auto" or None, default None
        Number of LDA topics; ``"auto"`` fits each k of ``k_values`` with five seeds and keeps the
        most stable one (:func:`topicprofile.topics.tuning.tune_k`; the table is ``tuning_``).
        ``None``: 12, or with a ``taxonomy`` its number of interests plus
        :data:`~topicprofile.topics.seeding.FREE_TOPICS` free topics (the shop named its interests).
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
    **run_options
        Deprecated: ``workers``, ``chunk_rows`` and ``cache_dir`` are run options, not model
        settings; pass ``run=RunOptions(...)`` (:class:`topicprofile.config.RunOptions`) to
        :meth:`fit` / :meth:`profile` instead. Still accepted (with a DeprecationWarning) as the
        run options of calls without ``run``; never saved with the model.
    scrub : bool, default True
        Replace personal data in texts (e-mail addresses, phone numbers...) by typed placeholders
        before anything is tokenised or stored (:mod:`topicprofile.privacy.scrub`); recorded with
        the counts per kind in the model's manifest (``privacy``).
    keep_texts : {"snippets", "all", "none"}, default "snippets"
        Which texts the model keeps for :meth:`explain` (:mod:`topicprofile.privacy.minimize`):
        only the documents ``explain`` shows as evidence (per customer and tag, the three that
        support it most), every text, or none (``explain`` then needs the customer's files).

    Examples
    --------
    >>> import pandas as pd
    >>> reviews = pd.read_csv("corpora/reviews.csv", dtype=str)  # doctest: +SKIP
    >>> tp = TopicProfiler(n_topics=8).fit(reviews=reviews, run=RunOptions(workers=2))  # doctest: +SKIP
    >>> tp.tag_text(["Love these trail shoes, great grip on wet rocks"])  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        n_topics: int | str | None = None,
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
        scrub: bool = True,
        keep_texts: str = "snippets",
        **run_options: Any,
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
        self.scrub = scrub
        self.keep_texts = keep_texts
        self._run_options = _legacy_run_options(run_options, "TopicProfiler()")

    def set_params(self, **params: Any) -> TopicProfiler:
        """sklearn's ``set_params``; the deprecated run keywords (``workers``...) set the default run options."""
        legacy = {name: params.pop(name) for name in RUN_KEYWORDS if name in params}
        self._run_options = {**getattr(self, "_run_options", {}), **_legacy_run_options(legacy, "set_params()")}
        return super().set_params(**params)  # type: ignore[no-any-return]

    def run_options(self, run: RunOptions | None = None) -> RunOptions:
        """The call's run options: ``run``, else those given the deprecated way, else the defaults."""
        return run if run is not None else RunOptions(**getattr(self, "_run_options", {}))

    # -- fitting ---------------------------------------------------------------------------
    def fit(
        self,
        reviews: Input = None,
        browsing: Input = None,
        orders: Input = None,
        *,
        as_of: str | pd.Timestamp | None = None,
        progress: ProgressCallback | None = None,
        run: RunOptions | None = None,
        previous: TopicProfiler | None = None,
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
        run : RunOptions, optional
            How the fit runs (workers, chunk size, token cache); the model does not depend on it.
        previous : TopicProfiler, optional
            The model this fit replaces: topic ids follow it (see :meth:`fit_documents`).

        Returns
        -------
        self
        """
        self._validate_params()
        run = self.run_options(run)
        docs = build_documents(reviews, browsing, scrub=self.scrub)
        store = DocumentStore.from_frame(docs, chunk_rows=run.chunk_rows)
        privacy = {"scrub_counts": docs.attrs["scrub_counts"]} if self.scrub else None
        return self.fit_documents(store, orders, as_of=as_of, progress=progress, run=run, previous=previous,
                                  privacy=privacy)  # fmt: skip

    def fit_documents(
        self,
        documents: DocumentStore,
        orders: Input = None,
        *,
        as_of: str | pd.Timestamp | None = None,
        progress: ProgressCallback | None = None,
        run: RunOptions | None = None,
        previous: TopicProfiler | None = None,
        privacy: Mapping[str, Any] | None = None,
        backend: DaskBackend | None = None,
    ) -> TopicProfiler:
        """:meth:`fit` on documents already in a :class:`~topicprofile.ingest.docstore.DocumentStore`.

        This is how files too large for memory are fitted (:func:`topicprofile.app.jobs.fit_files`
        streams them into a store chunk by chunk); the model keeps the store for :meth:`explain`.
        With ``previous`` (the model this one replaces) the new topics are matched to its topics
        and renumbered, so that tag ids stay stable, and its user labels carry over to matched
        topics (:mod:`topicprofile.topics.matching`); ``topic_changes_`` holds the diff.
        ``privacy`` records what was done to the documents before (``scrub_counts`` per kind,
        ``pseudonymized``...); it is kept, with ``scrub``, as ``privacy_`` and in the manifest.
        With a ``backend`` (:class:`topicprofile.distributed.DaskBackend`) LDA's E-step runs on its
        cluster: the same model, bit for bit (``trainer="vb"`` only; docs/distributed.md).
        """
        self._validate_params()
        if backend is not None:
            self._check_cluster_fit()
        self.privacy_ = {"scrub": bool(self.scrub), **(privacy or {})}
        rfm = _rfm(orders, as_of=as_of)  # before the long steps: bad orders fail fast
        self._previous = previous
        try:
            return self._fit_store(documents, rfm, progress or _no_progress, self.run_options(run), backend)
        finally:
            del self._previous

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
        self, store: DocumentStore, rfm: pd.DataFrame | None, report: ProgressCallback, run: RunOptions,
        backend: DaskBackend | None = None,
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
        tokens = self.encoder_.fit_vocabulary(store, report=report, workers=run.workers, cache_dir=run.cache_dir,
                                              tokenize=tokenize)  # fmt: skip
        corpus = count_corpus(store, tokens, self.encoder_, report=report, seed=self.random_state,
                              min_example_words=MIN_EXAMPLE_WORDS if rfm is not None else None)  # fmt: skip
        config = TopicsConfig.from_params(self.get_params())
        fewest = fewest_topics(config)
        if corpus.n_nonempty < fewest:
            raise DataValidationError(
                f"only {corpus.n_nonempty} document(s) have words in the vocabulary, fewer than "
                f"--topics {fewest}; add text or ask for fewer topics"
            )
        check_vocabulary(self.dictionary_, fewest, no_below=self.no_below)
        self.encoder_.fit_keywords(corpus.iter_bows())
        report("topics", 0, None)
        training = corpus.pooled if self.pooling == "customer" else corpus.doc_matrix()
        estep = None if backend is None else cluster_estep(backend)
        config = self._warm_start(config, training, estep=estep)
        trained = train_topics(training, dictionary=self.dictionary_, encode=self.encoder_.tokens, config=config,
                               sample_tokens=corpus.sample_tokens, random_state=self.random_state, report=report,
                               estep=estep)  # fmt: skip
        self.topics_, self.n_topics_, self.tuning_ = trained.topics, trained.n_topics, trained.tuning
        self.seed_ids_, self.missing_seeds_ = trained.seed_ids, trained.missing_seeds
        match = self._match_previous()
        self.taxonomy_warnings_ = trained.taxonomy_warnings
        monthly = MonthlyTopics(self.n_topics_)
        chunks = corpus.iter_chunks() if backend is None else cluster_infer(backend, corpus.iter_chunks(), topics=self.topics_)
        customers, topic_mass = self._aggregate(chunks, report, total=store.n_docs, pooled=corpus.pooled,
                                                monthly=monthly)  # fmt: skip
        self.topic_months_ = monthly.to_dict()
        report("quality", 0, None)
        described = describe_topics(self.topics_.topic_word_, self.dictionary_, tokens=corpus.sample_tokens,
                                    topic_mass=topic_mass, seeded_names=list(self.taxonomy or {}))  # fmt: skip
        self.auto_labels_, self.coherence_, self.topic_info_ = described.auto_labels, described.coherence, described.table
        carried = {} if match is None else match.carry_labels(self._previous.topic_labels_, self._previous.auto_labels_)
        self.set_topic_labels({**carried, **(self.topic_labels or {})})
        self.topic_changes_ = None if match is None else match.diff(self._previous.topic_labels_, self.topic_labels_)
        self.n_documents_ = store.n_docs
        self.input_fingerprint_ = store.fingerprint
        self.documents_: DocumentStore | None = store
        report("profiles", 0, None)
        self.profiles_, tags = self._profiles(customers)
        self._fit_segments(rfm, tags, reviews=corpus.first_reviews)
        self.documents_ = self._kept_documents(corpus, run.chunk_rows)
        # what forget subtracts from the topic statistics (issue 14); none without texts
        self.training_bows_ = (
            None if self.keep_texts == "none" else TrainingBows.collect(corpus.iter_chunks())
        )
        return self

    def _kept_documents(self, corpus: Any, chunk_rows: int) -> DocumentStore | None:
        """The documents the model keeps (``keep_texts``): all, none, or the evidence ``explain`` shows."""
        if self.keep_texts != "snippets":
            return corpus.store if self.keep_texts == "all" else None
        tags = dict(zip(self.profiles_[schema.CUSTOMER_ID], self.profiles_[_INTEREST_TOPICS], strict=True))
        picker = SnippetPicker({c: [int(k) for k in t.split(";") if k] for c, t in tags.items() if t})
        weights = self._make_tagger().weights()
        for docs, counts in corpus.iter_chunks():
            w = docs[schema.CHANNEL].map(lambda c: float(weights.get(c, 1.0))).to_numpy()
            support = (w * np.asarray(counts.sum(axis=1)).ravel())[:, None] * self.topics_.transform_counts(counts)
            picker.add(docs, docs[schema.CUSTOMER_ID].tolist(), support)
        return DocumentStore.from_frame(picker.result(STORED_FIELDS).fillna(""), chunk_rows=chunk_rows)

    # the encoder's fitted parts, under the names the API has always had
    tokenizer_ = property(lambda self: self.encoder_.tokenizer, doc="The fitted :class:`SpacyTokenizer`.")
    phrases_ = property(lambda self: self.encoder_.phrases_, doc="The fitted :class:`PhraseDetector` or None.")
    dictionary_ = property(lambda self: self.encoder_.dictionary_, doc="The vocabulary (gensim Dictionary).")
    keywords_ = property(lambda self: self.encoder_.keywords_, doc="The TF-IDF keyword model.")

    def _aggregate(
        self, chunks: Iterable[tuple[pd.DataFrame, Any]], report: ProgressCallback, *, total: int | None,
        pooled: Any = None, monthly: MonthlyTopics | None = None,
    ) -> tuple[CustomerTopics, np.ndarray]:  # fmt: skip
        return aggregate_topics(chunks, topics=self.topics_, channel_weights=self._make_tagger().weights(),
                                report=report, total=total, pooled=pooled, aggregation=self.aggregation,
                                monthly=monthly)  # fmt: skip

    def _warm_start(self, config: TopicsConfig, training: Any, *, estep: Any) -> TopicsConfig:
        """With ``previous`` (same k, no taxonomy, no own ``eta`` matrix, not on a cluster): the
        previous topics as the prior the refit starts from (:func:`~topicprofile.topics.matching.warm_prior`)."""
        previous = getattr(self, "_previous", None)
        if previous is None or config.taxonomy or estep is not None or WARM_START <= 0:
            return config
        if requested_topics(config) != previous.n_topics_ or not isinstance(config.eta, (float, int, type(None))):
            return config
        default = DEFAULT_GIBBS_PARAMS["eta"] if config.trainer == "gibbs" else 1.0 / previous.n_topics_
        base = config.eta if config.eta is not None else default
        eta = warm_prior(previous.topics_.topic_word_, vocabulary(previous.dictionary_), vocabulary(self.dictionary_),
                         base=float(base), n_training_tokens=float(training.sum()), strength=WARM_START)  # fmt: skip
        return dataclasses.replace(config, eta=eta)

    def _match_previous(self) -> TopicMatch | None:
        """Renumber the new topics after the previous model's (stable tag ids); the match, or None."""
        previous = getattr(self, "_previous", None)
        if previous is None:
            return None
        match = match_topics(self.topics_.topic_word_, vocabulary(self.dictionary_),
                             previous.topics_.topic_word_, vocabulary(previous.dictionary_))  # fmt: skip
        self.topics_ = permute_topics(self.topics_, match.order, self.dictionary_)
        return match

    def _fit_segments(self, rfm: pd.DataFrame | None, tags: CustomerTags, *, reviews: pd.DataFrame) -> None:
        """Fuse RFM with topic shares and cluster customers into named segments (with orders only)."""
        self.fuser_: FeatureFuser | None = None
        self.segmenter_: CustomerSegmenter | None = None
        self.segment_cards_: list[dict[str, Any]] = []
        if rfm is None:
            return
        self.fuser_ = FeatureFuser(text_weight=self.text_weight, behavior_weight=self.behavior_weight)
        self.segmenter_ = CustomerSegmenter(n_segments=self.n_segments, k_range=self.segment_k_range,
                                            random_state=self.random_state)  # fmt: skip
        table, self.segment_cards_ = fit_segments(self.profiles_, rfm, fuser=self.fuser_, segmenter=self.segmenter_,
                                                  reviews=reviews, tags=tags)  # fmt: skip
        self.profiles_ = order_columns(table)

    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self, "topics_")
        except _SklearnNotFitted as e:
            raise NotFittedError(
                "this TopicProfiler is not fitted yet: call fit() or TopicProfiler.load() first"
            ) from e

    def _validate_params(self) -> None:
        params = self.get_params()
        check_topic_params(TopicsConfig.from_params(params))
        TagConfig.from_params(params).check()
        if self.keep_texts not in KEEP_TEXTS:
            raise ConfigError(f"keep_texts must be one of {', '.join(KEEP_TEXTS)}, got {self.keep_texts!r}")
        check_lang(self.lang)

    def _make_tokenizer(self) -> SpacyTokenizer:
        return make_tokenizer(self.lang, spacy_model=self.spacy_model, stop_words=self.stop_words, taxonomy=self.taxonomy)

    def _make_tagger(self) -> InterestTagger:
        return InterestTagger(threshold=self.tag_threshold, max_tags=self.max_tags, min_tokens=self.min_tokens,
                              anchor_below=self.anchor_below, channel_weights=self.channel_weights,
                              aggregation=self.aggregation,
                              preferred=len(self.taxonomy or {}))  # fmt: skip  # seeded topics (0..n-1) first

    def set_topic_labels(self, labels: Mapping[int, str]) -> TopicProfiler:
        """Rename topics (``{topic_id: name}``); other topics keep their automatic labels."""
        self._check_fitted()
        self.topic_labels_ = apply_label_overrides(self.auto_labels_, labels)  # checked there
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
        tagger = TextTagger(self.encoder_.counter(), topics=self.topics_, anchors=self._anchor_counts,
                            tagger=self._make_tagger(), labels=self.topic_labels_)  # fmt: skip
        return tagger.tag_text(texts)

    def profile(
        self,
        reviews: Input = None,
        browsing: Input = None,
        orders: Input = None,
        *,
        as_of: str | pd.Timestamp | None = None,
        progress: ProgressCallback | None = None,
        run: RunOptions | None = None,
        backend: DaskBackend | None = None,
    ) -> pd.DataFrame:
        """One row per customer: interest tags, scores, documents and keywords (see README's output contract).

        With a model fitted on orders, customers (known or new) also get RFM columns and are
        assigned to the fitted segments without refitting; ``orders`` may then come alone.
        ``backend``: tag on a Dask cluster (:meth:`iter_profiles`).
        """
        self._check_fitted()
        run, store = self.run_options(run), None
        if reviews is not None or browsing is not None or orders is None:
            docs = build_documents(reviews, browsing, scrub=self.scrub)
            store = DocumentStore.from_frame(docs, chunk_rows=run.chunk_rows)
        return self.profile_documents(store, orders, as_of=as_of, progress=progress, run=run, backend=backend)

    def profile_documents(
        self,
        documents: DocumentStore | None,
        orders: Input = None,
        *,
        as_of: str | pd.Timestamp | None = None,
        progress: ProgressCallback | None = None,
        run: RunOptions | None = None,
        backend: DaskBackend | None = None,
    ) -> pd.DataFrame:
        """:meth:`profile` of documents in a :class:`~topicprofile.ingest.docstore.DocumentStore`, streamed chunk by chunk."""
        (table,) = self.iter_profiles(documents, orders, as_of=as_of, progress=progress, block_rows=None, run=run,
                                      backend=backend)  # fmt: skip
        return table

    def iter_profiles(
        self,
        documents: DocumentStore | None,
        orders: Input = None,
        *,
        as_of: str | pd.Timestamp | None = None,
        progress: ProgressCallback | None = None,
        block_rows: int | None = DEFAULT_CHUNK_ROWS,
        run: RunOptions | None = None,
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
        rfm = _rfm(orders, as_of=as_of)
        if rfm is not None and self.segmenter_ is None:
            logger.warning("this model was fitted without orders: the orders are ignored (refit with orders)")
        if documents is None and self.segmenter_ is None:
            raise DataValidationError("this model was fitted without orders; give reviews or browsing")
        customers = None
        if documents is not None:
            workers = self.run_options(run).workers
            chunks: Iterable[tuple[Any, ...]] = (
                self.encoder_.iter_counts(documents.chunks(), n_docs=documents.n_docs, workers=workers)
                if backend is None
                else cluster_topic_chunks(backend, documents, encoder=self.encoder_, topics=self.topics_)
            )
            customers = self._aggregate(chunks, progress or _no_progress, total=documents.n_docs)[0]
        blocks = self._blocks(customers, block_rows)
        if self.segmenter_ is None:
            yield from (block for block, _, _ in blocks)
            return
        segmented = segment_blocks(blocks, rfm, fuser=self.fuser_, segmenter=self.segmenter_, cards=self.segment_cards_)
        yield from map(order_columns, segmented)

    def _blocks(
        self, customers: CustomerTopics | None, block_rows: int | None
    ) -> Iterator[tuple[pd.DataFrame | None, CustomerTags | None, str | None]]:
        """``(profiles, tags, last customer id)`` per block of customers; the last block's id is None."""
        if customers is None:
            yield None, None, None
            return
        n = len(customers.customer_ids)
        step = max(n, 1) if block_rows is None else block_rows
        for start, stop in itertools.pairwise([*range(0, n, step), n] if n else [0, 0]):
            table, tags = self._profiles(customer_block(customers, start, stop))
            yield table, tags, None if stop == n else customers.customer_ids[stop - 1]

    def _profiles(self, customers: CustomerTopics) -> tuple[pd.DataFrame, CustomerTags]:
        """The profile table from per-customer aggregates (shares, counts, pooled word counts), and
        the tags as numbers (for the segments)."""
        anchors = self._anchor_counts(customers.counts)
        topic_tags = self._make_tagger().customer_tags(customers.shares, customers.n_tokens, anchors)
        keywords = self.encoder_.keywords(customers.counts, n=self.n_keywords)
        table = profile_table(customers, topic_tags=topic_tags, keywords=keywords, labels=self.topic_labels_)
        return table, customer_tags(customers.customer_ids, customers.shares, topic_tags, self.topic_labels_)

    def _anchor_counts(self, counts: Any) -> np.ndarray | None:
        """Per row of a count matrix and topic, how many tokens are anchor words of the topic (:class:`AnchorCounts`)."""
        if "_anchors" not in self.__dict__:
            self._anchors = AnchorCounts()
        prevalence = self.topic_info_["prevalence"].to_numpy()
        return self._anchors(counts, topic_word=self.topics_.topic_word_, prevalence=prevalence,
                             threshold=self.anchor_threshold,
                             word_counts=lambda: np.asarray(self.topics_.lda_.state.sstats, dtype=np.float64).sum(axis=0))  # fmt: skip

    def explain(
        self,
        customer_id: str,
        reviews: Input = None,
        browsing: Input = None,
        *,
        n_words: int = 8,
        n_snippets: int = 3,
    ) -> dict[str, Any]:
        """Evidence for one customer's interest tags (:func:`topicprofile.tag.explain.explain_customer`).

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
        mine, source, known_tags = customer_documents(
            customer_id, reviews=reviews, browsing=browsing, scrub=self.scrub, stored=self.documents_,
            profiles=self.profiles_ if self.keep_texts == "snippets" else None,
        )  # fmt: skip
        return explain_customer(mine, customer_id=customer_id, source=source, encoder=self.encoder_,
                                topics=self.topics_, tagger=self._make_tagger(), anchors=self._anchor_counts,
                                labels=self.topic_labels_, n_words=n_words, n_snippets=n_snippets, known=known_tags)  # fmt: skip

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
        :func:`topicprofile.store.save_model`; :func:`topicprofile.profiler_state.fitted_state`)."""
        self._check_fitted()
        return fitted_state(self)

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> TopicProfiler:
        """A fitted profiler from :meth:`to_state`'s data as :func:`topicprofile.store.read_state` reads it."""
        params = saved_params(state["manifest"], run_keywords=RUN_KEYWORDS)
        return restore_fitted(cls(**params), state)

def _rfm(orders: Input, *, as_of: Any) -> pd.DataFrame | None:
    """Scored RFM table of the orders (cleaned first when a DataFrame), or None without orders."""
    loaded = as_loaded(orders, functools.partial(clean_orders, as_of=as_of), name="orders")
    return None if loaded is None else compute_rfm(loaded.data, as_of=as_of)
