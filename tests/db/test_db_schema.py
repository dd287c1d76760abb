"""Schema version 2 on real DuckDB files: churn and value columns, and a version-1 file or export upgraded in place."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

pytest.importorskip("duckdb", reason="the db extra (duckdb) is not installed")
pytest.importorskip("phonenumbers", reason="the db extra (phonenumbers) is not installed")

from test_db import profiles_frame

from topicprofile.cli import app
from topicprofile.db import ProfileDatabase, write_profiles
from topicprofile.errors import ModelError

# The version-1 tables as topicprofile 1 created them (a copy: the test must not follow schema.py).
V1_DDL = (
    "CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    (
        "CREATE TABLE runs (run_id BIGINT PRIMARY KEY, started_at TIMESTAMP, model_version VARCHAR, "
        "model_manifest VARCHAR, inputs VARCHAR, n_rows BIGINT, n_new BIGINT, n_changed BIGINT)"
    ),
    (
        "CREATE TABLE profiles (customer_id VARCHAR NOT NULL, top_interest VARCHAR, top_score DOUBLE, "
        "interest_tags VARCHAR[], interest_scores MAP(VARCHAR, DOUBLE), interest_topics INTEGER[], topic_shares DOUBLE[], "
        "n_documents INTEGER, n_tokens INTEGER, keywords VARCHAR[], recency_days DOUBLE, frequency DOUBLE, monetary DOUBLE, "
        "avg_order_value DOUBLE, r_score INTEGER, f_score INTEGER, m_score INTEGER, rfm_segment VARCHAR, segment_id INTEGER, "
        "segment_name VARCHAR, last_seen TIMESTAMP, model_version VARCHAR, change_key VARCHAR, changed_run BIGINT)"
    ),
    (
        "CREATE TABLE tag_history (customer_id VARCHAR, run_id BIGINT, topic_id INTEGER, label VARCHAR, score DOUBLE, "
        "model_version VARCHAR, as_of TIMESTAMP)"
    ),
    (
        "CREATE TABLE identifiers (customer_id VARCHAR PRIMARY KEY, email VARCHAR, phone VARCHAR, first_name VARCHAR, "
        "last_name VARCHAR, accepts_email BOOLEAN, accepts_sms BOOLEAN, updated_at TIMESTAMP)"
    ),
    (
        "CREATE TABLE exports (export_id BIGINT PRIMARY KEY, name VARCHAR, destination VARCHAR, filter VARCHAR, "
        "exported_at TIMESTAMP, last_run BIGINT, n_rows BIGINT, n_skipped BIGINT)"
    ),
)
V1_ROWS = (
    "INSERT INTO meta VALUES ('schema_version', '1')",
    "INSERT INTO runs VALUES (1, TIMESTAMP '2026-01-05 02:15:00', 'v1', '{}', '{}', 1, 1, 0)",
    # C000 of profiles_frame() as version 1 wrote it, with version 1's change key
    (
        "INSERT INTO profiles VALUES ('C000', 'Outdoor', 0.6, ['Outdoor', 'Coffee'], MAP {'Outdoor': 0.6, 'Coffee': 0.3}, "
        "[0, 1], [0.6, 0.3, 0.1], 3, NULL, ['tent', 'stove'], 0, 1, 50.5, NULL, NULL, NULL, NULL, 'At Risk', 0, 'Lapsed', "
        "NULL, NULL, 'Outdoor;Coffee' || chr(31) || 'Outdoor' || chr(31) || 'At Risk' || chr(31) || 'Lapsed', 1)"
    ),
    "INSERT INTO tag_history VALUES ('C000', 1, 0, 'Outdoor', 0.6, NULL, TIMESTAMP '2026-01-05 02:15:00')",
    "INSERT INTO identifiers VALUES ('C000', 'ann@example.com', NULL, 'Ann', NULL, TRUE, NULL, TIMESTAMP '2026-01-05')",
)


def make_v1(path: Path) -> Path:
    con = duckdb.connect(str(path))
    try:
        for statement in (*V1_DDL, *V1_ROWS):
            con.execute(statement)
    finally:
        con.close()
    return path


def columns_of(path: Path, table: str) -> dict[str, str]:
    with ProfileDatabase(path, read_only=True) as db:
        return dict(
            db.con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?", [table]
            ).fetchall()
        )


def churn_frame() -> pd.DataFrame:
    """profiles_frame() with tag's churn columns: C000-C003 had orders, C004-C005 none (NaN after the join)."""
    frame = profiles_frame()
    frame["p_alive"] = [0.91, 0.2, 0.55, 0.49, np.nan, np.nan]
    frame["expected_orders_90d"] = [1.2, 0.1, 0.5, 0.4, np.nan, np.nan]
    frame["clv_12m"] = [120.5, 3.0, 40.0, 30.0, np.nan, np.nan]
    frame["churn_risk"] = [False, True, False, True, np.nan, np.nan]  # object column, as tag's join gives
    return frame


