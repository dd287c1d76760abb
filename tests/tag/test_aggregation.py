"""The customer rule: the sharpened mean of document topics (default) and the length-weighted one."""

from __future__ import annotations

import numpy as np
import pytest

from topicprofile import TopicProfiler
from topicprofile.errors import ConfigError
from topicprofile.tag.tagger import CustomerAccumulator, InterestTagger, sharpen


def test_sharpen_squares_and_renormalises_and_keeps_the_argmax() -> None:
    p = np.array([[0.6, 0.3, 0.1], [0.0, 0.0, 0.0]])
    out = sharpen(p)
    assert np.allclose(out[0], np.array([0.36, 0.09, 0.01]) / 0.46)
    assert out[0].argmax() == p[0].argmax()
    assert np.array_equal(out[1], [0.0, 0.0, 0.0])  # no mass: stays zero, never NaN


def test_sharpened_mean_ignores_length_and_counts_browsing_half() -> None:
    # a: one long review on topic 0, two short reviews on topic 1 -> topic 1 (the length-weighted
    # mean says topic 0); a document without vocabulary words says nothing
    doc_topics = np.array([[0.9, 0.1], [0.2, 0.8], [0.2, 0.8], [1.0, 0.0]])
    ids, channels, tokens = ["a"] * 4, ["reviews"] * 4, [40, 3, 3, 0]
    weights = {"reviews": 1.0, "browsing": 0.5}
    sharp = CustomerAccumulator(2, weights)
    sharp.add(ids, channels, tokens, doc_topics=doc_topics)
    expected = (sharpen(doc_topics[:1]) + 2 * sharpen(doc_topics[1:2])) / 3
    assert np.allclose(sharp.result().shares[0], expected[0])
    assert sharp.result().shares[0].argmax() == 1
    length = CustomerAccumulator(2, weights, "length")
    length.add(ids, channels, tokens, doc_topics=doc_topics)
    assert length.result().shares[0].argmax() == 0
    # browsing counts half a review: one review on 0 and two page views on 1 tie
    half = CustomerAccumulator(2, weights)
    half.add(["b"] * 3, ["reviews", "browsing", "browsing"], [5, 5, 5],
             doc_topics=np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]))  # fmt: skip
    assert np.allclose(half.result().shares[0], [0.5, 0.5])


def test_unknown_aggregation_is_config_error() -> None:
    with pytest.raises(ConfigError, match="aggregation"):
        CustomerAccumulator(2, {}, "median")
    with pytest.raises(ConfigError, match="aggregation"):
        TopicProfiler(aggregation="median").fit(reviews=None)


def test_every_customer_with_a_word_gets_a_top_interest_extra_tags_keep_the_rules() -> None:
    tagger = InterestTagger(threshold=0.3, anchor_below=10, max_tags=3)
    shares = np.array([[0.25, 0.25, 0.2, 0.3], [0.5, 0.4, 0.1, 0.0], [0.5, 0.4, 0.1, 0.0], [0.25] * 4])
    n_tokens = np.array([1, 3, 12, 0])
    anchors = np.zeros_like(shares)  # no anchor words anywhere
    assert tagger.customer_tags(shares, n_tokens, anchors) == [
        [(3, 0.3)],  # one word, below min_tokens and without an anchor: still its top interest
        [(0, 0.5)],  # short: the extra tag needs an anchor word
        [(0, 0.5), (1, 0.4)],  # long: the extra tag passes the threshold
        [],  # no vocabulary word: nothing to tell
    ]
    # texts and the "length" rule keep the gates for the top tag too
    assert tagger.topic_tags(shares, n_tokens, anchors) == [[], [], [(0, 0.5), (1, 0.4)], []]
    length = InterestTagger(threshold=0.3, anchor_below=10, aggregation="length")
    assert length.customer_tags(shares, n_tokens, anchors) == [[], [], [(0, 0.5), (1, 0.4)], []]


def test_profiles_cover_every_customer_with_a_word_and_explain_agrees(tiny_reviews) -> None:
    profiler = TopicProfiler(n_topics=3, random_state=0, phrases=False).fit(reviews=tiny_reviews)
    assert profiler.get_params()["aggregation"] == "sharpened" and profiler.get_params()["trainer"] == "gibbs"
    table = profiler.profiles_
    with_words = table[table["n_tokens"] > 0]
    assert (with_words["top_interest"] != "").all()
    first = str(table["customer_id"].iloc[0])
    explained = profiler.explain(first)
    assert explained["top_interest"] == table["top_interest"].iloc[0]


def test_a_model_saved_before_the_sharpened_mean_keeps_its_rule(tiny_profiler) -> None:
    state = {**tiny_profiler.to_state(), "documents": None}  # as read back: the store is a folder
    old = {**state, "manifest": {**state["manifest"], "params": dict(state["manifest"]["params"])}}
    del old["manifest"]["params"]["aggregation"]
    assert TopicProfiler.from_state(old).aggregation == "length"
    assert TopicProfiler.from_state(state).aggregation == "sharpened"
