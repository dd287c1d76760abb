"""scripts/quality.py and scripts/_shops.py: shop construction and the scoring functions."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _load(name: str) -> ModuleType:
    """Import a module of ``scripts/`` by path (``scripts/`` is not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look the module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def quality() -> ModuleType:
    return _load("quality")


@pytest.fixture(scope="module")
def shops(quality: ModuleType) -> ModuleType:
    return sys.modules["_shops"]


@pytest.fixture(scope="module")
def amazon(shops: ModuleType) -> pd.DataFrame:
    if not (shops.DATA_DIR / "en_amazon_reviews_4cats.csv.bz2").is_file():
        pytest.skip(f"real-data test: {shops.DATA_DIR} not found (CI has it beside the checkout)")
    return shops.load_source("en_amazon", shops.DATA_DIR)[1]


def test_quality_harness_shop_plants_a_primary_interest(shops: ModuleType, amazon: pd.DataFrame) -> None:
    shop = shops.build_shop(amazon, n_customers=300, seed=0, lang="en", name="en_amazon")
    reviews = shop.reviews
    assert shop.k == 4 and shop.n_customers == 300
    assert set(shop.planted) <= set(amazon["label"])
    assert set(reviews["customer_id"]) == set(shop.planted.index)
    per_customer = reviews.groupby("customer_id").size()
    assert per_customer.between(1, 10).all()
    assert (per_customer <= 3).mean() > 0.55  # skewed: most customers write 1-3 reviews
    from_primary = (reviews["label"] == reviews["customer_id"].map(shop.planted)).mean()
    assert 0.70 <= from_primary <= 0.80
    assert reviews["text"].is_unique  # drawn without replacement
    # each review keeps the label its text has in the source
    source_label = dict(zip(amazon["text"], amazon["label"], strict=True))
    assert (reviews["text"].map(source_label) == reviews["label"]).all()


def test_quality_harness_shop_is_deterministic_per_construction_seed(
    shops: ModuleType, amazon: pd.DataFrame
) -> None:
    first = shops.build_shop(amazon, n_customers=120, seed=1, lang="en", name="en_amazon")
    again = shops.build_shop(amazon, n_customers=120, seed=1, lang="en", name="en_amazon")
    other = shops.build_shop(amazon, n_customers=120, seed=2, lang="en", name="en_amazon")
    pd.testing.assert_frame_equal(first.reviews, again.reviews)
    pd.testing.assert_series_equal(first.planted, again.planted)
    assert not first.reviews["text"].equals(other.reviews["text"])


def test_quality_harness_shop_fails_when_a_category_runs_out(shops: ModuleType) -> None:
    table = pd.DataFrame({"label": ["a"] * 5 + ["b"] * 500, "text": [f"t{i}" for i in range(505)]})
    with pytest.raises(ValueError, match="not enough 'a' reviews"):
        shops.build_shop(table, n_customers=400, seed=0, lang="en", name="tiny")


@pytest.mark.parametrize(
    ("text", "domain"),
    [
        ("酒店房间很干净，前台服务好", "hotel"),
        ("这本书的作者写得很好", "book"),
        ("笔记本电脑的屏幕很亮", "computer"),
        ("酒店房间里的电脑很旧", None),  # two domains: dropped
        ("苹果很甜，包装也好", None),  # no domain: dropped
    ],
)
def test_quality_harness_zh_domain_rule(shops: ModuleType, text: str, domain: str | None) -> None:
    assert shops.label_zh_domain(text) == domain


def test_quality_harness_oracle_is_majority_label_ties_by_first_review(shops: ModuleType) -> None:
    reviews = pd.DataFrame(
        {
            "customer_id": ["A", "B", "A", "B", "A", "C"],
            "text": list("uvwxyz"),
            "label": ["x", "y", "y", "x", "y", "z"],
        }
    )
    shop = shops.Shop("t", "en", 3, reviews, pd.Series({"A": "y", "B": "x", "C": "z"}))
    assert shops.oracle(shop).to_dict() == {"A": "y", "B": "y", "C": "z"}


def test_quality_harness_scores_known_answer(quality: ModuleType) -> None:
    truth = np.array(["a", "a", "a", "b", "b", "c"])
    assert quality.purity(truth, [0, 0, 1, 1, 1, 2]) == pytest.approx(5 / 6)
    perfect = quality.score(np.array(["a", "a", "b", "b"]), np.array([1, 1, 0, 0]))
    assert perfect["nmi"] == pytest.approx(1.0) and perfect["purity"] == 1.0 and perfect["coverage"] == 1.0
    lumped = quality.score(np.array(["a", "a", "b", "b"]), np.array([0, 0, 0, 0]))
    assert lumped["nmi"] == pytest.approx(0.0) and lumped["purity"] == 0.5
    # one customer untagged: scores over the tagged three, coverage 3/4, recovery counts it a miss
    partial = quality.score(np.array(["a", "a", "b", "b"]), np.array([0, 0, 1, quality.UNTAGGED]))
    assert partial["nmi"] == pytest.approx(1.0) and partial["purity"] == 1.0
    assert partial["coverage"] == 0.75 and partial["recovery"] == 0.75
    # "all customers": the untagged one is a class of its own, so the grouping is no longer perfect
    assert 0.5 < partial["nmi_all"] < 1.0


def test_quality_harness_customer_vector_is_unweighted_mean(quality: ModuleType) -> None:
    ps = SimpleNamespace(customers=np.array(["A", "B", "C"]), doc_customer=np.array([0, 0, 0, 1, -1]))
    doc_topics = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4], [0.0, 1.0]])
    # A: mean (0.467, 0.533) -> topic 1 although its first review says 0; B: topic 0; C: no document
    top = quality.mean_top(ps, doc_topics, np.arange(5))
    assert top.tolist() == [1, 0, quality.UNTAGGED]


