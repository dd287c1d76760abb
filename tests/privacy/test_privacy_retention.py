"""Retention (issue 14): ``prune --retain-days`` deletes old tag history from the profile database."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from topicprofile.app.retention import prune_database
from topicprofile.cli import app
from topicprofile.db import ProfileDatabase
from topicprofile.errors import ConfigError


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
