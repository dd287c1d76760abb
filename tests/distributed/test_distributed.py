"""Fit and tag on a real Dask cluster (``distributed.LocalCluster``, 2 worker processes of 1 thread)
give the local run's model and profiles exactly; a killed worker and an unreachable scheduler.

Training blocks are made small here (``REDUCE_BLOCK``) so that a few hundred real reviews make
several blocks spread over both workers; the local fit uses the same blocks.
"""

from __future__ import annotations

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

from topicprofile import TopicProfiler
from topicprofile.cli import app
from topicprofile.config import RunOptions
from topicprofile.distributed import DaskBackend, parse_dask_address
from topicprofile.distributed import cluster as cluster_module
from topicprofile.errors import ClusterError, ConfigError
from topicprofile.ingest.docstore import DocumentStore
from topicprofile.ingest.documents import build_documents
from topicprofile.topics import lda as lda_module

runner = CliRunner()
#: VB settings small enough for a test; the cluster must reproduce them exactly.
FIT = {"n_topics": 4, "random_state": 3, "trainer": "vb", "passes": 3, "phrases": True}
CHUNK_ROWS = 100  # documents per chunk (partition): 4 chunks of the 400 reviews
BLOCK = 48  # training rows per reduction block here: 160 customers -> 4 blocks


@pytest.fixture(scope="module")
def amazon_reviews(shared_data: Path) -> pd.DataFrame:
    """400 real Amazon reviews of 160 customers, each customer's reviews spread over several chunks."""
    frame = pd.read_csv(shared_data / "en_amazon_reviews_4cats.csv.bz2", dtype=str, nrows=4000)
    sample = frame.sample(400, random_state=1).reset_index(drop=True)
    return pd.DataFrame(
        {"customer_id": [f"c{i % 160:04d}" for i in range(len(sample))], "text": sample["text"]}
    )


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lda_module, "REDUCE_BLOCK", BLOCK)


def _store(reviews: pd.DataFrame) -> DocumentStore:
    return DocumentStore.from_frame(build_documents(reviews, None), chunk_rows=CHUNK_ROWS)


@pytest.fixture(scope="module")
def local_fit(amazon_reviews: pd.DataFrame) -> TopicProfiler:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lda_module, "REDUCE_BLOCK", BLOCK)
        return TopicProfiler(**FIT).fit(reviews=amazon_reviews, run=RunOptions(chunk_rows=CHUNK_ROWS))


def _saved_arrays(profiler: TopicProfiler, folder: Path) -> dict[str, np.ndarray]:
    profiler.save(str(folder))
    return {
        name: np.load(next(folder.rglob(f"lda/{name}.npy"))) for name in ("sstats", "exp_elog_beta", "alpha")
    }


def _sorted_csv(table: pd.DataFrame) -> str:
    return table.sort_values("customer_id").to_csv(index=False)


@pytest.mark.parametrize("shares_files", [True, False], ids=["worker-reads-files", "data-in-tasks"])
def test_distributed_fit_saves_the_local_model(
    amazon_reviews, cluster, local_fit, small_blocks, tmp_path: Path, shares_files: bool
) -> None:
    _, client = cluster
    backend = DaskBackend(client, shares_files=shares_files)
    with distributed.get_task_stream(client) as stream:
        remote = TopicProfiler(**FIT).fit_documents(_store(amazon_reviews), backend=backend)
    keys = [str(task["key"]) for task in stream.data]
    workers = {task["worker"] for task in stream.data if "-sstats-" in str(task["key"])}
    assert len(workers) == 2  # the E-step ran on both workers
    assert {"tokens", "infer"} <= {
        part for key in keys for part in key.split("-")
    }  # so did tokenizing and tagging
    assert remote.topics_.lda_.state.numdocs == local_fit.topics_.lda_.state.numdocs
    assert len(local_fit.profiles_) == 160 > 3 * BLOCK  # several blocks of training rows
    here, there = _saved_arrays(local_fit, tmp_path / "local"), _saved_arrays(remote, tmp_path / "dask")
    for name in here:
        assert np.array_equal(here[name], there[name]), name
    assert _sorted_csv(remote.profiles_) == _sorted_csv(local_fit.profiles_)


