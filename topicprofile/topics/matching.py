"""Stable topic ids across refits: match a new model's topics to the previous model's and renumber them.

LDA numbers its topics at random: a refit with another seed (or on more data) finds much the same
topics under other ids, so a customer's tag id would change although their interest did not
(measured: 5-12% of customers keep their top tag id; ../shared/NOTES.md). Matching the topics
one-to-one (Hungarian algorithm, ``scipy.optimize.linear_sum_assignment``) on the Hellinger
distance of their word distributions, over the union of both vocabularies, and giving each
matched new topic its old id brings that to 80-93%.

Examples
--------
>>> match = match_topics(new_topic_word, new_tokens, old_topic_word, old_tokens)  # doctest: +SKIP
>>> topics = permute_topics(topics, match.order, dictionary)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from topicprofile.topics.lda import LdaTopics

__all__ = ["DEFAULT_MAX_DISTANCE", "WARM_START", "TopicMatch", "hellinger", "match_topics", "permute_topics", "vocabulary",
           "warm_prior"]

#: A pair further apart than this (Hellinger, 0 = same words, 1 = no word in common) is not the
#: same topic: the new one gets a free id and the old one is retired.
DEFAULT_MAX_DISTANCE = 0.7


@dataclass(frozen=True)
class TopicMatch:
    """How a new model's topics relate to the previous model's.

    ``order[i]`` is the new model's topic that takes id ``i``; ``previous[i]`` the previous id the
    topic now at ``i`` continues (None: a new topic); ``distance[i]`` its Hellinger distance to it.
    """

    order: list[int]
    previous: list[int | None]
    distance: list[float | None]
    retired: list[int] = field(default_factory=list)
    split: dict[int, int] = field(default_factory=dict)  # new id -> the old id it split from
    merged: dict[int, int] = field(default_factory=dict)  # retired old id -> the new id it merged into

    def carry_labels(self, old_labels: Sequence[str], old_auto_labels: Sequence[str]) -> dict[int, str]:
        """The labels a user gave old topics, under the new ids of the topics that continue them."""
        return {
            i: old_labels[k]
            for i, k in enumerate(self.previous)
            if k is not None and old_labels[k] != old_auto_labels[k]
        }

    def diff(self, old_labels: Sequence[str], new_labels: Sequence[str]) -> dict[str, Any]:
        """``kept``, ``renamed``, ``new``, ``retired``, ``split`` and ``merged``, with ids and labels (JSON-ready)."""
        kept, renamed, new = [], [], []
        for i, old in enumerate(self.previous):
            if old is None:
                new.append({"id": i, "label": new_labels[i]})
            elif old_labels[old] == new_labels[i]:
                kept.append(
                    {"id": i, "label": new_labels[i], "distance": round(float(self.distance[i] or 0), 3)}
                )
            else:
                renamed.append({"id": i, "from": old_labels[old], "to": new_labels[i]})
        return {
            "kept": kept,
            "renamed": renamed,
            "new": new,
            "retired": [{"id": k, "label": old_labels[k]} for k in self.retired],
            "split": [{"id": i, "from_id": k, "label": new_labels[i]} for i, k in sorted(self.split.items())],
            "merged": [
                {"id": k, "into_id": i, "label": old_labels[k]} for k, i in sorted(self.merged.items())
            ],
        }


def vocabulary(dictionary: Any) -> list[str]:
    """A gensim dictionary's tokens in id order (the columns of ``topic_word_``)."""
    return [dictionary[i] for i in range(len(dictionary))]


