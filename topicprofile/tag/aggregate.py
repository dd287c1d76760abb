"""Per-customer aggregation: the fit's counting pass and the topic pass, chunk by chunk.

Both stream the documents; what they return are numbers (:class:`CustomerTopics`, the length-
weighted topic mass), turned into the output table only in :mod:`topicprofile.tag.table`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from topicprofile import schema
from topicprofile.tag.tagger import CustomerAccumulator, CustomerTopics
from topicprofile.text.corpus import CountedCorpus, DocumentStore, TokenShards
from topicprofile.text.encoder import TextEncoder

__all__ = ["count_corpus", "aggregate_topics", "customer_block"]

Report = Callable[[str, int, "int | None"], None]


def count_corpus(
    store: DocumentStore, tokens: TokenShards, encoder: TextEncoder, *, report: Report, seed: int,
    min_example_words: int | None,
) -> CountedCorpus:  # fmt: skip
    """Bags of words of every document (kept on disk), pooled per customer, plus a sample for
    coherence and, with ``min_example_words``, each customer's example review."""
    corpus = CountedCorpus(store, store.directory / "counts", seed=seed, min_example_words=min_example_words)
    accumulator = CustomerAccumulator(1, {}, "length")  # word counts only: channel weights do not apply
    report("count", 0, store.n_docs)
    for docs, (chunk, counts) in zip(store.chunks(), encoder.iter_vocabulary_counts(tokens), strict=True):
        corpus.add(docs, counts, chunk)  # coherence sees what LDA sees
        accumulator.add(docs[schema.CUSTOMER_ID].tolist(), docs[schema.CHANNEL].tolist(),
                        np.zeros(len(docs), dtype=np.int64), counts=counts)  # fmt: skip
        report("count", corpus.n_docs, store.n_docs)
    corpus.pooled = accumulator.result().counts
    return corpus


def aggregate_topics(
    chunks: Iterable[tuple[Any, ...]], *, topics: Any, channel_weights: Mapping[str, float],
    report: Report, total: int | None, pooled: Any = None, aggregation: str = "sharpened",
) -> tuple[CustomerTopics, np.ndarray]:  # fmt: skip
    """Infer each document's topics (``topics.transform_counts``; or given, as a chunk's third item)
    chunk by chunk and add them up per customer (``aggregation``: see :class:`~topicprofile.tag.tagger.CustomerAccumulator`).

    Returns the customers' aggregates and the length-weighted topic mass of all documents.
    ``pooled``: the customers' pooled word counts when already known (the fit's counting pass
    has them, rows sorted by customer id as here), instead of adding them up again.
    """
    accumulator = CustomerAccumulator(topics.n_topics, channel_weights, aggregation)
    topic_mass = np.zeros((1, topics.n_topics))
    done = 0
    report("tag", 0, total)
    for docs, counts, *inferred in chunks:
        # a cluster hands over the chunk's topics already inferred (topicprofile.distributed)
        doc_topics = inferred[0] if inferred else topics.transform_counts(counts)
        n_tokens = np.asarray(counts.sum(axis=1)).ravel().astype(np.int64)
        accumulator.add(docs[schema.CUSTOMER_ID].tolist(), docs[schema.CHANNEL].tolist(), n_tokens,
                        doc_topics=doc_topics, counts=counts if pooled is None else None)  # fmt: skip
        np.add.at(topic_mass, np.zeros(len(docs), dtype=np.int64), doc_topics * n_tokens[:, None])
        done += len(docs)
        report("tag", done, total)
    customers = accumulator.result()
    if pooled is not None:
        if pooled.shape[0] != len(customers.customer_ids):
            raise RuntimeError("pooled counts do not match the customers (internal error)")
        customers = dataclasses.replace(customers, counts=pooled)
    return customers, topic_mass[0]


def customer_block(customers: CustomerTopics, start: int, stop: int) -> CustomerTopics:
    """Customers ``start:stop`` of the aggregates (views, no copies)."""
    rows = slice(start, stop)
    return dataclasses.replace(
        customers,
        customer_ids=customers.customer_ids[rows],
        shares=customers.shares[rows],
        n_documents=customers.n_documents[rows],
        n_tokens=customers.n_tokens[rows],
        anchors=None if customers.anchors is None else customers.anchors[rows],
        counts=None if customers.counts is None else customers.counts[rows],
    )
