"""The recommender on the real-data construction (scripts/eval_recommend_real.py), on a small slice."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "eval_recommend_real.py"


@pytest.fixture(scope="module")
def real(shared_data: Path):
    spec = importlib.util.spec_from_file_location("eval_recommend_real", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    cdnow, reviews = module.read_cdnow(shared_data), module.read_reviews(shared_data)
    return module, cdnow, reviews


def test_recommend_real_shop_is_reproducible_and_keeps_the_real_parts(real) -> None:
    module, cdnow, reviews = real
    orders, texts, _ = module.build_shop(cdnow, reviews, n_customers=500, seed=0)
    again, texts_again, _ = module.build_shop(cdnow, reviews, n_customers=500, seed=0)
    pd.testing.assert_frame_equal(orders, again)
    pd.testing.assert_frame_equal(texts, texts_again)
    first = cdnow[cdnow["customer_id"].isin(orders["customer_id"].unique())]
    # the real purchase days and spend survive: one order line per CD (at most 5) on each CDNOW row
    assert (
        orders.groupby(["customer_id", "timestamp"]).ngroups == first.groupby(["customer_id", "date"]).ngroups
    )
    assert orders["amount"].sum() == pytest.approx(first["dollar_value"].sum(), rel=1e-3)
    assert texts["text"].is_unique and set(texts["text"]) <= set(reviews["text"])
    bought = orders.groupby("customer_id")["category"].agg(set)
    assert all(c in bought[w] for w, c in zip(texts["customer_id"], texts["category"], strict=True))


def test_recommend_real_hybrid_beats_cf_and_popularity_on_a_slice(real) -> None:
    module, cdnow, reviews = real
    orders, texts, planted = module.build_shop(cdnow, reviews, n_customers=2500, seed=0)
    result = module.evaluate(orders, texts, planted, cutoff="1997-10-01", k=10)
    rows = pd.DataFrame(result["rows"]).set_index("model")
    assert result["n_customers"] > 500 and result["n_with_text"] > 50
    assert rows.loc["hybrid", "hit_rate"] >= rows.loc["cf", "hit_rate"]
    assert rows.loc["hybrid", "ndcg"] > rows.loc["popularity", "ndcg"]
    assert {"recall", "coverage"} <= set(rows.columns)


@pytest.mark.slow
def test_recommend_real_categories_ceiling_is_below_the_target(real) -> None:
    """4 categories x 50 products: even the oracle that knows each customer's planted category
    is < 1.2x popularity on hit@10 (hence the shelves construction with a 1,000-product catalogue)."""
    module, cdnow, reviews = real
    orders, texts, planted = module.build_shop(cdnow, reviews, n_customers=4000, seed=0)
    result = module.evaluate(orders, texts, planted, cutoff="1997-10-01", k=10, n_topics=0)
    rows = pd.DataFrame(result["rows"]).set_index("model")
    assert rows.loc["oracle", "hit_rate"] < 1.2 * rows.loc["popularity", "hit_rate"]
    assert rows.loc["oracle", "ndcg"] >= rows.loc["hybrid", "ndcg"]


@pytest.mark.slow
def test_recommend_real_shelves_hybrid_reaches_the_target_on_a_slice(real) -> None:
    module, cdnow, reviews = real
    orders, texts, planted = module.build_shop(
        cdnow, reviews, n_customers=4000, seed=0, shelves=module.SHELVES
    )
    assert orders["product"].nunique() > 900
    # the shelves are the real texts' own groups: a review's shelf is one of its category's
    assert all(
        s.split("/")[0] == c
        for s, c in zip(
            module.shelve_reviews(reviews.head(400), 3)["shelf"], reviews.head(400)["category"], strict=True
        )
    )
    result = module.evaluate(orders, texts, planted, cutoff="1997-10-01", k=10, n_topics=0)
    rows = pd.DataFrame(result["rows"]).set_index("model")
    assert rows.loc["hybrid", "hit_rate"] >= 1.2 * rows.loc["popularity", "hit_rate"]
    assert rows.loc["hybrid", "hit_rate"] >= rows.loc["cf", "hit_rate"]
    assert rows.loc["oracle", "hit_rate"] >= rows.loc["hybrid", "hit_rate"]
