from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from topicprofile.errors import ConfigError
from topicprofile.ingest.values import url_to_words
from topicprofile.text.tokenizer import SpacyTokenizer


_EN = SpacyTokenizer("en")  # the spaCy pipeline is built on first use and then shared


@pytest.fixture(scope="module")
def en() -> SpacyTokenizer:
    return _EN


def test_tokenizer_lemmatizes_and_drops_stop_words_numbers_punct(en: SpacyTokenizer) -> None:
    tokens = en.tokenize(["Love these trail shoes, great grip on wet rocks! 3 pairs for $40."])[0]
    assert tokens == ["trail", "shoe", "grip", "wet", "rock", "pair"]


def test_tokenizer_removes_urls_and_emails(en: SpacyTokenizer) -> None:
    tokens = en.tokenize(["see https://shop.example.com/x or mail help@shop.example.com about tents"])[0]
    assert tokens == ["mail", "tent"]


def test_tokenizer_domain_stop_words_are_configurable() -> None:
    assert "product" not in SpacyTokenizer("en").tokenize(["this product is a tent"])[0]
    custom = SpacyTokenizer("en", stop_words=["tent"]).tokenize(["this product is a tent"])[0]
    assert custom == ["product"]


def test_tokenizer_missing_values_become_empty(en: SpacyTokenizer) -> None:
    assert en.tokenize([None, float("nan"), ""]) == [[], [], []]  # type: ignore[list-item]


def test_tokenizer_chinese_uses_word_segmentation() -> None:
    tokens = SpacyTokenizer("zh").tokenize(["酒店房间很干净，屏幕也很清楚！"])[0]
    assert "酒店" in tokens and "房间" in tokens and "屏幕" in tokens


def test_tokenizer_config_roundtrip() -> None:
    tok = SpacyTokenizer("en", stop_words=["b", "a"], min_token_len=3)
    again = SpacyTokenizer.from_config(tok.get_config())
    assert again.get_config() == tok.get_config()


def test_tokenizer_unknown_trained_pipeline_is_config_error() -> None:
    with pytest.raises(ConfigError, match="not installed"):
        SpacyTokenizer("en", spacy_model="xx_no_such_pipeline").tokenize(["text"])


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://shop.example.com/c/outdoor/hiking-boots-waterproof?ref=nav", "outdoor hiking boots waterproof"),
        ("https://shop.example.com/search?q=trail+running+shoes&utm_source=x", "trail running shoes"),
        ("/p/espresso_grinder.html", "espresso grinder"),
        ("", ""),
    ],
)
def test_tokenizer_url_to_words(url: str, words: str) -> None:
    assert url_to_words(url) == words


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=80), max_size=5))
def test_tokenizer_never_raises_on_any_text(texts: list[str]) -> None:
    out = _EN.tokenize(texts)
    assert len(out) == len(texts)
    assert all(isinstance(t, str) and t for tokens in out for t in tokens)


def test_tokenizer_lone_surrogates_do_not_fail() -> None:
    """Bytes decoded with surrogateescape (a mis-declared encoding) must not crash spaCy."""
    assert SpacyTokenizer("en").tokenize(["caf\udce9 trail shoes"]) == [["caf", "trail", "shoe"]]
