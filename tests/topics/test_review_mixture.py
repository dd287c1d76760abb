"""The review-mixture trainer: one topic per review drawn from its customer's interests (Twitter-LDA)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.metrics import normalized_mutual_info_score
from typer.testing import CliRunner

from topicprofile import TopicProfiler
from topicprofile.app.jobs import load_inputs
from topicprofile.cli import app
from topicprofile.errors import ConfigError
from topicprofile.profiler_params import check_cluster_params
from topicprofile.topics import LdaTopics
from topicprofile.topics.review_mixture import (
    mixture_to_gensim,
    resolve_review_params,
    sample_review_mixture,
)
from topicprofile.topics.seeding import load_taxonomy

CORPORA = Path(__file__).resolve().parents[2] / "corpora"


def _synthetic(seed: int = 0, n_customers: int = 60) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    """Reviews of 4 well-separated topics, 1-6 per customer; returns counts, customers, review topics."""
    rng = np.random.default_rng(seed)
    phi = rng.dirichlet(np.full(200, 0.05), size=4)
    rows, groups, truth = [], [], []
    for customer in range(n_customers):
        main = rng.integers(4)
        for _ in range(rng.integers(1, 7)):
            topic = main if rng.random() < 0.75 else rng.integers(4)
            rows.append(np.bincount(rng.choice(200, rng.integers(5, 30), p=phi[topic]), minlength=200))
            groups.append(customer)
            truth.append(topic)
    return sparse.csr_matrix(np.array(rows)), np.array(groups), np.array(truth)


@pytest.fixture(scope="module")
def amazon_shop(shared_data: Path) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    """A small shop of real Amazon reviews: 100 customers, 1-6 reviews each, 75% from a planted
    category (books, dvd, electronics, kitchen); counts, customers and each review's category."""
    frame = pd.read_csv(shared_data / "en_amazon_reviews_4cats.csv.bz2", dtype=str)
    rng = np.random.default_rng(0)
    cats = sorted(frame["category"].unique())
    pools = {
        c: frame.loc[frame["category"] == c, "text"].sample(frac=1, random_state=0).tolist() for c in cats
    }
    texts, labels, groups = [], [], []
    for customer in range(100):
        main = cats[rng.integers(len(cats))]
        for _ in range(rng.integers(1, 7)):
            cat = main if rng.random() < 0.75 else cats[rng.integers(len(cats))]
            texts.append(pools[cat].pop())
            labels.append(cat)
            groups.append(customer)
    counts = CountVectorizer(stop_words="english", min_df=3, max_df=0.5).fit_transform(texts).tocsr()
    return counts, np.array(groups), np.array(labels)


def test_review_mixture_same_seed_identical_model() -> None:
    counts, groups, _ = _synthetic()
    params = resolve_review_params(iterations=30)
    first = sample_review_mixture(counts, groups, n_topics=4, params=params, random_state=7)
    again = sample_review_mixture(counts, groups, n_topics=4, params=params, random_state=7)
    other = sample_review_mixture(counts, groups, n_topics=4, params=params, random_state=8)
    np.testing.assert_array_equal(first.topics, again.topics)
    np.testing.assert_array_equal(first.topic_word, again.topic_word)
    np.testing.assert_array_equal(first.background_word, again.background_word)
    assert not np.array_equal(first.topics, other.topics)  # the seed is used
    # every token is counted once: as a topic word or as a background word
    assert first.topic_word.sum() + first.background_word.sum() == counts.sum()
    assert first.customer_topic.sum() == len(first.rows)


def test_review_mixture_without_background_counts_every_word_in_its_topic() -> None:
    counts, groups, truth = _synthetic()
    params = resolve_review_params(iterations=50, background=False)
    mixture = sample_review_mixture(counts, groups, n_topics=4, params=params, random_state=0)
    assert mixture.background_word.sum() == 0
    for topic in range(4):
        expected = np.asarray(counts[mixture.rows[mixture.topics == topic]].sum(axis=0)).ravel()
        np.testing.assert_array_equal(mixture.topic_word[topic], expected)
    assert normalized_mutual_info_score(truth[mixture.rows], mixture.topics) > 0.9  # well-separated topics


@pytest.mark.slow
def test_review_mixture_recovers_planted_review_topics(amazon_shop) -> None:
    counts, groups, labels = amazon_shop
    mixture = sample_review_mixture(
        counts, groups, n_topics=4, params=resolve_review_params(), random_state=0
    )
    score = normalized_mutual_info_score(labels[mixture.rows], mixture.topics)
    chance = np.mean([normalized_mutual_info_score(np.random.default_rng(s).permutation(labels), labels)
                      for s in range(10)])  # fmt: skip
    # measured here: 0.42 (chance about 0.01); on a 150-customer slice 0.51 over seeds 0-4 with 20
    # blocks and 0.50 with the exact sampler (one review per block), chance 0.006
    assert score >= chance + 0.3, f"review-topic NMI {score:.3f}, chance {chance:.3f}"


