"""The profile database on a real DuckDB file: upserts, transactions, the write lock, backups, identifiers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("duckdb", reason="the db extra (duckdb) is not installed")
pytest.importorskip("phonenumbers", reason="the db extra (phonenumbers) is not installed")

from topicprofile.db import ProfileDatabase, write_profiles
from topicprofile.db.identifiers import clean_customers, normalize_phone
from topicprofile.errors import DataValidationError, ModelError

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "demo_profiles.csv"


def profiles_frame(n: int = 6) -> pd.DataFrame:
    """A `tag` output table in its text form (;-joined tags, JSON scores, topic_k shares)."""
    labels = ["Outdoor", "Coffee", "Beauty"]
    rows = []
    for i in range(n):
        a, b = labels[i % 3], labels[(i + 1) % 3]
        rows.append({
            "customer_id": f"C{i:03d}", "top_interest": a, "interest_tags": f"{a};{b}",
            "interest_scores": json.dumps({a: 0.6, b: 0.3}), "interest_topics": f"{i % 3};{(i + 1) % 3}",
            "n_documents": 3 + i, "keywords": "tent;stove", "recency_days": 10 * i, "frequency": 1 + i,
            "monetary": 50.5 * (i + 1), "rfm_segment": ["At Risk", "Champions", "Can't Lose"][i % 3],
            "segment_id": i % 2, "segment_name": "Lapsed", "topic_0": 0.6, "topic_1": 0.3, "topic_2": 0.1,
        })  # fmt: skip
    return pd.DataFrame(rows)


def snapshot(path: Path) -> dict[str, pd.DataFrame]:
    with ProfileDatabase(path, read_only=True) as db:
        return {
            "profiles": db.profiles(),
            "history": db.con.execute("SELECT * EXCLUDE (as_of) FROM tag_history ORDER BY ALL").df(),
            "runs": db.con.execute("SELECT run_id, n_rows FROM runs ORDER BY run_id").df(),
        }


def test_tables_are_typed_not_strings(tmp_path):
    path = tmp_path / "p.duckdb"
    write_profiles(path, profiles_frame())
    with ProfileDatabase(path, read_only=True) as db:
        types = dict(
            db.con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'profiles'"
            ).fetchall()
        )
        row = db.con.execute(
            "SELECT interest_scores['Coffee'], topic_shares, interest_tags FROM profiles WHERE customer_id = 'C000'"
        ).fetchall()[0]
    assert types["interest_scores"] == "MAP(VARCHAR, DOUBLE)"
    assert types["topic_shares"] == "DOUBLE[]" and types["interest_tags"] == "VARCHAR[]"
    assert row == (0.3, [0.6, 0.3, 0.1], ["Outdoor", "Coffee"])


def test_upsert_twice_gives_the_same_database(tmp_path):
    path = tmp_path / "p.duckdb"
    first = write_profiles(path, profiles_frame(), model_manifest={"model_version": "v1"})
    before = snapshot(path)
    second = write_profiles(path, profiles_frame(), model_manifest={"model_version": "v1"})
    after = snapshot(path)
    assert (first["n_new"], second["n_new"], second["n_changed"]) == (6, 0, 0)
    pd.testing.assert_frame_equal(before["profiles"], after["profiles"])
    pd.testing.assert_frame_equal(before["history"], after["history"])
    assert after["runs"]["run_id"].tolist() == [1, 2]  # the run itself is recorded


def test_golden_tag_output_round_trips(tmp_path):
    table = pd.read_csv(GOLDEN, dtype=str, keep_default_na=False)
    summary = write_profiles(tmp_path / "p.duckdb", table)
    with ProfileDatabase(tmp_path / "p.duckdb", read_only=True) as db:
        got = db.profiles().set_index("customer_id")
    assert summary["n_rows"] == len(table) == len(got)
    first = table.iloc[0]
    assert got.loc[first.customer_id, "interest_scores"] == json.loads(first.interest_scores)
    assert got.loc[first.customer_id, "interest_tags"].tolist() == first.interest_tags.split(";")
    assert got.loc[first.customer_id, "rfm_segment"] == first.rfm_segment


def test_one_customers_update_leaves_the_others_untouched(tmp_path):
    path = tmp_path / "p.duckdb"
    write_profiles(path, profiles_frame())
    before = snapshot(path)["profiles"].set_index("customer_id")
    one = profiles_frame().iloc[[2]].assign(rfm_segment="Hibernating", monetary=1.0)
    summary = write_profiles(path, one)
    after = snapshot(path)["profiles"].set_index("customer_id")
    assert summary == {"run_id": 2, "n_rows": 1, "n_new": 0, "n_changed": 1}
    others = [c for c in before.index if c != "C002"]
    pd.testing.assert_frame_equal(before.loc[others], after.loc[others])
    assert after.loc["C002", "rfm_segment"] == "Hibernating" and after.loc["C002", "changed_run"] == 2
    with ProfileDatabase(path, read_only=True) as db:
        assert db.history("C002")["run_id"].tolist() == [1, 1, 2, 2]  # two tags, re-recorded on the change


def test_repeated_ids_in_one_batch_keep_the_last_row(tmp_path):
    table = pd.concat([profiles_frame(2), profiles_frame(2).assign(monetary=999.0)], ignore_index=True)
    summary = write_profiles(tmp_path / "p.duckdb", table)
    got = snapshot(tmp_path / "p.duckdb")["profiles"]
    assert summary["n_rows"] == 2 and got["monetary"].tolist() == [999.0, 999.0]


def test_a_failing_batch_leaves_the_previous_state(tmp_path):
    path = tmp_path / "p.duckdb"
    write_profiles(path, profiles_frame())
    before = snapshot(path)
    bad = profiles_frame().assign(rfm_segment="Changed")
    bad.loc[4, "interest_scores"] = "{not json"
    with pytest.raises(DataValidationError, match="row 5: interest_scores"):
        write_profiles(path, bad)
    after = snapshot(path)
    for name in before:
        pd.testing.assert_frame_equal(before[name], after[name])


CRASH = """
import os, sys
import pandas as pd
from topicprofile.db import ProfileDatabase
sys.path.insert(0, {tests!r})
from test_db import profiles_frame

