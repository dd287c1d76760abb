"""Explained tags: scores equal the profile's, words come from the customer's text, snippets support the tag."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from topicprofile import TopicProfiler
from topicprofile.errors import DataValidationError
from topicprofile.tag.explain import _snippet
from topicprofile.store import model_files


def _tags_of(profile_row: pd.Series) -> dict[str, float]:
    return json.loads(profile_row["interest_scores"])


def test_explain_known_customer_matches_profile(tiny_profiler, tiny_reviews) -> None:
    customer = "coffee-00"
    result = tiny_profiler.explain(customer)
    assert result["source"] == "model" and result["n_documents"] == 3
    row = tiny_profiler.profiles_.set_index("customer_id").loc[customer]
    assert result["top_interest"] == row["top_interest"] != ""
    expected = _tags_of(row)
    assert [t["label"] for t in result["tags"]] == list(expected)
    for tag in result["tags"]:
        assert tag["score"] == pytest.approx(expected[tag["label"]], abs=1e-3)
    own_words = set(" ".join(tiny_reviews.loc[tiny_reviews["customer_id"] == customer, "text"]).lower().split())
    top = result["tags"][0]
    words = [w["word"] for w in top["words"]]
    assert words and all(set(w.split()) <= {t.strip(".,") for t in own_words} for w in words)
    assert 0 < sum(w["share"] for w in top["words"]) <= 1.0 + 1e-6
    assert [w["share"] for w in top["words"]] == sorted((w["share"] for w in top["words"]), reverse=True)
    # the coffee customer's tag is carried by coffee words, and the snippets are their reviews
    assert {"espresso", "beans", "grinder", "roast", "brew", "latte", "crema", "arabica"} & set(words)
    texts = set(tiny_reviews.loc[tiny_reviews["customer_id"] == customer, "text"])
    assert top["snippets"] and all(s["text"] in texts for s in top["snippets"])
    assert all(s["channel"] == "reviews" for s in top["snippets"])


def test_explain_new_customer_from_files_and_errors(tiny_profiler) -> None:
    new = pd.DataFrame(
        {"customer_id": ["N1", "N1", "N2"],
         "text": ["Great espresso beans, dark roast, fine grinder", "The latte crema was perfect", "tent"]}
    )  # fmt: skip
    result = tiny_profiler.explain("N1", reviews=new)
    assert result["source"] == "input" and result["n_documents"] == 2
    profile = tiny_profiler.profile(reviews=new).set_index("customer_id").loc["N1"]
    assert [t["label"] for t in result["tags"]] == list(_tags_of(profile))
    with pytest.raises(DataValidationError, match="'N9' is not in the given files"):
        tiny_profiler.explain("N9", reviews=new)
    with pytest.raises(DataValidationError, match="fitted on"):
        tiny_profiler.explain("N1")
    # one word: the sharpened rule still gives every customer with a vocabulary word a top interest,
    # and explain agrees with the profile (under aggregation="length" this customer abstained)
    thin = tiny_profiler.explain("N2", reviews=new)
    thin_profile = tiny_profiler.profile(reviews=new).set_index("customer_id").loc["N2"]
    assert thin["n_tokens"] == 1 and thin["top_interest"] == thin_profile["top_interest"] != ""
    assert [t["label"] for t in thin["tags"]] == list(_tags_of(thin_profile))


def test_explain_after_save_and_load(tiny_profiler, tmp_path) -> None:
    tiny_profiler.save(str(tmp_path / "m"))
    loaded = TopicProfiler.load(str(tmp_path / "m"))
    assert loaded.explain("kitchen-01") == tiny_profiler.explain("kitchen-01")
    (model_files(tmp_path / "m") / "documents.parquet").unlink()  # a model saved without its documents
    with pytest.raises(DataValidationError, match="without its documents"):
        TopicProfiler.load(str(tmp_path / "m")).explain("kitchen-01")


def test_snippet_cuts_at_a_word() -> None:
    assert _snippet("short  text\n here") == "short text here"
    cut = _snippet("word " * 100, limit=22)
    assert cut.endswith("…") and len(cut) <= 23 and "wor…" not in cut