def test_quality_harness_review_posterior_counts_reviews_not_words(quality: ModuleType) -> None:
    """The review mixture's own rule: each review takes one topic, so a customer with two short
    reviews of topic 0 and one long review of topic 1 is topic 0 (a mean of words would say 1)."""
    from scipy import sparse

    ps = SimpleNamespace(customers=np.array(["A", "B"]), doc_customer=np.array([0, 0, 0, -1]))
    topic_word = np.array([[0.7, 0.1, 0.2], [0.1, 0.7, 0.2]])
    counts = sparse.csr_matrix(np.array([[3, 0, 0], [3, 0, 0], [0, 30, 0], [0, 5, 0]]))
    top = quality.review_posterior_top(ps, counts, topic_word, np.arange(4), alpha=0.1)
    assert top.tolist() == [0, quality.UNTAGGED]
    words = np.asarray(counts[:3].sum(axis=0)).ravel() @ np.log(topic_word).T
    assert words.argmax() == 1  # pooled words point the other way


def test_quality_harness_end_to_end_tiny(quality: ModuleType, amazon: pd.DataFrame, tmp_path: Path) -> None:
    out = tmp_path / "quality.md"
    args = quality.parse_args(
        ["--shops", "en_amazon", "--sizes", "60", "--seeds", "0", "--construction-seeds", "0",
         "--methods", "topicprofile", "tomotopy-review", "--json", str(tmp_path / "r.jsonl")]
    )  # fmt: skip
    records = quality.run(args)
    assert [r["method"] for r in records] == ["oracle", "topicprofile", "tomotopy-review"]
    assert all(r["n_customers"] == 60 and 0 <= r["nmi"] <= 1 for r in records)
    assert records[1]["same_vocab"] is True  # peers see exactly topicprofile's vocabulary
    assert len((tmp_path / "r.jsonl").read_text(encoding="utf-8").splitlines()) == 3
    quality.write_doc(out, quality.markdown(records), "cmd")
    text = out.read_text(encoding="utf-8")
    assert "| oracle |" in text and "| topicprofile |" in text and "### en_amazon, 60 customers" in text


def test_quality_harness_taxonomy_method_scores_names(
    quality: ModuleType, amazon: pd.DataFrame, tmp_path: Path
) -> None:
    from topicprofile.topics.seeding import FREE_TOPICS

    args = quality.parse_args(
        ["--shops", "en_amazon", "--sizes", "60", "--seeds", "0", "--construction-seeds", "0",
         "--methods", "tp-taxonomy"]
    )  # fmt: skip
    records = quality.run(args)
    (record,) = [r for r in records if r["method"] == "tp-taxonomy"]
    # k from the taxonomy (4 named interests), tags named by the planted labels
    assert record["k_used"] == 4 + FREE_TOPICS
    assert 0.25 < record["name_accuracy"] <= 1 and 0 <= record["nmi"] <= 1
    assert "#### With the shop's taxonomy" in quality.markdown(records)
    shop = quality.Shop("zh_shop", "zh", 5, None, None)
    no_taxonomy = quality.PreparedShop(shop, None, [], None, None, None)
    assert quality.fit_taxonomy(no_taxonomy, 5, 0) is None  # a source without a taxonomy is not run