@pytest.mark.parametrize("shares_files", [True, False], ids=["worker-reads-files", "data-in-tasks"])
def test_distributed_tag_writes_the_local_profiles(
    amazon_reviews, cluster, local_fit, shares_files: bool
) -> None:
    _, client = cluster
    store = _store(amazon_reviews)
    # customers' documents sit in several chunks: their sums are merged across partitions
    chunk_of = np.arange(len(amazon_reviews)) // CHUNK_ROWS
    spread = amazon_reviews.assign(chunk=chunk_of).groupby("customer_id")["chunk"].nunique()
    assert (spread > 1).sum() > 100 and len(store.shard_paths()) == 4
    here = local_fit.profile_documents(store)
    there = local_fit.profile_documents(store, backend=DaskBackend(client, shares_files=shares_files))
    assert _sorted_csv(there) == _sorted_csv(here)


def test_distributed_batch_with_a_client_writes_the_local_parts(
    amazon_reviews, cluster, local_fit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each file is read, cleaned and tagged on the workers (the driver never loads it: its reader
    is made to fail), and the parts, rejects and views are the local run's byte for byte."""
    from topicprofile.app import batch as batch_module
    from topicprofile.app.batch import tag_folder

    local_fit.save(str(tmp_path / "model"))
    exports = tmp_path / "exports"
    exports.mkdir()
    amazon_reviews.iloc[:250].to_csv(exports / "a.csv", index=False)
    b = amazon_reviews.iloc[250:].copy()
    b.iloc[3, b.columns.get_loc("text")] = ""  # a row to reject
    b.to_csv(exports / "b.csv", index=False)
    here = tag_folder(exports, model_dir=tmp_path / "model", out=tmp_path / "here")

    def no_driver_read(*args, **kwargs):
        raise AssertionError("the driver read an input file of the batch")

    with monkeypatch.context() as driver:
        driver.setattr(batch_module, "load_reviews", no_driver_read)
        there = tag_folder(exports, model_dir=tmp_path / "model", out=tmp_path / "there", dask=cluster[1])
    assert [f["status"] for f in there["files"]] == ["new", "new"]
    assert [f["n_rejected"] for f in there["files"]] == [f["n_rejected"] for f in here["files"]] == [0, 1]
    for part_here, part_there in zip(here["files"], there["files"], strict=True):
        assert {k: v for k, v in part_there.items() if k not in ("seconds", "finished_at")} == {
            k: v for k, v in part_here.items() if k not in ("seconds", "finished_at")
        }
        assert (tmp_path / "there" / part_there["part"]).read_bytes() == (
            tmp_path / "here" / part_here["part"]
        ).read_bytes()
    rejects = here["files"][1]["rejects_file"]
    assert (tmp_path / "there" / rejects).read_bytes() == (tmp_path / "here" / rejects).read_bytes()
    assert (tmp_path / "there" / "profiles.csv").read_bytes() == (
        tmp_path / "here" / "profiles.csv"
    ).read_bytes()
    assert cluster[1].status == "running"  # a client the caller gave stays open


def test_distributed_scheduler_lost_mid_fit_is_a_cluster_error(
    amazon_reviews, small_blocks, tmp_path: Path
) -> None:
    from topicprofile.app.jobs import fit_files

    reviews = tmp_path / "reviews.csv"
    amazon_reviews.to_csv(reviews, index=False)
    local = distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    client = distributed.Client(local)
    backend = DaskBackend(client, shares_files=True)
    backend.on_pass = lambda pass_: local.close() if pass_ == 1 else None  # the scheduler goes away
    try:
        with pytest.raises(ClusterError, match="the Dask cluster failed while running"):
            fit_files(
                tmp_path / "model",
                profiler=TopicProfiler(**FIT),
                reviews=str(reviews),
                run=RunOptions(dask=backend),
            )
    finally:
        client.close()
        local.close()
    assert not (tmp_path / "model").exists()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_distributed_unreachable_scheduler_is_one_error_line_and_no_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cluster_module, "CONNECT_TIMEOUT", 2)
    address = f"tcp://127.0.0.1:{_closed_port()}"
    model = tmp_path / "model"
    corpora = Path(__file__).resolve().parents[2] / "corpora"
    result = runner.invoke(app, ["fit", "--reviews", str(corpora / "reviews.csv"), "--model-dir", str(model),
                                 "--topics", "3", "--dask", address, "--no-cache"])  # fmt: skip
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach the Dask scheduler at"), result.output
    assert address in lines[0] and "Traceback" not in result.output
    assert not model.exists()


def test_distributed_connect_raises_cluster_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster_module, "CONNECT_TIMEOUT", 1)
    with pytest.raises(ClusterError, match="cannot reach the Dask scheduler"):
        DaskBackend.connect(f"tcp://127.0.0.1:{_closed_port()}")


