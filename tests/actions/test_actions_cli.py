"""``topicprofile recommend`` and ``topicprofile campaign`` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from topicprofile.cli import app

CORPORA = Path(__file__).resolve().parents[2] / "corpora"
ORDERS = ["--orders", str(CORPORA / "orders.csv"), "--orders-columns", "timestamp=order_date"]
runner = CliRunner()


def test_actions_cli_recommend_orders_only_writes_csv(tmp_path: Path) -> None:
    out = tmp_path / "recs.csv"
    result = runner.invoke(app, ["recommend", *ORDERS, "--top", "2", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    recs = pd.read_csv(out, dtype=str)
    assert list(recs.columns) == ["customer_id", "rank", "item", "score", "reason"]
    assert summary["n_rows"] == len(recs) and summary["with_text"] is False
    assert recs["customer_id"].nunique() == summary["n_customers"] == 380  # every customer with orders


def test_actions_cli_recommend_evaluate_json() -> None:
    result = runner.invoke(app, ["recommend", *ORDERS, "--evaluate", "--cutoff", "2025-01-01", "--top", "3", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["model"]: r for r in json.loads(result.stdout)["rows"]}
    assert set(rows) == {"popularity", "cf", "hybrid"}  # no text: no content variant
    assert rows["cf"]["hit_rate"] > rows["popularity"]["hit_rate"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["recommend", *ORDERS], 2, "--out"),
        (["recommend", *ORDERS, "--evaluate"], 2, "--cutoff"),
        (["recommend", *ORDERS, "--reviews", str(CORPORA / "reviews.csv"), "--out", "x.csv"], 1, "--model-dir"),
        (["recommend", "--orders", str(CORPORA / "truth.csv"), "--out", "x.csv"], 1, "error:"),
    ],
)
def test_actions_cli_recommend_errors(args: list[str], code: int, message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output


def _campaign_files(tmp_path: Path, effect: float) -> tuple[Path, Path, Path]:
    rng = np.random.default_rng(5)
    treated, control = [f"T{i}" for i in range(800)], [f"C{i}" for i in range(800)]
    buyers = [c for c in treated if rng.random() < 0.10 + effect] + [c for c in control if rng.random() < 0.10]
    pd.DataFrame({"customer_id": buyers, "order_id": [f"O{i}" for i in range(len(buyers))],
                  "timestamp": "2025-03-10", "amount": "25.00"}).to_csv(tmp_path / "after.csv", index=False)  # fmt: skip
    (tmp_path / "treated.txt").write_text("\n".join(treated) + "\n")
    pd.DataFrame({"customer_id": control}).to_csv(tmp_path / "control.csv", index=False)
    return tmp_path / "treated.txt", tmp_path / "control.csv", tmp_path / "after.csv"


def test_actions_cli_campaign_reports_an_effect_and_json(tmp_path: Path) -> None:
    treated, control, orders = _campaign_files(tmp_path, effect=0.08)
    args = ["campaign", "--treated", str(treated), "--control", str(control), "--orders", str(orders), "--since", "2025-03-01"]
    text = runner.invoke(app, args)
    assert text.exit_code == 0, text.output
    assert "Significant: the campaign raised conversion" in text.output
    report = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    assert report["arms"]["treated"]["customers"] == 800 and report["conversion"]["significant"]


def test_actions_cli_campaign_overlap_is_one_line_exit_1(tmp_path: Path) -> None:
    treated, _, orders = _campaign_files(tmp_path, effect=0.0)
    result = runner.invoke(app, ["campaign", "--treated", str(treated), "--control", str(treated), "--orders", str(orders)])
    assert result.exit_code == 1
    assert "both groups" in result.output and len(result.output.strip().splitlines()) == 1


def test_actions_cli_recommend_db_stores_and_a_later_run_replaces_only_its_customers(tmp_path: Path) -> None:
    pytest.importorskip("duckdb", reason="the db extra (duckdb) is not installed")
    from topicprofile.app.actions import recommend_files
    from topicprofile.db import ProfileDatabase

    db, out = tmp_path / "p.duckdb", tmp_path / "recs.csv"
    result = runner.invoke(app, ["recommend", *ORDERS, "--top", "2", "--out", str(out), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "database" in result.output and "380 customers stored (380 new, 0 replaced)" in result.output
    written = pd.read_csv(out, dtype={"customer_id": str})
    with ProfileDatabase(db, read_only=True) as database:
        first = database.con.execute(
            "SELECT customer_id, rank, item, item_kind, score, reason FROM recommendations ORDER BY customer_id, rank"
        ).df()
        inputs = json.loads(database.con.execute("SELECT inputs FROM runs").fetchall()[0][0])
    pd.testing.assert_frame_equal(
        first.drop(columns="item_kind"), written.astype({"rank": "int32"}), check_dtype=False
    )  # the file and the database hold the same recommendations
    assert set(first["item_kind"]) == {"category"} and inputs["command"] == "recommend"
    assert inputs["orders"]["file"] == "orders.csv" and len(inputs["orders"]["sha256"]) == 64
    # a later run over one customer's orders (the Python API): theirs replaced, the other 379 keep theirs
    orders = pd.read_csv(CORPORA / "orders.csv", dtype=str)
    one = first["customer_id"].iloc[0]
    orders[orders["customer_id"] == one].to_csv(tmp_path / "one.csv", index=False)
    summary = recommend_files(tmp_path / "one.csv", db=db, orders_columns={"timestamp": "order_date"}, top=1)
    assert summary["out"] is None and summary["db"]["n_replaced"] == 1 and summary["db"]["run_id"] == 2
    with ProfileDatabase(db, read_only=True) as database:
        after = database.con.execute(
            "SELECT customer_id, run_id, count(*) AS n FROM recommendations GROUP BY ALL"
        ).df()
    assert after.set_index("customer_id").loc[one].tolist() == [2, 1]
    assert (after[after["customer_id"] != one]["run_id"] == 1).all() and len(after) == 380


def test_actions_cli_recommend_db_only_and_misuse(tmp_path: Path) -> None:
    pytest.importorskip("duckdb", reason="the db extra (duckdb) is not installed")
    db = tmp_path / "p.duckdb"
    only = runner.invoke(app, ["recommend", *ORDERS, "--top", "1", "--db", str(db), "--json"])
    assert only.exit_code == 0, only.output
    assert json.loads(only.stdout)["db"]["n_rows"] == 380
    evaluate = runner.invoke(
        app, ["recommend", *ORDERS, "--evaluate", "--cutoff", "2025-01-01", "--db", str(db)]
    )
    assert evaluate.exit_code == 2 and "--db" in evaluate.output


@pytest.mark.parametrize("cf", ["als", "cosine", "bm25"])
def test_actions_cli_recommend_cf_option_picks_the_collaborative_filter(tmp_path: Path, cf: str) -> None:
    out = tmp_path / "recs.csv"
    result = runner.invoke(app, ["recommend", *ORDERS, "--top", "2", "--cf", cf, "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["cf"]["cf"] == cf
    assert runner.invoke(app, ["recommend", *ORDERS, "--cf", "svd", "--out", str(out)]).exit_code == 2
