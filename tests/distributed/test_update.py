"""``update --dask``: the new texts counted and folded on a real Dask cluster, and the affected
customers profiled there, give the local update's model version (every saved file) and database rows
exactly; the driver tokenizes nothing; a worker killed mid-fold is retried to the same folded topics;
an unreachable scheduler stops the update before anything is written.

The fold's blocks are made small here (``REDUCE_BLOCK``) so that 60 new reviews make several blocks
spread over both workers and added in the tree; the local update uses the same blocks."""

from __future__ import annotations

import json
import os
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
from topicprofile.app import update as update_module
from topicprofile.app.jobs import tag_files
from topicprofile.app.update import update_files
from topicprofile.cli import app
from topicprofile.config import RunOptions
from topicprofile.db import ProfileDatabase
from topicprofile.distributed import DaskBackend
from topicprofile.distributed import cluster as cluster_module
from topicprofile.distributed.fold import cluster_fold_estep
from topicprofile.store import model_files
from topicprofile.text.encoder import TextEncoder
from topicprofile.topics import lda as lda_module
from topicprofile.topics.fold import fold_documents
from topicprofile.topics.lda import LdaTopics

runner = CliRunner()
FIT = {"n_topics": 4, "random_state": 3, "trainer": "vb", "passes": 2}
BLOCK = 16  # fold rows per block here: the 60 new reviews' non-empty rows -> 3 or more blocks


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


@pytest.fixture(scope="module")
def fitted(reviews) -> TopicProfiler:
    return TopicProfiler(**FIT).fit(reviews=reviews[0])


@pytest.fixture(scope="module")
def fitted_all(reviews) -> TopicProfiler:
    """A model that keeps every text (``keep_texts="all"``): its updates save the new texts too."""
    return TopicProfiler(**FIT, keep_texts="all").fit(reviews=reviews[0])


def _model_and_db(profiler: TopicProfiler, old: Path, folder: Path) -> tuple[Path, Path]:
    model, db = folder / "model", folder / "p.duckdb"
    profiler.save(str(model))
    tag_files(model, folder / "profiles.csv", reviews=old, db=db)
    return model, db


def _lda_arrays(model: Path) -> dict[str, np.ndarray]:
    files = model_files(model)
    return {name: np.load(files / "lda" / f"{name}.npy") for name in ("sstats", "exp_elog_beta")}


def _version_files(model: Path) -> dict[str, bytes]:
    """Every file of the model's current version (arrays, dictionary, documents, training record...)."""
    files = model_files(model)
    return {
        str(path.relative_to(files)): path.read_bytes() for path in sorted(files.rglob("*")) if path.is_file()
    }


def _rows(db: Path) -> pd.DataFrame:
    with ProfileDatabase(db, read_only=True) as con:
        return con.con.execute("SELECT * EXCLUDE (changed_run) FROM profiles ORDER BY customer_id").df()


def _no_tokens_here(*args, **kwargs):
    raise AssertionError("the driver tokenized texts during update --dask")


