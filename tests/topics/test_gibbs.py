"""The Gibbs trainer: tomotopy's collapsed Gibbs LDA converted into the gensim model we infer with."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from topicprofile import TopicProfiler
from topicprofile.cli import app
from topicprofile.errors import ConfigError
from topicprofile.topics.seeding import load_taxonomy
from topicprofile.topics import LdaTopics
from topicprofile.topics.gibbs import tomotopy_to_gensim, train_tomotopy
from topicprofile.text.vectorize import bows_to_csr, to_bows
from topicprofile.app.jobs import load_inputs

CORPORA = Path(__file__).resolve().parents[2] / "corpora"
SLUGS = ["kitchen", "outdoor", "beauty", "pets", "audio", "fitness", "coffee", "garden"]


@pytest.fixture(scope="module")
def amazon_sample(shared_data: Path) -> pd.DataFrame:
    """500 real Amazon reviews (4 product categories), one customer each."""
    frame = pd.read_csv(shared_data / "en_amazon_reviews_4cats.csv.bz2", dtype=str)
    sample = frame.sample(500, random_state=0).reset_index(drop=True)
    return pd.DataFrame({"customer_id": [f"c{i:04d}" for i in range(len(sample))], "text": sample["text"]})


@pytest.fixture(scope="module")
def gibbs_profiler(tiny_reviews: pd.DataFrame) -> TopicProfiler:
    return TopicProfiler(n_topics=3, random_state=0, phrases=False, trainer="gibbs").fit(reviews=tiny_reviews)


@pytest.mark.slow
def test_gibbs_conversion_agrees_with_tomotopy_infer(amazon_sample: pd.DataFrame) -> None:
    profiler = TopicProfiler(n_topics=4, random_state=0, trainer="gibbs", pooling="document").fit(amazon_sample)
    texts = amazon_sample["text"].tolist()
    dictionary = profiler.dictionary_
    counts = bows_to_csr(to_bows(dictionary, profiler.encoder_.tokens(texts)), len(dictionary))
    params = profiler.topics_.resolved_params()
    model = train_tomotopy(counts, dictionary, n_topics=4, params=params, random_state=0)
    converted = LdaTopics.from_gensim(tomotopy_to_gensim(model, dictionary, eta=params["eta"], random_state=0))
    assert converted.lda_.state.sstats.sum() == counts.sum()  # every training token is counted once
    rows = np.flatnonzero(np.diff(counts.indptr) > 0)
    words = [[dictionary[int(i)] for i, c in zip(counts[r].indices, counts[r].data) for _ in range(int(c))] for r in rows]
    docs = [model.make_doc(w) for w in words]
    theirs = np.argmax(np.array(model.infer(docs, 500, workers=1)[0]), axis=1)
    shorter = np.argmax(np.array(model.infer(docs, 100, workers=1)[0]), axis=1)
    ours = np.argmax(converted.transform_counts(counts[rows]), axis=1)  # our seeded, batched E-step
    # tomotopy's infer samples, so on close calls its own answer moves with its iterations (100 vs
    # 500 agree on 93.4% of these reviews, measured); where it does not move, ours must match it
    stable = theirs == shorter
    agreement, agreement_stable = np.mean(theirs == ours), np.mean((theirs == ours)[stable])
    assert agreement_stable >= 0.95, f"top topic agreed for {agreement_stable:.1%} of {stable.sum()} reviews"
    assert agreement >= np.mean(stable)  # measured: 94.2% of all 499 reviews


def test_gibbs_same_seed_identical_model(tiny_reviews: pd.DataFrame, gibbs_profiler: TopicProfiler) -> None:
    again = TopicProfiler(n_topics=3, random_state=0, phrases=False, trainer="gibbs").fit(reviews=tiny_reviews)
    other = TopicProfiler(n_topics=3, random_state=1, phrases=False, trainer="gibbs").fit(reviews=tiny_reviews)
    assert np.array_equal(again.topics_.lda_.state.sstats, gibbs_profiler.topics_.lda_.state.sstats)
    assert np.array_equal(again.topics_.alpha_, gibbs_profiler.topics_.alpha_)
    assert not np.array_equal(other.topics_.lda_.state.sstats, gibbs_profiler.topics_.lda_.state.sstats)
    pd.testing.assert_frame_equal(again.profiles_, gibbs_profiler.profiles_)


def test_gibbs_resolves_its_own_defaults(gibbs_profiler: TopicProfiler) -> None:
    assert gibbs_profiler.topics_.iterations_ == 500
    assert gibbs_profiler.topics_.resolved_params()["eta"] == 0.1
    assert np.allclose(gibbs_profiler.topics_.alpha_, 0.1)  # symmetric: alpha optimisation is off by default
    assert gibbs_profiler.get_params()["trainer"] == "gibbs"


def test_gibbs_tags_each_theme(tiny_reviews: pd.DataFrame, gibbs_profiler: TopicProfiler) -> None:
    top = gibbs_profiler.profiles_.set_index("customer_id")["top_interest"]
    theme = top.index.str.split("-").str[0]
    # every theme maps onto one topic, and different themes onto different topics
    assert (top.groupby(theme).nunique() == 1).all() and top.groupby(theme).first().nunique() == 3


@pytest.mark.parametrize("trainer", ["vb", "gibbs"])
def test_gibbs_taxonomy_seeding_with_both_trainers(trainer: str) -> None:
    loaded = load_inputs(reviews=CORPORA / "reviews.csv", browsing=CORPORA / "browsing.jsonl")
    truth = pd.read_csv(CORPORA / "truth.csv", dtype=str)
    taxonomy = load_taxonomy(CORPORA / "taxonomy.toml")
    seeded = TopicProfiler(n_topics=8, random_state=0, taxonomy=taxonomy, trainer=trainer)
    seeded.fit(loaded["reviews"], loaded["browsing"])
    assert seeded.topic_labels_ == list(taxonomy)
    assert seeded.taxonomy_warnings_ == []  # every seeded topic converged on its seeds
    merged = seeded.profiles_.merge(truth, on="customer_id")
    merged = merged[merged["thin"].str.lower() != "true"]
    names = dict(zip(taxonomy, SLUGS, strict=True))
    assert (merged["top_interest"].map(names) == merged["interest"]).mean() >= 0.9


def test_gibbs_save_load_identical_tags(gibbs_profiler: TopicProfiler, tiny_reviews: pd.DataFrame, tmp_path) -> None:
    gibbs_profiler.save(str(tmp_path / "model"))
    loaded = TopicProfiler.load(str(tmp_path / "model"))
    texts = tiny_reviews["text"].tolist()
    assert loaded.tag_text(texts) == gibbs_profiler.tag_text(texts)
    pd.testing.assert_frame_equal(loaded.profile(reviews=tiny_reviews), gibbs_profiler.profiles_)
    assert loaded.get_params()["trainer"] == "gibbs"
    assert json.loads((tmp_path / "model" / "manifest.json").read_text())["params"]["trainer"] == "gibbs"


@pytest.mark.parametrize(
    ("params", "message"),
    [({"trainer": "bogus"}, "trainer must be 'vb', 'gibbs' or 'review'"), ({"trainer": "gibbs", "alpha": "auto"}, "alpha")],
)
def test_gibbs_bad_settings_are_config_errors(tiny_reviews: pd.DataFrame, params: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TopicProfiler(n_topics=3, **params).fit(reviews=tiny_reviews)


def test_gibbs_cli_bad_trainer_exits_2(tmp_path) -> None:
    result = CliRunner().invoke(app, ["fit", "-r", str(CORPORA / "reviews.csv"), "-m", str(tmp_path), "--trainer", "bogus"])
    assert result.exit_code == 2 and "--trainer" in result.output


def test_gibbs_is_the_cli_default_without_dask(tmp_path) -> None:
    """``--trainer`` defaults to vb only with ``--dask`` (tests/distributed/test_distributed.py); without, gibbs."""
    result = CliRunner().invoke(app, ["fit", "-r", str(CORPORA / "reviews.csv"), "-m", str(tmp_path / "m"),
                                      "--topics", "3", "--no-cache", "--quiet"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "m" / "manifest.json").read_text())["params"]["trainer"] == "gibbs"
