"""Tests of topicprofile.behavior.scores: RFM scores, the named segments, compute_rfm."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from topicprofile.behavior import DEFAULT_SEGMENT_MAP, SEGMENT_NAMES, compute_rfm, rfm_scores, rfm_segments
from topicprofile.errors import ConfigError, DataValidationError

MakeOrders = Callable[..., pd.DataFrame]

RFM_COLUMNS = [
    "recency_days", "frequency", "monetary", "avg_order_value", "first_order", "last_order", "tenure_days"
]  # fmt: skip
SCORE_COLUMNS = [("recency_days", "r_score"), ("frequency", "f_score"), ("monetary", "m_score")]


# --- compute_rfm on real data --------------------------------------------------------------------


def test_behavior_compute_rfm_on_cdnow_is_fast_and_complete(cdnow_orders: pd.DataFrame) -> None:
    orders = cdnow_orders
    start = time.perf_counter()
    result = compute_rfm(orders)
    elapsed = time.perf_counter() - start
    # Typically ~0.1 s; the generous bound only catches an accidental per-row Python loop.
    assert elapsed < 3.0
    assert result["rfm_segment"].isin(SEGMENT_NAMES).all()
    assert result[["r_score", "f_score", "m_score"]].isin(range(1, 6)).all().all()
    # Half of CDNOW's customers ordered once: one tie group, one score, the lowest.
    assert set(result.loc[result["frequency"] == 1, "f_score"]) == {1}


# --- scores --------------------------------------------------------------------------------------


def rfm_frame(recency: list[int], frequency: list[int], monetary: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"recency_days": recency, "frequency": frequency, "monetary": monetary})


def test_behavior_tied_values_get_equal_scores() -> None:
    rfm = rfm_frame([5, 5, 5, 9, 30, 30], [1, 1, 1, 1, 2, 7], [10.0, 10.0, 3.0, 8.0, 10.0, 50.0])
    scores = rfm_scores(rfm)
    for column, score in SCORE_COLUMNS:
        assert (scores.groupby(column)[score].nunique() == 1).all()
    assert scores["f_score"].tolist()[:4] == [1, 1, 1, 1]  # the least frequent score 1, however many
    assert scores["r_score"].tolist() == [5, 5, 5, 3, 1, 1]


@pytest.mark.parametrize(
    ("monetary", "expected"),
    [([42.0], [3]), ([5.0, 9.0], [1, 5]), ([9.0, 5.0, 7.0], [5, 1, 3]), ([4.0, 4.0], [3, 3])],
)
def test_behavior_scores_work_with_few_customers(monetary: list[float], expected: list[int]) -> None:
    n = len(monetary)
    scores = rfm_scores(rfm_frame([1] * n, [1] * n, monetary))
    assert scores["m_score"].tolist() == expected
    assert scores["r_score"].tolist() == scores["f_score"].tolist() == [3] * n  # all tied: middle


def test_behavior_scores_of_distinct_values_are_exact_quintiles() -> None:
    scores = rfm_scores(rfm_frame(list(range(10)), list(range(10)), [float(v) for v in range(10)]))
    assert scores["m_score"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert scores["r_score"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 40),
            st.integers(0, 6),
            st.floats(0, 1e6, allow_nan=False, allow_infinity=False),
        ),
        min_size=1,
        max_size=60,
    ),
    st.integers(1, 10),
)
def test_behavior_scores_are_monotonic_and_in_range(rows: list[tuple[int, int, float]], n_bins: int) -> None:
    scores = rfm_scores(rfm_frame(*map(list, zip(*rows, strict=True))), n_bins=n_bins)
    for column, score in SCORE_COLUMNS:
        assert scores[score].dtype == np.int64
        assert scores[score].between(1, n_bins).all()
        # Sorted from worst to best value, scores never go down, and equal values score equally.
        ordered = scores.sort_values(column, ascending=column != "recency_days")
        value_steps = np.diff(ordered[column].to_numpy())
        score_steps = np.diff(ordered[score].to_numpy())
        assert (score_steps >= 0).all()
        assert (score_steps[value_steps == 0] == 0).all()


@pytest.mark.parametrize("n_bins", [0, -1, 2.5, True])
def test_behavior_scores_reject_bad_n_bins(n_bins: object) -> None:
    with pytest.raises(ConfigError, match="n_bins"):
        rfm_scores(rfm_frame([1], [1], [1.0]), n_bins=n_bins)  # type: ignore[arg-type]


def test_behavior_scores_need_rfm_columns() -> None:
    with pytest.raises(DataValidationError, match="'monetary' is missing"):
        rfm_scores(pd.DataFrame({"recency_days": [1], "frequency": [1]}))


# --- segments ------------------------------------------------------------------------------------


def all_score_combinations() -> pd.DataFrame:
    combos = list(itertools.product(range(1, 6), repeat=3))
    return pd.DataFrame(combos, columns=["r_score", "f_score", "m_score"])


def test_behavior_every_score_combination_maps_to_one_named_segment() -> None:
    combos = all_score_combinations()
    segments = rfm_segments(combos)
    assert len(combos) == 125 and len(segments) == 125
    assert segments.isin(SEGMENT_NAMES).all()
    assert set(segments) == set(SEGMENT_NAMES)  # all 11 segments are reachable
    assert sorted(DEFAULT_SEGMENT_MAP) == list(itertools.product(range(1, 6), repeat=2))


@pytest.mark.parametrize(
    ("r", "f", "m", "segment"),
    [
        (5, 5, 5, "Champions"),
        (1, 1, 1, "Lost"),
        (5, 1, 1, "New"),
        (1, 5, 5, "Can't Lose"),
        (3, 3, 3, "Need Attention"),
    ],
)
def test_behavior_clear_cases_get_their_segment(r: int, f: int, m: int, segment: str) -> None:
    scores = pd.DataFrame({"r_score": [r], "f_score": [f], "m_score": [m]}, index=["c1"])
    result = rfm_segments(scores)
    assert result.name == "rfm_segment" and list(result.index) == ["c1"]
    assert result.loc["c1"] == segment


def test_behavior_segment_map_can_be_overridden() -> None:
    combos = all_score_combinations()
    tweaked = rfm_segments(combos, segment_map={**DEFAULT_SEGMENT_MAP, (1, 1): "Gone"})
    assert set(tweaked[(combos["r_score"] == 1) & (combos["f_score"] + combos["m_score"] <= 2)]) == {"Gone"}
    two_way = {(r, fm): "Recent" if r >= 3 else "Lapsed" for r in range(1, 6) for fm in range(1, 6)}
    assert set(rfm_segments(combos, segment_map=two_way)) == {"Recent", "Lapsed"}


@pytest.mark.parametrize(
    ("segment_map", "match"),
    [
        ({(5, 5): "Champions"}, r"no segment for .*\(1, 1\)"),
        ({"55": "Champions"}, "invalid"),
        ({(5, 5): ""}, "invalid"),
        ({}, "non-empty"),
    ],
)
def test_behavior_bad_segment_map_is_a_config_error(segment_map: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        rfm_segments(all_score_combinations(), segment_map=segment_map)


def test_behavior_segments_need_whole_number_scores() -> None:
    scores = pd.DataFrame({"r_score": [5.0, np.nan], "f_score": [5, 1], "m_score": [5, 1]})
    with pytest.raises(DataValidationError, match="'r_score' must hold whole numbers"):
        rfm_segments(scores)


def test_behavior_compute_rfm_adds_scores_and_segments(make_orders: MakeOrders) -> None:
    orders = make_orders(
        ("a", "o1", "2024-01-01", 100.0),
        ("a", "o2", "2024-03-01", 80.0),
        ("b", "o3", "2023-06-01", 5.0),
        ("c", "o4", "2024-02-01", 20.0, "cancelled"),
    )
    result = compute_rfm(orders, as_of="2024-03-02")
    assert list(result.columns) == [*RFM_COLUMNS, "r_score", "f_score", "m_score", "rfm_segment"]
    # recency 1 / 275 / 30 days, frequency 2 / 1 / 0, monetary 180 / 5 / 0 -> scores 5-5-5, 1-3-3, 3-1-1
    assert result[["r_score", "f_score", "m_score"]].to_numpy().tolist() == [[5, 5, 5], [1, 3, 3], [3, 1, 1]]
    assert result["rfm_segment"].to_dict() == {"a": "Champions", "b": "At Risk", "c": "About to Sleep"}


def test_behavior_compute_rfm_with_other_bins_needs_a_map(make_orders: MakeOrders) -> None:
    orders = make_orders(("a", "o1", "2024-01-01", 1.0), ("b", "o2", "2024-01-02", 2.0))
    with pytest.raises(ConfigError, match="segment_map"):
        compute_rfm(orders, n_bins=3)
    three = {(r, fm): f"R{r}" for r in range(1, 4) for fm in range(1, 4)}
    assert compute_rfm(orders, n_bins=3, segment_map=three)["rfm_segment"].tolist() == ["R1", "R3"]
