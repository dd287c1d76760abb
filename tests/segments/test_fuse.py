"""Tests of topicprofile.segments.fuse: fused vectors (never NaN, one-sided customers, weights)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from topicprofile.errors import ConfigError, DataValidationError, NotFittedError
from topicprofile.segments.fuse import FeatureFuser, topic_shares

BEHAVIOR = ["log_recency_days", "log_frequency", "log_monetary"]


def test_fuse_union_of_customers_never_nan(shares: pd.DataFrame, rfm: pd.DataFrame) -> None:
    fuser = FeatureFuser().fit(shares, rfm)
    fused = fuser.transform(shares, rfm)
    assert fused.index.tolist() == ["a", "b", "c", "d", "e"]
    assert not fused.isna().any().any()
    assert fused["has_text"].tolist() == [1, 1, 0, 1, 0]
    assert fused["has_orders"].tolist() == [1, 0, 1, 1, 1]
    assert list(fuser.get_feature_names_out()) == ["topic_0", "topic_1", *BEHAVIOR]


def test_fuse_text_only_customer_gets_never_bought_behavior(shares: pd.DataFrame, rfm: pd.DataFrame) -> None:
    fuser = FeatureFuser().fit(shares, rfm)
    fused = fuser.transform(shares, rfm)
    assert fuser.never_bought_["recency_days"] == rfm["recency_days"].max()
    assert fuser.never_bought_["frequency"] == 0 and fuser.never_bought_["monetary"] == 0
    expected = (np.log1p(fuser.never_bought_) - fuser.center_) / fuser.scale_
    np.testing.assert_allclose(fused.loc["b", BEHAVIOR].to_numpy(), expected.to_numpy())
    # "never bought" is at least as bad as every buyer: as lapsed as the most lapsed, as low as the lowest
    buyers = fused.loc[["a", "c", "d", "e"]]
    assert fused.loc["b", "log_recency_days"] == buyers["log_recency_days"].max()
    assert (fused.loc["b", BEHAVIOR[1:]] <= buyers[BEHAVIOR[1:]].min()).all()


def test_fuse_orders_only_customer_gets_mean_topic_shares(shares: pd.DataFrame, rfm: pd.DataFrame) -> None:
    fused = FeatureFuser().fit(shares, rfm).transform(shares, rfm)
    np.testing.assert_allclose(fused.loc["c", ["topic_0", "topic_1"]].to_numpy(), shares.mean().to_numpy())
    assert fused.loc["c", ["topic_0", "topic_1"]].sum() == pytest.approx(1.0)


@pytest.mark.parametrize(("text_weight", "behavior_weight"), [(2.0, 1.0), (1.0, 0.5), (0.0, 3.0), (1.5, 0.0)])
def test_fuse_weights_scale_their_block_only(
    shares: pd.DataFrame, rfm: pd.DataFrame, text_weight: float, behavior_weight: float
) -> None:
    base = FeatureFuser().fit_transform(shares, rfm)
    weighted = FeatureFuser(text_weight=text_weight, behavior_weight=behavior_weight).fit_transform(
        shares, rfm
    )
    np.testing.assert_allclose(weighted[["topic_0", "topic_1"]], base[["topic_0", "topic_1"]] * text_weight)
    np.testing.assert_allclose(weighted[BEHAVIOR], base[BEHAVIOR] * behavior_weight)
    pd.testing.assert_frame_equal(weighted[["has_text", "has_orders"]], base[["has_text", "has_orders"]])


def test_fuse_transform_is_row_wise_for_new_customers(shares: pd.DataFrame, rfm: pd.DataFrame) -> None:
    fuser = FeatureFuser().fit(shares, rfm)
    batch = fuser.transform(shares, rfm)
    alone = fuser.transform(shares.loc[["b"]], None)
    pd.testing.assert_frame_equal(alone, batch.loc[["b"]], check_dtype=False)


def test_fuse_without_text_or_without_orders(shares: pd.DataFrame, rfm: pd.DataFrame) -> None:
    rfm_only = FeatureFuser().fit(None, rfm)
    assert list(rfm_only.get_feature_names_out()) == BEHAVIOR
    assert rfm_only.transform(None, rfm)["has_text"].sum() == 0
    text_only = FeatureFuser().fit(shares, None)
    fused = text_only.transform(shares, None)
    assert list(text_only.get_feature_names_out()) == ["topic_0", "topic_1"]
    assert fused["has_orders"].sum() == 0 and not fused.isna().any().any()


@pytest.mark.parametrize(
    "weights", [{"text_weight": 0, "behavior_weight": 0}, {"text_weight": -1.0}, {"behavior_weight": "1"}]
)
def test_fuse_bad_weights_raise_config_error(shares: pd.DataFrame, rfm: pd.DataFrame, weights: dict) -> None:
    with pytest.raises(ConfigError, match="weight"):
        FeatureFuser(**weights).fit(shares, rfm)


def test_fuse_bad_inputs_raise_data_validation_error(shares: pd.DataFrame, rfm: pd.DataFrame) -> None:
    with pytest.raises(DataValidationError, match="frequency"):
        FeatureFuser().fit(shares, rfm.drop(columns="frequency"))
    with pytest.raises(DataValidationError, match="topic shares"):
        FeatureFuser().fit(shares.assign(topic_0=[0.5, np.nan, 0.5]), rfm)
    with pytest.raises(DataValidationError, match="nothing to fuse"):
        FeatureFuser().fit(None, None)
    fuser = FeatureFuser().fit(shares, rfm)
    with pytest.raises(DataValidationError, match="differ from those seen at fit"):
        fuser.transform(shares.rename(columns={"topic_1": "topic_7"}), rfm)


def test_fuse_transform_before_fit_raises() -> None:
    with pytest.raises(NotFittedError, match="fit"):
        FeatureFuser().transform(None, None)


def test_fuse_topic_shares_from_profile_table() -> None:
    profiles = pd.DataFrame(
        {"customer_id": ["z", "y"], "topic_1": [0.3, 0.6], "topic_0": [0.7, 0.4], "n_tokens": [5, 6]}
    )
    shares = topic_shares(profiles)
    assert shares.index.tolist() == ["y", "z"] and shares.columns.tolist() == ["topic_0", "topic_1"]
    with pytest.raises(DataValidationError, match="topic_0"):
        topic_shares(profiles[["customer_id", "n_tokens"]])


@settings(max_examples=40, deadline=None)
@given(
    n_text=st.integers(0, 6),
    n_orders=st.integers(0, 6),
    overlap=st.integers(0, 6),
    seed=st.integers(0, 10_000),
    weights=st.tuples(st.floats(0, 5), st.floats(0.01, 5)),
)
def test_fuse_property_never_nan_any_mix_of_customers(
    n_text: int, n_orders: int, overlap: int, seed: int, weights: tuple[float, float]
) -> None:
    rng = np.random.default_rng(seed)
    text_ids = [f"t{i}" for i in range(n_text)]
    order_ids = [f"t{i}" for i in range(min(overlap, n_text))] + [f"o{i}" for i in range(n_orders)]
    raw = rng.dirichlet(np.ones(3), size=len(text_ids))
    shares = (
        pd.DataFrame(raw, index=text_ids, columns=["topic_0", "topic_1", "topic_2"]) if text_ids else None
    )
    rfm = (
        pd.DataFrame(
            {
                "recency_days": rng.integers(0, 400, len(order_ids)),
                "frequency": rng.integers(0, 9, len(order_ids)),
                "monetary": rng.uniform(0, 500, len(order_ids)),
            },
            index=order_ids,
        )
        if order_ids
        else None
    )
    if shares is None and rfm is None:
        return
    fuser = FeatureFuser(text_weight=weights[0], behavior_weight=weights[1])
    fused = fuser.fit_transform(shares, rfm)
    assert len(fused) == len(set(text_ids) | set(order_ids))
    assert np.isfinite(fused.to_numpy(dtype="float64")).all()
