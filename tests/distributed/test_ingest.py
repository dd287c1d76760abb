"""Input files read on a real Dask cluster (``distributed.LocalCluster``, 2 worker processes of 1
thread): a folder of files of mixed formats gives the local run's documents, fingerprint, rejects,
model and profiles exactly, whether the workers write the shards to shared files or keep them."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

distributed = pytest.importorskip(
    "distributed", reason='the dask extra is not installed (pip install "topicprofile[dask]")'
)

from topicprofile import TopicProfiler
from topicprofile.app.jobs import fit_files, stream_documents, tag_files
from topicprofile.config import RunOptions
from topicprofile.distributed import DaskBackend
from topicprofile.distributed.ingest import chunk_sources, text_sample
from topicprofile.errors import DataValidationError
from topicprofile.ingest import docstore as docstore_module
from topicprofile.topics import lda as lda_module

FIT = {"n_topics": 4, "random_state": 3, "trainer": "vb", "passes": 2, "phrases": True}
CHUNK_ROWS = 60  # documents per shard: each file gives several
BLOCK = 48  # training rows per reduction block (160 customers -> 4 blocks)
ID_KEY = b"a test key of 32 bytes, not secret"


@pytest.fixture(scope="module")
def exports(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400 real Amazon reviews of 160 customers in 3 files (CSV, gzipped JSONL, Parquet); each
    customer's reviews in several files; row 5 of the JSONL file has no customer id (rejected)."""
    frame = pd.read_csv(shared_data / "en_amazon_reviews_4cats.csv.bz2", dtype=str, nrows=4000)
    sample = frame.sample(400, random_state=1).reset_index(drop=True)
    reviews = pd.DataFrame({"customer_id": [f"c{i % 160:04d}" for i in range(400)], "text": sample["text"]})
    folder = tmp_path_factory.mktemp("exports")
    reviews.iloc[:150].to_csv(folder / "2025-01.csv", index=False)
    middle = reviews.iloc[150:290].to_dict(orient="records")
    middle[4]["customer_id"] = ""
    with gzip.open(folder / "2025-02.jsonl.gz", "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(row) + "\n" for row in middle)
    reviews.iloc[290:].to_parquet(folder / "2025-03.parquet", index=False)
    return folder


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lda_module, "REDUCE_BLOCK", BLOCK)


def _saved(folder: Path) -> dict[str, np.ndarray]:
    return {
        name: np.load(next(folder.rglob(f"lda/{name}.npy"))) for name in ("sstats", "exp_elog_beta", "alpha")
    }


def _manifest(folder: Path) -> dict:
    return json.loads(next(folder.rglob("manifest.json")).read_text())


def no_texts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the driver's document stores fail when they read a text column."""
    read = pd.read_parquet

    def guarded(path, *args, **kwargs):
        frame = read(path, *args, **kwargs)
        if "text" in frame.columns:
            raise AssertionError(f"the driver read the texts of {path}")
        return frame

    monkeypatch.setattr(docstore_module.pd, "read_parquet", guarded)


