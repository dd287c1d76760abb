"""Recommendations in the profile database (real DuckDB files): a run replaces its customers' rows, one
transaction, one writer; the audience filter ``recommended`` and Klaviyo's property read them."""

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

from test_db import HOLDER, profiles_frame

from topicprofile.db import ProfileDatabase, write_profiles, write_recommendations
from topicprofile.db.audience import export_audience, select_audience
from topicprofile.db.exporters import KLAVIYO_HEADER
from topicprofile.db.filters import compile_filter
from topicprofile.db.identifiers import clean_customers
from topicprofile.errors import ConfigError, DataValidationError, ModelError

ROOT = Path(__file__).resolve().parents[2]
HOSTILE_ITEM = "Jazz'); DROP TABLE recommendations; --"


def recs(items: dict[str, list[str]]) -> pd.DataFrame:
    """recommend's long table: customer -> items in rank order."""
    rows = [
        {
            "customer_id": c,
            "rank": r,
            "item": item,
            "score": round(1 - r / 10, 2),
            "reason": f"because {item}",
        }
        for c, its in items.items()
        for r, item in enumerate(its, 1)
    ]
    return pd.DataFrame(rows).astype({"item": "category", "reason": "category"})  # as recommend gives them


def stored(path: Path) -> pd.DataFrame:
    with ProfileDatabase(path, read_only=True) as db:
        return db.con.execute(
            "SELECT customer_id, rank, item, item_kind, score, reason, run_id FROM recommendations "
            "ORDER BY customer_id, rank"
        ).df()


def items_of(path: Path) -> dict[str, list[str]]:
    table = stored(path)
    return {c: group["item"].tolist() for c, group in table.groupby("customer_id")}


def test_a_run_replaces_only_the_customers_it_covers(tmp_path):
    path = tmp_path / "p.duckdb"
    first = write_recommendations(path, recs({"C000": ["Jazz", "Rock"], "C001": ["Pop"]}), item_kind="category",
                                  model_manifest={"model_version": "v7"}, inputs={"orders": {"file": "o.csv"}})  # fmt: skip
    assert first == {"run_id": 1, "n_rows": 3, "n_customers": 2, "n_new": 2, "n_replaced": 0}
    # C000 again, and C002 covered though they get no item now: C001 is not in this run and keeps theirs
    second = write_recommendations(
        path, recs({"C000": ["Blues"]}), item_kind="category", customers=["C000", "C002"]
    )
    assert second == {"run_id": 2, "n_rows": 1, "n_customers": 2, "n_new": 1, "n_replaced": 1}
    assert items_of(path) == {"C000": ["Blues"], "C001": ["Pop"]}
    table = stored(path).set_index("customer_id")
    assert table.loc["C001", "run_id"] == 1 and table.loc["C000", "run_id"] == 2
    assert set(table["item_kind"]) == {"category"} and table.loc["C000", "reason"] == "because Blues"
    with ProfileDatabase(path, read_only=True) as db:
        runs = db.con.execute(
            "SELECT run_id, model_version, inputs, n_rows, n_new, n_changed FROM runs"
        ).fetchall()
    assert runs[0][1] == "v7" and json.loads(runs[0][2]) == {
        "command": "recommend",
        "orders": {"file": "o.csv"},
    }
    assert runs[1][3:] == (1, 1, 1)


def test_bad_tables_change_nothing(tmp_path):
    path = tmp_path / "p.duckdb"
    write_recommendations(path, recs({"C000": ["Jazz"]}), item_kind="product")
    twice = pd.concat([recs({"C000": ["Rock"]}), recs({"C000": ["Pop"]})])
    with pytest.raises(DataValidationError, match="rank 1 twice"):
        write_recommendations(path, twice, item_kind="product")
    with pytest.raises(DataValidationError, match="column"):
        write_recommendations(path, recs({"C000": ["Rock"]}).drop(columns="score"), item_kind="product")
    with pytest.raises(ConfigError, match="item_kind"):
        write_recommendations(path, recs({"C000": ["Rock"]}), item_kind="brand")
    assert items_of(path) == {"C000": ["Jazz"]}


CRASH = """
import os, sys
import pandas as pd
sys.path.insert(0, {tests!r})
from test_recommendations import recs
from topicprofile.db import write_recommendations

class Crash:
    def __str__(self):  # called while the run row is written: after delete + insert, before COMMIT
        os._exit(3)

write_recommendations({path!r}, recs({{"C000": ["Rock", "Pop"]}}), item_kind="category", model_manifest={{"x": Crash()}})
"""