class Crash:
    def __str__(self):  # called while the run row is written: after the upsert, before COMMIT
        os._exit(3)

with ProfileDatabase({path!r}) as db:
    db.upsert_profiles(profiles_frame().assign(rfm_segment="Changed"), model_manifest={{"x": Crash()}})
"""


def test_a_process_killed_inside_a_batch_leaves_the_previous_state(tmp_path):
    path = tmp_path / "p.duckdb"
    write_profiles(path, profiles_frame())
    before = snapshot(path)
    script = CRASH.format(tests=str(Path(__file__).resolve().parent), path=str(path))
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        check=False,
        text=True,
    )
    assert done.returncode == 3, done.stderr
    after = snapshot(path)
    for name in before:
        pd.testing.assert_frame_equal(before[name], after[name])
    assert (after["profiles"]["rfm_segment"] != "Changed").all()


HOLDER = """
import sys
from topicprofile.db import ProfileDatabase
db = ProfileDatabase({path!r})
print("ready", flush=True)
sys.stdin.read()
"""


def test_a_second_writer_gets_one_clear_error(tmp_path):
    path = tmp_path / "p.duckdb"
    write_profiles(path, profiles_frame())
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER.format(path=str(path))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(ModelError, match="in use by another process") as info:
            write_profiles(path, profiles_frame())
        assert str(path) in str(info.value) and "\n" not in str(info.value)
        cli = subprocess.run(
            [sys.executable, "-m", "topicprofile", "db", "add", str(GOLDEN), "--db", str(path)],
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip
        assert cli.returncode == 1
        assert cli.stderr.strip().startswith("error:") and "in use by another process" in cli.stderr
        assert "Traceback" not in cli.stderr
    finally:
        holder.communicate("", timeout=30)
    assert write_profiles(path, profiles_frame())["n_new"] == 0  # free again once the holder is gone


def test_parquet_export_and_import_round_trip(tmp_path):
    path = tmp_path / "p.duckdb"
    write_profiles(
        path,
        profiles_frame(),
        identifiers=clean_customers(pd.DataFrame({"customer_id": ["C001"], "email": ["a@b.org"]}))[0],
    )
    with ProfileDatabase(path, read_only=True) as db:
        counts = db.export_parquet(tmp_path / "backup")
    assert sorted(p.name for p in (tmp_path / "backup").iterdir()) == sorted(
        ["manifest.json", *(f"{t}.parquet" for t in counts)]
    )
    with ProfileDatabase(tmp_path / "restored.duckdb") as db:
        assert db.import_parquet(tmp_path / "backup") == counts
    for name, table in snapshot(path).items():
        pd.testing.assert_frame_equal(table, snapshot(tmp_path / "restored.duckdb")[name])
    (tmp_path / "backup" / "manifest.json").write_text("{}")
    with (
        ProfileDatabase(tmp_path / "other.duckdb") as db,
        pytest.raises(DataValidationError, match="manifest.json"),
    ):
        db.import_parquet(tmp_path / "backup")


def test_not_a_profile_database_is_one_error(tmp_path):
    (tmp_path / "junk.duckdb").write_bytes(b"not a database" * 100)
    with pytest.raises(ModelError, match="junk.duckdb"):
        ProfileDatabase(tmp_path / "junk.duckdb")


def test_customer_export_is_validated_into_rejects():
    export = pd.DataFrame({
        "Customer ID": ["1", "2", "3", "", "4"],
        "Email": [" Ann@Example.COM ", "bob@", "", "x@y.com", "=cmd@evil.com"],
        "Phone": ["+1 (415) 555-2671", "12", "030 901820", "", ""],
        "First Name": ["Ann", "Bob", "Cem", "", "Eve"],
        "Accepts Email Marketing": ["yes", "no", "perhaps", "", "no"],
    })  # fmt: skip
    ids, rejects = clean_customers(export, source="customers.csv", region="DE")
    assert ids["customer_id"].tolist() == ["1", "2", "3", "4"]
    assert ids["email"].tolist()[:3] == ["ann@example.com", None, None]
    assert ids["phone"].tolist()[:3] == ["+14155552671", None, "+4930901820"]
    assert ids["accepts_email"].tolist()[:2] == [True, False]
    reasons = {(r.column, r.value): r.reason for r in rejects.itertuples()}
    assert reasons[("email", "bob@")] == "not an e-mail address"
    assert reasons[("phone", "12")].startswith("not a valid phone number")
    assert reasons[("accepts_email", "perhaps")] == "consent flag is not yes/no"
    assert reasons[("customer_id", "")] == "empty customer id"
    assert list(rejects.columns) == ["source", "row", "column", "reason", "value"]


def test_phone_without_country_needs_a_region():
    assert normalize_phone("030 901820") is None
    assert normalize_phone("030 901820", region="DE") == "+4930901820"
    assert normalize_phone("'+14155552671") == "+14155552671"  # a spreadsheet-escaped cell