@pytest.mark.slow
@pytest.mark.parametrize("shares_files", [True, False], ids=["workers-write-shards", "shards-on-workers"])
def test_ingest_cluster_fit_and_tag_of_a_folder_equal_the_local_run(
    exports: Path, cluster, small_blocks, tmp_path: Path, shares_files: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """... and no text reaches the driver: its store holds the documents without their texts, and
    only the snippets the model keeps come back from the workers."""
    _, client = cluster
    backend = DaskBackend(client, shares_files=shares_files)
    inputs = {"reviews": exports, "id_key": ID_KEY}
    here = fit_files(
        tmp_path / "here", profiler=TopicProfiler(**FIT), run=RunOptions(chunk_rows=CHUNK_ROWS), **inputs
    )
    no_texts(monkeypatch)
    with distributed.get_task_stream(client) as stream:
        there = fit_files(tmp_path / "there", profiler=TopicProfiler(**FIT),
                          run=RunOptions(chunk_rows=CHUNK_ROWS, dask=backend), **inputs)  # fmt: skip
    monkeypatch.undo()
    reads = [task for task in stream.data if "-read-" in str(task["key"])]
    assert len(reads) == 3 and {task["worker"] for task in reads} == set(
        client.nthreads()
    )  # one task per file
    assert here["inputs"] == there["inputs"]
    assert here["inputs"]["reviews"] == {"file": "2025-01.csv and 2 more files", "rows": 400, "used": 399,
                                         "rejected": 1}  # fmt: skip
    assert (tmp_path / "there" / "rejects.csv").read_bytes() == (
        tmp_path / "here" / "rejects.csv"
    ).read_bytes()
    assert _manifest(tmp_path / "there")["input"] == _manifest(tmp_path / "here")["input"]
    local, remote = _saved(tmp_path / "here"), _saved(tmp_path / "there")
    for name in local:
        assert np.array_equal(local[name], remote[name]), name
    for folder in ("here", "there"):  # the saved documents (pseudonymised ids, scrubbed texts)
        assert pd.read_parquet(next((tmp_path / folder).rglob("documents.parquet"))).equals(
            pd.read_parquet(next((tmp_path / "here").rglob("documents.parquet")))
        )
    tag = {"reviews": str(exports / "2025-0*"), "id_key": ID_KEY}
    tag_files(tmp_path / "here", tmp_path / "here.csv", run=RunOptions(chunk_rows=CHUNK_ROWS), **tag)
    no_texts(monkeypatch)
    tag_files(
        tmp_path / "here", tmp_path / "there.csv", run=RunOptions(chunk_rows=CHUNK_ROWS, dask=backend), **tag
    )
    assert (tmp_path / "there.csv").read_bytes() == (tmp_path / "here.csv").read_bytes()


def test_ingest_cluster_shards_feed_the_cluster_steps(exports: Path, cluster) -> None:
    """Without shared files the shards stay on the workers: the tasks get their futures, and the
    store the driver keeps holds the local run's documents without their texts."""
    _, client = cluster
    backend = DaskBackend(client, shares_files=False)
    here, _ = stream_documents(reviews=exports, chunk_rows=CHUNK_ROWS)
    there, loads = stream_documents(reviews=exports, chunk_rows=CHUNK_ROWS, backend=backend)
    sources = list(chunk_sources(backend, there))
    assert len(sources) == len(here.shard_paths()) == 8  # 3 + 3 + 2 shards of at most 60
    assert all(isinstance(source, distributed.Future) for source in sources)
    assert there.fingerprint == here.fingerprint and there.chunk_sizes() == here.chunk_sizes()
    for mine, theirs, source in zip(here.chunks(), there.chunks(), sources, strict=True):
        pd.testing.assert_frame_equal(theirs, mine.drop(columns=["text"]))
        pd.testing.assert_frame_equal(source.result().reset_index(drop=True), mine)
    assert loads["reviews"].rejects["source"].tolist() == ["2025-02.jsonl.gz"]


def test_ingest_cluster_language_sample_comes_from_the_first_shards(exports: Path, cluster) -> None:
    """The fit's language check reads the first texts, fetched from the first shards only."""
    _, client = cluster
    backend = DaskBackend(client, shares_files=False)
    here, _ = stream_documents(reviews=exports, chunk_rows=CHUNK_ROWS)
    there, _ = stream_documents(reviews=exports, chunk_rows=CHUNK_ROWS, backend=backend)
    with distributed.get_task_stream(client) as stream:
        sample = text_sample(backend, there, 100)
    assert sample == list(here.iter_column("text"))[:100]  # 60 + 40: two shards
    assert len([task for task in stream.data if "-texts-" in str(task["key"])]) == 2
    assert list(text_sample(None, here, 100))[:100] == sample


def test_ingest_cluster_file_errors_are_the_local_ones(exports: Path, cluster, tmp_path: Path) -> None:
    backend = DaskBackend(cluster[1], shares_files=True)
    with pytest.raises(DataValidationError, match="missing.csv: reviews file not found"):
        stream_documents(reviews=[exports / "2025-01.csv", tmp_path / "missing.csv"], backend=backend)
    (tmp_path / "bad.csv").write_text("customer_id,text\n,empty id\n")
    with pytest.raises(DataValidationError, match="bad.csv: all 1 rows were rejected"):
        stream_documents(reviews=tmp_path / "bad.csv", backend=backend)


def test_ingest_cluster_shards_lost_with_a_worker_are_read_again(exports: Path, cluster) -> None:
    """Last in the file: a worker holding cleaned shards is killed; its shards are read again from
    their files (the nanny restarts the worker, without its memory) and equal the local ones."""
    import os
    import signal
    import time

    _, client = cluster
    backend = DaskBackend(client, shares_files=False)
    here, _ = stream_documents(reviews=exports, chunk_rows=CHUNK_ROWS)
    there, _ = stream_documents(reviews=exports, chunk_rows=CHUNK_ROWS, backend=backend)
    sources = list(chunk_sources(backend, there))
    holders = {worker for workers in client.who_has(sources).values() for worker in workers}
    pids = client.run(os.getpid)
    victim = min(holders)
    os.kill(pids[victim], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while victim in client.nthreads() and time.monotonic() < deadline:  # until the scheduler knows
        time.sleep(0.1)
    assert victim not in client.nthreads()
    for mine, source in zip(here.chunks(), sources, strict=True):
        pd.testing.assert_frame_equal(backend.result(source).reset_index(drop=True), mine)
    del sources
    client.wait_for_workers(2, timeout=60)  # the nanny's new worker, for the tests after this one


@pytest.mark.slow
@pytest.mark.parametrize("keep_texts", ["all", "none"])
def test_ingest_cluster_keeps_the_texts_asked_for(
    exports: Path, cluster, small_blocks, tmp_path: Path, keep_texts: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``keep_texts="all"`` streams every text from the workers into the model folder (as asked),
    equal to the local run's; ``"none"`` keeps none. The driver's store reads no text either way."""
    backend = DaskBackend(cluster[1], shares_files=False)
    inputs = {"reviews": exports, "id_key": ID_KEY}
    fit = {**FIT, "keep_texts": keep_texts}
    fit_files(
        tmp_path / "here", profiler=TopicProfiler(**fit), run=RunOptions(chunk_rows=CHUNK_ROWS), **inputs
    )
    no_texts(monkeypatch)
    fit_files(tmp_path / "there", profiler=TopicProfiler(**fit), run=RunOptions(chunk_rows=CHUNK_ROWS, dask=backend),
              **inputs)  # fmt: skip
    monkeypatch.undo()
    here, there = (list((tmp_path / folder).rglob("documents.parquet")) for folder in ("here", "there"))
    assert [p.read_bytes() for p in there] == [p.read_bytes() for p in here]
    assert len(here) == (keep_texts == "all")
    if here:
        assert len(pd.read_parquet(here[0])) == 399
    local, remote = _saved(tmp_path / "here"), _saved(tmp_path / "there")
    for name in local:
        assert np.array_equal(local[name], remote[name]), name
