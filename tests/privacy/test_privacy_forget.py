"""``topicprofile forget`` (issue 14): a customer leaves no trace in any file the project wrote."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from topicprofile import schema
from topicprofile.app.actions import recommend_files
from topicprofile.app.forget import forget_customers
from topicprofile.cli import app
from topicprofile.db import ProfileDatabase, write_profiles
from topicprofile.db.audience import export_audience
from topicprofile.errors import DataValidationError
from topicprofile.privacy.erasure import erasure_hash

CORPORA = Path(__file__).resolve().parents[2] / "corpora"
GONE = "C00530"  # a real customer of the sample shop
PHRASE = "zanzibar quokka lantern"
KEPT = "C00356"  # another customer, who stays


def _inputs(folder: Path) -> Path:
    """The sample shop's reviews plus two reviews of GONE: one with a unique phrase, one twice
    (the duplicate is rejected, so rejects.csv holds GONE's text too)."""
    reviews = pd.read_csv(CORPORA / "reviews.csv", dtype=str)
    planted = pd.DataFrame({
        schema.CUSTOMER_ID: [GONE] * 3, "review_id": ["R90001", "R90002", "R90002"],
        "product": ["Lantern"] * 3, "rating": ["5"] * 3, "timestamp": ["2024-05-01"] * 3,
        "text": [f"My {PHRASE} glowed all night at the campsite, sturdy tent pegs too.",
                 f"Second {PHRASE} bought for the garden; the kettle is fine.",
                 f"Second {PHRASE} bought for the garden; the kettle is fine."],
    })  # fmt: skip
    folder.mkdir()
    path = folder / "reviews.csv"
    pd.concat([reviews, planted], ignore_index=True).to_csv(path, index=False)
    return path


def _decoded(path: Path) -> str:
    """The file's bytes as text, plus, for Parquet (compressed pages), its decoded values."""
    blob = path.read_bytes().decode("utf-8", "replace")
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        blob += "\n".join(frame[c].astype(str).str.cat(sep="\n") for c in frame.columns)
    return blob


def _db_text(path: Path) -> str:
    """Every value of every table of a DuckDB file, as text (strings may be stored compressed)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        return "\n".join(con.execute(f"SELECT * FROM {t}").df().astype(str).to_csv() for t in tables)
    finally:
        con.close()


def _tree_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(
        p for p in root.rglob("*") if p.is_file() and p.name not in ("model.lock", "batch.lock")
    ):
        digest.update(path.relative_to(root).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """Fit, batch and a profile database holding GONE; the token cache in the folder too."""
    root = tmp_path_factory.mktemp("forget")
    patch = pytest.MonkeyPatch()
    patch.setenv("TOPICPROFILE_CACHE_DIR", str(root / "cache"))
    reviews = _inputs(root / "inbox")
    runner = CliRunner()
    for args in (
        ["fit", "-m", str(root / "model"), "-r", str(reviews), "-k", "4", "--quiet"],
        ["batch", "-m", str(root / "model"), "-i", str(root / "inbox"), "-o", str(root / "batch"), "--quiet"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    profiles = pd.read_csv(root / "batch" / "profiles.csv", dtype=str, keep_default_na=False).drop(
        columns=["source"]
    )
    identifiers = pd.DataFrame({
        schema.CUSTOMER_ID: [GONE, KEPT], "email": ["gone@example.com", "kept@example.com"], "phone": [None, None],
        "first_name": ["Gone", "Kept"], "last_name": [None, None], "accepts_email": [True, True], "accepts_sms": [False, False],
    })  # fmt: skip
    write_profiles(root / "profiles.duckdb", pd.read_parquet(next((root / "model").rglob("profiles.parquet"))),
                   identifiers=identifiers)  # fmt: skip
    # the shop's recommendations (GONE has orders) and an audience with a holdout group in the database;
    # the audience's own files go elsewhere (they are the shop's to delete, not forget's)
    recommend_files(
        CORPORA / "orders.csv", db=root / "profiles.duckdb", orders_columns={"timestamp": "order_date"}, top=2
    )
    export_audience(root / "profiles.duckdb", to="csv", out=tmp_path_factory.mktemp("audience") / "a.csv",
                    holdout=0.5)  # fmt: skip
    yield root, profiles
    patch.undo()


def _written(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and "inbox" not in p.parts]


def test_forget_leaves_no_trace_and_keeps_everyone_else(shop):
    root, _ = shop
    model_profiles = pd.read_parquet(next((root / "model").rglob("profiles.parquet")))
    batch_before = pd.read_csv(root / "batch" / "profiles.csv", dtype=str, keep_default_na=False)
    with ProfileDatabase(root / "profiles.duckdb", read_only=True) as db:
        db_before = db.profiles()
        recs_before = db.con.execute("SELECT * FROM recommendations ORDER BY customer_id, rank").df()
        holdout_before = db.con.execute("SELECT * FROM audience_holdouts ORDER BY customer_id").df()
    # before: the customer is in every place (so the search below can fail)
    assert GONE in set(recs_before[schema.CUSTOMER_ID]) and GONE in set(holdout_before[schema.CUSTOMER_ID])
    holders = {p.name for p in _written(root) if GONE in _decoded(p)}
    assert {
        "profiles.parquet",
        "documents.parquet",
        "training_bows.parquet",
        "profiles.csv",
        "profiles.duckdb",
    } <= holders, holders
    n_bows = pd.read_parquet(next((root / "model").rglob("training_bows.parquet")))[
        schema.CUSTOMER_ID
    ].value_counts()
    assert "rejects.csv" in {p.name for p in _written(root) if PHRASE in _decoded(p)}  # the duplicate review
    assert any(
        p.suffix == ".parquet" and "cache" in p.parts and "zanzibar" in _decoded(p) for p in _written(root)
    )
    assert GONE in _db_text(root / "profiles.duckdb") and "gone@example.com" in _db_text(
        root / "profiles.duckdb"
    )

    result = CliRunner().invoke(app, ["forget", GONE, "-m", str(root / "model"), "--db", str(root / "profiles.duckdb"),
                                      "--batch-out", str(root / "batch")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "erased" in result.output

    for path in _written(root):
        blob = _decoded(path)
        assert GONE not in blob and PHRASE not in blob and "zanzibar" not in blob, path.relative_to(root)
        assert "gone@example.com" not in blob, path.relative_to(root)
    assert GONE not in _db_text(root / "profiles.duckdb") and "gone@example.com" not in _db_text(
        root / "profiles.duckdb"
    )
    # everyone else unchanged, in the model, the batch output and the database
    after = pd.read_parquet(next((root / "model").rglob("profiles.parquet")))
    pd.testing.assert_frame_equal(
        after, model_profiles[model_profiles[schema.CUSTOMER_ID] != GONE].reset_index(drop=True)
    )
    batch_after = pd.read_csv(root / "batch" / "profiles.csv", dtype=str, keep_default_na=False)
    expected = batch_before[batch_before[schema.CUSTOMER_ID] != GONE].reset_index(drop=True)
    pd.testing.assert_frame_equal(batch_after, expected)
    with ProfileDatabase(root / "profiles.duckdb", read_only=True) as db:
        pd.testing.assert_frame_equal(
            db.profiles(), db_before[db_before[schema.CUSTOMER_ID] != GONE].reset_index(drop=True)
        )
        assert db.con.execute("SELECT count(*) FROM identifiers").fetchall()[0][0] == 1
        pd.testing.assert_frame_equal(  # everyone else's recommendations and holdout groups stay
            db.con.execute("SELECT * FROM recommendations ORDER BY customer_id, rank").df(),
            recs_before[recs_before[schema.CUSTOMER_ID] != GONE].reset_index(drop=True),
        )
        holdout_after = db.con.execute("SELECT * FROM audience_holdouts ORDER BY customer_id").df()
        assert holdout_after[schema.CUSTOMER_ID].tolist() == [
            c for c in holdout_before[schema.CUSTOMER_ID] if c != GONE
        ]
    # the model: one version left, loadable, marked for a refit; the log holds a hash, not the id
    manifest = json.loads((root / "model" / "manifest.json").read_text())
    assert manifest["privacy"]["refit_due"] is True and manifest["privacy"]["erased_customers"] == 1
    assert [p.name for p in (root / "model" / "versions").iterdir() if p.name.isdigit()] == [
        manifest["current"].split("/")[1]
    ]
    log = [json.loads(line) for line in (root / "model" / "erasure_log.jsonl").read_text().splitlines()]
    assert [e["customer_hash"] for e in log] == [erasure_hash(GONE)]
    # one review from the shop and the two planted (their duplicate was rejected)
    assert log[0]["removed"]["model documents.parquet"] == 3 and log[0]["removed"]["db identifiers"] == 1
    assert log[0]["removed"]["db recommendations"] == 2 and log[0]["removed"]["db audience_holdouts"] == 1
    # their bags of words are gone (their rows: one per fitted text), everyone else's stay
    assert log[0]["removed"]["model training_bows.parquet"] == n_bows[GONE] == 3
    left = pd.read_parquet(next((root / "model").rglob("training_bows.parquet")))[
        schema.CUSTOMER_ID
    ].value_counts()
    pd.testing.assert_series_equal(left, n_bows.drop(GONE))
    explained = CliRunner().invoke(app, ["explain", "-m", str(root / "model"), "-c", KEPT])
    assert explained.exit_code == 0, explained.output
    # a batch run afterwards accepts the forgotten model and does not bring GONE back
    again = CliRunner().invoke(
        app,
        ["batch", "-m", str(root / "model"), "-i", str(root / "inbox"), "-o", str(root / "batch"), "--quiet"],
    )
    assert again.exit_code == 0, again.output
    assert GONE not in (root / "batch" / "profiles.csv").read_text()


def test_forget_is_idempotent_and_unknown_ids_exit_1(shop):
    root, _ = shop
    if (root / "model" / "erasure_log.jsonl").exists() is False:
        forget_customers(
            [GONE], model_dir=root / "model", db=root / "profiles.duckdb", batch_out=root / "batch"
        )
    before = _tree_hash(root)
    runner = CliRunner()
    places = [
        "-m",
        str(root / "model"),
        "--db",
        str(root / "profiles.duckdb"),
        "--batch-out",
        str(root / "batch"),
    ]
    result = runner.invoke(app, ["forget", "--customer", GONE, *places])
    assert result.exit_code == 0 and "already erased" in result.output
    unknown = runner.invoke(app, ["forget", "NOBODY-1", *places])
    assert unknown.exit_code == 1 and "unknown customer id(s) 'NOBODY-1'" in unknown.output
    mixed = runner.invoke(app, ["forget", KEPT, "NOBODY-1", *places])
    assert mixed.exit_code == 1  # nothing is changed, not even KEPT
    assert _tree_hash(root) == before
    with pytest.raises(DataValidationError, match="NOBODY-2"):
        forget_customers(["NOBODY-2"], model_dir=root / "model")


def test_forget_needs_a_place_and_ids():
    runner = CliRunner()
    assert runner.invoke(app, ["forget", "C1"]).exit_code == 1
    assert runner.invoke(app, ["forget", "-m", "x"]).exit_code == 1


def test_privacy_report_shows_the_erasure_log_and_the_database(shop):
    root, _ = shop
    if not (root / "model" / "erasure_log.jsonl").exists():
        forget_customers(
            [GONE], model_dir=root / "model", db=root / "profiles.duckdb", batch_out=root / "batch"
        )
    runner = CliRunner()
    result = runner.invoke(
        app, ["privacy-report", "-m", str(root / "model"), "--db", str(root / "profiles.duckdb"), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["erasure_log"]["n_entries"] == 1 and report["erasure_log"]["entries"][0][
        "customer_hash"
    ] == erasure_hash(GONE)
    assert report["settings"]["refit_due"] is True and report["settings"]["erased_customers"] == 1
    assert report["settings"]["statistics_subtracted"] is True
    bows = [e for e in report["files"] if e["path"].endswith("training_bows.parquet")]
    assert (
        len(bows) == 1
        and "bag of words" in bows[0]["holds"]
        and 0 < bows[0]["n_customers"] <= report["n_customers"]
    )
    assert "term_ids" in bows[0]["columns"] and "date" in bows[0]["columns"]
    tables = {e["path"].rsplit(":", 1)[1]: e for e in report["database"]}
    assert tables["identifiers"]["n_customers"] == 1 and "email" in tables["identifiers"]["columns"]
    assert tables["profiles"]["n_customers"] == report["n_customers"]
    assert "item" in tables["recommendations"]["columns"] and tables["recommendations"]["n_customers"] == 379
    human = runner.invoke(
        app, ["privacy-report", "-m", str(root / "model"), "--db", str(root / "profiles.duckdb")]
    )
    assert human.exit_code == 0 and "1 customer(s) erased" in human.output and "identifiers" in human.output