def flags(values: pd.Series) -> list[bool | None]:
    return [None if pd.isna(v) else bool(v) for v in values]


def churn_of(path: Path) -> pd.DataFrame:
    with ProfileDatabase(path, read_only=True) as db:
        return db.con.execute(
            "SELECT customer_id, p_alive, expected_orders_90d, clv_12m, churn_risk, changed_run FROM profiles "
            "ORDER BY customer_id"
        ).df()


# -- churn and value columns ---------------------------------------------------------------------
def test_churn_columns_are_typed_and_null_without_orders(tmp_path):
    path = tmp_path / "p.duckdb"
    write_profiles(path, churn_frame())
    types = columns_of(path, "profiles")
    assert [types[c] for c in ("p_alive", "expected_orders_90d", "clv_12m", "churn_risk")] == [
        "DOUBLE", "DOUBLE", "DOUBLE", "BOOLEAN",
    ]  # fmt: skip
    got = churn_of(path)
    assert got["p_alive"].tolist()[:4] == [0.91, 0.2, 0.55, 0.49] and got["p_alive"][4:].isna().all()
    assert got["clv_12m"].tolist()[0] == 120.5
    assert flags(got["churn_risk"]) == [False, True, False, True, None, None]


def test_churn_columns_from_a_csv_of_tag(tmp_path):
    """`db add` of a tag CSV: the flag is text (True/False, empty without orders)."""
    csv = tmp_path / "tags.csv"
    churn_frame().to_csv(csv, index=False)
    text = pd.read_csv(csv, dtype=str, keep_default_na=False)
    assert text["churn_risk"].tolist() == ["False", "True", "False", "True", "", ""]
    write_profiles(tmp_path / "p.duckdb", text)
    got = churn_of(tmp_path / "p.duckdb")
    assert flags(got["churn_risk"]) == [False, True, False, True, None, None]
    assert got["expected_orders_90d"].tolist()[:2] == [1.2, 0.1]


def test_turning_at_risk_is_a_change_and_a_value_move_is_not(tmp_path):
    """change_key carries the churn flag: deltas see a customer turning at risk, not p_alive's drift."""
    path = tmp_path / "p.duckdb"
    write_profiles(path, churn_frame())
    drift = churn_frame().assign(p_alive=lambda f: f["p_alive"] + 0.01, clv_12m=lambda f: f["clv_12m"] * 2)
    assert write_profiles(path, drift)["n_changed"] == 0
    turned = churn_frame()
    turned.loc[0, ["p_alive", "churn_risk"]] = [0.3, True]
    summary = write_profiles(path, turned)
    got = churn_of(path).set_index("customer_id")
    assert summary["n_changed"] == 1 and got.loc["C000", "changed_run"] == summary["run_id"]
    assert (got.drop(index="C000")["changed_run"] == 1).all()
    with ProfileDatabase(path, read_only=True) as db:
        assert db.history("C000")["run_id"].tolist() == [1, 1, 3, 3]  # tags re-recorded on the change


# -- version 1 files and exports -----------------------------------------------------------------
def test_a_version_1_file_is_upgraded_in_place_and_keeps_its_data(tmp_path):
    path = make_v1(tmp_path / "old.duckdb")
    with pytest.raises(ModelError, match="schema version 1") as info:  # reading: one line naming the fix
        ProfileDatabase(path, read_only=True)
    assert "topicprofile db upgrade --db" in str(info.value) and "\n" not in str(info.value)
    with ProfileDatabase(path) as db:
        assert db.migrated_from == 1
    with ProfileDatabase(path, read_only=True) as db:
        assert db.con.execute("SELECT value FROM meta").fetchall() == [("2",)]
        row = db.profiles().iloc[0]
        assert db.counts() == {"meta": 1, "runs": 1, "profiles": 1, "tag_history": 1, "identifiers": 1,
                               "exports": 0, "recommendations": 0, "audience_holdouts": 0}  # fmt: skip
        assert db.history("C000")["label"].tolist() == ["Outdoor"]
    assert row["customer_id"] == "C000" and row["interest_scores"] == {"Outdoor": 0.6, "Coffee": 0.3}
    assert row["monetary"] == 50.5 and pd.isna(row["p_alive"]) and pd.isna(row["churn_risk"])
    assert columns_of(path, "profiles")["churn_risk"] == "BOOLEAN"
    assert set(columns_of(path, "recommendations")) >= {"customer_id", "rank", "item", "item_kind", "as_of"}
    # version 1's change keys stay valid: the same profile written again is no change
    again = write_profiles(path, profiles_frame().iloc[[0]])
    assert (again["n_new"], again["n_changed"]) == (0, 0)


