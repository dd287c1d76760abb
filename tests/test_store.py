from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from topicprofile import ModelError, TopicProfiler
from topicprofile.store import FORMAT_VERSION, model_files


@pytest.fixture()
def saved(tiny_profiler, tmp_path):
    path = tmp_path / "model"
    tiny_profiler.save(str(path))
    return path


def test_store_save_load_gives_identical_output(tiny_profiler, tiny_reviews, saved) -> None:
    loaded = TopicProfiler.load(str(saved))
    texts = tiny_reviews["text"].tolist()
    assert loaded.tag_text(texts) == tiny_profiler.tag_text(texts)
    pd.testing.assert_frame_equal(loaded.profile(reviews=tiny_reviews), tiny_profiler.profiles_)
    assert loaded.topic_labels_ == tiny_profiler.topic_labels_
    assert loaded.get_params() == tiny_profiler.get_params()


def test_store_manifest_contents(saved) -> None:
    manifest = json.loads((saved / "manifest.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION
    assert {"gensim", "spacy", "topicprofile"} <= set(manifest["versions"])
    assert manifest["params"]["n_topics"] == 3
    assert len(manifest["input"]["fingerprint"]) == 64
    assert {"c_npmi", "c_v", "diversity"} <= set(manifest["coherence"])


def test_store_overwrite_is_atomic_and_leaves_no_temp(tiny_profiler, saved) -> None:
    tiny_profiler.save(str(saved))
    assert sorted(p.name for p in saved.parent.iterdir()) == ["model"]


def test_store_missing_model(tmp_path) -> None:
    with pytest.raises(ModelError, match="not found"):
        TopicProfiler.load(str(tmp_path / "nope"))


def test_store_not_a_model(tmp_path) -> None:
    with pytest.raises(ModelError, match="manifest.json missing"):
        TopicProfiler.load(str(tmp_path))


def test_store_corrupt_manifest(saved) -> None:
    (saved / "manifest.json").write_text("{not json")
    with pytest.raises(ModelError, match="corrupt manifest"):
        TopicProfiler.load(str(saved))


def test_store_missing_part(saved) -> None:
    shutil.rmtree(model_files(saved) / "lda")
    with pytest.raises(ModelError, match="missing lda/params.json"):
        TopicProfiler.load(str(saved))


def test_store_corrupt_part(saved) -> None:
    (model_files(saved) / "dictionary" / "dfs.npy").write_bytes(b"garbage")
    with pytest.raises(ModelError, match="corrupt model"):
        TopicProfiler.load(str(saved))


def test_store_newer_format_is_incompatible(saved) -> None:
    manifest = json.loads((saved / "manifest.json").read_text())
    manifest["format_version"] = FORMAT_VERSION + 1
    (saved / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="upgrade topicprofile"):
        TopicProfiler.load(str(saved))


def test_store_refuses_to_overwrite_other_directory(tiny_profiler, tmp_path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.txt").write_text("mine")
    with pytest.raises(ModelError, match="not a topicprofile model"):
        tiny_profiler.save(str(tmp_path / "docs"))
    assert (tmp_path / "docs" / "notes.txt").read_text() == "mine"
