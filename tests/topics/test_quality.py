from __future__ import annotations

import pandas as pd

from topicprofile.topics.quality import topic_quality


def test_quality_flags_near_duplicates_and_junk() -> None:
    topics = pd.DataFrame(
        {
            "topic": [0, 1, 2, 3],
            "label": ["a", "b", "c", "d"],
            "top_terms": [
                ["tent", "hike", "trail", "boot", "camp"],
                ["tent", "hike", "trail", "boot", "stove"],  # near-duplicate of 0
                ["coffee", "tea", "bean", "kettle", "brew"],
                ["order", "item", "product", "x", "y"],  # boilerplate
            ],
            "prevalence": [0.4, 0.3, 0.28, 0.02],
            "c_npmi": [0.1, 0.08, 0.12, -0.5],
            "c_v": [0.5, 0.5, 0.6, 0.2],
        }
    )
    report = topic_quality(topics, stop_words=frozenset({"order", "item", "product"}))
    assert list(report["duplicate_of"]) == [-1, 0, -1, -1]
    assert list(report["junk"]) == [False, False, False, True]
    assert "incoherent" in report.loc[3, "reason"] and "boilerplate" in report.loc[3, "reason"]


def test_quality_report_on_fitted_model(tiny_profiler) -> None:
    report = topic_quality(tiny_profiler.topics(), stop_words=tiny_profiler.tokenizer_.stop_word_set())
    assert len(report) == 3 and set(report.columns) >= {"duplicate_of", "junk", "reason", "c_npmi"}
