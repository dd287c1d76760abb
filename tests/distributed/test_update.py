"""``update --dask``: the affected customers profiled on a real Dask cluster give the local update's
model and database rows exactly; an unreachable scheduler stops the update before anything is written."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

distributed = pytest.importorskip(
    "distributed", reason='the dask extra is not installed (pip install "topicprofile[dask]")'
)
pytest.importorskip("duckdb", reason="the db extra (duckdb) is not installed")

from topicprofile import TopicProfiler
from topicprofile.app.jobs import tag_files
from topicprofile.cli import app
from topicprofile.db import ProfileDatabase
from topicprofile.distributed import cluster as cluster_module
from topicprofile.store import model_files

runner = CliRunner()
FIT = {"n_topics": 4, "random_state": 3, "trainer": "vb", "passes": 2}


@pytest.fixture(scope="module")
def reviews(shared_data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """300 real Amazon reviews of 100 customers to fit on, and 60 newer ones: 40 of known customers, 20 of new."""
    frame = pd.read_csv(shared_data / "en_amazon_reviews_4cats.csv.bz2", dtype=str, nrows=3000)
    sample = frame.sample(360, random_state=2).reset_index(drop=True)
    ids = (
        [f"c{i % 100:03d}" for i in range(300)]
        + [f"c{i % 20:03d}" for i in range(40)]
        + [f"n{i:02d}" for i in range(20)]
    )
    table = pd.DataFrame({"customer_id": ids, "text": sample["text"]})
    return table.iloc[:300], table.iloc[300:]


def _model_and_db(profiler: TopicProfiler, old: Path, folder: Path) -> tuple[Path, Path]:
    model, db = folder / "model", folder / "p.duckdb"
    profiler.save(str(model))
    tag_files(model, folder / "profiles.csv", reviews=old, db=db)
    return model, db


def _lda_arrays(model: Path) -> dict[str, np.ndarray]:
    files = model_files(model)
    return {name: np.load(files / "lda" / f"{name}.npy") for name in ("sstats", "exp_elog_beta")}


def _rows(db: Path) -> pd.DataFrame:
    with ProfileDatabase(db, read_only=True) as con:
        return con.con.execute("SELECT * EXCLUDE (changed_run) FROM profiles ORDER BY customer_id").df()


@pytest.mark.slow
def test_distributed_update_gives_the_local_model_and_rows(reviews, cluster, tmp_path: Path) -> None:
    local, client = cluster
    old, new = tmp_path / "old.csv", tmp_path / "new.csv"
    reviews[0].to_csv(old, index=False)
    reviews[1].to_csv(new, index=False)
    profiler = TopicProfiler(**FIT).fit(reviews=reviews[0])
    here, there = (
        _model_and_db(profiler, old, tmp_path / "here"),
        _model_and_db(profiler, old, tmp_path / "there"),
    )
    before = _lda_arrays(here[0])
    update = ["update", "--reviews", str(new), "--json"]
    result = runner.invoke(app, [*update, "--model-dir", str(here[0]), "--db", str(here[1])])
    assert result.exit_code == 0, result.output
    with distributed.get_task_stream(client) as stream:
        result = runner.invoke(
            app,
            [*update, "--model-dir", str(there[0]), "--db", str(there[1]), "--dask", local.scheduler_address],
        )
    assert result.exit_code == 0, result.output
    parts = {part for task in stream.data for part in str(task["key"]).split("-")}
    assert "tag" in parts  # the customers were profiled on the cluster
    arrays = _lda_arrays(here[0])
    assert not np.array_equal(arrays["sstats"], before["sstats"])  # the new texts were folded in
    for name, array in _lda_arrays(there[0]).items():
        assert np.array_equal(array, arrays[name]), name
    rows = _rows(here[1])
    assert len(rows) == 120  # the 100 fitted customers and the 20 new ones
    pd.testing.assert_frame_equal(_rows(there[1]), rows)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_distributed_update_unreachable_scheduler_writes_nothing(
    tiny_profiler, tiny_reviews, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cluster_module, "CONNECT_TIMEOUT", 2)
    reviews = tmp_path / "reviews.csv"
    tiny_reviews.to_csv(reviews, index=False)
    model, db = _model_and_db(tiny_profiler, reviews, tmp_path)
    version, rows = model_files(model), _rows(db)
    address = f"tcp://127.0.0.1:{_closed_port()}"
    result = runner.invoke(app, ["update", "--model-dir", str(model), "--db", str(db), "--reviews", str(reviews),
                                 "--dask", address])  # fmt: skip
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach the Dask scheduler at"), result.output
    assert "Traceback" not in result.output
    assert model_files(model) == version  # no new model version
    pd.testing.assert_frame_equal(_rows(db), rows)
    assert not (model / "update.rejects.csv").exists()
