"""LDA training on the cluster: the E-step and the sum on the workers, the M-step on the driver.

The training matrix is cut into the blocks of :data:`~topicprofile.topics.lda.REDUCE_BLOCK` rows
that the local trainer sums one by one; the workers hold the blocks (loaded once, kept for every
pass). Each pass the driver sends the topic-word expectations (``n_topics × n_terms`` floats) and
the prior, every block's task sums its statistics (``n_topics × n_terms``), and the workers add
those up in the local trainer's fixed binary tree (:func:`~topicprofile.topics.lda.tree_sum`):
only the root, one ``n_topics × n_terms`` array, reaches the driver. Each document's E-step starts
from values seeded by its position and the pass, not by where it runs: the model equals the local
one bit for bit.
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

__all__ = ["block_source", "cluster_estep", "tree"]


def cluster_estep(backend: DaskBackend) -> Any:
    """The ``estep`` argument of :meth:`LdaTopics.fit` that runs on ``backend``'s cluster."""

    def estep(counts: sparse.csr_matrix) -> BlockSstats:
        run_id = uuid.uuid4().hex[:8]  # a backend may train several models
        size = local.REDUCE_BLOCK  # read now: the local trainer's blocks
        starts = list(range(0, counts.shape[0], size))
        blocks = [
            backend.submit(
                tasks.load_block,
                block_source(backend, counts[s : s + size], f"{run_id}-{i:06d}"),
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
            yield backend.result(tree(backend, futures, f"{run_id}-{pass_}"))

        return run

    return estep


def tree(backend: DaskBackend, futures: list[Any], name: str, *, task: Any = tasks.add) -> Any:
    """The root of :func:`~topicprofile.topics.lda.tree_sum`'s tree over ``futures`` (block order),
    added (``task``) level by level on the workers: only the root travels to the driver."""
    level, depth = futures, 0
    while len(level) > 1:
        pairs = [
            backend.submit(task, level[i], level[i + 1], key=backend.key("sum", name, depth, i // 2))
            for i in range(0, len(level) - 1, 2)
        ]
        level, depth = pairs + level[len(pairs) * 2 :], depth + 1
    return level[0]


def block_source(backend: DaskBackend, block: sparse.csr_matrix, name: str) -> Any:
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
