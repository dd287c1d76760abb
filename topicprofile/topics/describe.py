"""Describe fitted topics: labels, relevant and probable terms, prevalence and coherence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from topicprofile.topics.coherence import coherence_scores, topic_diversity
from topicprofile.topics.labels import make_labels, relevant_terms
from topicprofile.topics.seeding import EMERGING_PREFIX

__all__ = ["TopicDescription", "describe_topics"]


@dataclass(frozen=True)
class TopicDescription:
    """``auto_labels``, ``coherence`` (mean scores + diversity) and the per-topic ``table``
    (``topic, auto_label, relevant_terms, top_terms, prevalence, c_npmi, c_v``)."""

    auto_labels: list[str]
    coherence: dict[str, float]
    table: pd.DataFrame


def describe_topics(
    topic_word: np.ndarray, dictionary: Any, *, tokens: list[list[str]], topic_mass: np.ndarray,
    seeded_names: Sequence[str] = (),
) -> TopicDescription:  # fmt: skip
    """Label and score the topics; ``seeded_names``: the taxonomy's interests, which name the
    first topics (the rest are emerging interests)."""
    term_freq = np.array([dictionary.cfs.get(i, 0) for i in range(len(dictionary))], dtype=float)
    relevant = relevant_terms(topic_word, term_freq, dictionary, n=10)
    probable = [[dictionary[int(i)] for i in np.argsort(-row, kind="stable")[:10]] for row in topic_word]
    auto_labels = make_labels(relevant)
    if seeded_names:  # seeded topics carry the taxonomy's names; the rest are emerging interests
        names = list(seeded_names)
        auto_labels = names + [EMERGING_PREFIX + label for label in auto_labels[len(names) :]]
    scores = coherence_scores(probable, tokens, dictionary)
    prevalence = topic_mass / max(float(topic_mass.sum()), 1.0)
    coherence = {name: s["mean"] for name, s in scores.items()}
    coherence["diversity"] = topic_diversity(
        [[dictionary[int(i)] for i in np.argsort(-row, kind="stable")[:25]] for row in topic_word]
    )
    table = pd.DataFrame(
        {
            "topic": np.arange(topic_word.shape[0]),
            "auto_label": auto_labels,
            "relevant_terms": relevant,
            "top_terms": probable,
            "prevalence": prevalence,
            "c_npmi": scores["c_npmi"]["per_topic"],
            "c_v": scores["c_v"]["per_topic"],
        }
    )
    return TopicDescription(auto_labels=auto_labels, coherence=coherence, table=table)
