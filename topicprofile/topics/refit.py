"""A fit that replaces a previous model (``fit(previous=...)``, ``fit --previous``): stable tag ids.

The refit starts from the previous topics when it can (:meth:`Refit.warm_start`: a topic-word
prior worth :data:`~topicprofile.topics.matching.WARM_START` of the training tokens, built by
:func:`~topicprofile.topics.matching.warm_prior`): the same k, no taxonomy (its seed words make
their own prior), no ``eta`` matrix of the user's, not on a cluster. Its trained topics are then
matched to the previous ones and renumbered (:meth:`Refit.follow`,
:func:`~topicprofile.topics.matching.match_topics`); the previous user labels carry over to the
matched topics and the change is kept as a diff (``topic_changes_``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from topicprofile.config import TopicsConfig
from topicprofile.topics.gibbs import DEFAULT_GIBBS_PARAMS
from topicprofile.topics.lda import LdaTopics
from topicprofile.topics.matching import (
    WARM_START,
    TopicMatch,
    match_topics,
    permute_topics,
    vocabulary,
    warm_prior,
)
from topicprofile.topics.train import requested_topics

__all__ = ["Refit"]


class Refit:
    """What a refit takes from the model it replaces, and what it found (the match).

    Parameters
    ----------
    topics : LdaTopics
        The previous model's topics.
    dictionary : gensim Dictionary
        The previous model's vocabulary.
    labels, auto_labels : sequence of str
        The previous model's topic labels (user labels applied) and automatic labels.
    """

    def __init__(
        self, topics: LdaTopics, dictionary: Any, labels: Sequence[str], auto_labels: Sequence[str]
    ) -> None:
        self.topics = topics
        self.dictionary = dictionary
        self.labels = list(labels)
        self.auto_labels = list(auto_labels)
        self.match: TopicMatch | None = None

    @classmethod
    def of(cls, model: Any) -> Refit | None:
        """The refit of a fitted ``TopicProfiler`` (None: a fit from scratch)."""
        if model is None:
            return None
        return cls(model.topics_, model.dictionary_, model.topic_labels_, model.auto_labels_)

    def warm_start(self, config: TopicsConfig, training: Any, dictionary: Any) -> TopicsConfig:
        """``config`` with the previous topics as its topic-word prior ``eta``, or unchanged when
        the refit cannot start from them (another k, a taxonomy, an ``eta`` matrix).

        ``training`` is the training count matrix, ``dictionary`` the new vocabulary.
        """
        n_topics = self.topics.n_topics
        if config.taxonomy or WARM_START <= 0 or requested_topics(config) != n_topics:
            return config
        if not isinstance(config.eta, (float, int, type(None))):
            return config
        default = DEFAULT_GIBBS_PARAMS["eta"] if config.trainer in ("gibbs", "review") else 1.0 / n_topics
        base = config.eta if config.eta is not None else default
        eta = warm_prior(self.topics.topic_word_, vocabulary(self.dictionary), vocabulary(dictionary),
                         base=float(base), n_training_tokens=float(training.sum()), strength=WARM_START)  # fmt: skip
        return dataclasses.replace(config, eta=eta)

    def follow(self, topics: LdaTopics, dictionary: Any) -> LdaTopics:
        """The new ``topics`` renumbered after the previous ones (the match is kept in :attr:`match`)."""
        self.match = match_topics(topics.topic_word_, vocabulary(dictionary),
                                  self.topics.topic_word_, vocabulary(self.dictionary))  # fmt: skip
        return permute_topics(topics, self.match.order, dictionary)

    def carried_labels(self) -> dict[int, str]:
        """The previous user labels of the matched topics, under their ids now (after :meth:`follow`)."""
        return self._matched().carry_labels(self.labels, self.auto_labels)

    def changes(self, labels: Sequence[str]) -> dict[str, Any]:
        """The diff between the previous topics and the new ones, labelled ``labels`` (after :meth:`follow`)."""
        return self._matched().diff(self.labels, labels)

    def _matched(self) -> TopicMatch:
        if self.match is None:
            raise RuntimeError("Refit.follow() has not run (internal error)")
        return self.match
