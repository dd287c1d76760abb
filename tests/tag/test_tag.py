from __future__ import annotations

import numpy as np
import pytest

from topicprofile.errors import ConfigError
from topicprofile.tag.tagger import InterestTagger


def test_tag_customer_topics_weighted_by_length_and_channel() -> None:
    doc_topics = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    tagger = InterestTagger(channel_weights={"reviews": 1.0, "browsing": 0.5}, aggregation="length")
    out = tagger.customer_topics(
        doc_topics, customer_ids=["a", "a", "b"], channels=["reviews", "browsing"] * 1 + ["reviews"], n_tokens=[4, 4, 0]
    )
    assert list(out.customer_ids) == ["a", "b"]
    # a: 4 tokens x1.0 on topic 0, 4 tokens x0.5 on topic 1 -> 2/3, 1/3
    assert np.allclose(out.shares[0], [2 / 3, 1 / 3])
    assert np.allclose(out.shares[1], [0.5, 0.5])  # no tokens: uniform, never NaN
    assert list(out.n_documents) == [2, 1] and list(out.n_tokens) == [8, 0]


def test_tag_threshold_max_tags_and_order() -> None:
    tagger = InterestTagger(threshold=0.2, max_tags=2)
    tags = tagger.tags(np.array([[0.25, 0.5, 0.05, 0.2]]), np.array([10]), ["a", "b", "c", "d"])
    assert tags == [[("b", 0.5), ("a", 0.25)]]


def test_tag_thin_text_gets_no_tag() -> None:
    tagger = InterestTagger(min_tokens=3)
    assert tagger.tags(np.array([[0.9, 0.1]]), np.array([2]), ["a", "b"]) == [[]]


def test_tag_negative_channel_weight_is_config_error() -> None:
    with pytest.raises(ConfigError, match="channel weights"):
        InterestTagger(channel_weights={"reviews": -1}).customer_topics(
            np.ones((1, 2)) / 2, customer_ids=["a"], channels=["reviews"], n_tokens=[3]
        )


def test_tag_short_rows_need_an_anchor_word_long_rows_do_not() -> None:
    tagger = InterestTagger(threshold=0.3, anchor_below=10)
    shares = np.array([[0.8, 0.2], [0.8, 0.2], [0.8, 0.2]])
    n_tokens = np.array([3, 3, 12])
    anchors = np.array([[0, 0], [1, 0], [0, 0]])
    assert tagger.topic_tags(shares, n_tokens, anchors) == [[], [(0, 0.8)], [(0, 0.8)]]
    assert tagger.topic_tags(shares, n_tokens) == [[(0, 0.8)]] * 3  # no anchors given: no rule


def test_anchor_matrix_is_bayes_over_topics() -> None:
    from topicprofile.tag.tagger import anchor_matrix

    topic_word = np.array([[0.7, 0.2, 0.1], [0.1, 0.2, 0.7]])
    a = anchor_matrix(topic_word, np.array([0.5, 0.5]), 0.6)
    # word 0 points to topic 0 (p = 0.875), word 2 to topic 1, word 1 to neither (0.5 each)
    assert a.tolist() == [[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]]


def test_anchor_matrix_needs_evidence_from_a_rare_word() -> None:
    from topicprofile.tag.tagger import anchor_matrix

    # The Gibbs regression on corpora/ (#12): "ship" has 24 tokens spread over three of 8 topics,
    # yet p(garden | ship) = 0.53 made a generic word an anchor. Counts per topic:
    counts = np.zeros((8, 4))
    counts[:, 0] = [0, 13, 0, 0, 0, 5, 0, 6]  # "ship": spread over three topics
    counts[:, 1] = [0, 0, 8, 0, 0, 0, 0, 0]  # "espresso": 8 tokens, all coffee
    counts[:, 2] = [0, 0, 0, 0, 0, 0, 0, 1]  # a word seen once
    counts[:, 3] = 1000 - counts[:, :3].sum(axis=1)  # every other word: topics of equal size
    topic_word = (counts + 0.1) / (counts + 0.1).sum(axis=1, keepdims=True)
    prevalence = np.full(8, 1 / 8)
    raw = anchor_matrix(topic_word, prevalence, 0.5)
    assert raw[0, 1] == 1.0 and raw[2, 7] == 1.0  # without the counts both would anchor
    shrunk = anchor_matrix(topic_word, prevalence, 0.5, word_counts=counts.sum(axis=0))
    assert shrunk[0].tolist() == [0.0] * 8  # "ship" anchors nothing
    assert shrunk[1].tolist() == [0, 0, 1, 0, 0, 0, 0, 0]  # "espresso" still anchors coffee
    assert shrunk[2].tolist() == [0.0] * 8  # one token is no evidence


def test_tag_a_named_interest_comes_before_an_emerging_topic() -> None:
    shares = np.array([[0.3, 0.1, 0.6], [0.1, 0.05, 0.85], [0.5, 0.1, 0.4]])
    n_tokens = np.array([20, 20, 20])
    plain = InterestTagger(threshold=0.2).topic_tags(shares, n_tokens)
    assert plain[0] == [(2, 0.6), (0, 0.3)]  # the emerging topic 2 is strongest
    # topics 0-1 named by a taxonomy (#12 part 7): a named interest that reaches the threshold is first
    named = InterestTagger(threshold=0.2, preferred=2).topic_tags(shares, n_tokens)
    assert named == [[(0, 0.3), (2, 0.6)], [(2, 0.85)], [(0, 0.5), (2, 0.4)]]
    # with the sharpened rule's cover every customer still gets a first tag
    covered = InterestTagger(threshold=0.2, preferred=2).customer_tags(shares, np.array([1, 1, 1]))
    assert [t[0][0] for t in covered] == [0, 2, 0]
