"""BG/NBD + Gamma-Gamma (topicprofile.actions.clv): the published CDNOW results and the profile columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

from topicprofile.actions.clv import (
    CLV_COLUMNS,
    BetaGeoModel,
    GammaGammaModel,
    clv_columns,
    clv_summary,
    params_within,
)
from topicprofile.errors import ConfigError, DataValidationError, NotFittedError
from topicprofile.ingest.load import clean_orders

PAPER_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # Fader, Hardie & Lee 2005, CDNOW 1/10
PAPER_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}  # Fader & Hardie 2005 note on the same sample


@pytest.fixture(scope="module")
def cdnow(shared_data: Path) -> pd.DataFrame:
    """The 1/10 CDNOW sample through the orders loader (one row = one transaction line)."""
    raw = pd.read_csv(
        shared_data / "cdnow_sample_transactions.txt", sep=r"\s+", header=None, dtype=str,
        names=["customer_id", "master_id", "date", "number_of_cds", "dollar_value"],
    )  # fmt: skip
    raw["order_id"] = np.arange(len(raw)).astype(str)  # same-day rows are separate lines
    return clean_orders(raw, columns={"timestamp": "date", "amount": "dollar_value"}).data


@pytest.fixture(scope="module")
def cdnow_fit(cdnow: pd.DataFrame) -> tuple[pd.DataFrame, BetaGeoModel]:
    summary = clv_summary(cdnow, calibration_end="1997-09-30", holdout_end="1998-06-30")
    return summary, BetaGeoModel().fit(summary)


def test_actions_clv_cdnow_summary_matches_the_paper(cdnow_fit) -> None:
    summary, _ = cdnow_fit
    assert len(summary) == 2357
    assert summary["frequency"].sum() == 2457  # repeat purchase days in weeks 1-39
    first = summary.loc["00004"]  # the paper's worked example customer: x=2, t_x=30.43, T=38.86
    assert (first["frequency"], round(first["recency"], 2), round(first["T"], 2)) == (2, 30.43, 38.86)
    assert summary["duration_holdout"].iloc[0] == 39.0


def test_actions_clv_cdnow_bgnbd_parameters_within_1_percent(cdnow_fit) -> None:
    _, model = cdnow_fit
    assert params_within(model.params_, PAPER_BGNBD) < 0.01, model.params_
    assert model.log_likelihood_ == pytest.approx(-9582.4, abs=0.1)  # the paper's LL


def test_actions_clv_cdnow_gamma_gamma_parameters(cdnow_fit) -> None:
    summary, _ = cdnow_fit
    assert params_within(GammaGammaModel().fit(summary).params_, PAPER_GAMMA_GAMMA) < 0.01


def test_actions_clv_paper_worked_example() -> None:
    # FHL 2005 section 5: x=2, t_x=30.43, T=38.86 expects 1.226 purchases in the next 39 weeks
    model = BetaGeoModel()
    model.params_ = dict(PAPER_BGNBD)
    one = pd.DataFrame({"frequency": [2, 0], "recency": [30.43, 0.0], "T": [38.86, 38.86]})
    assert model.expected_purchases(one, 39).iloc[0] == pytest.approx(1.226, abs=0.001)
    assert model.p_alive(one).tolist()[1] == 1.0  # no repeat purchase: never judged dead


def test_actions_clv_cdnow_holdout_weeks_40_to_78(cdnow_fit) -> None:
    summary, model = cdnow_fit
    actual = summary["frequency_holdout"].sum()
    predicted = model.expected_purchases(summary, 39).sum()  # conditional, FHL eq. 10
    # measured: 1,882 actual repeat purchase days in weeks 40-78, 1,653 predicted (-12.2%): with the
    # paper's own parameters the model under-forecasts this holdout (its Figure 2 gap); the regression
    # bound guards the number, the cumulative check below is the paper's tracking comparison
    assert actual == 1882
    assert predicted == pytest.approx(1653.4, rel=0.005)
    r, alpha, a, b = (model.params_[k] for k in ("r", "alpha", "a", "b"))

    def unconditional(t: np.ndarray) -> np.ndarray:
        return (
            (a + b - 1)
            / (a - 1)
            * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
        )

    age = summary["T"].to_numpy()
    cumulative_predicted = unconditional(age + 39).sum()
    cumulative_actual = summary["frequency"].sum() + actual
    assert abs(cumulative_predicted / cumulative_actual - 1) < 0.05  # measured 4,161 vs 4,339 (-4.1%)


def test_actions_clv_columns_on_cdnow(cdnow: pd.DataFrame) -> None:
    columns = clv_columns(cdnow[cdnow["timestamp"] <= "1997-09-30"])
    assert tuple(columns.columns) == CLV_COLUMNS
    assert len(columns) == 2357
    assert columns["p_alive"].between(0, 1).all() and (columns["clv_12m"] >= 0).all()
    assert columns["churn_risk"].equals(columns["p_alive"] < 0.5)
    # a repeat buyer who went silent for long is at risk; the worked example customer is not
    assert not columns.loc["00004", "churn_risk"]
    assert 0.05 < columns["churn_risk"].mean() < 0.5


def test_actions_clv_summary_counts_days_and_skips_cancelled() -> None:
    orders = pd.DataFrame({
        "customer_id": ["a", "a", "a", "a", "b"],
        "timestamp": pd.to_datetime(["2024-01-01 09:00", "2024-01-01 18:00", "2024-01-15 00:00", "2024-01-22 00:00", "2024-01-08 00:00"]),
        "amount": [10.0, 5.0, 20.0, 99.0, 7.0],
        "status": ["completed", "completed", "completed", "cancelled", ""],
    })  # fmt: skip
    summary = clv_summary(orders, calibration_end="2024-01-29")
    assert summary.loc["a"].tolist() == [1, 2.0, 4.0, 20.0]  # two purchase days; spend of the repeat only
    assert summary.loc["b"].tolist() == [0, 0.0, 3.0, 0.0]


def test_actions_clv_errors() -> None:
    with pytest.raises(ConfigError, match="time_unit"):
        clv_summary(pd.DataFrame(), time_unit="M")
    with pytest.raises(DataValidationError, match="'amount'"):
        clv_summary(pd.DataFrame({"customer_id": ["a"], "timestamp": pd.to_datetime(["2024-01-01"])}))
    with pytest.raises(NotFittedError, match="fit"):
        BetaGeoModel().p_alive(pd.DataFrame({"frequency": [1], "recency": [1.0], "T": [2.0]}))
    no_repeats = pd.DataFrame({"frequency": [0, 0], "recency": [0.0, 0.0], "T": [3.0, 4.0]})
    with pytest.raises(DataValidationError, match="repeat"):
        BetaGeoModel().fit(no_repeats)


def test_actions_clv_cdnow_holdout_gap_is_the_published_models(cdnow_fit) -> None:
    # the -12% in weeks 40-78 is BG/NBD's on this data, not our fit: the paper's published
    # parameters give the same forecast (conditional 1,653.9; ours 1,653.4), both ~12% under 1,882
    summary, model = cdnow_fit
    paper = BetaGeoModel()
    paper.params_ = dict(PAPER_BGNBD)
    ours, theirs = model.expected_purchases(summary, 39).sum(), paper.expected_purchases(summary, 39).sum()
    assert ours == pytest.approx(theirs, rel=0.001)
    assert theirs / summary["frequency_holdout"].sum() == pytest.approx(0.879, abs=0.002)


def test_actions_clv_columns_in_tag_output_when_orders_are_given(
    tiny_profiler, tiny_reviews, cdnow: pd.DataFrame, tmp_path, caplog
) -> None:
    from topicprofile.app.jobs import tag_files

    tiny_profiler.save(tmp_path / "model")
    # the tiny reviews' 30 writers become the first 30 CDNOW customers; orders: the CDNOW 1/10 sample
    writers = sorted(tiny_reviews["customer_id"].unique())
    ids = dict(zip(writers, sorted(cdnow["customer_id"].unique())[: len(writers)], strict=True))
    tiny_reviews.assign(customer_id=tiny_reviews["customer_id"].map(ids)).to_csv(
        tmp_path / "reviews.csv", index=False
    )
    orders = cdnow[cdnow["timestamp"] <= "1997-09-30"][["customer_id", "order_id", "timestamp", "amount"]]
    orders.to_csv(tmp_path / "orders.csv", index=False)
    tag_files(
        tmp_path / "model",
        tmp_path / "tags.csv",
        reviews=tmp_path / "reviews.csv",
        orders=tmp_path / "orders.csv",
    )
    tags = pd.read_csv(tmp_path / "tags.csv", dtype={"customer_id": str}).set_index("customer_id")
    assert {"p_alive", "expected_orders_90d", "clv_12m", "churn_risk"} <= set(tags.columns)
    expected = clv_columns(clean_orders(orders).data)
    assert len(tags) == 30  # the writers; their columns come from the model fitted on all 2,357 customers
    assert tags["p_alive"].to_numpy() == pytest.approx(
        expected.loc[tags.index, "p_alive"].to_numpy(), abs=1e-4
    )
    tag_files(tmp_path / "model", tmp_path / "plain.csv", reviews=tmp_path / "reviews.csv")
    assert "p_alive" not in pd.read_csv(tmp_path / "plain.csv").columns
    # 30 customers: BG/NBD runs to a boundary (r, alpha -> inf) and its forecasts overflow; the tags
    # are still written, without the columns, and a warning says why (the old code wrote NaN columns)
    orders[orders["customer_id"].isin(ids.values())].to_csv(tmp_path / "few.csv", index=False)
    tag_files(
        tmp_path / "model",
        tmp_path / "few_tags.csv",
        reviews=tmp_path / "reviews.csv",
        orders=tmp_path / "few.csv",
    )
    few = pd.read_csv(tmp_path / "few_tags.csv")
    assert "clv_12m" not in few.columns or few["clv_12m"].notna().all()
