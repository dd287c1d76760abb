"""The topic stage of a fit: choose k, seed the prior from a taxonomy, train LDA.

Input: the training count matrix (customers pooled or documents, see ``pooling``), the fitted
vocabulary and a sample of token lists for coherence. Output: :class:`TrainedTopics`, the fitted
:class:`~topicprofile.topics.lda.LdaTopics` with what was resolved on the way (``"auto"`` k, the
taxonomy's seed words and whether the seeded topics converged).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from topicprofile.config import TopicsConfig
from topicprofile.errors import ConfigError, DataValidationError
from topicprofile.text.corpus import CountedCorpus, CsrCorpus
from topicprofile.topics.gibbs import resolve_gibbs_params
from topicprofile.topics.lda import EStep, LdaTopics
from topicprofile.topics.review_mixture import resolve_review_params
from topicprofile.topics.seeding import convergence_warnings, seed_prior, topics_for_taxonomy, validate_taxonomy
from topicprofile.topics.tuning import choose_n_topics

__all__ = ["MIN_WORDS_PER_TOPIC", "TrainedTopics", "check_topic_params", "check_trainable", "check_vocabulary",
           "fewest_topics", "make_lda", "requested_topics", "train_topics", "training_rows"]  # fmt: skip

#: A vocabulary needs this many words per topic: below, topics share their few words and mean nothing.
MIN_WORDS_PER_TOPIC = 5
#: ``trainer`` parameter -> :class:`LdaTopics` trainer.
_TRAINERS = {"vb": "vectorized", "gibbs": "gibbs", "review": "review"}

Report = Callable[[str, int, "int | None"], None]


@dataclass(frozen=True)
class TrainedTopics:
    """A fitted topic model and what its fit resolved."""

    topics: LdaTopics
    n_topics: int
    tuning: pd.DataFrame | None = None
    seed_ids: list[list[int]] = field(default_factory=list)
    missing_seeds: dict[str, list[str]] = field(default_factory=dict)
    taxonomy_warnings: list[str] = field(default_factory=list)


def check_topic_params(config: TopicsConfig) -> None:
    """:meth:`TopicsConfig.check`, and the trainer's own settings (Gibbs: iterations, alpha, eta)."""
    config.check()
    resolve = {"gibbs": resolve_gibbs_params, "review": resolve_review_params}.get(config.trainer)
    if resolve is not None:
        try:
            resolve(iterations=config.iterations, alpha=config.alpha, eta=config.eta)
        except ValueError as e:
            raise ConfigError(str(e)) from e


def _k_candidates(config: TopicsConfig) -> list[int]:
    n_interests = len(config.taxonomy or {})
    return [k for k in config.k_values if k >= max(2, n_interests)] or [max(2, n_interests)]


def requested_topics(config: TopicsConfig) -> int | str:
    """``n_topics``, with ``None`` resolved: the taxonomy's interests plus free topics, else 12
    (:func:`~topicprofile.topics.seeding.topics_for_taxonomy`)."""
    return topics_for_taxonomy(config.taxonomy) if config.n_topics is None else config.n_topics


def fewest_topics(config: TopicsConfig) -> int:
    """The fewest topics the fit may train: ``n_topics``, or for ``"auto"`` the smallest k tried."""
    requested = requested_topics(config)
    return min(_k_candidates(config)) if requested == "auto" else int(requested)


def check_vocabulary(dictionary: Any, n_topics: int, *, no_below: int | None) -> None:
    """Refuse a vocabulary too small to tell ``n_topics`` topics apart (a model of a few words)."""
    need = MIN_WORDS_PER_TOPIC * n_topics
    if len(dictionary) < need:
        rule = f"--no-below {no_below}" if no_below is not None else "the rare-word filter"
        raise DataValidationError(
            f"vocabulary has {len(dictionary)} words after {rule}; need at least {need} for "
            f"{n_topics} topics ({MIN_WORDS_PER_TOPIC} per topic). Lower --no-below, ask for fewer "
            "--topics or add text."
        )


