"""Tests of topicprofile.behavior: RFM table, scores and segments."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from topicprofile.behavior import (
    DEFAULT_SEGMENT_MAP,
    SEGMENT_NAMES,
    compute_rfm,
    rfm_scores,
    rfm_segments,
    rfm_table,
)
from topicprofile.errors import ConfigError, DataValidationError

CDNOW = Path(__file__).resolve().parents[2] / "shared" / "data" / "cdnow_transactions.txt"
needs_cdnow = pytest.mark.skipif(not CDNOW.exists(), reason=f"real CDNOW data not found at {CDNOW}")

RFM_COLUMNS = [
    "recency_days", "frequency", "monetary", "avg_order_value", "first_order", "last_order", "tenure_days"
]  # fmt: skip
SCORE_COLUMNS = [("recency_days", "r_score"), ("frequency", "f_score"), ("monetary", "m_score")]


def make_orders(*lines: tuple) -> pd.DataFrame:
    """Orders table from (customer_id, order_id, date, amount[, status]) tuples."""
    rows = [(*line, "") if len(line) == 4 else line for line in lines]
    frame = pd.DataFrame(rows, columns=["customer_id", "order_id", "timestamp", "amount", "status"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], format="ISO8601").astype("datetime64[ns]")
    frame["amount"] = frame["amount"].astype("float64")
    return frame


def read_cdnow() -> pd.DataFrame:
    return pd.read_csv(CDNOW, sep=r"\s+", dtype={"customer_id": str, "date": str})


def cdnow_orders(raw: pd.DataFrame) -> pd.DataFrame:
    # Each file row is one order line; the rows of one customer on one day form one order, so
    # order_id = customer_id + date (CDNOW has no order ids and no statuses).
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"],
            "order_id": raw["customer_id"] + "-" + raw["date"],
            "timestamp": pd.to_datetime(raw["date"], format="%Y%m%d"),
            "amount": raw["dollar_value"].astype("float64"),
            "status": "",
            "row": np.arange(1, len(raw) + 1),
        }
    )


# --- exactness on real data ----------------------------------------------------------------------


@needs_cdnow
def test_behavior_rfm_matches_independent_pandas_on_cdnow() -> None:
    raw = read_cdnow()
    rfm = rfm_table(cdnow_orders(raw))

    # Independent computation straight from the file's columns: the reference day is the last date
    # in the file, an order is a distinct (customer, date), monetary is the sum of dollar_value.
    day = pd.to_datetime(raw["date"], format="%Y%m%d")
    per_customer = (
        raw.assign(day=day)
        .groupby("customer_id")
        .agg(
            last=("day", "max"),
            first=("day", "min"),
            frequency=("date", "nunique"),
            monetary=("dollar_value", "sum"),
        )
    )
    as_of = day.max()
    sample = per_customer.sample(n=50, random_state=20240601)
    got = rfm.loc[sample.index]

    assert got["recency_days"].tolist() == [d.days for d in as_of - sample["last"]]
    assert got["tenure_days"].tolist() == [d.days for d in as_of - sample["first"]]
    assert got["frequency"].tolist() == sample["frequency"].tolist()
    assert np.isclose(got["monetary"], sample["monetary"], rtol=0, atol=1e-9).all()

    # By hand, from the file (last date in the file: 1998-06-30):
    #   00002: two rows on 1997-01-12 (12.00 + 77.00) -> one order; recency 534 days, frequency 1,
    #          monetary 89.00.
    #   00003: six rows on six days, 1997-01-02 ... 1998-05-28; 20.76 + 20.76 + 19.54 + 57.45 + 20.96
    #          + 16.99 = 156.46; recency 33 days, tenure 544 days, frequency 6.
    assert rfm.loc["00002", ["recency_days", "frequency"]].tolist() == [534, 1]
    assert rfm.loc["00002", "monetary"] == pytest.approx(89.0, abs=1e-9)
    assert rfm.loc["00003", ["recency_days", "frequency", "tenure_days"]].tolist() == [33, 6, 544]
    assert rfm.loc["00003", "monetary"] == pytest.approx(156.46, abs=1e-9)

    assert len(rfm) == raw["customer_id"].nunique()
    assert rfm.index.is_monotonic_increasing
    assert not rfm.isna().any().any()


@needs_cdnow
def test_behavior_compute_rfm_on_cdnow_is_fast_and_complete() -> None:
    orders = cdnow_orders(read_cdnow())
    start = time.perf_counter()
    result = compute_rfm(orders)
    elapsed = time.perf_counter() - start
    # Typically ~0.1 s; the generous bound only catches an accidental per-row Python loop.
    assert elapsed < 3.0
    assert result["rfm_segment"].isin(SEGMENT_NAMES).all()
    assert result[["r_score", "f_score", "m_score"]].isin(range(1, 6)).all().all()
    # Half of CDNOW's customers ordered once: one tie group, one score, the lowest.
    assert set(result.loc[result["frequency"] == 1, "f_score"]) == {1}


# --- rfm_table edge cases ------------------------------------------------------------------------


def test_behavior_one_order() -> None:
    rfm = rfm_table(make_orders(("c1", "o1", "2024-03-05 14:30", 12.5)))
    row = rfm.loc["c1"]
    assert list(rfm.columns) == RFM_COLUMNS
    assert rfm.index.name == "customer_id"
    assert (row["recency_days"], row["frequency"], row["tenure_days"]) == (0, 1, 0)
    assert row["monetary"] == 12.5 and row["avg_order_value"] == 12.5
    assert row["first_order"] == row["last_order"] == pd.Timestamp("2024-03-05 14:30")


def test_behavior_same_day_orders_count_separately() -> None:
    orders = make_orders(("c1", "o1", "2024-03-05 09:00", 10.0), ("c1", "o2", "2024-03-05 18:00", 5.0))
    rfm = rfm_table(orders)
    assert rfm.loc["c1", "frequency"] == 2
    assert rfm.loc["c1", "monetary"] == 15.0
    assert rfm.loc["c1", "avg_order_value"] == 7.5


def test_behavior_line_items_add_up_to_one_order_dated_by_earliest_line() -> None:
    orders = make_orders(
        ("c1", "o1", "2024-03-02 10:05", 3.0),
        ("c1", "o1", "2024-03-01 23:59", 4.0),
        ("c1", "o1", "2024-03-02 10:06", 5.5),
    )
    rfm = rfm_table(orders, as_of="2024-03-10")
    row = rfm.loc["c1"]
    assert row["frequency"] == 1 and row["monetary"] == 12.5
    assert row["first_order"] == pd.Timestamp("2024-03-01 23:59")
    assert row["recency_days"] == 9  # from the calendar day of the earliest line


def test_behavior_same_order_id_under_two_customers_is_two_orders() -> None:
    rfm = rfm_table(make_orders(("a", "o1", "2024-01-01", 1.0), ("b", "o1", "2024-01-02", 2.0)))
    assert rfm["frequency"].tolist() == [1, 1]
    assert rfm["monetary"].tolist() == [1.0, 2.0]


@pytest.mark.parametrize("status", ["cancelled", "canceled", "void", "failed", " Cancelled "])
def test_behavior_cancelled_lines_are_excluded(status: str) -> None:
    orders = make_orders(
        ("c1", "o1", "2024-01-01", 10.0),
        ("c1", "o2", "2024-01-05", 99.0, status),
        ("c1", "o3", "2024-01-03", 7.0),
        ("c1", "o3", "2024-01-03", 50.0, status),
    )
    row = rfm_table(orders).loc["c1"]
    assert row["frequency"] == 2 and row["monetary"] == 17.0
    assert row["last_order"] == pd.Timestamp("2024-01-03")
    assert row["recency_days"] == 2  # as_of defaults to the latest placed order, 2024-01-05


@pytest.mark.parametrize("status", ["refunded", "returned", "REFUNDED"])
def test_behavior_refunds_are_netted(status: str) -> None:
    orders = make_orders(
        ("c1", "o1", "2024-01-01", 10.0),
        ("c1", "o1", "2024-01-01", 4.0, status),  # partly refunded order: still one order, 10.0
        ("c1", "o2", "2024-01-09", 30.0, status),  # fully refunded order: not an order
    )
    row = rfm_table(orders, as_of="2024-01-10").loc["c1"]
    assert row["frequency"] == 1 and row["monetary"] == 10.0 and row["avg_order_value"] == 10.0
    assert row["last_order"] == pd.Timestamp("2024-01-01")
    assert row["recency_days"] == 9


@pytest.mark.parametrize("statuses", [("refunded", "returned"), ("cancelled", "refunded"), ("void", "void")])
def test_behavior_customer_without_counted_orders_is_kept_without_nan(statuses: tuple[str, str]) -> None:
    orders = make_orders(
        ("buyer", "o1", "2024-02-01", 20.0),
        ("gone", "o2", "2024-01-10", 15.0, statuses[0]),
        ("gone", "o3", "2024-01-21", 25.0, statuses[1]),
    )
    rfm = rfm_table(orders)
    gone = rfm.loc["gone"]
    assert gone["frequency"] == 0 and gone["monetary"] == 0.0 and gone["avg_order_value"] == 0.0
    # Dates come from the orders placed: last 2024-01-21, first 2024-01-10, as of 2024-02-01.
    assert (gone["recency_days"], gone["tenure_days"]) == (11, 22)
    assert gone["last_order"] == pd.Timestamp("2024-01-21")
    assert not rfm.isna().any().any()
    assert rfm["recency_days"].dtype == "int64" and rfm["frequency"].dtype == "int64"


def test_behavior_as_of_before_last_order_is_rejected() -> None:
    orders = make_orders(("c1", "o1", "2024-03-05 08:00", 1.0))
    message = r"as-of 2024-01-01 is before the last order \(2024-03-05\); choose a later --as-of"
    with pytest.raises(DataValidationError, match=message):
        rfm_table(orders, as_of="2024-01-01")


def test_behavior_as_of_later_grows_recency_and_tenure() -> None:
    orders = make_orders(("c1", "o1", "2024-03-01", 1.0), ("c1", "o2", "2024-03-05 23:00", 1.0))
    default = rfm_table(orders).loc["c1"]
    same_day = rfm_table(orders, as_of="2024-03-05 01:00").loc["c1"]  # time of day is ignored
    later = rfm_table(orders, as_of=pd.Timestamp("2024-03-15")).loc["c1"]
    assert default["recency_days"] == same_day["recency_days"] == 0
    assert (later["recency_days"], later["tenure_days"]) == (10, 14)
    assert later["frequency"] == default["frequency"] == 2


@pytest.mark.parametrize("as_of", ["not a date", ""])
def test_behavior_as_of_that_is_not_a_date_is_a_config_error(as_of: str) -> None:
    with pytest.raises(ConfigError, match="as-of"):
        rfm_table(make_orders(("c1", "o1", "2024-03-05", 1.0)), as_of=as_of)


def test_behavior_empty_table_is_rejected() -> None:
    with pytest.raises(DataValidationError, match="no rows"):
        rfm_table(make_orders().iloc[0:0])


def test_behavior_missing_column_is_rejected() -> None:
    orders = make_orders(("c1", "o1", "2024-03-05", 1.0)).drop(columns="amount")
    with pytest.raises(DataValidationError, match="'amount' is missing"):
        rfm_table(orders)


@pytest.mark.parametrize(
    ("column", "value", "match"),
    [
        ("amount", -1.0, "negative"),
        ("amount", np.nan, "empty 'amount'"),
        ("timestamp", pd.NaT, "empty 'timestamp'"),
        ("customer_id", None, "empty 'customer_id'"),
    ],
)
def test_behavior_bad_values_are_rejected_with_row_numbers(column: str, value: object, match: str) -> None:
    orders = make_orders(("c1", "o1", "2024-03-05", 1.0), ("c2", "o2", "2024-03-06", 2.0))
    orders["row"] = [7, 8]
    orders.loc[1, column] = value
    with pytest.raises(DataValidationError, match=rf"{match}.*rows 8"):
        rfm_table(orders)


def test_behavior_status_is_optional_and_extra_columns_are_ignored() -> None:
    orders = make_orders(("c1", "o1", "2024-03-05", 1.0), ("c1", "o2", "2024-03-06", 2.0))
    orders["category"] = ["x", "y"]
    rfm = rfm_table(orders.drop(columns="status"))
    assert rfm.loc["c1", "frequency"] == 2 and rfm.loc["c1", "monetary"] == 3.0


def test_behavior_result_does_not_depend_on_row_order_or_time_unit() -> None:
    orders = make_orders(
        ("b", "o1", "2024-01-01", 1.0), ("a", "o2", "2024-01-02", 2.0), ("a", "o3", "2024-01-09", 3.0)
    )
    shuffled = orders.sample(frac=1.0, random_state=3).astype({"timestamp": "datetime64[s]"})
    expected = rfm_table(orders)
    got = rfm_table(shuffled)
    assert list(got.index) == ["a", "b"]
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_behavior_timezone_aware_timestamps_use_local_calendar_days() -> None:
    orders = make_orders(("c1", "o1", "2024-03-05 23:30", 1.0))
    orders["timestamp"] = orders["timestamp"].dt.tz_localize("America/New_York")
    rfm = rfm_table(orders, as_of=pd.Timestamp("2024-03-06 05:00", tz="UTC"))  # 00:00 in New York
    assert rfm.loc["c1", "recency_days"] == 1


def test_behavior_rfm_table_does_not_modify_its_input() -> None:
    orders = make_orders(("c1", "o1", "2024-03-05", 1.0, "Refunded"))
    before = orders.copy()
    rfm_table(orders)
    pd.testing.assert_frame_equal(orders, before)


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


def test_behavior_compute_rfm_adds_scores_and_segments() -> None:
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


def test_behavior_compute_rfm_with_other_bins_needs_a_map() -> None:
    orders = make_orders(("a", "o1", "2024-01-01", 1.0), ("b", "o2", "2024-01-02", 2.0))
    with pytest.raises(ConfigError, match="segment_map"):
        compute_rfm(orders, n_bins=3)
    three = {(r, fm): f"R{r}" for r in range(1, 4) for fm in range(1, 4)}
    assert compute_rfm(orders, n_bins=3, segment_map=three)["rfm_segment"].tolist() == ["R1", "R3"]