@pytest.mark.slow
def test_distributed_update_gives_the_local_model_and_rows(
    reviews, fitted, cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local, client = cluster
    old, new = tmp_path / "old.csv", tmp_path / "new.csv"
    reviews[0].to_csv(old, index=False)
    reviews[1].to_csv(new, index=False)
    here, there = (
        _model_and_db(fitted, old, tmp_path / "here"),
        _model_and_db(fitted, old, tmp_path / "there"),
    )
    before = _lda_arrays(here[0])
    monkeypatch.setattr(lda_module, "REDUCE_BLOCK", BLOCK)
    update = ["update", "--reviews", str(new), "--fold-passes", "2", "--json"]
    result = runner.invoke(app, [*update, "--model-dir", str(here[0]), "--db", str(here[1])])
    assert result.exit_code == 0, result.output
    with monkeypatch.context() as driver:  # the texts are tokenized on the workers only
        driver.setattr(TextEncoder, "tokens", _no_tokens_here)
        driver.setattr(TextEncoder, "iter_counts", _no_tokens_here)
        with distributed.get_task_stream(client) as stream:
            remote = runner.invoke(
                app,
                [
                    *update,
                    "--model-dir",
                    str(there[0]),
                    "--db",
                    str(there[1]),
                    "--dask",
                    local.scheduler_address,
                ],
            )
    assert remote.exit_code == 0, remote.output
    keys = [str(task["key"]) for task in stream.data]
    assert any("-count-" in key for key in keys)  # the new texts were counted on the cluster
    n_fold = sum("-fold-sstats-" in key for key in keys)  # 2 rounds of the fold, one task per block
    assert n_fold % 2 == 0 and n_fold // 2 >= 3, n_fold  # several blocks, added in the tree on the workers
    assert any("-sum-fold-" in key for key in keys)
    assert any("-tag-" in key for key in keys)  # the customers were profiled on the cluster
    arrays = _lda_arrays(here[0])
    assert not np.array_equal(arrays["sstats"], before["sstats"])  # the new texts were folded in
    for name, array in _lda_arrays(there[0]).items():
        assert np.array_equal(array, arrays[name]), name
    files = _version_files(here[0])
    assert any(name.endswith(".npy") for name in files) and len(files) > 5
    assert _version_files(there[0]) == files  # every saved array, the dictionary, documents, record
    counted = ("n_new_documents", "n_documents", "n_oov", "n_tokens", "oov_share", "refit_due", "fold")
    summary = {k: json.loads(result.output)[k] for k in counted}
    assert {k: json.loads(remote.output)[k] for k in counted} == summary
    assert summary["n_tokens"] > 0 and summary["fold"]["passes"] == 2
    rows = _rows(here[1])
    assert len(rows) == 120  # the 100 fitted customers and the 20 new ones
    pd.testing.assert_frame_equal(_rows(there[1]), rows)


def _new_folder(new: pd.DataFrame, folder: Path) -> Path:
    """The new reviews as a folder of three files: a CSV, a JSON Lines file and a CSV without dates."""
    folder.mkdir()
    dated = new.assign(date=[f"2024-03-{1 + i % 28:02d}" for i in range(len(new))])
    dated.iloc[:17].to_csv(folder / "a.csv", index=False)
    dated.iloc[17:40].to_json(folder / "b.jsonl", orient="records", lines=True)
    dated.iloc[40:].drop(columns="date").to_csv(folder / "c.csv", index=False)
    return folder


class _DriverReads:
    """``pd.read_parquet`` on the driver, refusing to read the text of a shard of the new files (in
    the folder of the store ``update`` reads them into: the shards the workers wrote, or without
    shared files those they streamed here), except while the new model version is written
    (``update`` keeps every new text, in the model's folder on this machine): there it counts the
    shards read, each once."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.read, self.saving, self.saved, self.folder = pd.read_parquet, False, [], None
        save, stream = update_module._save_version, update_module.stream_documents

        def saving(*args, **kwargs):
            self.saving = True
            try:
                return save(*args, **kwargs)
            finally:
                self.saving = False

        def streaming(*args, **kwargs):
            store, loads = stream(*args, **kwargs)
            self.folder = str(store.directory)
            return store, loads

        monkeypatch.setattr(update_module, "_save_version", saving)
        monkeypatch.setattr(update_module, "stream_documents", streaming)
        monkeypatch.setattr(pd, "read_parquet", self)

    def __call__(self, path, *args, columns=None, **kwargs):
        new = self.folder is not None and str(path).startswith(self.folder + os.sep)
        if new and (columns is None or "text" in columns):
            if not self.saving:
                raise AssertionError(f"the driver read the new texts of {path}")
            self.saved.append(str(path))
        return self.read(path, *args, columns=columns, **kwargs)


@pytest.mark.slow
@pytest.mark.parametrize("shares_files", [True, False])
def test_distributed_update_reads_a_folder_on_the_workers(
    shares_files, reviews, fitted_all, cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder of new files read on the workers (shards of 7 rows, cut per file) gives the local
    update's model version file for file and its database rows; the new texts reach the driver only
    to be written into the model version, each shard fetched once from the workers; the counting and
    profiling tasks take the shards the workers hold."""
    client = cluster[1]
    old = tmp_path / "old.csv"
    reviews[0].to_csv(old, index=False)
    folder = _new_folder(reviews[1], tmp_path / "new")
    here, there = (
        _model_and_db(fitted_all, old, tmp_path / "here"),
        _model_and_db(fitted_all, old, tmp_path / "there"),
    )
    monkeypatch.setattr(TopicProfiler, "run_options", lambda self, run=None: run or RunOptions(chunk_rows=7))
    mine = update_files(here[0], db=here[1], reviews=str(folder), fold_passes=2)
    with monkeypatch.context() as driver:
        driver.setattr(TextEncoder, "tokens", _no_tokens_here)
        driver.setattr(TextEncoder, "iter_counts", _no_tokens_here)
        reads = _DriverReads(driver)
        with distributed.get_task_stream(client) as stream:
            theirs = update_files(there[0], db=there[1], reviews=str(folder), fold_passes=2,
                                  run=RunOptions(dask=DaskBackend(client, shares_files=shares_files)))  # fmt: skip
    keys = [str(task["key"]) for task in stream.data]
    assert sum("-read-" in key for key in keys) == 3  # one task per input file
    assert any("-count-" in key for key in keys) and any("-tag-" in key for key in keys)
    # 17, 23 and 20 rows in shards of 7: 3 + 4 + 3 shards, each fetched once from the workers to be
    # saved (the driver's own shards of them hold no texts, it reads no new text file)
    assert sum("-shard-" in key for key in keys) == 10 and reads.saved == [], reads.saved
    counted = (
        "n_new_documents",
        "n_documents",
        "n_oov",
        "n_tokens",
        "oov_share",
        "refit_due",
        "fold",
    )
    assert {k: theirs[k] for k in counted} == {k: mine[k] for k in counted}
    assert mine["n_new_documents"] == 60 and mine["n_tokens"] > 0
    files = _version_files(here[0])
    assert "documents.parquet" in files and "training_bows.parquet" in files
    assert _version_files(there[0]) == files  # documents.parquet's row groups too
    pd.testing.assert_frame_equal(_rows(there[1]), _rows(here[1]))


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


@pytest.mark.parametrize("method", ["add", "online"])
def test_distributed_fold_methods_equal_the_local_fold(
    method, reviews, fitted, cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks sent inside the tasks (a remote cluster): the folded topics are the local ones, bit for bit."""
    monkeypatch.setattr(lda_module, "REDUCE_BLOCK", BLOCK)
    bows, _ = fitted.encoder_.encode(reviews[1]["text"].tolist())
    counts = fitted.encoder_.counts(bows)
    here, there = (LdaTopics.from_state(*fitted.topics_.to_state(), fitted.dictionary_) for _ in range(2))
    local = fold_documents(here, counts, method=method)
    remote = fold_documents(there, counts, method=method, estep=cluster_fold_estep(DaskBackend(cluster[1])))
    assert remote == local and local.n_documents > 2 * BLOCK
    assert np.array_equal(there.lda_.state.sstats, here.lda_.state.sstats)
    assert np.array_equal(there.exp_elog_beta_, here.exp_elog_beta_)


@pytest.mark.slow
def test_distributed_fold_survives_a_worker_killed_mid_round(
    reviews, fitted, cluster, worker_killer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Last in the file: the nanny restarts the killed worker, but without the fold's blocks."""
    client = cluster[1]
    monkeypatch.setattr(lda_module, "REDUCE_BLOCK", BLOCK)
    bows, _ = fitted.encoder_.encode(reviews[1]["text"].tolist())
    counts = fitted.encoder_.counts(bows)
    here, there = (LdaTopics.from_state(*fitted.topics_.to_state(), fitted.dictionary_) for _ in range(2))
    fold_documents(here, counts, passes=3)
    backend = DaskBackend(client, shares_files=True)
    backend.on_pass = killer = worker_killer(client, at=1)
    fold_documents(there, counts, passes=3, estep=cluster_fold_estep(backend))
    assert killer.restarted()  # it died (the nanny started another)
    assert np.array_equal(there.lda_.state.sstats, here.lda_.state.sstats)
    assert np.array_equal(there.exp_elog_beta_, here.exp_elog_beta_)
    assert there.folds_ == here.folds_
