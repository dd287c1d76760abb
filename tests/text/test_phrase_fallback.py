"""A phrase outside the vocabulary falls back to its words ("hike_boot" -> hike, boot), the same
way at fit and at tag time; README's and the demo's example texts get their interest's tag."""

from __future__ import annotations

import logging

import pandas as pd
import pytest
from gensim.corpora import Dictionary

from topicprofile import TopicProfiler
from topicprofile.app.sample import sample_dir
from topicprofile.text.vectorize import build_dictionary, in_vocabulary, to_bows
from topicprofile.app.jobs import load_inputs


def test_phrase_fallback_out_of_vocabulary_phrase_keeps_its_known_words() -> None:
    dictionary = Dictionary([["hike", "boot", "trail_shoe", "grip"]])
    ids = dictionary.token2id
    tokens = ["hike_boot", "trail_shoe", "grip_wet", "wet", "tent_peg"]
    assert in_vocabulary(tokens, ids) == ["hike", "boot", "trail_shoe", "grip", "wet"]
    bow = dict(to_bows(dictionary, [tokens])[0])
    assert bow == {ids["hike"]: 1, ids["boot"]: 1, ids["trail_shoe"]: 1, ids["grip"]: 1}


def test_phrase_fallback_leaves_plain_tokens_alone() -> None:
    ids = {"hike": 0}
    tokens = ["hike", "unknown"]
    assert in_vocabulary(tokens, ids) is tokens  # nothing to split: no copy


def test_phrase_fallback_words_inside_phrases_count_for_the_vocabulary() -> None:
    docs = [["espresso_machine", "bean"]] * 4 + [["espresso", "grinder"]]
    dictionary = build_dictionary(docs, no_below=3)
    assert "espresso" in dictionary.token2id  # 5 documents hold it, 4 of them inside the phrase
    assert dictionary.cfs[dictionary.token2id["espresso"]] == 5


@pytest.fixture(scope="module")
def sample_model() -> TopicProfiler:
    """Fitted like ``topicprofile demo``: corpora/ reviews and browsing, k=8, seed 0."""
    logging.disable(logging.WARNING)
    try:
        corpora = sample_dir()
        loaded = load_inputs(reviews=corpora / "reviews.csv", browsing=corpora / "browsing.jsonl")
        return TopicProfiler(n_topics=8, random_state=0).fit(loaded["reviews"], loaded["browsing"])
    finally:
        logging.disable(logging.NOTSET)


def _interest_of_labels(model: TopicProfiler) -> dict[str, str]:
    """Each topic label -> the planted interest most common among the customers it tops."""
    truth = pd.read_csv(sample_dir() / "truth.csv", dtype=str)
    merged = model.profiles_[["customer_id", "top_interest"]].merge(truth, on="customer_id")
    merged = merged[merged["top_interest"] != ""]
    return merged.groupby("top_interest")["interest"].agg(lambda s: s.value_counts().index[0]).to_dict()


@pytest.mark.parametrize(
    ("text", "interests"),
    [
        ("great grip on wet rocks, comfy boots", {"outdoor"}),  # the demo's suggestion
        ("Love these trail shoes, great grip on wet rocks", {"outdoor", "fitness"}),  # README: trail shoes
        ("espresso beans", {"coffee"}),  # README's short query
    ],
)
def test_phrase_fallback_readme_and_demo_examples_get_their_tag(sample_model, text, interests) -> None:
    result = sample_model.tag_text(text)[0]
    assert result["tags"], f"{text!r}: no tag ({result['n_tokens']} vocabulary words)"
    label = result["tags"][0]["label"]
    assert _interest_of_labels(sample_model).get(label) in interests, (text, label)


def test_phrase_fallback_same_rule_at_fit_and_at_tag(sample_model) -> None:
    """A customer's tags from ``profile`` (tag path) equal those of the fit (count pass)."""
    corpora = sample_dir()
    loaded = load_inputs(reviews=corpora / "reviews.csv", browsing=corpora / "browsing.jsonl")
    again = sample_model.profile(loaded["reviews"], loaded["browsing"])
    columns = ["customer_id", "top_interest", "n_tokens"]
    pd.testing.assert_frame_equal(
        again[columns].reset_index(drop=True), sample_model.profiles_[columns].reset_index(drop=True)
    )
