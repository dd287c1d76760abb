"""Chinese segmentation with rjieba (jieba-rs): the same tokens as jieba gave, and the documented
differences of the raw segmenters (docs/tokenizer_zh.md)."""

from __future__ import annotations

import random

import pytest
import rjieba

from topicprofile.text.tokenizer import RjiebaTokenizer, SpacyTokenizer

_ZH = SpacyTokenizer("zh")

#: Texts and the tokens jieba 0.42 (spaCy's ``segmenter="jieba"``) gave through our filter.
_AGREE = [
    ("酒店房间很干净，早餐丰富，前台服务热情", ["酒店", "房间", "干净", "早餐", "前台", "服务", "热情"]),
    ("笔记本屏幕清晰，键盘手感好，散热不错", ["笔记本", "屏幕", "清晰", "键盘", "手感", "散热"]),
    ("这本书的作者观点鲜明，内容值得一读", ["本书", "作者", "观点鲜明", "内容", "一读"]),
    ("这个iPhone手机壳很好看 love it", ["iphone", "手机", "好看", "love", "it"]),
    ("不过我对“大叔”这个称呼很雷...T_T", ["大叔", "称呼", "很雷"]),
    # Latin words joined by - . _: jieba splits them; rjieba's pieces are split the same way
    ("Check-in很快，wi-fi免费，non-smokers楼层", ["check", "in", "wi", "fi", "免费", "non", "smokers", "楼层"]),
    ("详见www.smallstonesoft.com，邮箱toryhellen@sina.com.",
     ["详见", "www", "smallstonesoft", "com", "邮箱", "toryhellen", "sina", "com"]),
    ("内存ddr3-1066，802.11n无线，hkd5-6.2", ["内存", "ddr3", "无线", "hkd5"]),
]  # fmt: skip

#: Where the raw segmenters differ (lowercased text -> rjieba's words; jieba's in the comment).
_RAW_DIFFERENCES = [
    ("check-in很快", ["check-in", "很快"]),  # jieba: check - in 很快
    ("www.smallstonesoft.com", ["www.smallstonesoft.com"]),  # jieba: www . smallstonesoft . com
    ("ddr3-1066，802.11n", ["ddr3-1066", "，", "802.11n"]),  # jieba: ddr3 - 1066 ， 802.11 n
    ("很雷...t_t", ["很雷", "...", "t_t"]),  # jieba: 很雷 ... t _ t
]


@pytest.mark.parametrize(("text", "expected"), _AGREE)
def test_rjieba_tokens_equal_jiebas(text: str, expected: list[str]) -> None:
    assert _ZH.tokenize([text])[0] == expected


@pytest.mark.parametrize(("text", "expected"), _RAW_DIFFERENCES)
def test_rjieba_documented_raw_differences(text: str, expected: list[str]) -> None:
    assert rjieba.cut(text, True) == expected  # the raw segmenter keeps joined Latin runs whole
    words = RjiebaTokenizer(None).cut(text)
    assert "".join(words) == text and all(w in text for w in words)
    assert words != expected  # ours splits them as jieba did


def test_rjieba_equals_jieba_on_real_reviews(shared_data) -> None:
    """On a sample of real reviews our tokens are jieba's (measured: all 16,548 of zh_reviews.txt,
    scripts/rjieba_agreement.py)."""
    jieba = pytest.importorskip("jieba", reason="jieba (the reference) is in the 'test' extra")
    import logging

    import spacy

    jieba.setLogLevel(logging.WARNING)
    lines = (shared_data / "zh_reviews.txt").read_text(encoding="utf-8").splitlines()
    texts = random.Random(5).sample(lines, 1500)
    reference = SpacyTokenizer("zh")
    reference._nlp = {"zh": spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})}
    expected = reference.tokenize(texts)
    assert sum(map(len, expected)) > 20_000
    assert _ZH.tokenize(texts) == expected


def test_rjieba_user_words_stay_whole_and_are_saved() -> None:
    text = "这个手机壳很好看"
    assert _ZH.tokenize([text])[0] == ["手机", "好看"]
    with_words = SpacyTokenizer("zh", user_words=["手机壳"])
    assert with_words.tokenize([text])[0] == ["手机壳", "好看"]
    assert SpacyTokenizer.from_config(with_words.get_config()).tokenize([text])[0] == ["手机壳", "好看"]
    assert _ZH.tokenize([text])[0] == ["手机", "好看"]  # the shared dictionary is untouched


def test_rjieba_taxonomy_seed_words_stay_whole_at_fit_and_tag() -> None:
    import pandas as pd

    from topicprofile import TopicProfiler

    texts = ["这个手机壳很好看，手机壳质量好", "酒店房间干净，早餐丰富", "手机壳颜色漂亮", "酒店前台服务热情"] * 10
    reviews = pd.DataFrame({"customer_id": [f"c{i}" for i in range(len(texts))], "text": texts})
    taxonomy = {"手机配件": ["手机壳", "phone case"], "酒店": ["酒店", "房间"]}
    tp = TopicProfiler(n_topics=2, lang="zh", random_state=0, phrases=False, taxonomy=taxonomy).fit(reviews=reviews)
    assert tp.tokenizer_.user_words == tuple(sorted(["手机壳", "房间", "酒店"]))
    assert "手机壳" in tp.dictionary_.token2id
    assert tp.encoder_.tokens(["手机壳很好看"]) == [["手机壳", "好看"]]
    assert TopicProfiler(lang="en", taxonomy=taxonomy)._make_tokenizer().user_words is None
