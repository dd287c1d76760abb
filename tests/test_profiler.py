from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from topicprofile import NotFittedError, TopicProfiler
from topicprofile.errors import ConfigError, DataValidationError
from topicprofile.schema import PROFILE_COLUMNS


def test_profiler_profiles_have_contract_columns(tiny_profiler) -> None:
    profiles = tiny_profiler.profiles_
    assert list(profiles.columns[: len(PROFILE_COLUMNS)]) == list(PROFILE_COLUMNS)
    assert len(profiles) == 30
    tagged = profiles[profiles["top_interest"] != ""]
    assert len(tagged) >= 25
    for row in tagged.itertuples():
        scores = json.loads(row.interest_scores)
        assert list(scores) == row.interest_tags.split(";")
        assert row.top_interest == row.interest_tags.split(";")[0]
        assert list(scores.values()) == sorted(scores.values(), reverse=True)


def test_profiler_recovers_inline_themes(tiny_profiler) -> None:
    profiles = tiny_profiler.profiles_
    theme = profiles["customer_id"].str.split("-").str[0]
    # each theme's customers share one top interest, and the three themes get three different ones
    majority = profiles.groupby(theme)["top_interest"].agg(lambda s: s.value_counts().index[0])
    purity = (profiles["top_interest"] == theme.map(majority)).mean()
    assert purity >= 0.9 and majority.nunique() == 3


def test_profiler_fit_transform_parity(tiny_profiler, tiny_reviews) -> None:
    again = tiny_profiler.profile(reviews=tiny_reviews)
    pd.testing.assert_frame_equal(again, tiny_profiler.profiles_)


def test_profiler_tag_text_of_training_docs_matches_fit(tiny_profiler, tiny_reviews) -> None:
    one_doc = tiny_reviews.groupby("customer_id").head(1)
    single = tiny_profiler.profile(reviews=one_doc)
    tagged = tiny_profiler.tag_text(one_doc["text"].tolist())
    by_text = {cid: r for cid, r in zip(one_doc["customer_id"], tagged, strict=True)}
    for row in single.itertuples():
        assert ";".join(t["label"] for t in by_text[row.customer_id]["tags"]) == row.interest_tags


def test_profiler_tag_text_independent_of_batch(tiny_profiler, tiny_reviews) -> None:
    texts = tiny_reviews["text"].tolist()
    batch = tiny_profiler.tag_text(texts)
    singles = [tiny_profiler.tag_text(t)[0] for t in texts[:12]]
    assert batch[:12] == singles
    assert tiny_profiler.tag_text(texts[::-1])[::-1] == batch


def test_profiler_same_seed_same_model(tiny_reviews, tiny_profiler) -> None:
    again = TopicProfiler(n_topics=3, random_state=0, phrases=False).fit(reviews=tiny_reviews)
    assert np.array_equal(again.topics_.topic_word_, tiny_profiler.topics_.topic_word_)
    assert again.topic_labels_ == tiny_profiler.topic_labels_
    pd.testing.assert_frame_equal(again.profiles_, tiny_profiler.profiles_)


def test_profiler_thin_text_abstains(tiny_profiler) -> None:
    out = tiny_profiler.tag_text(["ok", "", "The espresso grinder and arabica beans, crema and latte."])
    assert out[0]["tags"] == [] and out[1]["tags"] == []
    assert out[2]["tags"] and abs(sum(out[2]["topics"]) - 1) < 1e-5


def test_profiler_rename_topics(tiny_reviews) -> None:
    tp = TopicProfiler(n_topics=3, random_state=0, phrases=False, topic_labels={0: "Zero"}).fit(reviews=tiny_reviews)
    assert tp.topic_labels_[0] == "Zero"
    tp.set_topic_labels({1: "One"})
    assert tp.topic_labels_[:2] == [tp.auto_labels_[0], "One"]
    assert set(tp.profiles_["top_interest"]) - {""} <= set(tp.topic_labels_)
    with pytest.raises(ConfigError, match="within 0..2"):
        tp.set_topic_labels({7: "x"})


def test_profiler_not_fitted() -> None:
    with pytest.raises(NotFittedError, match="not fitted"):
        TopicProfiler().tag_text(["hello"])


def test_profiler_bad_params_and_inputs(tiny_reviews) -> None:
    with pytest.raises(ConfigError, match="n_topics"):
        TopicProfiler(n_topics=1).fit(reviews=tiny_reviews)
    with pytest.raises(DataValidationError, match="no input"):
        TopicProfiler().fit()
    with pytest.raises(DataValidationError, match="fewer than"):
        TopicProfiler(n_topics=50).fit(reviews=tiny_reviews.head(6))


def test_profiler_get_params_roundtrip() -> None:
    tp = TopicProfiler(n_topics=5, lang="zh", tag_threshold=0.3)
    assert TopicProfiler(**tp.get_params()).get_params() == tp.get_params()


def test_profiler_init_stores_each_parameter_as_given_and_nothing_else() -> None:
    """``__init__`` stores its keyword arguments unchanged (the same objects, scikit-learn's contract) and no other state."""
    taxonomy, weights = {"tea": ["tea", "matcha"]}, {"reviews": 1.0}
    tp = TopicProfiler(n_topics="auto", taxonomy=taxonomy, channel_weights=weights, k_values=(4, 6))
    names = set(TopicProfiler().get_params())
    assert set(vars(tp)) == names | {"_run_options"} and tp._run_options == {}
    assert tp.taxonomy is taxonomy and tp.channel_weights is weights and tp.k_values == (4, 6)
    assert tp.n_topics == "auto" and tp.lang == "en" and tp.keep_texts == "snippets"
    assert len(names) == 34  # scrub_names: issue 14


def test_profiler_tag_text_follows_anchor_threshold_and_label_changes(tiny_profiler) -> None:
    text = "The espresso grinder and arabica beans."  # short: a tag needs an anchor word
    before = tiny_profiler.tag_text(text)[0]
    assert before["tags"]
    topic = before["tags"][0]["topic"]
    try:
        tiny_profiler.set_params(anchor_threshold=1.0)  # no word anchors a topic with certainty
        assert tiny_profiler.tag_text(text)[0]["tags"] == []
        tiny_profiler.set_params(anchor_threshold=0.5)
        tiny_profiler.set_topic_labels({topic: "Coffee gear"})
        renamed = tiny_profiler.tag_text(text)[0]
    finally:
        tiny_profiler.set_params(anchor_threshold=0.5)
        tiny_profiler.set_topic_labels(tiny_profiler.topic_labels or {})
    assert renamed["tags"][0] == {**before["tags"][0], "label": "Coffee gear"}
    assert tiny_profiler.tag_text(text)[0] == before
