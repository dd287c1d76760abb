"""Retention (issue 14): ``prune --retain-days`` deletes old tag history from the profile database and
old texts (with their bags of words and counts) from a model."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy import sparse
from typer.testing import CliRunner

from topicprofile import TopicProfiler, schema
from topicprofile.app.model_retention import prune_model
from topicprofile.app.retention import prune_database
from topicprofile.cli import app
from topicprofile.db import ProfileDatabase, write_recommendations
from topicprofile.errors import ConfigError
from topicprofile.ingest.documents import build_documents
from topicprofile.privacy.training_bows import COUNTS, TERM_IDS, TRAINING_BOWS
from topicprofile.store import model_files
from topicprofile.topics.infer import doc_seeds


def _profiles(label: str) -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["C1", "C2"], "top_interest": [label, "Kitchen"], "interest_tags": [label, "Kitchen"],
        "interest_scores": [json.dumps({label: 0.9}), json.dumps({"Kitchen": 0.8})], "n_documents": [2, 1],
        "keywords": ["boots;tent", "knife"], "interest_topics": ["0", "1"],
    })  # fmt: skip


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "profiles.duckdb"
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)  # the CLI prunes relative to now
    with ProfileDatabase(path) as db:  # C1's tags change: three runs of history, 400, 100 and 0 days old
        for days, label in ((400, "Hiking"), (100, "Outdoor"), (0, "Camping")):
            db.upsert_profiles(_profiles(label), as_of=now - dt.timedelta(days=days))
    return path, now


def test_prune_deletes_history_older_than_the_retention_and_keeps_profiles(database):
    path, now = database
    with ProfileDatabase(path, read_only=True) as db:
        before = db.profiles()
        assert len(db.history("C1")) == 3
    assert (
        "Hiking"
        in duckdb.connect(str(path), read_only=True).execute("SELECT * FROM tag_history").df().to_csv()
    )
    summary = prune_database(path, retain_days=365, now=now)
    assert summary["n_history_removed"] == 2  # C1's and C2's rows of the first run
    with ProfileDatabase(path, read_only=True) as db:
        assert db.history("C1")["label"].tolist() == ["Outdoor", "Camping"]
        pd.testing.assert_frame_equal(db.profiles(), before)
    assert b"Hiking" not in path.read_bytes()  # the file was rewritten: no freed page keeps the old rows
    again = prune_database(path, retain_days=365, now=now)
    assert again["n_history_removed"] == 0 and again["n_history_kept"] == summary["n_history_kept"]


def test_prune_deletes_recommendations_made_before_the_retention(database):
    path, now = database
    for days, customer, item in ((400, "C2", "Zither"), (10, "C1", "Lantern")):  # C2's came from an old run
        recs = pd.DataFrame(
            {"customer_id": [customer], "rank": [1], "item": [item], "score": [0.5], "reason": ["r"]}
        )
        write_recommendations(path, recs, item_kind="product", as_of=now - dt.timedelta(days=days))
    summary = prune_database(path, retain_days=365, now=now)
    assert (summary["n_recommendations_removed"], summary["n_recommendations_kept"]) == (1, 1)
    with ProfileDatabase(path, read_only=True) as db:
        assert db.con.execute("SELECT customer_id, item FROM recommendations").fetchall() == [
            ("C1", "Lantern")
        ]
    assert b"Zither" not in path.read_bytes()  # rewritten
    result = CliRunner().invoke(app, ["prune", "--db", str(path), "--retain-days", "5"])
    assert result.exit_code == 0 and "1 recommendations before" in result.output


def test_prune_cli_and_errors(database, tmp_path):
    path, _ = database
    runner = CliRunner()
    result = runner.invoke(app, ["prune", "--db", str(path), "--retain-days", "1", "--json"])
    assert result.exit_code == 0, result.output
    assert (
        json.loads(result.output)["n_history_kept"] == 1
    )  # C1's change of today (history is kept on change)
    assert runner.invoke(app, ["prune", "--db", str(path), "--retain-days", "0"]).exit_code == 2
    missing = runner.invoke(app, ["prune", "--db", str(tmp_path / "none.duckdb"), "--retain-days", "30"])
    assert missing.exit_code == 1 and "not found" in missing.output
    with pytest.raises(ConfigError, match="retain-days"):
        prune_database(path, retain_days=0)


# -- the model's texts ------------------------------------------------------------------------------
CORPORA = Path(__file__).resolve().parents[2] / "corpora"
AS_OF, DAYS, CUTOFF = "2025-07-01", 365, "2024-07-01"


def _estep(profiler: TopicProfiler, counts: sparse.csr_matrix) -> np.ndarray:
    _, sstats = profiler.topics_._infer_gamma(counts, doc_seeds(counts, profiler.topics_.random_state),
                                              collect_sstats=True)  # fmt: skip
    return sstats


def _pooled(rows: pd.DataFrame, customers: list[str], n_terms: int) -> sparse.csr_matrix:
    """Each customer's summed bag of words from record rows, added up here (dict of counts)."""
    out = sparse.lil_matrix((len(customers), n_terms))
    for i, customer in enumerate(customers):
        mine = rows[rows[schema.CUSTOMER_ID] == customer]
        for ids, values in zip(mine[TERM_IDS], mine[COUNTS], strict=True):
            for t, n in zip(ids, values, strict=True):
                out[i, int(t)] += int(n)
    return out.tocsr()


