"""Run options (workers, chunk size, token cache, cluster) are passed to calls, never saved with a model;
the former estimator keywords still work, with a DeprecationWarning, and old manifests still load."""

from __future__ import annotations

import dataclasses
import json
import warnings

import pandas as pd
import pytest

from topicprofile import ConfigError, RunOptions, TopicProfiler
from topicprofile.config import TagConfig, TopicsConfig
from topicprofile.store import model_files

RUN_KEYWORDS = ("workers", "chunk_rows", "cache_dir")


def test_run_options_are_not_estimator_params() -> None:
    params = TopicProfiler().get_params()
    assert not set(RUN_KEYWORDS) & set(params)
    assert {f.name for f in dataclasses.fields(RunOptions)} == {*RUN_KEYWORDS, "dask"}


@pytest.mark.parametrize("config", [TopicsConfig, TagConfig])
def test_run_options_stage_config_defaults_are_the_estimators(config) -> None:
    defaults = TopicProfiler().get_params()
    for field in dataclasses.fields(config):
        assert getattr(config(), field.name) == defaults[field.name], field.name


@pytest.mark.parametrize(
    ("options", "match"),
    [({"workers": 0}, "workers"), ({"chunk_rows": 0}, "chunk_rows"), ({"chunk_rows": 2.5}, "chunk_rows")],
)
def test_run_options_bad_values(options, match) -> None:
    with pytest.raises(ConfigError, match=match):
        RunOptions(**options)


def test_run_options_old_keywords_warn_and_still_apply(tiny_reviews, tmp_path) -> None:
    with pytest.warns(DeprecationWarning, match="run options"):
        old = TopicProfiler(n_topics=3, phrases=False, chunk_rows=40, cache_dir=str(tmp_path / "c"))
    assert old.run_options() == RunOptions(chunk_rows=40, cache_dir=str(tmp_path / "c"))
    with pytest.warns(DeprecationWarning):
        old.set_params(workers=1)
    assert old.run_options().workers == 1
    assert old.run_options(RunOptions(chunk_rows=7)) == RunOptions(chunk_rows=7)  # a call's own options win
    with pytest.raises(TypeError, match="n_topicz"):
        TopicProfiler(n_topicz=3)
    old.fit(reviews=tiny_reviews)
    assert any((tmp_path / "c").iterdir())  # the deprecated cache_dir was used


def test_run_options_change_no_result_and_are_not_saved(tiny_profiler, tiny_reviews, tmp_path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # the new way warns about nothing
        other = TopicProfiler(n_topics=3, random_state=0, phrases=False)
        other.fit(
            reviews=tiny_reviews, run=RunOptions(chunk_rows=7, workers=1, cache_dir=str(tmp_path / "c"))
        )
        blocks = list(other.iter_profiles(_store(tiny_reviews), block_rows=4,
                                          run=RunOptions(chunk_rows=11)))  # fmt: skip
    pd.testing.assert_frame_equal(other.profiles_, tiny_profiler.profiles_)
    pd.testing.assert_frame_equal(pd.concat(blocks, ignore_index=True), tiny_profiler.profiles_)
    other.save(str(tmp_path / "m"))
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert not set(RUN_KEYWORDS) & set(manifest["params"])
    assert str(tmp_path / "c") not in (tmp_path / "m" / "manifest.json").read_text()


def test_run_options_model_saved_with_them_as_params_still_loads(
    tiny_profiler, tiny_reviews, tmp_path
) -> None:
    """A model saved before run options left the parameters (its manifest lists them) loads, unchanged, silently."""
    tiny_profiler.save(str(tmp_path / "m"))
    for manifest_path in (tmp_path / "m" / "manifest.json", model_files(tmp_path / "m") / "manifest.json"):
        manifest = json.loads(manifest_path.read_text())
        manifest["params"].update(
            chunk_rows=50_000, workers=None, cache_dir="/home/someone/.cache/topicprofile"
        )
        manifest_path.write_text(json.dumps(manifest))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        loaded = TopicProfiler.load(str(tmp_path / "m"))
    assert loaded.get_params() == tiny_profiler.get_params()
    assert loaded.run_options() == RunOptions()
    pd.testing.assert_frame_equal(loaded.profile(reviews=tiny_reviews), tiny_profiler.profiles_)


def _store(reviews: pd.DataFrame):
    from topicprofile.ingest.docstore import DocumentStore
    from topicprofile.ingest.documents import build_documents

    return DocumentStore.from_frame(build_documents(reviews, None), chunk_rows=13)
