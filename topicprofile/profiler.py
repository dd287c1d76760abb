"""TopicProfiler: the one object that knows the order of the stages.

``documents -> text encoder (text/encoder.py) -> topics (topics/train.py; a refit: topics/refit.py)
-> per-customer aggregates (tag/aggregate.py) -> tags and the profile table (tag/profiles.py) ->
segments (segments/)``. Parameters: :mod:`topicprofile.profiler_params`; saving:
:mod:`topicprofile.profiler_state` and :mod:`topicprofile.store`. How a call runs (processes, chunk
size, token cache) is a :class:`~topicprofile.config.RunOptions` given to the call, never saved.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError as _SklearnNotFitted
from sklearn.utils.validation import check_is_fitted

from topicprofile.behavior import compute_rfm
from topicprofile.config import DEFAULT_CHUNK_ROWS, DEFAULT_K_VALUES, RunOptions, TopicsConfig
from topicprofile.distributed import (
    DaskBackend,
    cluster_estep,
    cluster_infer,
    cluster_kept_documents,
    cluster_tokenize,
    cluster_topic_chunks,
    text_sample,
)
from topicprofile.errors import ConfigError, DataValidationError, NotFittedError
from topicprofile.ingest.docstore import DocumentStore
from topicprofile.ingest.documents import Input, as_loaded, build_documents
from topicprofile.ingest.load import clean_orders
from topicprofile.privacy.names import NameScrubber, name_scrubber, names_record
from topicprofile.privacy.scrub import scrub_texts
from topicprofile.privacy.training_bows import TrainingBows
from topicprofile.profiler_params import (
    RUN_KEYWORDS,
    RunKeywordsMixin,
    check_params,
    encoder_of,
    legacy_run_options,
    segmenters_of,
    tagger_of,
    tokenizer_of,
)
from topicprofile.profiler_state import fitted_state, restore_fitted, saved_params
from topicprofile.report import write_report  # its extra (jinja2, altair) loads when a report is written
from topicprofile.segments.cluster import MIN_EXAMPLE_WORDS, fit_segments, rename_segments, segment_blocks
from topicprofile.store import load_model, save_model
from topicprofile.tag.aggregate import MonthlyTopics, count_corpus
from topicprofile.tag.explain import customer_documents, explain_customer, kept_documents
from topicprofile.tag.profiles import ProfileBuilder, customer_aggregates, lda_anchor_counts
from topicprofile.tag.table import order_columns, relabel
from topicprofile.tag.tagger import AnchorCounts, InterestTagger
from topicprofile.text.lang import warn_language_mismatch
from topicprofile.text.tokenizer import SpacyTokenizer
from topicprofile.topics import apply_label_overrides
from topicprofile.topics.describe import describe_topics
from topicprofile.topics.refit import Refit
from topicprofile.topics.train import check_trainable, train_topics, training_rows

__all__ = ["ProgressCallback", "TopicProfiler"]

logger = logging.getLogger(__name__)

#: ``progress(step, done, total)``: called as long steps advance; ``total`` is None when unknown.
ProgressCallback = Callable[[str, int, "int | None"], None]


def _no_progress(step: str, done: int, total: int | None) -> None:
    return None


class TopicProfiler(RunKeywordsMixin, BaseEstimator):  # type: ignore[misc]
    """Fit topics on customers' reviews and browsing, then tag customers and new text with interests.

    Each parameter belongs to one stage; the module named explains it in full (docs/architecture.md).

    Parameters
    ----------
    n_topics : int, "auto" or None, default None
        Number of topics; "auto": the most stable k of ``k_values`` (``tuning_``); None: 12, or the
        taxonomy's interests plus free topics (:func:`~topicprofile.topics.train.requested_topics`).
    lang : str, default "en"
        Language of the text ("en", "zh", or another spaCy language code).
    random_state : int, default 0
        Seed for everything random: the same input and seed give the same topics and tags.
    spacy_model, stop_words, phrases
        Tokenizer: a trained spaCy pipeline instead of the blank one, domain stop words (None: the
        shop list), frequent word pairs joined into phrases (:mod:`topicprofile.text.encoder`).
    pooling : {"customer", "document"}, default "customer"
        Train on each customer's texts pooled into one document, or on the documents (docs/pooling_and_vocabulary.md).
    trainer : {"gibbs", "vb", "review"}, default "gibbs"
        Gibbs LDA (:mod:`~topicprofile.topics.gibbs`), variational Bayes, or one topic per review (opt-in).
    no_below, no_above, keep_n
        Vocabulary filter (gensim ``filter_extremes``; :func:`~topicprofile.text.vectorize.default_no_below`).
    passes, iterations, update_every, alpha, eta
        LDA settings; None: the trainer's defaults (docs/lda_defaults.md).
    tag_threshold, max_tags, min_tokens, anchor_below, channel_weights, aggregation
        Interest tagging and a customer's topic vector (:mod:`topicprofile.tag.tagger`).
    anchor_threshold : float, default 0.5
        ``p(topic | word)`` of the anchor word a short text needs for a tag; 0 turns the rule off
        (:func:`~topicprofile.tag.tagger.anchor_matrix`).
    n_keywords : int, default 5
        TF-IDF keywords per customer.
    topic_labels : mapping of int to str, or None
        Names replacing the automatic labels of some topics.
    text_weight, behavior_weight, n_segments, segment_k_range
        Segments, with orders: the weights of topic shares and RFM (:mod:`topicprofile.segments.fuse`),
        the number of segments (None: by silhouette within the range, :mod:`topicprofile.segments.cluster`).
    taxonomy : mapping of str to list of str, or None
        The shop's interests and their seed words (:mod:`topicprofile.topics.seeding`).
    k_values : sequence of int
        The topic counts ``n_topics="auto"`` tries.
    scrub : bool, default True
        Replace personal data in texts by typed placeholders first (:mod:`topicprofile.privacy.scrub`).
    scrub_names : str or None
        Folder of a spaCy pipeline with NER: names of people -> ``<PERSON>`` too (the ``privacy`` extra).
    keep_texts : {"snippets", "all", "none"}, default "snippets"
        The texts the model keeps for :meth:`explain` (:mod:`topicprofile.privacy.minimize`).
    **run_options
        Deprecated ``workers``, ``chunk_rows``, ``cache_dir``: pass ``run=RunOptions(...)`` to the calls.

    Examples
    --------
    >>> reviews = pd.read_csv("corpora/reviews.csv", dtype=str)  # doctest: +SKIP
    >>> tp = TopicProfiler(n_topics=8).fit(reviews=reviews, run=RunOptions(workers=2))  # doctest: +SKIP
    >>> tp.tag_text(["Love these trail shoes, great grip on wet rocks"])  # doctest: +SKIP
    """

    def __init__(
        self, *, n_topics: int | str | None = None, lang: str = "en", random_state: int = 0,
        spacy_model: str | None = None, stop_words: Sequence[str] | None = None, phrases: bool = True,
        pooling: str = "customer", trainer: str = "gibbs", no_below: int | None = None, no_above: float = 0.5,
        keep_n: int = 50_000, passes: int | None = None, iterations: int | None = None,
        update_every: int | None = None, alpha: Any = None, eta: Any = None, tag_threshold: float = 0.2,
        max_tags: int = 3, min_tokens: int = 2, anchor_threshold: float = 0.5, anchor_below: int = 10,
        channel_weights: Mapping[str, float] | None = None, aggregation: str = "sharpened", n_keywords: int = 5,
        topic_labels: Mapping[int, str] | None = None, text_weight: float = 1.0, behavior_weight: float = 1.0,
        n_segments: int | None = None, segment_k_range: tuple[int, int] = (4, 8),
        taxonomy: Mapping[str, Sequence[str]] | None = None, k_values: Sequence[int] = DEFAULT_K_VALUES,
        scrub: bool = True, scrub_names: str | None = None, keep_texts: str = "snippets", **run_options: Any,
    ) -> None:  # fmt: skip
        params = {name: value for name, value in locals().items() if name not in ("self", "run_options")}
        vars(self).update(params)  # every parameter stored as given (scikit-learn's contract)
        self._run_options = legacy_run_options(run_options, "TopicProfiler()")

    # -- fitting ---------------------------------------------------------------------------
    def fit(
        self, reviews: Input = None, browsing: Input = None, orders: Input = None, *,
        as_of: str | pd.Timestamp | None = None, progress: ProgressCallback | None = None,
        run: RunOptions | None = None, previous: TopicProfiler | None = None,
    ) -> TopicProfiler:  # fmt: skip
        """Learn phrases, vocabulary, TF-IDF, topics and (with ``orders``) segments; returns ``self``.

        ``reviews``, ``browsing``, ``orders``: DataFrames or LoadResults (README's input contract);
        ``as_of``: the date recency counts from (default: the last order); ``progress(step, done,
        total)`` follows long steps; ``previous``: see :meth:`fit_documents`."""
        check_params(self.get_params())
        run = self.run_options(run)
        docs = build_documents(reviews, browsing, scrub=self.scrub, names=self._names())
        store = DocumentStore.from_frame(docs, chunk_rows=run.chunk_rows)
        privacy = {"scrub_counts": docs.attrs["scrub_counts"]} if self.scrub else None
        return self.fit_documents(store, orders, as_of=as_of, progress=progress, run=run, previous=previous,
                                  privacy=privacy)  # fmt: skip

    def fit_documents(
        self, documents: DocumentStore, orders: Input = None, *, as_of: str | pd.Timestamp | None = None,
        progress: ProgressCallback | None = None, run: RunOptions | None = None,
        previous: TopicProfiler | None = None, privacy: Mapping[str, Any] | None = None,
        backend: DaskBackend | None = None,
    ) -> TopicProfiler:  # fmt: skip
        """:meth:`fit` on documents streamed from a :class:`~topicprofile.ingest.docstore.DocumentStore`.

        ``previous``: the model this one replaces, whose topic ids and labels carry over
        (:mod:`topicprofile.topics.refit`); ``privacy``: what was done to the documents before
        (``privacy_``); ``backend``: LDA's E-step on a Dask cluster (``trainer="vb"``; docs/distributed.md)."""
        check_params(self.get_params(), cluster=backend is not None)
        names = names_record(self.scrub_names) if self.scrub and self.scrub_names else {}
        self.privacy_ = {"scrub": bool(self.scrub), **names, **(privacy or {})}
        rfm = _rfm(orders, as_of=as_of)  # before the long steps: bad orders fail fast
        if documents.n_docs == 0:
            raise DataValidationError("no documents to fit on")
        warn_language_mismatch(text_sample(backend, documents), self.lang)  # the first texts, where they are
        report, run, refit = progress or _no_progress, self.run_options(run), Refit.of(previous)
        self.encoder_ = encoder_of(self.get_params())  # text: tokens, phrases, vocabulary, counts, TF-IDF
        tokens = self.encoder_.fit_vocabulary(documents, report=report, workers=run.workers, cache_dir=run.cache_dir,
                                              tokenize=None if backend is None else cluster_tokenize(backend))  # fmt: skip
        corpus = count_corpus(documents, tokens, self.encoder_, report=report, seed=self.random_state,
                              min_example_words=MIN_EXAMPLE_WORDS if rfm is not None else None)  # fmt: skip
        config = TopicsConfig.from_params(self.get_params())
        check_trainable(corpus.n_nonempty, self.dictionary_, config, no_below=self.no_below)
        corpus.fit_keywords(self.encoder_)  # on a cluster: from the partitions' document frequencies
        report("topics", 0, None)
        training, groups = training_rows(corpus, pooling=self.pooling, trainer=self.trainer)
        if refit is not None and backend is None:  # a cluster trains without the warm start
            config = refit.warm_start(config, training, self.dictionary_)
        trained = train_topics(training, dictionary=self.dictionary_, encode=self.encoder_.tokens, config=config,
                               sample_tokens=corpus.sample_tokens, random_state=self.random_state, report=report,
                               estep=None if backend is None else cluster_estep(backend), groups=groups)  # fmt: skip
        self.topics_ = trained.topics if refit is None else refit.follow(trained.topics, self.dictionary_)
        self.n_topics_, self.tuning_, self.seed_ids_ = trained.n_topics, trained.tuning, trained.seed_ids
        self.missing_seeds_, self.taxonomy_warnings_ = trained.missing_seeds, trained.taxonomy_warnings
        chunks = corpus.iter_chunks() if backend is None else cluster_infer(backend, corpus, topics=self.topics_)
        monthly = MonthlyTopics(self.n_topics_)  # the report's interests over time
        customers, topic_mass = customer_aggregates(chunks, topics=self.topics_, tagger=self._make_tagger(),
                                                    report=report, total=documents.n_docs, pooled=corpus.pooled,
                                                    monthly=monthly)  # fmt: skip
        self.topic_months_ = monthly.to_dict()
        report("quality", 0, None)
        described = describe_topics(self.topics_.topic_word_, self.dictionary_, tokens=corpus.sample_tokens,
                                    topic_mass=topic_mass, seeded_names=list(self.taxonomy or {}))  # fmt: skip
        self.auto_labels_, self.coherence_, self.topic_info_ = described.auto_labels, described.coherence, described.table  # fmt: skip
        self.set_topic_labels({**(refit.carried_labels() if refit else {}), **(self.topic_labels or {})})
        self.topic_changes_ = None if refit is None else refit.changes(self.topic_labels_)
        self.n_documents_, self.input_fingerprint_ = documents.n_docs, documents.fingerprint
        report("profiles", 0, None)
        self.profiles_, tags = self._builder().profiles(customers)
        self.fuser_, self.segmenter_, self.segment_cards_ = None, None, []
        if rfm is not None:  # segments: RFM fused with the topic shares, clustered and named
            self.fuser_, self.segmenter_ = segmenters_of(self.get_params())
            table, self.segment_cards_ = fit_segments(self.profiles_, rfm, fuser=self.fuser_, segmenter=self.segmenter_,
                                                      reviews=corpus.first_reviews, tags=tags)  # fmt: skip
            self.profiles_ = order_columns(table)
        keep = {"profiles": self.profiles_, "chunk_rows": run.chunk_rows, "channel_weights": self._make_tagger().weights()}  # fmt: skip
        self.documents_ = (kept_documents(self.keep_texts, corpus, doc_topics=self.topics_.transform_counts, **keep)
                           if backend is None else cluster_kept_documents(backend, self.keep_texts, corpus,
                                                                          topics=self.topics_, **keep))  # fmt: skip
        # what forget subtracts from the topic statistics (issue 14); none without texts
        self.training_bows_ = None if self.keep_texts == "none" else TrainingBows.collect(corpus.iter_chunks())
        return self

    # the encoder's fitted parts, under the names the API has always had
    tokenizer_ = property(lambda self: self.encoder_.tokenizer, doc="The fitted :class:`SpacyTokenizer`.")
    phrases_ = property(lambda self: self.encoder_.phrases_, doc="The fitted :class:`PhraseDetector` or None.")  # fmt: skip
    dictionary_ = property(lambda self: self.encoder_.dictionary_, doc="The vocabulary (gensim Dictionary).")
    keywords_ = property(lambda self: self.encoder_.keywords_, doc="The TF-IDF keyword model.")

    def _make_tokenizer(self) -> SpacyTokenizer:
        return tokenizer_of(self.get_params())

    def _make_tagger(self) -> InterestTagger:
        return tagger_of(self.get_params())

    def _builder(self) -> ProfileBuilder:
        """The fitted tag stage: tag rules, anchor-word counts, keywords, labels (:mod:`topicprofile.tag.profiles`)."""
        cache = self.__dict__.setdefault("_anchors", AnchorCounts())  # the anchor matrix, kept between calls
        anchors = lda_anchor_counts(cache, self.topics_, prevalence=self.topic_info_["prevalence"].to_numpy(),
                                    threshold=self.anchor_threshold)  # fmt: skip
        return ProfileBuilder(self.encoder_, self.topics_, self._make_tagger(), anchors, self.topic_labels_,
                              self.n_keywords)  # fmt: skip

    def _names(self) -> NameScrubber | None:
        """The name scrubber ``scrub_names`` asks for (loaded once per folder), None when names are kept."""
        return name_scrubber(self.scrub_names) if self.scrub else None

    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self, "topics_")
        except _SklearnNotFitted as e:
            raise NotFittedError("this TopicProfiler is not fitted yet: call fit() or TopicProfiler.load() first") from e  # fmt: skip

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
        """Per text: ``tags`` (``{"label", "topic", "score"}``, strongest first; none when the text
        is too thin), ``topics`` (topic shares, summing to 1) and ``n_tokens``."""
        self._check_fitted()
        names = self._names()  # a model that scrubs names tags what it would have kept
        if names is not None:
            texts = scrub_texts([texts] if isinstance(texts, str) else texts, names=names)[0]
        return self._builder().text_tagger().tag_text(texts)

    def profile(
        self, reviews: Input = None, browsing: Input = None, orders: Input = None, *,
        as_of: str | pd.Timestamp | None = None, progress: ProgressCallback | None = None,
        run: RunOptions | None = None, backend: DaskBackend | None = None, rfm: pd.DataFrame | None = None,
    ) -> pd.DataFrame:  # fmt: skip
        """One row per customer: interest tags, scores, documents and keywords (README's output contract);
        with a model fitted on orders, also RFM columns and the fitted segments (``orders``, or their
        scored ``rfm``, may come alone). ``backend``: tag on a Dask cluster (:meth:`iter_profiles`)."""
        self._check_fitted()
        run, store = self.run_options(run), None
        if reviews is not None or browsing is not None or (orders is None and rfm is None):
            docs = build_documents(reviews, browsing, scrub=self.scrub, names=self._names())
            store = DocumentStore.from_frame(docs, chunk_rows=run.chunk_rows)
        return next(self.iter_profiles(store, orders, as_of=as_of, progress=progress, block_rows=None, run=run,
                                       backend=backend, rfm=rfm))  # fmt: skip

    def profile_documents(
        self, documents: DocumentStore | None, orders: Input = None, *, as_of: str | pd.Timestamp | None = None,
        progress: ProgressCallback | None = None, run: RunOptions | None = None, backend: DaskBackend | None = None,
    ) -> pd.DataFrame:  # fmt: skip
        """:meth:`profile` of documents in a :class:`~topicprofile.ingest.docstore.DocumentStore`, streamed chunk by chunk."""
        return next(self.iter_profiles(documents, orders, as_of=as_of, progress=progress, block_rows=None, run=run,
                                       backend=backend))  # fmt: skip

    def iter_profiles(
        self, documents: DocumentStore | None, orders: Input = None, *, as_of: str | pd.Timestamp | None = None,
        progress: ProgressCallback | None = None, block_rows: int | None = DEFAULT_CHUNK_ROWS,
        run: RunOptions | None = None, backend: DaskBackend | None = None, rfm: pd.DataFrame | None = None,
    ) -> Iterator[pd.DataFrame]:  # fmt: skip
        """:meth:`profile_documents` in blocks of at most ``block_rows`` customers (None: one block), in id
        order: documents added up per customer, then rows made a block at a time. ``backend``: tokenize and
        infer on a cluster. ``rfm``: instead of orders, a scored RFM table (``behavior.compute_rfm``'s)."""
        self._check_fitted()
        if block_rows is not None and block_rows < 1:
            raise ConfigError(f"block_rows must be at least 1, got {block_rows!r}")
        rfm = _rfm(orders, as_of=as_of) if rfm is None or orders is not None else rfm
        if orders is not None and self.segmenter_ is None:  # (a kept rfm= table is just left out)
            logger.warning("this model was fitted without orders: the orders are ignored (refit with orders)")
        if documents is None and self.segmenter_ is None:
            raise DataValidationError("this model was fitted without orders; give reviews or browsing")
        customers = None
        if documents is not None:
            workers = self.run_options(run).workers
            chunks: Iterable[tuple[Any, ...]] = (
                self.encoder_.iter_counts(documents.chunks(), n_docs=documents.n_docs, workers=workers) if backend is None
                else cluster_topic_chunks(backend, documents, encoder=self.encoder_, topics=self.topics_))  # fmt: skip
            customers, _ = customer_aggregates(chunks, topics=self.topics_, tagger=self._make_tagger(),
                                               report=progress or _no_progress, total=documents.n_docs)  # fmt: skip
        blocks = self._builder().blocks(customers, block_rows)
        if self.segmenter_ is None:
            yield from (block for block, _, _ in blocks)
        else:
            yield from map(order_columns, segment_blocks(blocks, rfm, fuser=self.fuser_, segmenter=self.segmenter_,
                                                         cards=self.segment_cards_))  # fmt: skip

    def explain(
        self, customer_id: str, reviews: Input = None, browsing: Input = None, *, n_words: int = 8, n_snippets: int = 3
    ) -> dict[str, Any]:  # fmt: skip
        """Evidence for one customer's interest tags: per tag its ``label, topic, score``, ``words``
        and ``snippets`` (:func:`topicprofile.tag.explain.explain_customer`). ``reviews``/``browsing``
        give the customer's documents (needed for a customer the model was not fitted on)."""
        self._check_fitted()
        customer_id = str(customer_id)
        mine, source, known_tags = customer_documents(
            customer_id, reviews=reviews, browsing=browsing, scrub=self.scrub, names=self._names(), stored=self.documents_,
            profiles=self.profiles_ if self.keep_texts == "snippets" else None,
        )  # fmt: skip
        tags = self._builder()
        return explain_customer(mine, customer_id=customer_id, source=source, encoder=self.encoder_, topics=self.topics_,
                                tagger=tags.tagger, anchors=tags.anchors, labels=tags.labels, n_words=n_words,
                                n_snippets=n_snippets, known=known_tags)  # fmt: skip

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
        """Write the offline HTML report of this model (:func:`topicprofile.report.write_report`; the ``report`` extra)."""
        return write_report(self, path, **options)

    def save(self, path: str, *, force: bool = False) -> None:
        """Save the fitted model to folder ``path`` as a new version, as plain data (:mod:`topicprofile.store`);
        with ``force``, into a folder holding other files (left alone)."""
        save_model(self.to_state(), path, force=force)  # to_state checks that the model is fitted

    @classmethod
    def load(cls, path: str) -> TopicProfiler:
        """Read a model written by :meth:`save` (its current version); ModelError if missing, corrupt or incompatible."""
        return load_model(path, cls.from_state)

    def to_state(self) -> dict[str, Any]:
        """The fitted model as plain data (:func:`topicprofile.profiler_state.fitted_state`)."""
        self._check_fitted()
        return fitted_state(self)

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> TopicProfiler:
        """A fitted profiler from :meth:`to_state`'s data as :func:`topicprofile.store.read_state` reads it."""
        return restore_fitted(cls(**saved_params(state["manifest"], run_keywords=RUN_KEYWORDS)), state)


def _rfm(orders: Input, *, as_of: Any) -> pd.DataFrame | None:
    """Scored RFM table of the orders (cleaned first when a DataFrame), or None without orders."""
    loaded = as_loaded(orders, functools.partial(clean_orders, as_of=as_of), name="orders")
    return None if loaded is None else compute_rfm(loaded.data, as_of=as_of)