@pytest.mark.slow
def test_review_mixture_conversion_round_trip(amazon_shop) -> None:
    counts, groups, _ = amazon_shop
    params = resolve_review_params()
    mixture = sample_review_mixture(counts, groups, n_topics=4, params=params, random_state=0)
    words = [str(i) for i in range(counts.shape[1])]
    from gensim.corpora import Dictionary

    dictionary = Dictionary([words])
    dictionary.token2id = {w: i for i, w in enumerate(words)}
    dictionary.id2token = {}
    converted = LdaTopics.from_gensim(mixture_to_gensim(mixture, dictionary, params=params, random_state=0))
    np.testing.assert_allclose(converted.lda_.state.sstats, mixture.topic_word)
    ours = converted.transform_counts(counts[mixture.rows]).argmax(axis=1)
    agreement = np.mean(ours == mixture.topics)  # measured: 93.0% of the 371 reviews
    assert agreement >= 0.9, f"the converted model's top topic agrees with the sampler's for {agreement:.1%}"


def test_review_trainer_fits_tags_and_saves(tiny_reviews: pd.DataFrame, tmp_path) -> None:
    profiler = TopicProfiler(n_topics=3, random_state=0, phrases=False, trainer="review").fit(
        reviews=tiny_reviews
    )
    themes = profiler.profiles_["customer_id"].str.split("-").str[0]
    assert normalized_mutual_info_score(themes, profiler.profiles_["top_interest"]) > 0.9
    again = TopicProfiler(n_topics=3, random_state=0, phrases=False, trainer="review").fit(
        reviews=tiny_reviews
    )
    np.testing.assert_array_equal(again.topics_.lda_.state.sstats, profiler.topics_.lda_.state.sstats)
    profiler.save(str(tmp_path / "model"))
    loaded = TopicProfiler.load(str(tmp_path / "model"))
    texts = tiny_reviews["text"].tolist()
    assert loaded.tag_text(texts) == profiler.tag_text(texts)
    assert loaded.get_params()["trainer"] == "review"


@pytest.mark.slow
def test_review_trainer_taxonomy_seeds_topics() -> None:
    loaded = load_inputs(reviews=CORPORA / "reviews.csv", browsing=CORPORA / "browsing.jsonl")
    taxonomy = load_taxonomy(CORPORA / "taxonomy.toml")
    seeded = TopicProfiler(n_topics=8, random_state=0, taxonomy=taxonomy, trainer="review")
    seeded.fit(loaded["reviews"], loaded["browsing"])
    assert seeded.topic_labels_ == list(taxonomy)
    assert seeded.taxonomy_warnings_ == []  # every seeded topic converged on its seeds


@pytest.mark.parametrize(
    ("given", "match"),
    [({"iterations": 0}, "iterations"), ({"alpha": "auto"}, "alpha"), ({"eta": -1.0}, "eta"),
     ({"n_blocks": 0}, "n_blocks"), ({"sweeps": 3}, "unknown review-mixture setting")],
)  # fmt: skip
def test_review_mixture_bad_params_refused(given: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        resolve_review_params(**given)


def test_review_trainer_bad_alpha_is_a_config_error(tiny_reviews: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="alpha must be a positive number for the review trainer"):
        TopicProfiler(n_topics=3, trainer="review", alpha="auto").fit(reviews=tiny_reviews)


def test_review_trainer_refused_on_a_dask_cluster() -> None:
    params = TopicProfiler(trainer="review").get_params()
    with pytest.raises(ConfigError, match="the review trainer cannot run on a Dask cluster"):
        check_cluster_params(params)


def test_review_trainer_cli_refuses_dask_in_one_line(tmp_path) -> None:
    model = tmp_path / "model"
    result = CliRunner().invoke(app, ["fit", "--reviews", str(CORPORA / "reviews.csv"), "--model-dir", str(model),
                                      "--trainer", "review", "--dask", "local:1"])  # fmt: skip
    assert result.exit_code == 1
    expected = (
        "error: --trainer review cannot run on a Dask cluster (its sampler is sequential); use --trainer vb "
        "(the default with --dask), which trains the same model there as on one machine"
    )
    assert result.output.strip().splitlines() == [expected]
    assert not model.exists()