@pytest.fixture(scope="module")
def dated_model(tmp_path_factory):
    """A model fitted on the sample shop's reviews (dated 2024-01-01 .. 2025-06-30), keeping all texts."""
    folder = tmp_path_factory.mktemp("retention") / "model"
    reviews = pd.read_csv(CORPORA / "reviews.csv", dtype=str)
    TopicProfiler(n_topics=4, passes=3, iterations=60, keep_texts="all").fit(reviews).save(str(folder))
    return folder, reviews


def test_build_documents_keeps_each_documents_day():
    reviews = pd.read_csv(CORPORA / "reviews.csv", dtype=str).head(50)
    browsing = pd.read_json(CORPORA / "browsing.jsonl", lines=True, dtype={"customer_id": str}).head(50)
    docs = build_documents(reviews, browsing)
    expected = [*reviews["timestamp"].str[:10], *browsing["timestamp"].astype(str).str[:10]]
    assert docs[schema.DATE].tolist() == expected  # review dates and browse times, as days: no time of day
    assert docs[schema.DATE].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()


@pytest.mark.slow
def test_prune_model_drops_old_texts_and_their_counts(dated_model, tmp_path):
    source, reviews = dated_model
    model = tmp_path / "model"
    shutil.copytree(source, model)
    profiler = TopicProfiler.load(str(model))
    docs = pd.read_parquet(model_files(model) / "documents.parquet")
    bows = pq.read_table(model_files(model) / TRAINING_BOWS).to_pandas()
    stamps = pd.to_datetime(reviews["timestamp"], errors="coerce").dt.strftime("%Y-%m-%d").fillna("")
    first = docs[docs[schema.CUSTOMER_ID] == "C00530"][schema.DATE].iloc[0]
    assert first == "2024-01-01" == stamps.iloc[0]  # the day of the input row, kept with the text
    old_docs = int(((docs[schema.DATE] != "") & (docs[schema.DATE] < CUTOFF)).sum())
    old_rows = (bows[schema.DATE] != "") & (bows[schema.DATE] < CUTOFF)
    assert 300 < old_docs < len(docs) and old_rows.sum() > 300  # real dates on both sides of the cutoff
    sstats = np.load(model_files(model) / "lda" / "sstats.npy")
    # what the statistics must lose: each touched customer's pooled document, and regain: what is left of it
    touched = sorted(set(bows.loc[old_rows, schema.CUSTOMER_ID]))
    n_terms = len(profiler.dictionary_)
    delta = _estep(profiler, _pooled(bows, touched, n_terms)) - _estep(
        profiler, _pooled(bows[~old_rows], touched, n_terms)
    )

    summary = prune_model(model, retain_days=DAYS, as_of=AS_OF)

    assert summary["cutoff"] == CUTOFF and summary["n_documents_removed"] == old_docs
    assert summary["n_training_rows_removed"] == int(old_rows.sum()) and summary["refit_due"] is True
    kept = pd.read_parquet(model_files(model) / "documents.parquet")
    assert (
        len(kept) == len(docs) - old_docs
        and not ((kept[schema.DATE] != "") & (kept[schema.DATE] < CUTOFF)).any()
    )
    left = pq.read_table(model_files(model) / TRAINING_BOWS).to_pandas()
    assert len(left) == (~old_rows).sum() and (left[schema.DATE] >= CUTOFF).all()
    np.testing.assert_allclose(np.load(model_files(model) / "lda" / "sstats.npy"), np.maximum(sstats - delta, 0.0),
                               rtol=1e-9, atol=1e-9)  # fmt: skip
    gone = summary["statistics"]["n_training_documents_removed"]
    assert gone == len(touched) - len(set(left[schema.CUSTOMER_ID]) & set(touched)) and gone > 0
    manifest = json.loads((model / "manifest.json").read_text())
    assert manifest["privacy"]["refit_due"] and manifest["privacy"]["retention"]["cutoff"] == CUTOFF
    assert [p.name for p in (model / "versions").iterdir() if p.name.isdigit()] == [
        manifest["current"].split("/")[1]
    ]
    old_text = docs[docs[schema.DATE] < CUTOFF][schema.TEXT].iloc[0]
    assert all(old_text not in p.read_bytes().decode("utf-8", "replace") for p in model.rglob("*.json"))
    TopicProfiler.load(str(model))  # loads: exp_elog_beta follows from the new statistics
    again = prune_model(model, retain_days=DAYS, as_of=AS_OF)  # nothing left to drop: no new version
    assert (
        again["version"] is None
        and again["n_documents_removed"] == 0
        and again["n_documents_kept"] == len(kept)
    )


@pytest.mark.slow
def test_prune_cli_on_a_model(dated_model, tmp_path):
    source, _ = dated_model
    model = tmp_path / "model"
    shutil.copytree(source, model)
    runner = CliRunner()
    result = runner.invoke(
        app, ["prune", "-m", str(model), "--retain-days", str(DAYS), "--as-of", AS_OF, "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)["model"]
    assert summary["n_documents_removed"] > 300 and summary["refit_due"] is True
    human = runner.invoke(app, ["prune", "-m", str(model), "--retain-days", "30", "--as-of", "2025-07-01"])
    assert human.exit_code == 0 and "refit due" in human.output, human.output
    assert runner.invoke(app, ["prune", "--retain-days", "30"]).exit_code == 1  # nothing to prune
    bad = runner.invoke(app, ["prune", "-m", str(model), "--retain-days", "30", "--as-of", "July"])
    assert bad.exit_code == 1 and "--as-of" in bad.output
    with pytest.raises(ConfigError, match="retain-days"):
        prune_model(model, retain_days=0)