def test_distributed_gibbs_is_refused_with_one_line(tmp_path: Path) -> None:
    corpora = Path(__file__).resolve().parents[2] / "corpora"
    model = tmp_path / "model"
    result = runner.invoke(app, ["fit", "--reviews", str(corpora / "reviews.csv"), "--model-dir", str(model),
                                 "--trainer", "gibbs", "--dask", "local:1"])  # fmt: skip
    assert result.exit_code == 1
    expected = (
        "error: --trainer gibbs cannot run on a Dask cluster (its sampler is sequential); use --trainer vb "
        "(the default with --dask), which trains the same model there as on one machine"
    )
    assert result.output.strip().splitlines() == [expected]
    assert not model.exists()


def test_distributed_api_refuses_gibbs_and_taxonomy(tiny_reviews: pd.DataFrame, cluster) -> None:
    backend = DaskBackend(cluster[1])
    with pytest.raises(ConfigError, match="gibbs trainer cannot run on a Dask cluster"):
        TopicProfiler(n_topics=3, trainer="gibbs").fit_documents(_store(tiny_reviews), backend=backend)
    with pytest.raises(ConfigError, match="without --taxonomy"):
        TopicProfiler(n_topics=3, trainer="vb", taxonomy={"coffee": ["espresso"]}).fit_documents(
            _store(tiny_reviews), backend=backend
        )


@pytest.mark.parametrize(
    ("value", "expected"),
    [("local", (None, None)), ("local:3", (None, 3)), ("tcp://10.0.0.5:8786", ("tcp://10.0.0.5:8786", None))],
)
def test_distributed_parse_address(value: str, expected) -> None:
    assert parse_dask_address(value) == expected


@pytest.mark.parametrize("value", ["local:0", "local:x", "localhost:8786x", ""])
def test_distributed_parse_address_rejects(value: str) -> None:
    if value == "localhost:8786x":  # not local[:N]: an address, left to the scheduler connection
        assert parse_dask_address(value) == (value, None)
        return
    with pytest.raises(ConfigError, match="--dask"):
        parse_dask_address(value)


def test_distributed_cli_fit_and_tag_on_local_cluster_equal_local_run(
    amazon_reviews, local_fit, small_blocks, tmp_path: Path
) -> None:
    reviews = tmp_path / "reviews.csv"
    amazon_reviews.to_csv(reviews, index=False)
    fit = ["fit", "--reviews", str(reviews), "--model-dir", str(tmp_path / "dask"), "--topics", "4", "--seed", "3",
           "--passes", str(FIT["passes"]), "--no-cache", "--quiet", "--dask", "local:2"]  # fmt: skip
    result = runner.invoke(app, fit)  # the trainer is vb by default with --dask
    assert result.exit_code == 0, result.output
    here = _saved_arrays(local_fit, tmp_path / "local")
    assert np.array_equal(np.load(next((tmp_path / "dask").rglob("lda/sstats.npy"))), here["sstats"])
    tag = ["tag", "--reviews", str(reviews), "--model-dir", str(tmp_path / "local"), "--quiet"]
    assert runner.invoke(app, [*tag, "--out", str(tmp_path / "here.csv")]).exit_code == 0
    result = runner.invoke(app, [*tag, "--out", str(tmp_path / "there.csv"), "--dask", "local:2"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "there.csv").read_bytes() == (tmp_path / "here.csv").read_bytes()


def test_distributed_module_imports_no_dask_until_connect() -> None:
    import subprocess
    import sys

    code = "import topicprofile.profiler, topicprofile.app.jobs, sys; print('dask' in sys.modules or 'distributed' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    assert out.stdout.strip() == "False"


def test_distributed_fit_survives_a_worker_killed_mid_pass(
    amazon_reviews, cluster, local_fit, small_blocks, worker_killer
) -> None:
    """Last in the file: the nanny restarts the killed worker, but without its memory."""
    client = cluster[1]
    backend = DaskBackend(client, shares_files=True)
    backend.on_pass = killer = worker_killer(client, at=1)
    remote = TopicProfiler(**FIT).fit_documents(_store(amazon_reviews), backend=backend)
    assert killer.restarted()  # it died (the nanny started another)
    assert np.array_equal(remote.topics_.lda_.state.sstats, local_fit.topics_.lda_.state.sstats)
    assert np.array_equal(remote.topics_.exp_elog_beta_, local_fit.topics_.exp_elog_beta_)