def _fake_model(theta: np.ndarray, phi: np.ndarray, ll: float = 0.0) -> SimpleNamespace:
    """A stand-in for a trained tomotopy model: documents' topic shares and topics' word distributions."""
    docs = [SimpleNamespace(get_topic_dist=lambda row=row: row) for row in theta]
    return SimpleNamespace(docs=docs, get_topic_word_dist=lambda t: phi[t], ll_per_word=ll)


def _split_and_distinct() -> tuple[np.ndarray, np.ndarray]:
    """180 documents of 3 interests: ``distinct`` puts ~90% of each on its own topic; ``split``
    divides the first interest's documents between topics 0 and 1 and merges the other two in 2."""
    own = np.repeat(np.arange(3), 60)
    distinct = np.full((180, 3), 0.05)
    distinct[np.arange(180), own] = 0.9
    half = np.random.default_rng(0).uniform(0.3, 0.6, size=60)
    split = np.zeros((180, 3))
    split[:60] = np.column_stack([half, 0.95 - half, np.full(60, 0.05)])
    split[60:] = [0.025, 0.025, 0.95]
    return split, distinct


SHARED = np.array([[0.5, 0.3, 0.2, 0.0], [0.4, 0.4, 0.0, 0.2], [0.3, 0.0, 0.4, 0.3]])  # topics sharing words


def test_quality_harness_split_ratio_tells_a_split_interest_from_distinct_ones(quality: ModuleType) -> None:
    split, distinct = _split_and_distinct()
    assert quality.split_ratio(_fake_model(distinct, SHARED)) > 0.9
    assert quality.split_ratio(_fake_model(split, SHARED)) < 0.0
    # the same documents, topics without a word in common: interests customers have together
    assert quality.split_ratio(_fake_model(split, np.eye(3, 4))) == float("inf")
    assert quality.split_ratio(_fake_model(distinct[:, :1], SHARED)) == float("inf")  # one topic


@pytest.mark.parametrize(("keep", "kept"), [("ratio", 1), ("ll", 0)])
def test_quality_harness_split_restart_trains_again_after_a_split(
    quality: ModuleType, monkeypatch: pytest.MonkeyPatch, keep: str, kept: int
) -> None:
    from topicprofile.topics import gibbs

    split, distinct = _split_and_distinct()
    models = {
        0: _fake_model(split, SHARED, ll=-6.0),
        quality.chain_seed(0, 1): _fake_model(distinct, SHARED, ll=-6.5),
    }
    seeds: list[int] = []
    monkeypatch.setattr(
        gibbs,
        "train_tomotopy",
        lambda *a, random_state, **k: seeds.append(random_state) or models[random_state],
    )
    with quality.split_restart(3, keep):
        model = gibbs.train_tomotopy(None, None, n_topics=3, params={}, random_state=0)
    assert seeds == [0, quality.chain_seed(0, 1)]  # the second chain is not split: no third
    assert model is list(models.values())[kept]
    seeds.clear()
    with quality.split_restart(3, keep):  # a chain that is not split is kept at once
        assert (
            gibbs.train_tomotopy(None, None, n_topics=3, params={}, random_state=quality.chain_seed(0, 1))
            is models[quality.chain_seed(0, 1)]
        )
    assert len(seeds) == 1


def test_quality_harness_split_check_replays_the_restart_rule() -> None:
    split_check = _load("split_check")
    chains = pd.DataFrame(
        {
            "construction_seed": 0,
            "seed": [0, 0, 0, 1, 1],
            "chain": [0, 1, 2, 0, 1],
            "nmi": [0.30, 0.45, 0.20, 0.40, 0.10],
            "ratio": [-0.5, 0.9, 0.9, 0.8, 0.9],
            "ll_per_word": [-6.5, -6.4, -6.0, -6.4, -6.0],
        }
    )
    # seed 0: chain 0 is split, chain 1 is not (chain 2 never trained); seed 1: not split, one chain
    assert split_check.replay(chains, 0.1, 3, "ratio") == (pytest.approx(0.425), 1.5)
    assert split_check.replay(chains, 0.1, 3, "ll") == (pytest.approx(0.425), 1.5)
    assert split_check.replay(chains, 0.1, 1, "ratio") == (pytest.approx(0.35), 1.0)  # one chain: as trained
