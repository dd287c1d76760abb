"""spaCy's English tokenizer from its saved rules (:mod:`topicprofile.text.rules`), against spaCy.

``tag-text`` tokenizes with the saved rules so that it need not import spaCy; they must give
spaCy's tokens and word attributes exactly. Checked on thousands of real reviews (original case and
lowercased, as the tokenizer sees them), on every distinct word they hold, on edge cases, and end
to end through :class:`~topicprofile.text.tokenizer.SpacyTokenizer`.
"""

from __future__ import annotations

import functools
import importlib.util
import random
import sys
from pathlib import Path

import pandas as pd
import pytest
import spacy
from hypothesis import given, settings
from hypothesis import strategies as st

import topicprofile.text.rules as rules_module
from topicprofile.text.rules import load_rules
from topicprofile.text.tokenizer import SpacyTokenizer

ROOT = Path(__file__).resolve().parents[2]
_N_TEXTS = 4000
_ATTRS = ("is_punct", "is_space", "like_num", "like_url", "like_email", "is_stop", "lower_")
_EDGE_CASES = [
    "", " ", "   ", "a  b\n\nc\t d ", " leading and trailing ", "Don't can't won't y'all ain't",
    "see https://shop.example.com/x?q=1 or www.shop.org, mail help@shop.example.com",
    "3 pairs for $40.50, 1st place, 10k, 1,000,000 twenty-two ½ ٣ -5 +3 ~7 1/2",
    "😀👍!! great 🏕️ tent :) :-( <3 ^_^", "e.g. i.e. Mr. Dr. U.S.A. etc. a.m. p.m.", "\\n \\t literal",
    "İstanbul ΣΊΣΥΦΟΣ straße", "#hashtag @mention 50% 3:00pm", "(hello) [world] {x} \"quoted\" 'single'",
    "well...really?!", "dyn-o-mite-dave co-op e-mail", "'s 're n't 'll", "C++ C# .NET node.js", "a.", "—dash–",
]  # fmt: skip


