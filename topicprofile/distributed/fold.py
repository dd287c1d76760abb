"""``update``'s fold on the cluster: the new texts counted and their E-step run on the workers.

:func:`cluster_fold_counts` tokenizes and counts each chunk of the new documents on a worker, with
the fitted encoder sent once as plain data (its ``to_state()``, built once per worker as for
tagging); only the count matrices and the out-of-vocabulary tallies come back, never the texts or
tokens. :func:`cluster_fold_estep` is the ``estep`` of
:func:`~topicprofile.topics.fold.fold_documents`: the rows to fold are cut into the blocks of
:data:`~topicprofile.topics.lda.REDUCE_BLOCK` rows the local fold adds up
(:func:`~topicprofile.topics.unlearn.estep_counts`), the workers hold them for every round, each
round's task computes one block against the broadcast topics, and the workers add the blocks in
the same fixed binary tree as training (:func:`~topicprofile.topics.lda.tree_sum`): only the root
reaches the driver. Each row's E-step is seeded by its own words, so the folded model is the local
update's bit for bit.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator

import numpy as np
from scipy import sparse

from topicprofile.distributed import tasks
from topicprofile.distributed.cluster import DaskBackend
from topicprofile.distributed.ingest import chunk_sources
from topicprofile.distributed.lda import block_source, tree
from topicprofile.ingest.docstore import DocumentStore
from topicprofile.text.encoder import TextEncoder
from topicprofile.topics import lda as local
from topicprofile.topics.fold import FoldEStep
from topicprofile.topics.lda import LdaTopics

__all__ = ["cluster_fold_counts", "cluster_fold_estep", "stack_counts"]


def cluster_fold_counts(
    backend: DaskBackend, documents: DocumentStore, *, encoder: TextEncoder, topics: LdaTopics
) -> Iterator[tuple[sparse.csr_matrix, int, int]]:
    """Each chunk of ``documents`` in order: ``(counts, tokens outside the vocabulary, tokens)``,
    computed on the workers (:func:`tasks.count_new_chunk`; a few chunks ahead of the one being read).

    Each task takes its shard where it is (:func:`~topicprofile.distributed.ingest.chunk_sources`):
    the Parquet shard the workers wrote or read on this machine's files, the shard a worker holds
    after reading the input (``stream_documents(backend=...)``), else the chunk read here and sent.
    """
    run_id = uuid.uuid4().hex[:8]
    payload = {"key": f"{backend.token}-{run_id}", "encoder": encoder.to_state(), "lda": topics.to_state()}
    model = backend.submit(tasks.hold, payload, key=backend.key("model", run_id))
    sources = chunk_sources(backend, documents)
    yield from backend.ordered(
        (lambda i=i, source=source: backend.submit(
            tasks.count_new_chunk, model, source, key=backend.key(f"count-{run_id}", i)
        ))
        for i, source in enumerate(sources)
    )  # fmt: skip


def stack_counts(parts: list[sparse.csr_matrix], n_terms: int) -> sparse.csr_matrix:
    """The chunks' count matrices one under the other, with the arrays' types
    :func:`~topicprofile.text.vectorize.bows_to_csr` gives the whole (float64 counts, int32 ids, int64 offsets)."""
    indptr = np.zeros(sum(part.shape[0] for part in parts) + 1, dtype=np.int64)
    row, offset = 0, 0
    for part in parts:
        indptr[row + 1 : row + 1 + part.shape[0]] = part.indptr[1:] + offset
        row, offset = row + part.shape[0], offset + part.nnz
    data = np.concatenate([np.asarray(part.data, dtype=np.float64) for part in parts] or [np.zeros(0)])
    indices = np.concatenate(
        [np.asarray(p.indices, dtype=np.int32) for p in parts] or [np.zeros(0, np.int32)]
    )
    return sparse.csr_matrix((data, indices, indptr), shape=(row, n_terms))


def cluster_fold_estep(backend: DaskBackend) -> FoldEStep:
    """The ``estep`` argument of :func:`~topicprofile.topics.fold.fold_documents` that runs on
    ``backend``'s cluster. ``backend.on_pass(round)`` is called once a round's tasks are submitted."""

    def estep(counts: sparse.csr_matrix) -> Callable[[LdaTopics], np.ndarray]:
        run_id = uuid.uuid4().hex[:8]
        size = local.REDUCE_BLOCK  # read now: the local fold's blocks
        blocks = [
            backend.submit(
                tasks.load_block,
                block_source(backend, counts[s : s + size], f"fold-{run_id}-{i:06d}"),
                key=backend.key("fold-block", run_id, i),
            )
            for i, s in enumerate(range(0, counts.shape[0], size))
        ]
        rounds = itertools.count()

        def expected(topics: LdaTopics) -> np.ndarray:
            round_ = next(rounds)
            payload = {
                "alpha": topics.alpha_, "exp_elog_beta": topics.exp_elog_beta_, "random_state": topics.random_state,
                "iterations": topics.infer_iterations, "threshold": topics.gamma_threshold,
            }  # fmt: skip
            state = backend.submit(tasks.hold, payload, key=backend.key("fold-state", run_id, round_))
            futures = [
                backend.submit(
                    tasks.fold_sstats, block, state, key=backend.key("fold-sstats", run_id, round_, i)
                )
                for i, block in enumerate(blocks)
            ]
            if backend.on_pass is not None:
                backend.on_pass(round_)
            return backend.result(tree(backend, futures, f"fold-{run_id}-{round_}"))

        return expected

    return estep
