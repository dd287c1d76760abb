"""English lemma overrides: words spaCy's lookup table maps onto a different word keep their own."""

from __future__ import annotations

import pytest

from topicprofile.text.tokenizer import LEMMA_OVERRIDES, SpacyTokenizer

_EN = SpacyTokenizer("en")


@pytest.mark.parametrize(
    ("word", "lemma"),
    [
        ("number", "number"),  # the table: numb
        ("numbers", "number"),
        ("matter", "matter"),  # matt
        ("crew", "crew"),  # crow
        ("stove", "stove"),  # stave
        ("feed", "feed"),  # fee
        ("opera", "opera"),  # opus
        ("evening", "evening"),  # even
        ("wedding", "wedding"),  # wed
        ("dryer", "dryer"),  # dry
        ("ceiling", "ceiling"),  # ceil
        ("developed", "develop"),  # develope
        ("dying", "die"),  # dye
    ],
)
def test_lemma_overrides_fix_damaging_lookups(word: str, lemma: str) -> None:
    assert _EN.tokenize([word])[0] == [lemma]


@pytest.mark.parametrize(
    ("word", "lemma"),
    [("boots", "boot"), ("hiking", "hike"), ("shoes", "shoe"), ("beans", "bean"), ("rocks", "rock"),
     ("men", "man"), ("teeth", "tooth"), ("longer", "long"), ("brewed", "brew"), ("grinders", "grinder")],
)  # fmt: skip
def test_lemma_overrides_leave_legitimate_lemmas(word: str, lemma: str) -> None:
    assert _EN.tokenize([word])[0] == [lemma]


def test_lemma_overrides_apply_in_context_and_case() -> None:
    text = "A NUMBER of numbers: the Crew fixed the stove, hiking boots"
    assert _EN.tokenize([text])[0] == ["number", "number", "crew", "fix", "stove", "hike", "boot"]


def test_lemma_overrides_list_is_well_formed() -> None:
    overrides = LEMMA_OVERRIDES["en"]
    assert len(overrides) >= 30 and overrides["number"] == "number"
    assert all(w.isalpha() and w.islower() and lemma.isalpha() for w, lemma in overrides.items())


def test_lemma_overrides_not_applied_to_chinese_or_unlemmatized() -> None:
    assert SpacyTokenizer("zh").tokenize(["number 酒店"])[0] == ["number", "酒店"]
