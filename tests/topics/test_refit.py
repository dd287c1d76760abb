"""A refit that replaces a previous model: when it warm-starts, and how ids and labels follow (topics/refit.py)."""

from __future__ import annotations

import numpy as np
import pytest

from topicprofile.config import TopicsConfig
from topicprofile.topics.matching import WARM_START, permute_topics
from topicprofile.topics.refit import Refit


def test_refit_of_no_model_is_a_fit_from_scratch() -> None:
    assert Refit.of(None) is None


def test_refit_warm_starts_only_the_same_k_without_a_taxonomy_or_an_eta_matrix(tiny_profiler) -> None:
    refit = Refit.of(tiny_profiler)
    training = np.ones((4, len(tiny_profiler.dictionary_)))
    same = TopicsConfig(n_topics=tiny_profiler.n_topics_, trainer="vb")
    warm = refit.warm_start(same, training, tiny_profiler.dictionary_)
    assert warm.eta.shape == (tiny_profiler.n_topics_, len(tiny_profiler.dictionary_))
    # the prior is worth WARM_START of the training tokens on top of the trainer's own (vb: 1/k per word)
    extra = (
        warm.eta.sum() - len(tiny_profiler.dictionary_) * tiny_profiler.n_topics_ / tiny_profiler.n_topics_
    )
    assert extra == pytest.approx(WARM_START * training.sum(), rel=1e-6)
    assert warm.n_topics == same.n_topics and same.eta is None  # a new config; the given one unchanged
    for cold in (
        TopicsConfig(n_topics=tiny_profiler.n_topics_ + 1),  # another k: nothing to start from
        TopicsConfig(n_topics=tiny_profiler.n_topics_, taxonomy={"tea": ["tea"]}),  # the seeds make the prior
        TopicsConfig(n_topics=tiny_profiler.n_topics_, eta=np.full((3, 5), 0.1)),  # the user's own prior
    ):
        assert refit.warm_start(cold, training, tiny_profiler.dictionary_) is cold


def test_refit_follow_renumbers_to_the_previous_ids_and_carries_user_labels(tiny_profiler) -> None:
    refit = Refit(tiny_profiler.topics_, tiny_profiler.dictionary_, ["Tea", "b", "c"], ["a", "b", "c"])
    with pytest.raises(RuntimeError, match="follow"):
        refit.carried_labels()
    shuffled = permute_topics(tiny_profiler.topics_, [2, 0, 1], tiny_profiler.dictionary_)
    followed = refit.follow(shuffled, tiny_profiler.dictionary_)
    np.testing.assert_allclose(followed.topic_word_, tiny_profiler.topics_.topic_word_, atol=1e-9)
    assert refit.match is not None and refit.match.previous == [0, 1, 2]
    assert refit.carried_labels() == {0: "Tea"}  # only a name the user gave travels
    assert [entry["id"] for entry in refit.changes(["Tea", "b", "c"])["kept"]] == [0, 1, 2]
