"""Tagging on the cluster: tokenizing, counting and the topic E-step of each chunk on a worker.

The fitted encoder and topics travel once, as plain data (their ``to_state()``); every worker builds
them once. A worker returns, per chunk of documents, the customer and channel columns, the word
counts and the documents' topic distributions; the driver adds them up per customer in document
order (:func:`topicprofile.tag.aggregate.aggregate_topics`), as the local run does. A customer
whose documents sit in several chunks is therefore summed exactly as locally, and the profiles are
byte for byte the local ones. Document inference is seeded per document from its own words, so
where a chunk runs does not change its topics.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from topicprofile.distributed import tasks
from topicprofile.distributed.cluster import DaskBackend
from topicprofile.distributed.ingest import chunk_sources
from topicprofile.distributed.vocabulary import ClusterVocabulary
from topicprofile.ingest.docstore import DocumentStore
from topicprofile.text.corpus import CountedCorpus
from topicprofile.text.encoder import TextEncoder
from topicprofile.topics.lda import LdaTopics

__all__ = ["cluster_infer", "cluster_tokenize", "cluster_topic_chunks", "infer_state"]


def cluster_topic_chunks(
    backend: DaskBackend, documents: DocumentStore, *, encoder: TextEncoder, topics: LdaTopics
) -> Iterator[tuple[pd.DataFrame, sparse.csr_matrix, np.ndarray]]:
    """Each chunk of ``documents`` in order: ``(customer and channel columns, counts, doc_topics)``,
    computed on the workers (a few chunks ahead of the one being read, so memory stays bounded).

    Workers that share this machine's files read the chunks' Parquet shards themselves; otherwise
    each chunk is read here and sent with its task.
    """
    run_id = uuid.uuid4().hex[:8]
    payload = {"key": f"{backend.token}-{run_id}", "encoder": encoder.to_state(), "lda": topics.to_state()}
    model = backend.submit(tasks.hold, payload, key=backend.key("model", run_id))
    yield from backend.ordered(_submits(backend, tasks.tag_chunk, model, documents, name=f"tag-{run_id}"))


def cluster_tokenize(backend: DaskBackend) -> ClusterVocabulary:
    """The ``tokenize`` argument of :meth:`TextEncoder.fit_vocabulary` that tokenizes on ``backend``'s
    cluster (each worker builds the tokenizer once from its config) and learns the phrases and the
    dictionary there from partition counts (:class:`~topicprofile.distributed.vocabulary.ClusterVocabulary`)."""
    return ClusterVocabulary(backend)


def _submits(
    backend: DaskBackend, task: Any, held: Any, documents: DocumentStore, *, name: str
) -> Iterator[Any]:
    """One submission of ``task(held, chunk)`` per chunk of ``documents``, made when called: workers
    that share this machine's files get the shard's path, others the shard's future when the workers
    read the input (:func:`~topicprofile.distributed.ingest.chunk_sources`), else the chunk itself."""
    for i, source in enumerate(chunk_sources(backend, documents)):
        yield lambda i=i, source=source: backend.submit(task, held, source, key=backend.key(name, i))


def infer_state(topics: LdaTopics) -> dict[str, Any]:
    """What :func:`~topicprofile.distributed.tasks.infer_chunk` needs of the fitted topics."""
    return {
        "n_topics": topics.n_topics, "random_state": topics.random_state, "alpha": topics.alpha_,
        "exp_elog_beta": topics.exp_elog_beta_, "infer_iterations": topics.infer_iterations,
        "gamma_threshold": topics.gamma_threshold,
    }  # fmt: skip


def cluster_infer(
    backend: DaskBackend, chunks: Iterable[tuple[pd.DataFrame, sparse.csr_matrix]] | CountedCorpus, *,
    topics: LdaTopics,
) -> Iterator[tuple[pd.DataFrame, sparse.csr_matrix, np.ndarray]]:  # fmt: skip
    """``(documents, counts, doc_topics)`` per chunk of already counted documents (the fit's own
    documents, or its counted corpus), their topics inferred on the workers; the counts travel with
    the tasks, unless they are on the workers already (:class:`~topicprofile.distributed.counting.ClusterCountedCorpus`)."""
    on_cluster = getattr(chunks, "counts", None)  # the futures of each chunk's counts, in order
    if isinstance(chunks, CountedCorpus):
        chunks = chunks.iter_chunks()
    run_id = uuid.uuid4().hex[:8]
    held = backend.submit(tasks.hold, infer_state(topics), key=backend.key("topics", run_id))
    pending: list[tuple[pd.DataFrame, sparse.csr_matrix]] = []

    def submits() -> Iterator[Any]:
        for i, (docs, counts) in enumerate(chunks):
            pending.append((docs, counts))
            source = counts if on_cluster is None else on_cluster[i]
            yield lambda i=i, source=source: backend.submit(
                tasks.infer_chunk, held, source, key=backend.key(f"infer-{run_id}", i)
            )

    for doc_topics in backend.ordered(submits()):
        docs, counts = pending.pop(0)
        yield docs, counts, doc_topics
