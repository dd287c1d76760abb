"""The texts a model fitted on a cluster keeps (``keep_texts``), picked where the texts are.

``"snippets"`` (the default): each shard's task ranks its documents per customer and tag topic
(:func:`~topicprofile.distributed.tasks.snippet_candidates`: the support of
:func:`~topicprofile.privacy.minimize.pick_snippets`, the topic inference of the tagging tasks) and
sends back only its best ``(support, position)`` pairs, positions counted over the whole corpus. The
driver merges them (:meth:`~topicprofile.privacy.minimize.SnippetPicker.merge`): the best ``n`` of the
union of every shard's best ``n`` are the best ``n`` over all documents, ties to the earlier one, so
the kept documents are the local run's (tests/distributed/test_snippets.py). Then only those
documents' rows are fetched, shard by shard (:func:`~topicprofile.distributed.tasks.take_rows`).

``"all"``: the user asked to keep every text in the model folder, on the driver's disk: each shard
is fetched once and streamed into the kept store. ``"none"``: nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from topicprofile.distributed import tasks
from topicprofile.distributed.cluster import DaskBackend
from topicprofile.distributed.ingest import chunk_sources, remote_chunks
from topicprofile.distributed.tagging import infer_state
from topicprofile.ingest.docstore import STORED_FIELDS, DocumentStore
from topicprofile.privacy.minimize import SnippetPicker
from topicprofile.tag.explain import kept_documents
from topicprofile.tag.table import tag_topic_ids
from topicprofile.topics.lda import LdaTopics

__all__ = ["cluster_kept_documents", "cluster_snippets"]


def cluster_kept_documents(
    backend: DaskBackend, keep_texts: str, corpus: Any, *, profiles: pd.DataFrame,
    channel_weights: Mapping[str, float], topics: LdaTopics, chunk_rows: int,
) -> DocumentStore | None:  # fmt: skip
    """:func:`~topicprofile.tag.explain.kept_documents` of a fit on ``backend``'s cluster, whose
    ``corpus`` (a :class:`~topicprofile.distributed.counting.ClusterCountedCorpus`) keeps its count
    matrices on the workers; its store may hold no texts (:func:`~topicprofile.distributed.ingest.cluster_read`)."""
    store = corpus.store
    if keep_texts == "snippets":
        frame = cluster_snippets(backend, store, corpus.counts, tags=tag_topic_ids(profiles),
                                 channel_weights=channel_weights, topics=topics)  # fmt: skip
        return DocumentStore.from_frame(frame.fillna(""), chunk_rows=chunk_rows)
    if keep_texts != "all" or remote_chunks(store) is None:
        return kept_documents(keep_texts, corpus, profiles=profiles, channel_weights=channel_weights,
                              doc_topics=topics.transform_counts, chunk_rows=chunk_rows)  # fmt: skip
    kept = DocumentStore(chunk_rows=chunk_rows)  # every text, as asked: streamed here shard by shard
    run_id = uuid.uuid4().hex[:8]
    for frame in backend.ordered(
        lambda i=i, source=source: backend.submit(tasks.take_rows, source, None, key=backend.key(f"all-{run_id}", i))
        for i, source in enumerate(chunk_sources(backend, store))
    ):  # fmt: skip
        kept.append(frame)
    return kept


def cluster_snippets(
    backend: DaskBackend, store: DocumentStore, counts: list[Any], *, tags: Mapping[str, Any],
    channel_weights: Mapping[str, float], topics: LdaTopics, n: int = 3,
) -> pd.DataFrame:  # fmt: skip
    """The documents :func:`~topicprofile.privacy.minimize.pick_snippets` keeps (columns
    :data:`~topicprofile.ingest.docstore.STORED_FIELDS`, in document order), picked on the workers:
    ``counts`` are the futures of each shard's count matrix, ``tags`` each customer's tag topics."""
    run_id = uuid.uuid4().hex[:8]
    held = backend.submit(tasks.hold, {"topics": infer_state(topics), "tags": dict(tags),
                                       "weights": dict(channel_weights), "n": n},
                          key=backend.key("snippets", run_id))  # fmt: skip
    sources = list(chunk_sources(backend, store))
    sizes = store.chunk_sizes()
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64).tolist()
    picker = SnippetPicker(tags, n=n, rows=False)
    for candidates in backend.ordered(
        lambda i=i, source=source, matrix=matrix: backend.submit(
            tasks.snippet_candidates, held, source, matrix, starts[i], key=backend.key(f"candidates-{run_id}", i)
        )
        for i, (source, matrix) in enumerate(zip(sources, counts, strict=True))
    ):  # fmt: skip
        picker.merge(candidates)
    kept = np.asarray(picker.kept(), dtype=np.int64)
    rows: list[dict[str, Any]] = []
    for i, source in enumerate(sources):
        mine = kept[(kept >= starts[i]) & (kept < starts[i + 1])] - starts[i]
        if len(mine):
            rows += backend.result(backend.submit(tasks.take_rows, source, mine.tolist(),
                                                  key=backend.key(f"rows-{run_id}", i)))  # fmt: skip
    return pd.DataFrame(rows, columns=list(STORED_FIELDS))