def hellinger(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Hellinger distances between the rows of ``p`` (a × V) and of ``q`` (b × V), each a distribution."""
    affinity = np.sqrt(np.clip(p, 0, None)) @ np.sqrt(np.clip(q, 0, None)).T
    return np.sqrt(np.clip(1.0 - affinity, 0.0, 1.0))


def _on_union(
    topic_word: np.ndarray, tokens: Sequence[str], index: dict[str, int]
) -> np.ndarray:  # fmt: skip
    out = np.zeros((topic_word.shape[0], len(index)))
    out[:, [index[t] for t in tokens]] = topic_word
    return out / out.sum(axis=1, keepdims=True)


def match_topics(
    new_topic_word: np.ndarray, new_tokens: Sequence[str], old_topic_word: np.ndarray, old_tokens: Sequence[str],
    *, max_distance: float = DEFAULT_MAX_DISTANCE,
) -> TopicMatch:  # fmt: skip
    """Match new topics to old ones; rows are topics' word distributions over ``*_tokens``.

    Matched new topics take their old ids; the others take the ids no matched topic uses, lowest
    first (a retired topic's id is reused only when the model has no other free id).
    """
    index = {t: i for i, t in enumerate(dict.fromkeys([*old_tokens, *new_tokens]))}
    distance = hellinger(
        _on_union(new_topic_word, new_tokens, index), _on_union(old_topic_word, old_tokens, index)
    )
    rows, cols = linear_sum_assignment(distance)
    pairs = {int(r): int(c) for r, c in zip(rows, cols) if distance[r, c] <= max_distance}
    k_new, k_old = distance.shape
    order: list[int | None] = [None] * k_new
    for new, old in pairs.items():
        if old < k_new:
            order[old] = new
    unplaced = [j for j in range(k_new) if j not in order]
    retired = sorted(set(range(k_old)) - set(pairs.values()))
    # free ids: those no old topic had first, then retired ones (a topic matched to an old id
    # >= k_new, when the model shrank, takes one too)
    free = [i for i in range(k_new) if order[i] is None]
    free.sort(key=lambda i: (i < k_old, i))
    for i, j in zip(free, unplaced):
        order[i] = j
    placed = [int(j) for j in order]  # type: ignore[arg-type]
    previous = [pairs.get(j) for j in placed]
    split = {
        i: int(np.argmin(distance[j]))
        for i, j in enumerate(placed)
        if previous[i] is None and distance[j].min() <= max_distance
    }
    merged = {
        k: placed.index(int(np.argmin(distance[:, k])))
        for k in retired
        if distance[:, k].min() <= max_distance
    }
    return TopicMatch(
        order=placed, previous=previous,
        distance=[None if previous[i] is None else float(distance[j, previous[i]]) for i, j in enumerate(placed)],
        retired=retired, split=split, merged=merged,
    )  # fmt: skip


def permute_topics(topics: LdaTopics, order: Sequence[int], dictionary: Any) -> LdaTopics:
    """``topics`` with topic ``order[i]`` renumbered ``i`` (alpha, eta rows, statistics, word weights)."""
    params, arrays = topics.to_state()
    order = np.asarray(order)
    arrays = dict(arrays)
    for name in ("sstats", "exp_elog_beta"):
        arrays[name] = arrays[name][order]
    if arrays["alpha"].ndim == 1 and arrays["alpha"].shape[0] == len(order):
        arrays["alpha"] = arrays["alpha"][order]
    if arrays["eta"].ndim == 2:
        arrays["eta"] = arrays["eta"][order]
    return LdaTopics.from_state(params, arrays, dictionary)


#: ``fit --previous`` warm start: the previous topics enter the new fit as a topic-word prior worth
#: this share of the training tokens (pseudo-counts spread over each old topic's word distribution).
WARM_START = 0.2


def warm_prior(
    previous_topic_word: np.ndarray, previous_tokens: Sequence[str], tokens: Sequence[str], *, base: float,
    n_training_tokens: float, strength: float = WARM_START,
) -> np.ndarray:
    """A ``n_topics × n_terms`` prior ``eta`` that starts a refit from the previous model's topics.

    Topic ``k`` of the new fit gets ``base`` plus ``strength × n_training_tokens / n_topics``
    pseudo-tokens spread over the previous topic ``k``'s words (those still in the vocabulary), so
    the refit finds the old topics again, under their old ids, where the data still supports them
    (../shared/NOTES.md: a warm start kept 98.5% of customers' top tag id against 80–93% for
    matching alone). Words new to the vocabulary get ``base`` only.
    """
    index = {token: i for i, token in enumerate(previous_tokens)}
    columns = np.array([index.get(token, -1) for token in tokens])
    known = columns >= 0
    n_topics = previous_topic_word.shape[0]
    mass = np.zeros((n_topics, len(tokens)))
    mass[:, known] = previous_topic_word[:, columns[known]]
    totals = mass.sum(axis=1, keepdims=True)
    mass = np.divide(mass, totals, out=np.zeros_like(mass), where=totals > 0)
    return base + strength * float(n_training_tokens) / n_topics * mass