def test_a_process_killed_inside_a_run_leaves_the_previous_recommendations(tmp_path):
    path = tmp_path / "p.duckdb"
    write_recommendations(path, recs({"C000": ["Jazz"], "C001": ["Pop"]}), item_kind="category")
    done = subprocess.run(
        [sys.executable, "-c", CRASH.format(tests=str(Path(__file__).resolve().parent), path=str(path))],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, check=False, text=True,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert items_of(path) == {"C000": ["Jazz"], "C001": ["Pop"]}
    with ProfileDatabase(path, read_only=True) as db:
        assert db.last_run() == 1


def test_a_second_writer_gets_one_clear_error(tmp_path):
    path = tmp_path / "p.duckdb"
    write_recommendations(path, recs({"C000": ["Jazz"]}), item_kind="category")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER.format(path=str(path))], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(ModelError, match="in use by another process") as info:
            write_recommendations(path, recs({"C000": ["Rock"]}), item_kind="category")
        assert "\n" not in str(info.value)
    finally:
        holder.communicate("", timeout=30)
    assert items_of(path) == {"C000": ["Jazz"]}


# -- audiences ----------------------------------------------------------------------------------
@pytest.fixture
def shop(tmp_path) -> Path:
    path = tmp_path / "p.duckdb"
    ids = pd.DataFrame(
        {"customer_id": [f"C00{i}" for i in range(6)], "email": [f"c{i}@shop.org" for i in range(6)]}
    )
    write_profiles(path, profiles_frame(), identifiers=clean_customers(ids)[0])
    write_recommendations(
        path,
        recs(
            {
                "C000": ["Jazz", "Rock, Indie"],
                "C001": ["Rock"],
                "C002": ["Pop", "Jazz"],
                "C003": [HOSTILE_ITEM],
            }
        ),
        item_kind="category",
    )
    return path


def ids_of(path: Path, where: str) -> list[str]:
    with ProfileDatabase(path, read_only=True) as db:
        return select_audience(db, where)["customer_id"].tolist()


def test_recommended_filter_selects_customers_with_the_item(shop):
    assert ids_of(shop, "recommended = 'Jazz'") == ["C000", "C002"]
    assert ids_of(shop, "recommended in ('Rock', 'Pop')") == ["C001", "C002"]
    assert ids_of(shop, "recommended != 'Jazz'") == ["C001", "C003", "C004", "C005"]
    assert ids_of(shop, "recommended not in ('Jazz', 'Rock')") == ["C003", "C004", "C005"]
    assert ids_of(shop, "recommended = 'Jazz' and rfm_segment = 'Can''t Lose'") == ["C002"]
    with pytest.raises(ConfigError, match="recommended takes =, != or in"):
        compile_filter("recommended > 'Jazz'")


def test_a_hostile_recommended_value_is_only_a_parameter(shop):
    where = "recommended = 'Jazz''); DROP TABLE recommendations; --'"
    sql, params = compile_filter(where)
    assert "DROP" not in sql and "'" not in sql and params == [HOSTILE_ITEM]
    assert ids_of(shop, where) == ["C003"]
    with ProfileDatabase(shop, read_only=True) as db:
        assert db.counts()["recommendations"] == 6


def test_klaviyo_gets_the_recommended_items_in_rank_order(shop, tmp_path):
    export_audience(shop, to="klaviyo", out=tmp_path / "k.csv")
    table = pd.read_csv(tmp_path / "k.csv", dtype=str, keep_default_na=False).set_index("Email")
    assert tuple(table.reset_index().columns) == (*KLAVIYO_HEADER, "topicprofile_recommended")
    assert (
        table.loc["c0@shop.org", "topicprofile_recommended"] == "Jazz,Rock Indie"
    )  # a comma in a name: a space
    assert table.loc["c2@shop.org", "topicprofile_recommended"] == "Pop,Jazz"
    assert table.loc["c5@shop.org", "topicprofile_recommended"] == ""
    # no recommendations anywhere: no such column
    empty = tmp_path / "e.duckdb"
    write_profiles(
        empty,
        profiles_frame(),
        identifiers=clean_customers(pd.DataFrame({"customer_id": ["C000"], "email": ["a@b.org"]}))[0],
    )
    export_audience(empty, to="klaviyo", out=tmp_path / "e.csv")
    assert tuple(pd.read_csv(tmp_path / "e.csv").columns) == KLAVIYO_HEADER


def test_recommendations_travel_in_db_export_and_import(shop, tmp_path):
    with ProfileDatabase(shop, read_only=True) as db:
        counts = db.export_parquet(tmp_path / "backup")
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert counts["recommendations"] == 6 and manifest["schema_version"] == 2
    with ProfileDatabase(tmp_path / "restored.duckdb") as db:
        assert db.import_parquet(tmp_path / "backup") == counts
    pd.testing.assert_frame_equal(stored(shop), stored(tmp_path / "restored.duckdb"))