def make_lda(config: TopicsConfig, n_topics: int, *, eta: Any = None, random_state: int = 0) -> LdaTopics:
    """An unfitted :class:`LdaTopics` of ``n_topics`` with the configured trainer and settings."""
    return LdaTopics(
        n_topics,
        passes=config.passes,
        iterations=config.iterations,
        update_every=config.update_every,
        alpha=config.alpha,
        eta=eta,
        trainer=_TRAINERS[config.trainer],
        random_state=random_state,
    )


def train_topics(
    training: sparse.csr_matrix, *, dictionary: Any, encode: Callable[[str], list[str]],
    sample_tokens: Sequence[Sequence[str]], config: TopicsConfig, random_state: int, report: Report,
    estep: EStep | None = None, groups: np.ndarray | None = None,
) -> TrainedTopics:  # fmt: skip
    """Choose k (``"auto"``), build the taxonomy's prior (or use ``eta``) and train LDA on ``training``
    (``estep``: the E-step on a cluster, :meth:`LdaTopics.fit`; not with a taxonomy; ``groups``: each
    training row's customer, for ``trainer="review"``, whose ``"auto"`` k is chosen with Gibbs LDA)."""
    requested = requested_topics(config)
    if requested == "auto":
        report("choose k", 0, None)
    # tuned with the trainer that fits the final model (the best k of one need not be the other's)
    lda_params = {"passes": config.passes, "iterations": config.iterations, "update_every": config.update_every,
                  "alpha": config.alpha, "trainer": _TRAINERS[config.trainer]}  # fmt: skip
    if config.trainer == "review":  # tuning fits LDA on the training rows without their customers
        lda_params = {**lda_params, "trainer": "gibbs", "iterations": None, "alpha": None}
    n_topics, tuning = choose_n_topics(requested, CsrCorpus(training), dictionary, sample_tokens,
                                       k_values=_k_candidates(config), lda_params=lda_params)  # fmt: skip
    if not config.taxonomy:
        lda = make_lda(config, n_topics, eta=config.eta, random_state=random_state)
        fitted = lda.fit(CsrCorpus(training), dictionary, estep=estep, groups=groups)
        return TrainedTopics(fitted, n_topics, tuning)
    base = make_lda(config, n_topics, eta=config.eta, random_state=random_state).resolved_params()["eta"]
    base = base if config.trainer in ("gibbs", "review") else None
    prior = seed_prior(validate_taxonomy(config.taxonomy), n_topics=n_topics, dictionary=dictionary, encode=encode,
                       n_training_docs=training.shape[0], base=base)  # fmt: skip
    topics = make_lda(config, n_topics, eta=prior.eta, random_state=random_state).fit(
        CsrCorpus(training), dictionary, groups=groups
    )
    warnings = convergence_warnings(topics.topic_word_, prior.seed_ids, list(config.taxonomy))
    return TrainedTopics(topics, n_topics, tuning, prior.seed_ids, prior.missing, warnings)


def training_rows(
    corpus: CountedCorpus, *, pooling: str, trainer: str
) -> tuple[sparse.csr_matrix, np.ndarray | None]:
    """The training count matrix and, for ``trainer="review"``, each row's customer code: the
    review trainer always trains on the documents (one topic per review); the others on the
    customers' pooled texts or on the documents, as ``pooling`` says."""
    if trainer == "review":
        return corpus.doc_matrix(), corpus.doc_customers()
    return (corpus.pooled if pooling == "customer" else corpus.doc_matrix()), None


def check_trainable(n_nonempty: int, dictionary: Any, config: TopicsConfig, *, no_below: int | None) -> None:
    """Refuse a corpus too small for the topics asked for: fewer documents with vocabulary words
    (``n_nonempty``) than topics (:func:`fewest_topics`), or too few words (:func:`check_vocabulary`)."""
    fewest = fewest_topics(config)
    if n_nonempty < fewest:
        raise DataValidationError(
            f"only {n_nonempty} document(s) have words in the vocabulary, fewer than "
            f"--topics {fewest}; add text or ask for fewer topics"
        )
    check_vocabulary(dictionary, fewest, no_below=no_below)
