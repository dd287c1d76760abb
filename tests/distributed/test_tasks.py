"""What the workers run: their allocator set up for the E-step's short-lived arrays."""

from __future__ import annotations

import os
import resource

import numpy as np
import pytest
from scipy import sparse

pytest.importorskip(
    "distributed", reason='the dask extra is not installed (pip install "topicprofile[dask]")'
)

from topicprofile.distributed import tasks
from topicprofile.topics.lda import LdaTopics


def _block(n_docs: int = 4096, n_terms: int = 5000, n_topics: int = 20) -> tuple[sparse.csr_matrix, dict]:
    """A training block of Zipf-distributed words (30-80 per document) and a pass's model state."""
    rng = np.random.default_rng(0)
    p = 1 / np.arange(1, n_terms + 1) ** 1.1
    lengths = rng.integers(30, 81, n_docs)
    rows = np.repeat(np.arange(n_docs), lengths)
    cols = rng.choice(n_terms, size=rows.size, p=p / p.sum())
    counts = sparse.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n_docs, n_terms))
    counts.sum_duplicates()
    beta = rng.gamma(100, 0.01, (n_topics, n_terms))
    state = {
        "n_topics": n_topics, "random_state": 0, "alpha": np.full(n_topics, 1 / n_topics),
        "exp_elog_beta": beta / beta.sum(axis=1, keepdims=True), "iterations": 50, "threshold": 0.001,
    }  # fmt: skip
    return counts, state


def _page_faults(client, worker: str) -> int:
    """Minor page faults of ``worker``'s process so far."""
    return client.run(resource.getrusage, resource.RUSAGE_SELF, workers=[worker])[worker].ru_minflt


@pytest.mark.slow
def test_tasks_worker_estep_reuses_its_memory(cluster) -> None:
    """Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536, which turns glibc's adaptive mmap
    threshold off: without :func:`tasks.tune_allocator` each E-step temporary over 128 KiB was a fresh
    mapping, ~140,000 page faults for this block (and twice the CPU time of the same block run
    in-process). Tuned, the second run of the block on a worker faults a few hundred pages."""
    client = cluster[1]
    counts, state = _block()
    worker = min(client.scheduler_info()["workers"])
    trim = client.run(os.getenv, "MALLOC_TRIM_THRESHOLD_", workers=[worker])[worker]
    assert trim == "65536"  # Dask's default: the setting that made the worker slow
    expected = LdaTopics(state["n_topics"], random_state=0)
    expected.alpha_, expected.exp_elog_beta_ = state["alpha"], state["exp_elog_beta"]
    expected.train_iterations_, expected.train_threshold_ = state["iterations"], state["threshold"]
    faults = []
    for _ in range(2):
        before = _page_faults(client, worker)
        sstats = client.submit(tasks.block_sstats, counts, state, 0, 0, workers=[worker], pure=False).result()
        faults.append(_page_faults(client, worker) - before)
    assert np.array_equal(sstats, expected.block_sstats(counts, first=0, pass_=0))
    assert faults[-1] < 10_000, faults
    assert client.run(tasks.tune_allocator, workers=[worker])[worker] is True
