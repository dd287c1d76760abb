"""LDA training on the cluster: the E-step on the workers, the sum and the M-step on the driver.

The training matrix is cut into the blocks of :data:`~topicprofile.topics.lda.REDUCE_BLOCK` rows that
the local trainer adds up one by one; the workers hold the blocks (loaded once, kept for every
pass). Each pass the driver sends the topic-word expectations (``n_topics × n_terms`` floats) and the
prior, every block's task returns its summed statistics (``n_topics × n_terms``), and the driver adds
them in block order, as the local trainer does. Each document's E-step starts from values seeded by
its position and the pass, not by where it runs: the model equals the local one bit for bit.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from topicprofile.distributed import tasks
from topicprofile.distributed.cluster import DaskBackend
from topicprofile.topics import lda as local
from topicprofile.topics.lda import BlockSstats, LdaTopics

__all__ = ["cluster_estep"]


def cluster_estep(backend: DaskBackend) -> Any:
    """The ``estep`` argument of :meth:`LdaTopics.fit` that runs on ``backend``'s cluster."""

    def estep(counts: sparse.csr_matrix) -> BlockSstats:
        run_id = uuid.uuid4().hex[:8]  # a backend may train several models
        size = local.REDUCE_BLOCK  # read now: the local trainer's blocks
        starts = list(range(0, counts.shape[0], size))
        blocks = [
            backend.submit(
                tasks.load_block,
                _block_source(backend, counts[s : s + size], f"{run_id}-{i:06d}"),
                key=backend.key("block", run_id, i),
            )
            for i, s in enumerate(starts)
        ]

        def run(topics: LdaTopics, pass_: int) -> Iterator[np.ndarray]:
            payload = {
                "n_topics": topics.n_topics, "random_state": topics.random_state, "alpha": topics.alpha_,
                "exp_elog_beta": topics.exp_elog_beta_, "iterations": topics.train_iterations_,
                "threshold": topics.train_threshold_,
            }  # fmt: skip
            state = backend.submit(tasks.hold, payload, key=backend.key("lda-state", run_id, pass_))
            futures = [
                backend.submit(
                    tasks.block_sstats, block, state, s, pass_, key=backend.key("sstats", run_id, pass_, i)
                )
                for i, (block, s) in enumerate(zip(blocks, starts, strict=True))
            ]
            if backend.on_pass is not None:
                backend.on_pass(pass_)
            for future in futures:  # in block order: the local trainer's order of additions
                yield backend.result(future)

        return run

    return estep


def _block_source(backend: DaskBackend, block: sparse.csr_matrix, name: str) -> Any:
    """Where a worker gets a block: an ``.npz`` file when it shares this machine's files (kept
    while the backend lives), else the block's arrays inside the task."""
    if not backend.shares_files:
        return (block.data, block.indices, block.indptr, block.shape)
    scratch = getattr(backend, "_scratch", None)
    if scratch is None:
        scratch = backend._scratch = tempfile.mkdtemp(prefix="topicprofile-dask-")  # type: ignore[attr-defined]
        weakref.finalize(backend, shutil.rmtree, scratch, True)
    path = Path(scratch) / f"block-{name}.npz"
    sparse.save_npz(path, block, compressed=False)
    return str(path)