@pytest.fixture(scope="module")
def texts(shared_data) -> list[str]:
    """Real English reviews and critics' snippets, a fixed sample, plus the edge cases."""
    rng = random.Random(11)
    amazon = pd.read_csv(shared_data / "en_amazon_reviews_4cats.csv.bz2")
    critics = pd.read_csv(shared_data / "rotten_tomatoes.csv.bz2")
    pool = amazon["text"].dropna().tolist() + amazon["title"].dropna().astype(str).tolist()
    sample = rng.sample(pool, _N_TEXTS // 2) + rng.sample(critics["text"].dropna().tolist(), _N_TEXTS // 2)
    return sample + _EDGE_CASES


@pytest.fixture(scope="module")
def rules():
    loaded = load_rules("en")
    assert loaded is not None, "topicprofile/data/spacy_rules_en.json is missing or from another spaCy"
    return loaded


def test_tokenizer_rules_give_spacys_tokens_on_real_reviews(texts, rules) -> None:
    nlp = spacy.blank("en")
    variants = [v for text in texts for v in (text, text.lower())]
    mismatched = [v for v in variants if rules.tokenizer.cut(v) != [t.text for t in nlp.make_doc(v)]]
    assert not mismatched, f"{len(mismatched)} of {len(variants)} texts differ, e.g. {mismatched[:3]}"


def test_tokenizer_rules_give_spacys_word_attributes(texts, rules) -> None:
    nlp = spacy.blank("en")
    words = {t.text for text in texts for v in (text, text.lower()) for t in nlp.make_doc(v)}
    assert len(words) > 20_000
    differ = [w for w in words if any(getattr(rules.vocab[w], a) != getattr(nlp.vocab[w], a) for a in _ATTRS)]
    assert not differ, differ[:10]


def test_tokenizer_rules_tokens_equal_the_spacy_path(texts) -> None:
    with_rules = SpacyTokenizer("en").use_saved_rules()
    assert with_rules._rules is not None
    assert with_rules.tokenize(texts) == SpacyTokenizer("en").tokenize(texts)
    custom = SpacyTokenizer("en", stop_words=["shoe"], min_token_len=3)
    assert SpacyTokenizer.from_config(custom.get_config()).use_saved_rules().tokenize(
        texts
    ) == custom.tokenize(texts)


def test_tokenizer_rules_are_not_used_for_another_spacy_version(monkeypatch) -> None:
    load_rules.cache_clear()
    monkeypatch.setattr(rules_module.metadata, "version", lambda name: "0.0.1")
    try:
        assert load_rules("en") is None
        tokenizer = SpacyTokenizer("en").use_saved_rules()
        assert tokenizer._rules is None  # spaCy itself tokenizes
        assert tokenizer.tokenize(["great hiking boots"]) == [["hike", "boot"]]
    finally:
        load_rules.cache_clear()
    assert SpacyTokenizer("zh").use_saved_rules()._rules is None  # English only
    assert SpacyTokenizer("en", spacy_model="en_core_web_sm").use_saved_rules()._rules is None


def test_tokenizer_rules_file_is_the_installed_spacys() -> None:
    """The saved file equals a fresh export (re-run scripts/export_spacy_rules.py after upgrading spaCy)."""
    spec = importlib.util.spec_from_file_location(
        "export_spacy_rules", ROOT / "scripts" / "export_spacy_rules.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    import json

    assert json.loads(module.OUT.read_text(encoding="utf-8")) == module.rules_data()


def test_tokenizer_rules_import_no_spacy() -> None:
    import subprocess

    probe = (
        "import sys\nfrom topicprofile.text.tokenizer import SpacyTokenizer\n"
        "t = SpacyTokenizer('en').use_saved_rules()\n"
        "assert t.tokenize(['Great hiking boots!']) == [['hike', 'boot']], t.tokenize(['Great hiking boots!'])\n"
        "print('spacy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}).stdout  # fmt: skip
    assert out.strip() == "False"


def test_tokenizer_rules_matcher_patterns_follow_from_the_rules(rules) -> None:
    """The saved special-case matcher patterns (spaCy's own) are what the rules give each special
    case without special cases, as spaCy's add_special_case builds them."""
    tokenizer = rules.tokenizer
    derived = {
        key: [word for word, _ in tokenizer._tokenize_affixes(key, with_specials=False)]
        for key in tokenizer.specials
        if tokenizer._find_prefix(key)
        or list(tokenizer._infix(key))
        or tokenizer._find_suffix(key)
        or " " in key
    }
    saved = {tuple(p) for patterns in tokenizer._patterns.values() for p in patterns}
    assert len(derived) > 300 and {tuple(p) for p in derived.values()} == saved


_PIECES = [*"abcXYZ019 .,;:!?'\"-_()[]{}<>/\\@#$%^&*+=~`|\n\t"] + [
    "n't", "'s", "don't", ":)", "e.g.", "www.", "http://", ".com", "😀", "é", "ß", "İ", "½", "—", "’", "…",
    "  ", "\u00a0", "\u3000", "U.S.", "Mr.", "a.m.", "twenty", "3rd", "1/2", "-5", "a@b.co",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.lists(st.sampled_from(_PIECES), max_size=25).map("".join), st.text(max_size=40)))
def test_tokenizer_rules_equal_spacy_on_any_text(text) -> None:
    """Random texts built from the characters and pieces the rules are about, and any text at all."""
    rules, nlp = load_rules("en"), _blank_en()
    doc = nlp.make_doc(text)
    assert rules.tokenizer.cut(text) == [t.text for t in doc]
    for token in doc:
        assert all(getattr(rules.vocab[token.text], a) == getattr(token, a) for a in _ATTRS), token.text


@functools.cache
def _blank_en():
    return spacy.blank("en")
