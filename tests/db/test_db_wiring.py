"""`tag --db` and `batch --db`: profiles land in a real DuckDB profile database, idempotently and crash-safely."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

pytest.importorskip("duckdb", reason="the db extra (duckdb) is not installed")

from test_batch import Crash, _write_exports
from test_db import HOLDER

from topicprofile.app import batch
from topicprofile.app.batch import tag_folder
from topicprofile.app.jobs import tag_files
from topicprofile.cli import app
from topicprofile.db import ProfileDatabase
from topicprofile.errors import ConfigError, ModelError

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture(scope="module")
def model_dir(tiny_profiler, tmp_path_factory) -> Path:
    from topicprofile import TopicProfiler

    folder = tmp_path_factory.mktemp("dbwire")
    tiny_profiler.save(str(folder / "plain"))  # a copy: the session's profiler stays as it is
    profiler = TopicProfiler.load(str(folder / "plain")).set_topic_labels({0: "=HYPERLINK(1)"})
    profiler.save(str(folder / "model"))  # a formula-like label
    return folder / "model"


@pytest.fixture
def reviews_csv(tmp_path, tiny_reviews) -> Path:
    path = tmp_path / "reviews.csv"
    tiny_reviews.to_csv(path, index=False)
    return path


def db_state(path: Path) -> dict[str, pd.DataFrame]:
    """What a run leaves in the database, without run ids and times (they differ run to run)."""
    with ProfileDatabase(path, read_only=True) as db:
        return {
            "profiles": db.con.execute(
                "SELECT * EXCLUDE (changed_run) FROM profiles ORDER BY customer_id"
            ).df(),
            "history": db.con.execute("SELECT * EXCLUDE (run_id, as_of) FROM tag_history ORDER BY ALL").df(),
        }


def assert_same_state(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    for name, frame in a.items():
        pd.testing.assert_frame_equal(frame, b[name], obj=name)


# -- tag --db ----------------------------------------------------------------------------------
def test_tag_db_writes_the_output_rows_typed_and_unescaped(model_dir, reviews_csv, tmp_path) -> None:
    out, path = tmp_path / "profiles.csv", tmp_path / "p.duckdb"
    summary = tag_files(model_dir, out, reviews=reviews_csv, db=path)
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    with ProfileDatabase(path, read_only=True) as db:
        got = db.profiles().set_index("customer_id")
        runs = db.con.execute("SELECT n_rows, inputs FROM runs").fetchall()
    assert summary["db"]["n_rows"] == summary["db"]["n_new"] == len(table) == len(got) == 30
    assert runs[0][0] == 30 and "reviews" in json.loads(runs[0][1])
    row = table.iloc[0]
    assert got.loc[row.customer_id, "interest_topics"].tolist() == [
        int(k) for k in row.interest_topics.split(";")
    ]
    assert got.loc[row.customer_id, "topic_shares"].tolist() == pytest.approx(
        [float(row[f"topic_{k}"]) for k in range(3)]
    )
    # the CSV escapes the formula-like label for spreadsheets; the database keeps the value itself
    assert (table["top_interest"] == "'=HYPERLINK(1)").any()
    assert (got["top_interest"] == "=HYPERLINK(1)").any() and not got["top_interest"].str.startswith(
        "'"
    ).any()


def test_tag_db_twice_gives_the_same_database(model_dir, reviews_csv, tmp_path) -> None:
    path = tmp_path / "p.duckdb"
    tag_files(model_dir, tmp_path / "a.csv", reviews=reviews_csv, db=path)
    before = db_state(path)
    second = tag_files(model_dir, tmp_path / "b.csv", reviews=reviews_csv, db=path)
    assert (second["db"]["n_new"], second["db"]["n_changed"]) == (0, 0)
    assert_same_state(before, db_state(path))


def test_tag_db_held_by_another_process_fails_before_any_output(model_dir, reviews_csv, tmp_path) -> None:
    path, out = tmp_path / "p.duckdb", tmp_path / "profiles.csv"
    ProfileDatabase(path).close()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen([sys.executable, "-c", HOLDER.format(path=str(path))],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "ready"
        result = runner.invoke(app, ["tag", "--model-dir", str(model_dir), "--reviews", str(reviews_csv),
                                     "--out", str(out), "--db", str(path)])  # fmt: skip
    finally:
        holder.communicate("", timeout=30)
    assert result.exit_code == 1
    assert "in use by another process" in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_tag_db_failed_write_keeps_the_old_output(model_dir, reviews_csv, tmp_path, monkeypatch) -> None:
    path, out = tmp_path / "p.duckdb", tmp_path / "profiles.csv"
    out.write_text("old\n")
    from topicprofile.app import profile_db

    def broken(*args, **kwargs):
        raise ModelError("disk gone")

    monkeypatch.setattr(profile_db.profile_db, "write_profiles", broken)
    with pytest.raises(ModelError, match="disk gone"):
        tag_files(model_dir, out, reviews=reviews_csv, db=path)
    assert out.read_text() == "old\n"


def test_tag_customers_load_identifiers_and_reject_bad_ones(model_dir, reviews_csv, tmp_path) -> None:
    customers = tmp_path / "customers.csv"
    pd.DataFrame({
        "customer_id": ["coffee-00", "garden-01", "kitchen-02"],
        "email": ["Ann@Example.com", "not an address", "k@shop.org"],
        "phone": ["+1 415 555 0123", "", "12"],
        "accepts_email": ["yes", "no", "yes"],
    }).to_csv(customers, index=False)  # fmt: skip
    out, path = tmp_path / "profiles.csv", tmp_path / "p.duckdb"
    result = runner.invoke(app, ["tag", "--model-dir", str(model_dir), "--reviews", str(reviews_csv), "--out",
                                 str(out), "--db", str(path), "--customers", str(customers)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "database" in result.output and "3 customers' identifiers" in result.output
    with ProfileDatabase(path, read_only=True) as db:
        ids = db.con.execute("SELECT customer_id, email, phone FROM identifiers ORDER BY 1").fetchall()
    assert ids == [("coffee-00", "ann@example.com", "+14155550123"), ("garden-01", None, None),
                   ("kitchen-02", "k@shop.org", None)]  # fmt: skip
    rejects = pd.read_csv(tmp_path / "profiles.customers.rejects.csv", dtype=str)
    assert len(rejects) == 2


def test_tag_customers_without_db_is_one_line(model_dir, reviews_csv, tmp_path) -> None:
    result = runner.invoke(app, ["tag", "--model-dir", str(model_dir), "--reviews", str(reviews_csv),
                                 "--out", str(tmp_path / "p.csv"), "--customers", str(reviews_csv)])  # fmt: skip
    assert result.exit_code == 1 and "pass --db PATH too" in result.output
    with pytest.raises(ConfigError, match="--db"):
        tag_files(model_dir, tmp_path / "p.csv", reviews=reviews_csv, customers=reviews_csv)


# -- batch --db --------------------------------------------------------------------------------
@pytest.fixture
def exports(tmp_path, tiny_reviews) -> Path:
    return _write_exports(tmp_path / "exports", tiny_reviews)


def test_batch_db_writes_every_file_and_a_rerun_changes_nothing(exports, model_dir, tmp_path) -> None:
    path = tmp_path / "p.duckdb"
    first = tag_folder(exports, model_dir=model_dir, out=tmp_path / "out", db=path)
    state = db_state(path)
    combined = pd.read_csv(tmp_path / "out" / "profiles.csv", dtype=str, keep_default_na=False)
    assert first["db"]["n_rows"] == len(combined) == len(state["profiles"]) == 30
    assert sorted(state["profiles"]["customer_id"]) == sorted(combined["customer_id"])
    tag_folder(exports, model_dir=model_dir, out=tmp_path / "out", db=path)
    assert_same_state(state, db_state(path))


def _crash_after_db_before_ledger(monkeypatch) -> None:
    real = batch.write_ledger

    def write_ledger(out, ledger):
        if "day2.jsonl" in ledger["files"]:
            raise Crash("killed after day2's database write, before its ledger entry")
        real(out, ledger)

    monkeypatch.setattr(batch, "write_ledger", write_ledger)


def _crash_before_db(monkeypatch) -> None:
    real = batch.DbSink.write

    def write(self, profiles, name, facts):
        if name == "day2.jsonl":
            raise Crash("killed after day2's part, before its database write")
        real(self, profiles, name, facts)

    monkeypatch.setattr(batch.DbSink, "write", write)


@pytest.mark.parametrize("crash", [_crash_after_db_before_ledger, _crash_before_db])
def test_batch_db_crash_then_resume_neither_loses_nor_duplicates(
    crash, exports, model_dir, tmp_path, monkeypatch
) -> None:
    clean = tmp_path / "clean.duckdb"
    tag_folder(exports, model_dir=model_dir, out=tmp_path / "clean", db=clean)
    path = tmp_path / "p.duckdb"
    with monkeypatch.context() as patch:
        crash(patch)
        with pytest.raises(Crash):
            tag_folder(exports, model_dir=model_dir, out=tmp_path / "out", db=path)
    n_after_crash = len(db_state(path)["profiles"])
    assert n_after_crash == (20 if crash is _crash_after_db_before_ledger else 10)
    resumed = tag_folder(exports, model_dir=model_dir, out=tmp_path / "out", db=path)
    assert resumed["n_failed"] == 0
    assert_same_state(db_state(clean), db_state(path))  # no profile lost, no history row twice


def _clean_db(exports: Path, model_dir: Path, tmp_path: Path) -> dict[str, pd.DataFrame]:
    tag_folder(exports, model_dir=model_dir, out=tmp_path / "clean", db=tmp_path / "clean.duckdb")
    return db_state(tmp_path / "clean.duckdb")


def test_batch_db_added_later_takes_the_done_files_from_their_parts(exports, model_dir, tmp_path) -> None:
    out, path = tmp_path / "out", tmp_path / "p.duckdb"
    tag_folder(exports, model_dir=model_dir, out=out)
    later = tag_folder(exports, model_dir=model_dir, out=out, db=path)
    assert later["n_done"] == 3 and later["db"]["n_rows"] == 30
    profiles = db_state(path)["profiles"]
    assert len(profiles) == 30 and (profiles["top_interest"] == "=HYPERLINK(1)").any()  # unescaped
    assert_same_state(db_state(path), _clean_db(exports, model_dir, tmp_path))
    ledger = json.loads((out / "ledger.json").read_text())
    assert {e["db"] for e in ledger["files"]} == {str(path.absolute())}
    again = tag_folder(exports, model_dir=model_dir, out=out, db=path)
    assert again["db"]["n_rows"] == 0  # recorded: not written a second time


def test_batch_db_cli(exports, model_dir, tmp_path) -> None:
    path = tmp_path / "p.duckdb"
    result = runner.invoke(app, ["batch", "--model-dir", str(model_dir), "--input-dir", str(exports),
                                 "--out", str(tmp_path / "out"), "--db", str(path)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"database {path}: 30 profiles written" in result.output.replace("\n", "")


def test_tag_db_with_orders_stores_churn_and_value(model_dir, tiny_reviews, tmp_path) -> None:
    orders = pd.read_csv(ROOT / "corpora" / "orders.csv", dtype=str).rename(
        columns={"order_date": "timestamp"}
    )
    orders.to_csv(tmp_path / "orders.csv", index=False)
    # 20 of the 30 writers become customers of the sample shop's orders; 10 stay without orders
    writers = sorted(tiny_reviews["customer_id"].unique())
    buyers = dict(zip(writers[:20], sorted(orders["customer_id"].unique())[:20], strict=True))
    tiny_reviews.assign(customer_id=tiny_reviews["customer_id"].replace(buyers)).to_csv(
        tmp_path / "r.csv", index=False
    )
    out, path = tmp_path / "profiles.csv", tmp_path / "p.duckdb"
    tag_files(model_dir, out, reviews=tmp_path / "r.csv", orders=tmp_path / "orders.csv", db=path)
    table = pd.read_csv(out, dtype={"customer_id": str}).set_index("customer_id")
    with ProfileDatabase(path, read_only=True) as db:
        got = db.profiles().set_index("customer_id")
    with_orders = table["p_alive"].notna()
    assert with_orders.sum() == 20 and (~with_orders).sum() == 10  # the writers without orders: NULL
    for column in ("p_alive", "expected_orders_90d", "clv_12m"):
        assert got.loc[table.index, column].to_numpy() == pytest.approx(table[column].to_numpy(), nan_ok=True)
    flags = got.loc[table.index[with_orders], "churn_risk"].astype(bool)
    assert flags.tolist() == table.loc[with_orders, "churn_risk"].astype(bool).tolist() and flags.any()
    assert got.loc[table.index[~with_orders], "churn_risk"].isna().all()


@pytest.mark.slow
@pytest.mark.parametrize("run", ["tag", "batch"])
def test_runs_without_orders_keep_the_databases_rfm_churn_and_value(tmp_path, run: str) -> None:
    """``tag --db`` without ``--orders`` and ``batch --db`` (never any orders) after a ``tag --orders``:
    the customers keep the RFM, churn and value columns the database holds (before, every buyer
    with a new review became "No orders" with empty churn columns, and an audience such as
    ``rfm_segment = 'At Risk'`` lost them), and the part files carry the same rows."""
    from topicprofile import TopicProfiler
    from topicprofile.app.jobs import fit_files

    corpora = Path(__file__).resolve().parents[2] / "corpora"
    orders = {"orders": corpora / "orders.csv", "orders_columns": {"timestamp": "order_date"}}
    model, db = tmp_path / "model", tmp_path / "p.duckdb"
    fit_files(model, profiler=TopicProfiler(n_topics=6, random_state=0), reviews=corpora / "reviews.csv", **orders)
    tag_files(model, tmp_path / "p.csv", reviews=corpora / "reviews.csv", db=db, **orders)
    behavior = ["recency_days", "frequency", "monetary", "avg_order_value", "r_score", "f_score", "m_score",
                "rfm_segment", "segment_name", "p_alive", "expected_orders_90d", "clv_12m", "churn_risk"]  # fmt: skip
    before = db_state(db)["profiles"].set_index("customer_id")[behavior]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    pd.read_csv(corpora / "reviews.csv", dtype=str).to_csv(inbox / "day1.csv", index=False)  # same texts again
    if run == "tag":
        tag_files(model, tmp_path / "again.csv", reviews=inbox / "day1.csv", db=db)
        written = pd.read_csv(tmp_path / "again.csv", dtype=str)
    else:
        tag_folder(inbox, model_dir=model, out=tmp_path / "out", db=db)
        written = pd.read_csv(next((tmp_path / "out" / "parts").glob("day1*.csv")), dtype=str)
    after = db_state(db)["profiles"].set_index("customer_id")[behavior]
    assert (before["frequency"] > 0).sum() > 300
    pd.testing.assert_frame_equal(before, after)  # same texts, same model: nothing may change
    assert (written["rfm_segment"] != "No orders").sum() > 300


def test_a_model_without_orders_keeps_the_databases_churn_columns_quietly(model_dir, reviews_csv, tmp_path, caplog) -> None:
    """A model fitted without orders: ``tag --orders`` stores churn and value columns, a later ``tag``
    of texts alone keeps them, and says nothing about orders being ignored (it was given none)."""
    db = tmp_path / "p.duckdb"
    ids = pd.read_csv(reviews_csv, dtype=str)["customer_id"].dropna().unique()
    days = pd.date_range("2025-01-01", periods=6, freq="30D")
    orders = pd.DataFrame([{"customer_id": c, "order_id": f"{c}-{k}", "timestamp": d.date().isoformat(),
                            "amount": 20 + k} for c in ids for k, d in enumerate(days[: 2 + len(c) % 4])])  # fmt: skip
    orders.to_csv(tmp_path / "orders.csv", index=False)
    tag_files(model_dir, tmp_path / "a.csv", reviews=reviews_csv, orders=tmp_path / "orders.csv", db=db)
    with ProfileDatabase(db, read_only=True) as database:
        before = database.profiles().set_index("customer_id")[["p_alive", "clv_12m", "churn_risk"]]
    assert before["p_alive"].notna().all()
    caplog.clear()
    tag_files(model_dir, tmp_path / "b.csv", reviews=reviews_csv, db=db)
    with ProfileDatabase(db, read_only=True) as database:
        after = database.profiles().set_index("customer_id")[["p_alive", "clv_12m", "churn_risk"]]
    pd.testing.assert_frame_equal(before, after)
    assert "orders are ignored" not in caplog.text
