"""Per-customer aggregation: the fit's counting pass and the topic pass, chunk by chunk.

Both stream the documents; what they return are numbers (:class:`CustomerTopics`, the length-
weighted topic mass), turned into the output table only in :mod:`topicprofile.tag.table`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from topicprofile import schema
from topicprofile.tag.tagger import CustomerAccumulator, CustomerTopics
from topicprofile.ingest.docstore import DocumentStore
from topicprofile.text.corpus import CountedCorpus, TokenShards
from topicprofile.text.encoder import TextEncoder

__all__ = ["MonthlyTopics", "count_corpus", "aggregate_topics", "customer_block"]

Report = Callable[[str, int, "int | None"], None]


def count_corpus(
    store: DocumentStore, tokens: TokenShards, encoder: TextEncoder, *, report: Report, seed: int,
    min_example_words: int | None,
) -> CountedCorpus:  # fmt: skip
    """Bags of words of every document (kept on disk), pooled per customer, plus a sample for
    coherence and, with ``min_example_words``, each customer's example review. Tokens kept on a
    cluster count there (their ``count_corpus``: :mod:`topicprofile.distributed.counting`)."""
    if hasattr(tokens, "count_corpus"):
        return tokens.count_corpus(
            store, encoder, report=report, seed=seed, min_example_words=min_example_words
        )
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


class MonthlyTopics:
    """Topic shares of the dated documents per calendar month, added up chunk by chunk.

    Each dated document with words counts once, with its topic distribution; what is kept is one
    row of ``n_topics`` sums and a document count per month (aggregates, no customer in them).
    """

    def __init__(self, n_topics: int) -> None:
        self.n_topics = n_topics
        self._sums: dict[str, np.ndarray] = {}
        self._counts: dict[str, int] = {}

    def add(self, months: Iterable[str], doc_topics: np.ndarray, n_tokens: np.ndarray) -> None:
        codes, names = pd.factorize(np.asarray(list(months), dtype=object))
        keep = (codes >= 0) & (np.asarray(n_tokens) > 0)
        sums = np.zeros((len(names), self.n_topics))
        np.add.at(sums, codes[keep], np.asarray(doc_topics, dtype=np.float64)[keep])
        counts = np.bincount(codes[keep], minlength=len(names))
        for i, month in enumerate(names):
            if month and counts[i]:
                self._sums[month] = self._sums.get(month, 0.0) + sums[i]
                self._counts[month] = self._counts.get(month, 0) + int(counts[i])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``{"months": [...], "n_documents": [...], "shares": [[...n_topics] per month]}``, months sorted."""
        months = sorted(self._sums)
        return {
            "months": months,
            "n_documents": [self._counts[m] for m in months],
            "shares": [[round(float(x), 6) for x in self._sums[m] / self._counts[m]] for m in months],
        }


def aggregate_topics(
    chunks: Iterable[tuple[Any, ...]], *, topics: Any, channel_weights: Mapping[str, float],
    report: Report, total: int | None, pooled: Any = None, aggregation: str = "sharpened",
    monthly: MonthlyTopics | None = None,
) -> tuple[CustomerTopics, np.ndarray]:  # fmt: skip
    """Infer each document's topics (``topics.transform_counts``; or given, as a chunk's third item)
    chunk by chunk and add them up per customer (``aggregation``: see :class:`~topicprofile.tag.tagger.CustomerAccumulator`).

    Returns the customers' aggregates and the length-weighted topic mass of all documents.
    ``pooled``: the customers' pooled word counts when already known (the fit's counting pass
    has them, rows sorted by customer id as here), instead of adding them up again. ``monthly``
    collects the dated documents' topic shares per month (documents with a ``month`` column).
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
        if monthly is not None and schema.MONTH in docs:
            monthly.add(docs[schema.MONTH].tolist(), doc_topics, n_tokens)
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
