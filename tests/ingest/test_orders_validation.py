"""Orders that would skew RFM: future dates, dates after --as-of, absurd amounts, one order id under
two customers, and numeric dates read day-first or month-first (issue #10, item 8)."""

from __future__ import annotations

import json
import logging

import pandas as pd
import pytest
from typer.testing import CliRunner

from topicprofile.behavior import compute_rfm
from topicprofile.cli import app
from topicprofile.errors import ConfigError, DataValidationError
from topicprofile.ingest.load import StreamedLoad, clean_orders, clean_reviews, load_orders

runner = CliRunner()
TODAY = "2025-12-31"


def _orders(dates: list[str], amounts: list[str] | None = None, customers: list[str] | None = None,
            order_ids: list[str] | None = None) -> pd.DataFrame:  # fmt: skip
    n = len(dates)
    return pd.DataFrame({
        "customer_id": customers or [f"c{i % 7}" for i in range(n)],
        "order_id": order_ids or [f"o{i}" for i in range(n)],
        "timestamp": dates,
        "amount": amounts or [str(20 + i % 30) for i in range(n)],
    })  # fmt: skip


def _shop_dates(n: int = 40) -> list[str]:
    return [str((pd.Timestamp("2025-01-01") + pd.Timedelta(days=3 * i)).date()) for i in range(n)]


def test_orders_future_date_is_rejected_and_leaves_recency_alone() -> None:
    dates = _shop_dates()
    clean = compute_rfm(clean_orders(_orders(dates), today=TODAY).data)
    result = clean_orders(_orders(dates + ["2031-03-04"]), today=TODAY)
    rejected = result.rejects.set_index("row")
    assert rejected.loc[41, "reason"] == f"dated after today ({TODAY})"
    assert rejected.loc[41, "column"] == "timestamp"
    rfm = compute_rfm(result.data)
    assert rfm["recency_days"].median() == clean["recency_days"].median()
    assert rfm["last_order"].max() < pd.Timestamp("2026-01-01")


def test_orders_today_defaults_to_the_run_date() -> None:
    tomorrow_plus = str((pd.Timestamp.now("UTC") + pd.Timedelta(days=3)).date())
    result = clean_orders(_orders(_shop_dates(5) + [tomorrow_plus]))
    assert result.rejects["reason"].str.startswith("dated after today").tolist() == [True]


def test_orders_after_as_of_are_rejected() -> None:
    result = clean_orders(_orders(_shop_dates(10)), as_of="2025-01-10", today=TODAY)
    assert len(result.data) == 4  # 01-01, 01-04, 01-07, 01-10 (the as-of day itself counts)
    assert set(result.rejects["reason"]) == {"dated after --as-of 2025-01-10"}
    with pytest.raises(ConfigError, match="as-of 'soon' is not a date"):
        clean_orders(_orders(_shop_dates(3)), as_of="soon")


def test_orders_max_amount_rejects_and_outliers_warn_once(caplog) -> None:
    amounts = [str(20 + i % 30) for i in range(40)]
    frame = _orders(_shop_dates(41), amounts + ["1e9"])
    with caplog.at_level(logging.WARNING, logger="topicprofile"):
        kept = clean_orders(frame)
    assert len(kept.data) == 41  # flagged, not dropped
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "1 amount is more than 100x the median amount" in warnings[0]
    assert "row 41" in warnings[0] and "--max-amount" in warnings[0]
    capped = clean_orders(frame, max_amount=10_000)
    assert capped.rejects["reason"].tolist() == ["amount above --max-amount 10000"]
    assert capped.data["amount"].max() < 100
    with pytest.raises(ConfigError, match="positive"):
        clean_orders(frame, max_amount=0)


