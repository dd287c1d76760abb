"""Tests of topicprofile.behavior.table: the RFM table (exact on real data, order statuses, edge cases)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from topicprofile.behavior import rfm_table
from topicprofile.errors import ConfigError, DataValidationError

MakeOrders = Callable[..., pd.DataFrame]

RFM_COLUMNS = [
    "recency_days", "frequency", "monetary", "avg_order_value", "first_order", "last_order", "tenure_days"
]  # fmt: skip

# --- exactness on real data ----------------------------------------------------------------------


def test_behavior_rfm_matches_independent_pandas_on_cdnow(
    cdnow_raw: pd.DataFrame, cdnow_orders: pd.DataFrame
) -> None:
    raw = cdnow_raw
    rfm = rfm_table(cdnow_orders)

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


# --- rfm_table edge cases ------------------------------------------------------------------------


def test_behavior_one_order(make_orders: MakeOrders) -> None:
    rfm = rfm_table(make_orders(("c1", "o1", "2024-03-05 14:30", 12.5)))
    row = rfm.loc["c1"]
    assert list(rfm.columns) == RFM_COLUMNS
    assert rfm.index.name == "customer_id"
    assert (row["recency_days"], row["frequency"], row["tenure_days"]) == (0, 1, 0)
    assert row["monetary"] == 12.5 and row["avg_order_value"] == 12.5
    assert row["first_order"] == row["last_order"] == pd.Timestamp("2024-03-05 14:30")


def test_behavior_same_day_orders_count_separately(make_orders: MakeOrders) -> None:
    orders = make_orders(("c1", "o1", "2024-03-05 09:00", 10.0), ("c1", "o2", "2024-03-05 18:00", 5.0))
    rfm = rfm_table(orders)
    assert rfm.loc["c1", "frequency"] == 2
    assert rfm.loc["c1", "monetary"] == 15.0
    assert rfm.loc["c1", "avg_order_value"] == 7.5


def test_behavior_line_items_add_up_to_one_order_dated_by_earliest_line(make_orders: MakeOrders) -> None:
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


def test_behavior_same_order_id_under_two_customers_is_two_orders(make_orders: MakeOrders) -> None:
    rfm = rfm_table(make_orders(("a", "o1", "2024-01-01", 1.0), ("b", "o1", "2024-01-02", 2.0)))
    assert rfm["frequency"].tolist() == [1, 1]
    assert rfm["monetary"].tolist() == [1.0, 2.0]


@pytest.mark.parametrize("status", ["cancelled", "canceled", "void", "failed", " Cancelled "])
def test_behavior_cancelled_lines_are_excluded(status: str, make_orders: MakeOrders) -> None:
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
def test_behavior_refunds_are_netted(status: str, make_orders: MakeOrders) -> None:
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
def test_behavior_customer_without_counted_orders_is_kept_without_nan(
    statuses: tuple[str, str], make_orders: MakeOrders
) -> None:
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


def test_behavior_as_of_before_last_order_is_rejected(make_orders: MakeOrders) -> None:
    orders = make_orders(("c1", "o1", "2024-03-05 08:00", 1.0))
    message = r"as-of 2024-01-01 is before the last order \(2024-03-05\); choose a later --as-of"
    with pytest.raises(DataValidationError, match=message):
        rfm_table(orders, as_of="2024-01-01")


def test_behavior_as_of_later_grows_recency_and_tenure(make_orders: MakeOrders) -> None:
    orders = make_orders(("c1", "o1", "2024-03-01", 1.0), ("c1", "o2", "2024-03-05 23:00", 1.0))
    default = rfm_table(orders).loc["c1"]
    same_day = rfm_table(orders, as_of="2024-03-05 01:00").loc["c1"]  # time of day is ignored
    later = rfm_table(orders, as_of=pd.Timestamp("2024-03-15")).loc["c1"]
    assert default["recency_days"] == same_day["recency_days"] == 0
    assert (later["recency_days"], later["tenure_days"]) == (10, 14)
    assert later["frequency"] == default["frequency"] == 2


@pytest.mark.parametrize("as_of", ["not a date", ""])
def test_behavior_as_of_that_is_not_a_date_is_a_config_error(as_of: str, make_orders: MakeOrders) -> None:
    with pytest.raises(ConfigError, match="as-of"):
        rfm_table(make_orders(("c1", "o1", "2024-03-05", 1.0)), as_of=as_of)


def test_behavior_empty_table_is_rejected(make_orders: MakeOrders) -> None:
    with pytest.raises(DataValidationError, match="no rows"):
        rfm_table(make_orders().iloc[0:0])


def test_behavior_missing_column_is_rejected(make_orders: MakeOrders) -> None:
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
def test_behavior_bad_values_are_rejected_with_row_numbers(
    column: str, value: object, match: str, make_orders: MakeOrders
) -> None:
    orders = make_orders(("c1", "o1", "2024-03-05", 1.0), ("c2", "o2", "2024-03-06", 2.0))
    orders["row"] = [7, 8]
    orders.loc[1, column] = value
    with pytest.raises(DataValidationError, match=rf"{match}.*rows 8"):
        rfm_table(orders)


def test_behavior_status_is_optional_and_extra_columns_are_ignored(make_orders: MakeOrders) -> None:
    orders = make_orders(("c1", "o1", "2024-03-05", 1.0), ("c1", "o2", "2024-03-06", 2.0))
    orders["category"] = ["x", "y"]
    rfm = rfm_table(orders.drop(columns="status"))
    assert rfm.loc["c1", "frequency"] == 2 and rfm.loc["c1", "monetary"] == 3.0


def test_behavior_result_does_not_depend_on_row_order_or_time_unit(make_orders: MakeOrders) -> None:
    orders = make_orders(
        ("b", "o1", "2024-01-01", 1.0), ("a", "o2", "2024-01-02", 2.0), ("a", "o3", "2024-01-09", 3.0)
    )
    shuffled = orders.sample(frac=1.0, random_state=3).astype({"timestamp": "datetime64[s]"})
    expected = rfm_table(orders)
    got = rfm_table(shuffled)
    assert list(got.index) == ["a", "b"]
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_behavior_timezone_aware_timestamps_use_local_calendar_days(make_orders: MakeOrders) -> None:
    orders = make_orders(("c1", "o1", "2024-03-05 23:30", 1.0))
    orders["timestamp"] = orders["timestamp"].dt.tz_localize("America/New_York")
    rfm = rfm_table(orders, as_of=pd.Timestamp("2024-03-06 05:00", tz="UTC"))  # 00:00 in New York
    assert rfm.loc["c1", "recency_days"] == 1


def test_behavior_rfm_table_does_not_modify_its_input(make_orders: MakeOrders) -> None:
    orders = make_orders(("c1", "o1", "2024-03-05", 1.0, "Refunded"))
    before = orders.copy()
    rfm_table(orders)
    pd.testing.assert_frame_equal(orders, before)
