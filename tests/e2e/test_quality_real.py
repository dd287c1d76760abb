"""Topic quality on real English text (../shared/data/rotten_tomatoes.csv.bz2), default settings."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from topicprofile import TopicProfiler

pytestmark = pytest.mark.slow  # a 13,905-text real-data fit


@pytest.fixture(scope="module")
def movie_model(shared_data):
    """All 13,905 plot summaries and critic snippets; each movie plays the customer."""
    frame = pd.read_csv(shared_data / "rotten_tomatoes.csv.bz2")
    reviews = pd.DataFrame({"customer_id": frame["movie_name"].astype(str), "text": frame["text"]})
    return TopicProfiler(n_topics=10, random_state=0).fit(reviews=reviews)


def test_quality_real_english_topics_are_coherent(movie_model) -> None:
    # measured: c_npmi +0.024, c_v 0.475, diversity 0.59 (seeds 1, 2: -0.007, +0.014; docs/lda_defaults.md)
    assert movie_model.coherence_["c_npmi"] > 0.0
    assert movie_model.coherence_["c_v"] > 0.4


def test_quality_real_english_labels_are_readable_words(movie_model) -> None:
    labels = movie_model.topic_labels_
    assert len(set(labels)) == 10
    for label in labels:
        words = [w for part in label.split(" · ") for w in part.split()]
        assert 2 <= len(words) <= 6
        assert all(re.fullmatch(r"[a-z][a-z'.-]+", w) for w in words), label
    assert movie_model.profiles_["top_interest"].ne("").mean() > 0.9
