"""Fitted pieces of the recommender (topicprofile.actions.recommend_parts) and the CF choice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from topicprofile.actions.recommend import CF_CANDIDATES, HybridRecommender
from topicprofile.actions.recommend_parts import CfSettings, fit_components
from topicprofile.errors import ConfigError


def _counts(seed: int = 0) -> sp.csr_matrix:
    """60 customers x 6 items in two groups: customers buy within theirs."""
    rng = np.random.default_rng(seed)
    dense = np.zeros((60, 6))
    for u in range(60):
        group = u % 2
        dense[u, rng.choice(3, 2, replace=False) + 3 * group] = rng.integers(1, 3, 2)
    return sp.csr_matrix(dense)


@pytest.mark.parametrize("kind", ["cosine", "bm25", "tfidf"])
def test_recommend_parts_item_neighbours_score_the_own_group_higher(kind: str) -> None:
    counts = _counts()
    comp = fit_components(
        counts, pd.Index([f"u{i}" for i in range(60)]), None, CfSettings(cf=kind, neighbours=3)
    )
    scores = comp.cf_scores(np.arange(60))
    assert scores.shape == (60, 6) and scores.dtype == np.float32
    own = np.where(np.arange(60)[:, None] % 2 == np.arange(6)[None, :] // 3, scores, 0).sum(axis=1)
    assert (own > scores.sum(axis=1) - own).all()
    pairs = comp.item_similarity(np.array([0, 0]), np.array([1, 4]))
    assert pairs[0] > pairs[1]  # items of one group are neighbours, across groups they are not


def test_recommend_parts_als_is_deterministic_for_a_seed() -> None:
    counts, ids = _counts(), pd.Index([f"u{i}" for i in range(60)])
    first = fit_components(counts, ids, None, CfSettings(factors=4, random_state=5))
    second = fit_components(counts, ids, None, CfSettings(factors=4, random_state=5))
    assert np.array_equal(first.user_factors, second.user_factors)
    assert np.array_equal(first.cf_scores(np.arange(3)), second.cf_scores(np.arange(3)))


def _lines(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n):
        for j in range(int(rng.integers(2, 7))):
            item = f"g{u % 4}-{int(rng.zipf(1.5)) % 5}" if rng.random() < 0.8 else f"g{rng.integers(4)}-0"
            day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 366)))
            rows.append((f"C{u:04d}", f"C{u:04d}-{j}", day, item))
    return pd.DataFrame(rows, columns=["customer_id", "order_id", "timestamp", "item"])


def test_recommend_parts_auto_cf_is_the_best_candidate_on_the_validation_split() -> None:
    model = HybridRecommender(random_state=0).fit(_lines())
    tried = model.cf_validation_
    assert [{k: v for k, v in t.items() if k not in ("hit_rate", "ndcg")} for t in tried] == list(
        CF_CANDIDATES
    )
    best = max(tried, key=lambda t: (round(t["ndcg"], 12), t["hit_rate"]))
    assert model.cf_ == {k: v for k, v in best.items() if k not in ("hit_rate", "ndcg")}
    fixed = HybridRecommender(cf="cosine", random_state=0).fit(_lines())
    assert fixed.cf_ == {} and len(fixed.cf_validation_) == 1 and fixed.components_.similarity is not None


def test_recommend_parts_unknown_cf_is_one_config_error() -> None:
    with pytest.raises(ConfigError, match="cf must be 'auto' or one of"):
        HybridRecommender(cf="svd").fit(_lines(60))


def test_recommend_parts_scores_with_one_blas_thread(monkeypatch) -> None:
    """A second OpenBLAS thread spinning for a core a loaded machine gives away cost wall time."""
    from threadpoolctl import threadpool_info

    from topicprofile.actions.recommend_parts import Components

    seen: list[int] = []
    original = Components.cf_scores

    def spy(self: Components, rows: np.ndarray) -> np.ndarray:
        seen.extend(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")
        return original(self, rows)

    monkeypatch.setattr(Components, "cf_scores", spy)
    lines = _lines()
    model = HybridRecommender(cf="als", weights={"cf": 1.0}, random_state=0).fit(lines)
    model.recommend(lines)
    assert seen and set(seen) == {1}