def test_orders_one_order_id_under_two_customers_rejects_all_its_lines() -> None:
    frame = _orders(
        ["2025-01-01", "2025-01-02", "2025-01-02", "2025-01-03"], ["10", "20", "5", "30"],
        customers=["alice", "bob", "bob", "carol"], order_ids=["A1", "X9", "X9", "X9"],
    )  # fmt: skip
    frame.loc[2, "amount"] = "6"  # a second line of bob's order, not a duplicate row
    result = clean_orders(frame)
    assert result.data["order_id"].tolist() == ["A1"]
    reasons = result.rejects.set_index("row")["reason"]
    assert reasons[2] == reasons[3] == "order id also under customer carol"
    assert reasons[4] == "order id also under customer bob"
    assert (result.rejects["column"] == "order_id").all()


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        (["03/04/2025", "13/04/2025"], ["2025-04-03", "2025-04-13"]),  # a day above 12: day-first
        (["03/04/2025", "04/13/2025"], ["2025-03-04", "2025-04-13"]),  # a second field above 12: month-first
        (["03.04.2025", "25.12.2024 10:30"], ["2025-04-03", "2024-12-25 10:30"]),
        (["03/03/2025", "2025-04-03"], ["2025-03-03", "2025-04-03"]),  # reads the same either way; ISO
    ],
)
def test_orders_numeric_dates_follow_the_files_evidence(dates: list[str], expected: list[str]) -> None:
    result = clean_orders(_orders(dates))
    assert result.data["timestamp"].tolist() == [pd.Timestamp(d) for d in expected]


def test_orders_ambiguous_dates_are_refused_naming_file_and_column(tmp_path) -> None:
    path = tmp_path / "orders.csv"
    _orders(["03/04/2025", "05/06/2025"]).rename(columns={"timestamp": "order_date"}).to_csv(path, index=False)
    with pytest.raises(DataValidationError) as e:
        load_orders(path, columns="timestamp=order_date")
    message = str(e.value)
    assert "orders.csv: column 'order_date'" in message and "03/04/2025" in message
    assert "--date-format '%d/%m/%Y'" in message and "\n" not in message
    result = load_orders(path, columns="timestamp=order_date", date_format="%d/%m/%Y")
    assert result.data["timestamp"].tolist() == [pd.Timestamp("2025-04-03"), pd.Timestamp("2025-06-05")]
    us = load_orders(path, columns="timestamp=order_date", date_format="%m/%d/%Y")
    assert us.data["timestamp"].tolist() == [pd.Timestamp("2025-03-04"), pd.Timestamp("2025-05-06")]


def test_orders_dates_both_ways_are_refused() -> None:
    with pytest.raises(DataValidationError, match="mixes day-first .*row 1.*month-first .*row 2"):
        clean_orders(_orders(["13/04/2025", "04/13/2025"]))


def test_orders_date_format_rejects_values_that_do_not_match() -> None:
    result = clean_orders(_orders(["03/04/2025", "2025-04-03"]), date_format="%d/%m/%Y")
    assert result.rejects["reason"].tolist() == ["timestamp not in --date-format %d/%m/%Y"]
    with pytest.raises(ConfigError, match="strftime"):
        clean_orders(_orders(["03/04/2025"]), date_format="day-month-year")


def test_reviews_dates_get_the_same_inference() -> None:
    reviews = pd.DataFrame({"customer_id": ["a", "b"], "text": ["nice tent", "good boots"],
                            "timestamp": ["03/04/2025", "13/04/2025"]})  # fmt: skip
    assert clean_reviews(reviews).data["timestamp"].tolist() == [pd.Timestamp("2025-04-03"), pd.Timestamp("2025-04-13")]
    with pytest.raises(DataValidationError, match="day-first or month-first"):
        clean_reviews(reviews.head(1))


def test_streamed_reviews_keep_the_order_the_first_telling_chunk_chose(tmp_path) -> None:
    path = tmp_path / "reviews.csv"
    pd.DataFrame({
        "customer_id": ["a", "b", "c", "d"], "text": ["tent", "boots", "stove", "lamp"],
        "timestamp": ["13/04/2025", "03/04/2025", "05/06/2025", "2025-01-02"],
    }).to_csv(path, index=False)  # fmt: skip
    streamed = StreamedLoad("reviews", path, chunk_rows=1)
    stamps = [t for chunk in streamed for t in chunk.data["timestamp"]]
    assert stamps == [pd.Timestamp(d) for d in ("2025-04-13", "2025-04-03", "2025-06-05", "2025-01-02")]


