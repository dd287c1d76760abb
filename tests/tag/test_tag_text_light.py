"""``tag-text``'s light path: the same tags as ``TopicProfiler.tag_text``, without pandas, gensim,
scikit-learn or scipy.stats in the process (issue #10, item 10: start-up time).

The command reads only what tagging needs (:func:`topicprofile.model_reader.load_text_tagger`);
both it and the estimator tag through :class:`topicprofile.tag.texts.TextTagger`. The pieces that
replace gensim on this path (phrases, bags of words) and spaCy's table loading are checked
against the libraries on real reviews.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from gensim.corpora import Dictionary
from gensim.models.phrases import ENGLISH_CONNECTOR_WORDS, Phrases
from typer.testing import CliRunner

from topicprofile import TopicProfiler
from topicprofile.cli import app
from topicprofile.model_reader import load_text_tagger
from topicprofile.text.phrases import PhraseDetector, PhraseJoiner
from topicprofile.text.tokenizer import SpacyTokenizer, lookup_table
from topicprofile.text.vectorize import to_bows, vocabulary_bows
from topicprofile.topics.infer import TopicInference, check_exp_elog_beta, topic_word

ROOT = Path(__file__).resolve().parents[2]
#: Libraries ``tag-text`` must not import (each costs 0.3-2.3 s of start-up); spaCy's saved rules
#: (tests/text/test_tokenizer_rules.py) stand in for spaCy on an English model.
HEAVY = ("pandas", "gensim", "sklearn", "scipy.stats", "pyarrow", "tomotopy", "spacy")

EN_TEXTS = [
    "Love these trail shoes, great grip on wet rocks",
    "The sleeping bag kept me warm at the campsite; the tent was easy to pitch.",
    "Espresso machine makes great crema, the coffee grinder is loud",
    "love it, great value",
    "",
    "qwerty zxcv",
    "Running shoes with great cushioning for the marathon, and a trail running vest",
    "Dog food and a chew toy for my puppy, the cat litter box too",
]
ZH_TEXTS = [
    "这本书写得很好，值得一读",
    "房间干净，早餐不错，服务热情",
    "物流很快，包装完好",
    "好",
    "作者的观点很有启发",
]


def _fit_en(folder: Path) -> tuple[TopicProfiler, Path]:
    reviews = pd.read_csv(ROOT / "corpora" / "reviews.csv", dtype=str)
    model = TopicProfiler(n_topics=6, random_state=0).fit(reviews=reviews)
    model.save(str(folder / "en"))
    return model, folder / "en"


@pytest.fixture(scope="module")
def en_model(tmp_path_factory) -> tuple[TopicProfiler, Path]:
    return _fit_en(tmp_path_factory.mktemp("light-en"))


@pytest.fixture(scope="module")
def zh_model(tmp_path_factory, shared_data) -> tuple[TopicProfiler, Path]:
    lines = (shared_data / "zh_reviews.txt").read_text(encoding="utf-8").splitlines()[:1500]
    reviews = pd.DataFrame({"customer_id": [f"c{i % 500}" for i in range(len(lines))], "text": lines})
    model = TopicProfiler(n_topics=4, lang="zh", random_state=0).fit(reviews=reviews)
    folder = tmp_path_factory.mktemp("light-zh") / "zh"
    model.save(str(folder))
    return model, folder


@pytest.fixture(scope="module")
def en_tokens(shared_data) -> list[list[str]]:
    """3,000 real English reviews, tokenized."""
    texts = pd.read_csv(shared_data / "en_amazon_reviews_4cats.csv.bz2", nrows=3000)["text"].tolist()
    return SpacyTokenizer("en").tokenize(texts)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_tag_text_light_equals_the_estimator(lang, en_model, request) -> None:
    fitted, folder = en_model if lang == "en" else request.getfixturevalue("zh_model")
    texts = EN_TEXTS if lang == "en" else ZH_TEXTS
    light = load_text_tagger(folder)
    expected = TopicProfiler.load(str(folder)).tag_text(texts)
    assert light.tag_text(texts) == expected == fitted.tag_text(texts)
    assert [light.tag_text(t)[0] for t in texts] == expected  # one at a time as in a batch
    assert any(r["tags"] for r in expected) and any(not r["tags"] for r in expected)  # both cases covered
    if lang == "en":  # the texts hold learned phrases, joined on the light path as at fit time
        tokens = light.counter.tokens(texts)
        assert any("_" in token for doc in tokens for token in doc), tokens
        assert tokens == fitted.encoder_.tokens(texts)


def test_tag_text_light_cli_json_equals_the_estimator(en_model, tmp_path) -> None:
    fitted, folder = en_model
    texts = EN_TEXTS[:4] + EN_TEXTS[5:]  # the file input skips empty lines
    (tmp_path / "texts.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["tag-text", "-m", str(folder), "--input", str(tmp_path / "texts.txt"), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {"text": t, **r} for t, r in zip(texts, fitted.tag_text(texts), strict=True)
    ]


def test_tag_text_light_process_loads_no_heavy_library(en_model) -> None:
    """The command in a fresh interpreter, as a user runs it: tags printed, no heavy module loaded."""
    _, folder = en_model
    probe = (
        "import json, runpy, sys\n"
        f"sys.argv = ['topicprofile', 'tag-text', '-m', {str(folder)!r}, {EN_TEXTS[1]!r}, '--json']\n"
        "try:\n    runpy.run_module('topicprofile', run_name='__main__')\n"
        "except SystemExit as e:\n    assert not e.code, e.code\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}).stdout  # fmt: skip
    *shown, loaded = out.strip().splitlines()
    assert json.loads(loaded) == []
    assert json.loads("\n".join(shown))[0]["tags"], "the sentence gets its tag"


def test_tag_text_light_refuses_a_corrupt_model_in_one_line(en_model, tmp_path) -> None:
    import shutil

    from topicprofile.store import model_files

    folder = tmp_path / "m"
    shutil.copytree(en_model[1], folder)
    np.save(
        model_files(folder) / "lda" / "exp_elog_beta.npy",
        np.load(model_files(folder) / "lda" / "exp_elog_beta.npy") * 1.01,
    )
    result = CliRunner().invoke(app, ["tag-text", "-m", str(folder), "boots"])
    assert result.exit_code == 1 and "corrupt model" in result.output and "Traceback" not in result.output


def test_tag_text_light_inference_is_the_estimators_bit_for_bit(en_model) -> None:
    fitted, _ = en_model
    topics = fitted.topics_
    lda = topics.lda_
    inference = TopicInference(alpha=topics.alpha_, exp_elog_beta=topics.exp_elog_beta_,
                               random_state=topics.random_state, iterations=topics.infer_iterations,
                               threshold=topics.gamma_threshold)  # fmt: skip
    counts = fitted.encoder_.counts(fitted.encoder_.encode(EN_TEXTS * 3)[0])
    assert np.array_equal(inference.transform_counts(counts), topics.transform_counts(counts))
    eta, sstats = np.asarray(lda.eta), np.asarray(lda.state.sstats)
    assert np.array_equal(topic_word(sstats, eta), lda.get_topics())
    check_exp_elog_beta(topics.exp_elog_beta_, sstats=sstats, eta=eta)
    with pytest.raises(ValueError, match="do not belong together"):
        check_exp_elog_beta(topics.exp_elog_beta_[::-1], sstats=sstats, eta=eta)


@pytest.mark.parametrize("connectors", [frozenset(), ENGLISH_CONNECTOR_WORDS], ids=["none", "english"])
def test_tag_text_light_phrase_joiner_is_gensims_on_real_reviews(connectors, en_tokens) -> None:
    """Written out from gensim's FrozenPhrases: the same tokens on 3,000 real reviews (connector
    words included, which gensim lets sit inside a phrase)."""
    frozen = Phrases(
        en_tokens, min_count=3, threshold=5.0, delimiter="_", connector_words=connectors
    ).freeze()
    joiner = PhraseJoiner(
        frozen.phrasegrams, frozenset(connectors), delimiter="_", threshold=frozen.threshold
    )
    joined = joiner.transform(en_tokens)
    assert joined == [frozen[doc] for doc in en_tokens]
    assert sum("_" in t for doc in joined for t in doc) > 100  # many phrases were joined
    edge = [[], ["", "a"], ["of", "the"], [w for doc in en_tokens[:50] for w in doc] + ["the", "of"]]
    assert joiner.transform(edge) == [frozen[doc] for doc in edge]
    detector = PhraseDetector.from_state(PhraseDetector.from_frozen(frozen).to_state())
    assert detector.transform(en_tokens) == joined
    assert PhraseJoiner.from_state(detector.to_state()).transform(en_tokens) == joined


def test_tag_text_light_bags_of_words_are_gensims_on_real_reviews(en_tokens) -> None:
    dictionary = Dictionary(en_tokens[:2000])
    dictionary.filter_extremes(no_below=3, no_above=0.5)
    expected = [dictionary.doc2bow(doc) for doc in en_tokens]
    assert vocabulary_bows(dictionary.token2id, en_tokens) == expected == to_bows(dictionary, en_tokens)


def test_tag_text_light_lemma_table_is_spacys() -> None:
    """The table read directly is the one spaCy's ``nlp.initialize()`` loads (entry by entry)."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    spacy_table = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_lookup")
    table = lookup_table("en")
    assert table is not None and len(table) == len(spacy_table) > 40_000
    assert all(spacy_table.get(word) == lemma for word, lemma in table.items())
    assert lookup_table("xx") is None  # no table: words stay as they are


def test_tag_text_light_older_manifest_takes_the_defaults(en_model, tmp_path) -> None:
    """A manifest without the tagging parameters (saved before they existed) tags with the
    estimator's defaults on both paths."""
    import shutil

    folder = tmp_path / "m"
    shutil.copytree(en_model[1], folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    for name in ("anchor_threshold", "anchor_below", "tag_threshold", "max_tags", "min_tokens"):
        del manifest["params"][name]
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert load_text_tagger(folder).tag_text(EN_TEXTS) == TopicProfiler.load(str(folder)).tag_text(EN_TEXTS)
