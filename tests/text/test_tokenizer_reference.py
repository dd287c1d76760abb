"""SpacyTokenizer against a plain reference of its documented rule, on real reviews.

The tokenizer decides each distinct word once and skips the lemmatizer component (see
``topicprofile.text.word_filter.WordFilter``); the reference runs the whole blank pipeline on every text
and applies the rule token by token, so both must give the very same tokens.
"""

from __future__ import annotations

import random
import re

import pandas as pd
import pytest
import spacy

from topicprofile.text import word_filter
from topicprofile.text.tokenizer import (
    DEFAULT_DOMAIN_STOP_WORDS,
    LEMMA_OVERRIDES,
    RjiebaTokenizer,
    SpacyTokenizer,
)

_N_TEXTS = 300
#: A letter: a word character that is neither a digit nor an underscore.
_LETTER = re.compile(r"[^\W\d_]")
_EDGE_CASES = [
    None, float("nan"), "", " \n\t ", "caf\udce9 trail shoes", "\ud800 lone \udfff",
    "see https://shop.example.com/x?q=1 or www.shop.org, mail help@shop.example.com",
    "3 pairs for $40.50, 1st place, 10k, 1,000,000 twenty-two ½ ٣", "😀👍!! great 🏕️ tent",
    "这个iPhone手机壳很好看 love it", "Nice 酒店 but noisy street", "酒店  房间\r\n很干净\u3000ok",
    "Don't can't won't y'all", "İstanbul ΣΊΣΥΦΟΣ straße", "#hashtag @mention 50% 3:00pm",
]  # fmt: skip


def _reference_pipeline(lang: str):
    if lang == "zh":  # tests/text/test_rjieba.py compares rjieba's words with jieba's
        nlp = spacy.blank("zh")
        nlp.tokenizer = RjiebaTokenizer(nlp.vocab)
        return nlp
    nlp = spacy.blank(lang)
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    return nlp


def _stop_words(*langs: str) -> set[str]:
    """spaCy's stop words and the shop list of each language (``lang="auto"`` uses both)."""
    stops: set[str] = set()
    for lang in langs:
        stops |= {w.lower() for w in spacy.blank(lang).Defaults.stop_words} | DEFAULT_DOMAIN_STOP_WORDS[lang]
    return stops


def _reference_tokens(nlp, texts: list, stops: set[str]) -> list[list[str]]:
    """The rule as documented: lowercase the text; run the whole pipeline; drop punctuation, spaces,
    numbers, URLs, e-mails and spaCy's stop words; keep the lowercased lemma (the override list's, else
    the pipeline's, else the word itself) if it has 2+ characters and a letter, and neither it nor the
    word is a stop word."""
    out = []
    for text in texts:
        text = text.encode("utf-8", "replace").decode("utf-8") if isinstance(text, str) else ""
        kept = []
        for token in nlp(text.lower()):
            flagged = (token.is_punct, token.is_space, token.like_num, token.like_url, token.like_email,
                       token.is_stop)  # fmt: skip
            word = LEMMA_OVERRIDES.get(nlp.lang, {}).get(token.lower_) or (token.lemma_ or token.text).lower()
            if any(flagged) or len(word) < 2 or word in stops or token.lower_ in stops:
                continue
            if _LETTER.search(word):
                kept.append(word)
        out.append(kept)
    return out


@pytest.fixture(scope="module")
def real_texts(shared_data) -> dict[str, list]:
    """A fixed sample of English critic snippets and Chinese reviews, plus the edge cases."""
    rng = random.Random(7)
    english = pd.read_csv(shared_data / "rotten_tomatoes.csv.bz2")["text"].tolist()
    with (shared_data / "zh_reviews.txt").open(encoding="utf-8") as lines:
        chinese = [line.rstrip("\n") for line in lines]
    return {
        "en": rng.sample(english, _N_TEXTS) + _EDGE_CASES,
        "zh": rng.sample(chinese, _N_TEXTS) + _EDGE_CASES,
    }


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_tokenizer_equals_reference_on_real_reviews(real_texts, lang: str) -> None:
    texts = real_texts[lang]
    expected = _reference_tokens(_reference_pipeline(lang), texts, _stop_words(lang))
    assert sum(map(len, expected)) > 1000  # the sample is real text, not empty
    assert SpacyTokenizer(lang).tokenize(texts) == expected


def test_tokenizer_auto_equals_reference_per_language(real_texts) -> None:
    from topicprofile.text.lang import detect_script

    texts = real_texts["en"] + real_texts["zh"]
    random.Random(1).shuffle(texts)
    pipelines = {lang: _reference_pipeline(lang) for lang in ("en", "zh")}
    stops = _stop_words("en", "zh")
    expected = [_reference_tokens(pipelines[detect_script(t)], [t], stops)[0] for t in texts]
    assert SpacyTokenizer("auto", batch_size=64).tokenize(texts) == expected


def test_tokenizer_word_memo_is_bounded(real_texts, monkeypatch) -> None:
    texts = real_texts["en"]
    expected = SpacyTokenizer("en").tokenize(texts)
    monkeypatch.setattr(word_filter, "_MEMO_MAX_WORDS", 50)
    bounded = SpacyTokenizer("en")
    assert bounded.tokenize(texts) == expected
    assert len(bounded._filters["en"]._memo) <= 50


def test_tokenizer_settings_changed_after_use_apply(real_texts) -> None:
    texts = real_texts["en"][:100]
    tokenizer = SpacyTokenizer("en")
    tokenizer.tokenize(texts)
    tokenizer.min_token_len = 5
    assert tokenizer.tokenize(texts) == SpacyTokenizer("en", min_token_len=5).tokenize(texts)