# -- through the CLI --------------------------------------------------------------------------------
@pytest.fixture()
def shop_files(tmp_path, tiny_reviews):
    reviews = tmp_path / "reviews.csv"
    tiny_reviews.to_csv(reviews, index=False)
    customers = sorted(tiny_reviews["customer_id"].unique())
    rows = [{"customer_id": c, "order_id": f"o{i}-{j}", "timestamp": f"2025-0{1 + j}-{10 + i % 15:02d}",
             "amount": f"{20 + (i * 7 + j) % 40}.50"} for i, c in enumerate(customers) for j in range(1 + i % 3)]  # fmt: skip
    return tmp_path, reviews, pd.DataFrame(rows)


def _fit(tmp, reviews, orders: pd.DataFrame, *extra: str):
    path = tmp / "orders.csv"
    orders.to_csv(path, index=False)
    return runner.invoke(app, ["fit", "--reviews", str(reviews), "--orders", str(path), "--model-dir",
                               str(tmp / "model"), "--topics", "3", "--no-cache", "--json", *extra])  # fmt: skip


def test_cli_fit_rejects_future_and_too_large_orders(shop_files) -> None:
    tmp, reviews, orders = shop_files
    extra = pd.DataFrame([{"customer_id": orders.customer_id[0], "order_id": "late", "timestamp": "2099-03-04",
                           "amount": "10"},
                          {"customer_id": orders.customer_id[1], "order_id": "typo", "timestamp": "2025-02-02",
                           "amount": "1000000000"}])  # fmt: skip
    result = _fit(tmp, reviews, pd.concat([orders, extra], ignore_index=True), "--max-amount", "5000")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["inputs"]["orders"]["rejected"] == 2
    reasons = set(pd.read_csv(summary["rejects_file"])["reason"])
    assert {"amount above --max-amount 5000"} <= reasons
    assert any(r.startswith("dated after today") for r in reasons)


@pytest.mark.parametrize(("args", "code", "text"), [
    (("--date-format", "no-percent"), 2, "not a strftime format"),
    (("--max-amount", "0"), 2, "must be a positive amount"),
    (("--max-amount", "-5"), 2, "must be a positive amount"),
])  # fmt: skip
def test_cli_order_options_are_checked(shop_files, args, code, text) -> None:
    tmp, reviews, orders = shop_files
    result = _fit(tmp, reviews, orders, *args)
    assert result.exit_code == code
    assert text in " ".join(result.output.replace("│", " ").split())  # rich wraps the box by terminal width


def test_cli_ambiguous_dates_fail_with_one_line_and_date_format_fixes_them(shop_files) -> None:
    tmp, reviews, orders = shop_files
    # month first, every day at most 12: nothing in the file tells the order
    orders["timestamp"] = pd.to_datetime(orders["timestamp"]).map(lambda t: f"{t.month:02d}/{t.day % 9 + 1:02d}/2025")
    result = _fit(tmp, reviews, orders)
    assert result.exit_code == 1
    assert "day-first or month-first" in result.output
    fixed = _fit(tmp, reviews, orders, "--date-format", "%m/%d/%Y")
    assert fixed.exit_code == 0, fixed.output


def test_batch_reads_ambiguous_review_dates_only_with_date_format(tmp_path, tiny_profiler, tiny_reviews) -> None:
    from topicprofile.app.batch import tag_folder

    model, exports = tmp_path / "model", tmp_path / "exports"
    tiny_profiler.save(str(model))
    exports.mkdir()
    tiny_reviews.head(9).assign(timestamp="03/04/2025").to_csv(exports / "reviews.csv", index=False)
    failed = tag_folder(exports, model_dir=model, out=tmp_path / "out1")
    assert failed["n_failed"] == 1 and "day-first or month-first" in failed["files"][0]["error"]
    done = tag_folder(exports, model_dir=model, out=tmp_path / "out2", date_format="%d/%m/%Y")
    assert done["n_new"] == 1 and done["n_failed"] == 0