def test_db_upgrade_cli(tmp_path):
    path = make_v1(tmp_path / "old.duckdb")
    runner = CliRunner()
    history = runner.invoke(app, ["history", "--db", str(path), "--customer", "C000"])
    assert history.exit_code == 1 and "topicprofile db upgrade" in history.output
    first = runner.invoke(app, ["db", "upgrade", "--db", str(path)])
    assert first.exit_code == 0 and "schema version 1 -> 2" in first.output
    second = runner.invoke(app, ["db", "upgrade", "--db", str(path), "--json"])
    assert second.exit_code == 0 and json.loads(second.output)["from_version"] == 2
    assert runner.invoke(app, ["history", "--db", str(path), "--customer", "C000"]).exit_code == 0
    missing = runner.invoke(app, ["db", "upgrade", "--db", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 1 and "no profile database" in missing.output


def test_a_newer_file_is_one_error_and_left_alone(tmp_path):
    path = tmp_path / "new.duckdb"
    write_profiles(path, profiles_frame())
    con = duckdb.connect(str(path))
    con.execute("UPDATE meta SET value = '9' WHERE key = 'schema_version'")
    con.close()
    for read_only in (True, False):
        with pytest.raises(ModelError, match="schema version 9"):
            ProfileDatabase(path, read_only=read_only)
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("SELECT value FROM meta").fetchall() == [("9",)]
    con.close()


def test_a_version_1_export_imports(tmp_path):
    old = make_v1(tmp_path / "old.duckdb")
    folder = tmp_path / "backup"
    folder.mkdir()
    con = duckdb.connect(str(old), read_only=True)
    tables = ("meta", "runs", "profiles", "tag_history", "identifiers", "exports")
    for table in tables:  # what `db export` of version 1 wrote
        con.execute(f"COPY (SELECT * FROM {table}) TO '{folder / (table + '.parquet')}' (FORMAT parquet)")
    con.close()
    manifest = {"format": "topicprofile-profiles", "schema_version": 1, "tables": {t: 1 for t in tables}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with ProfileDatabase(tmp_path / "restored.duckdb") as db:
        counts = db.import_parquet(folder)
    assert counts["profiles"] == 1 and counts["recommendations"] == 0
    with ProfileDatabase(tmp_path / "restored.duckdb", read_only=True) as db:  # version 2, not the export's 1
        assert db.con.execute("SELECT value FROM meta").fetchall() == [("2",)]
        row = db.profiles().iloc[0]
    assert row["interest_tags"].tolist() == ["Outdoor", "Coffee"] and pd.isna(row["clv_12m"])
    manifest["schema_version"] = 3
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with (
        ProfileDatabase(tmp_path / "other.duckdb") as db,
        pytest.raises(Exception, match="schema version 1 to 2"),
    ):
        db.import_parquet(folder)


def test_holdout_groups_survive_an_export_and_import(tmp_path: Path) -> None:
    """``audience --holdout``'s groups are part of the backup: after `db export` / `db import` into
    a new file, ``campaign --audience`` finds the same treated and control customers."""
    from topicprofile.db.audience import export_audience, holdout_groups

    source = tmp_path / "a.duckdb"
    write_profiles(source, profiles_frame(60))
    export_audience(source, to="csv", out=tmp_path / "a.csv", name="spring", holdout=0.2, seed=4)
    before = holdout_groups(source, "spring")
    with ProfileDatabase(source) as db:
        db.export_parquet(tmp_path / "backup")
    restored = tmp_path / "b.duckdb"
    with ProfileDatabase(restored) as db:
        db.import_parquet(tmp_path / "backup")
    after = holdout_groups(restored, "spring")
    assert after == before and len(before[2]) == 12


def test_every_customer_table_is_in_the_privacy_map_and_the_schema(tmp_path: Path) -> None:
    """Each table keyed by customer is created with the file and listed by ``privacy-report``."""
    from topicprofile.app.retention import database_report
    from topicprofile.db.schema import CUSTOMER_TABLES, TABLES

    path = tmp_path / "p.duckdb"
    write_profiles(path, profiles_frame(3))
    with ProfileDatabase(path, read_only=True) as db:
        for table in CUSTOMER_TABLES:
            assert table in TABLES
            columns = [r[0] for r in db.con.execute(f"DESCRIBE {table}").fetchall()]
            assert "customer_id" in columns, table
    listed = [entry["path"].rpartition(":")[2] for entry in database_report(path)]
    assert listed == list(CUSTOMER_TABLES)
