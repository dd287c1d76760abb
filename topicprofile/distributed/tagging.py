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
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from topicprofile.distributed import tasks
from topicprofile.distributed.cluster import DaskBackend
from topicprofile.text.corpus import DocumentStore
from topicprofile.text.encoder import TextEncoder
from topicprofile.topics.lda import LdaTopics

__all__ = ["cluster_topic_chunks"]


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
    sources: Any = (
        (str(path) for path in documents.shard_paths()) if backend.shares_files else documents.chunks()
    )

    def submits() -> Iterator[Any]:
        for i, source in enumerate(sources):
            yield lambda i=i, source=source: backend.submit(
                tasks.tag_chunk, model, source, key=backend.key("tag", run_id, i)
            )

    yield from backend.ordered(submits())
