"""Degenerate fits are refused: no training passes, or a vocabulary too small for k topics
(issue #10, item 7)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from topicprofile import TopicProfiler
from topicprofile.cli import app
from topicprofile.errors import ConfigError, DataValidationError

runner = CliRunner()


@pytest.mark.parametrize("params", [{"passes": 0}, {"iterations": 0}, {"passes": -1}, {"passes": 2.5}])
def test_profiler_refuses_zero_training(tiny_reviews, params) -> None:
    name = next(iter(params))
    with pytest.raises(ConfigError, match=f"{name} must be an integer >= 1"):
        TopicProfiler(n_topics=3, **params).fit(reviews=tiny_reviews)


def test_profiler_refuses_a_vocabulary_too_small_for_k_topics(tiny_reviews) -> None:
    with pytest.raises(DataValidationError) as e:
        TopicProfiler(n_topics=12, no_below=100_000, phrases=False).fit(reviews=tiny_reviews)
    message = str(e.value)
    assert "after --no-below 100000; need at least 60 for 12 topics" in message
    assert "Lower --no-below" in message


def test_profiler_fits_when_the_vocabulary_is_large_enough(tiny_reviews) -> None:
    tp = TopicProfiler(n_topics=3, phrases=False).fit(reviews=tiny_reviews)
    assert len(tp.dictionary_) >= 15


@pytest.mark.parametrize("option", ["--passes", "--iterations"])
def test_cli_zero_passes_or_iterations_exit_2(tmp_path, option: str) -> None:
    reviews = tmp_path / "r.csv"
    reviews.write_text("customer_id,text\na,nice tent\n", encoding="utf-8")
    result = runner.invoke(app, ["fit", "--reviews", str(reviews), "--model-dir", str(tmp_path / "m"), option, "0"])
    assert result.exit_code == 2
    assert option in result.output
    assert not (tmp_path / "m").exists()


def test_cli_no_below_too_high_exits_1_with_the_numbers_and_saves_nothing(tmp_path, tiny_reviews) -> None:
    reviews = tmp_path / "r.csv"
    tiny_reviews.to_csv(reviews, index=False)
    result = runner.invoke(app, ["fit", "--reviews", str(reviews), "--model-dir", str(tmp_path / "m"),
                                 "--no-below", "100000", "--no-cache"])  # fmt: skip
    assert result.exit_code == 1
    assert "need at least 60 for 12 topics" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "m").exists()
