"""--lang: unknown codes are a bad argument; texts that do not look like the language get one warning
(issue #10, item 9)."""

from __future__ import annotations

import logging

import pandas as pd
import pytest
from typer.testing import CliRunner

from topicprofile import TopicProfiler
from topicprofile.cli import app
from topicprofile.errors import ConfigError
from topicprofile.text.lang import check_lang, language_mismatch, supported_langs

runner = CliRunner()
ENGLISH = [
    "The tent was easy to set up and it kept us dry all night.",
    "I love these boots, they are so comfortable on long hikes.",
    "This is the best coffee grinder I have ever owned, and it is quiet too.",
] * 10
CHINESE = ["这款帐篷很容易搭建，下雨天也不漏水。", "鞋子穿着很舒服，走很远也不累。", "咖啡机很好用，声音也很小。"] * 10
GERMAN = [
    "Das Zelt war einfach aufzubauen und hat uns die ganze Nacht trocken gehalten.",
    "Ich liebe diese Schuhe, sie sind auf langen Wanderungen sehr bequem.",
    "Das ist die beste Kaffeemühle, die ich je hatte, und sie ist auch noch leise.",
] * 10


@pytest.mark.parametrize("lang", ["en", "zh", "auto", "de", "fr", "ja"])
def test_lang_known_codes_pass(lang: str) -> None:
    check_lang(lang)
    assert lang in supported_langs()


@pytest.mark.parametrize("lang", ["xx", "klingon", "EN", "", "e n"])
def test_lang_unknown_codes_are_refused_listing_the_valid_ones(lang: str) -> None:
    with pytest.raises(ConfigError, match=r"unknown language .*use one of: auto, en, zh, af, .*\bde\b"):
        check_lang(lang)


@pytest.mark.parametrize(("texts", "lang", "expected"), [
    (ENGLISH, "de", "texts look English but --lang de was given"),
    (ENGLISH, "es", "texts look English but --lang es was given"),
    (ENGLISH, "zh", "texts do not look Chinese but --lang zh was given"),
    (CHINESE, "en", "texts look Chinese but --lang en was given"),
    (CHINESE, "de", "texts look Chinese but --lang de was given"),
    (ENGLISH, "en", None),
    (CHINESE, "zh", None),
    (GERMAN, "de", None),
    (ENGLISH + CHINESE, "auto", None),
])  # fmt: skip
def test_lang_mismatch_is_detected_on_a_sample(texts, lang, expected) -> None:
    message = language_mismatch(texts, lang)
    if expected is None:
        assert message is None
    else:
        assert message is not None and message.startswith(expected) and "\n" not in message


def test_profiler_refuses_an_unknown_lang_before_fitting(tiny_reviews) -> None:
    with pytest.raises(ConfigError, match="unknown language 'xx'"):
        TopicProfiler(n_topics=3, lang="xx").fit(reviews=tiny_reviews)


def test_profiler_warns_once_when_english_text_is_fitted_as_german(tiny_reviews, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="topicprofile"):
        TopicProfiler(n_topics=3, lang="de", phrases=False).fit(reviews=tiny_reviews)
    lines = [r.getMessage() for r in caplog.records if "--lang" in r.getMessage()]
    assert len(lines) == 1 and lines[0].startswith("texts look English but --lang de was given")


@pytest.mark.parametrize("command", ["fit", "evaluate", "tune"])
def test_cli_unknown_lang_exits_2_with_the_valid_codes(command: str, tmp_path) -> None:
    reviews = tmp_path / "r.csv"
    pd.DataFrame({"customer_id": ["a"], "text": ["nice tent"]}).to_csv(reviews, index=False)
    args = {"fit": ["--model-dir", str(tmp_path / "m")], "evaluate": ["--orders", str(reviews), "--cutoff", "2025-01-01"],
            "tune": []}[command]  # fmt: skip
    result = runner.invoke(app, [command, "--reviews", str(reviews), "--lang", "xx", *args])
    assert result.exit_code == 2
    output = " ".join(result.output.replace("│", " ").split())  # rich wraps the box by terminal width
    assert "unknown language 'xx'" in output and "auto, en, zh" in output


def test_cli_fit_prints_the_mismatch_as_one_warning_line(tmp_path, tiny_reviews) -> None:
    reviews = tmp_path / "r.csv"
    tiny_reviews.to_csv(reviews, index=False)
    result = runner.invoke(app, ["fit", "--reviews", str(reviews), "--model-dir", str(tmp_path / "m"), "--topics", "3",
                                 "--lang", "de", "--no-cache"])  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "--lang de" in line]
    assert len(lines) == 1 and lines[0].startswith("warning: texts look English but --lang de was given")
