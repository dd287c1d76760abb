"""Data minimisation (issue 14): which of a customer's texts a model keeps.

``keep_texts="all"`` keeps every text the model was fitted on (for ``explain``); ``"snippets"`` (the
default) keeps only the documents ``explain`` shows as evidence: per customer and interest tag, the
``n`` documents that give the tag the most weight (the ranking of :func:`topicprofile.tag.explain.explain_tags`);
``"none"`` keeps no text (``explain`` then needs the customer's files).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from topicprofile import schema

__all__ = ["KEEP_TEXTS", "SnippetPicker", "pick_snippets", "snippet_support"]

KEEP_TEXTS = ("all", "snippets", "none")


class SnippetPicker:
    """Streams documents chunk by chunk and keeps, per customer and tag topic, the ``n`` with the
    largest support (ties: the earlier document).

    Parameters
    ----------
    tags : mapping of str to sequence of int
        Each customer's tag topics (from the profiles).
    n : int
        Documents kept per customer and tag.
    start : int
        The position of the first document added (a shard of a larger corpus starts further on).
    rows : bool
        Keep the rows of the documents that may be kept (for :meth:`result`); without, only their
        positions and support (:meth:`candidates`, what a cluster's shard sends).

    The kept documents are the ``n`` largest ``(support, -position)`` per customer and topic, so
    they do not depend on the order the documents come in: the shards' :meth:`candidates`
    :meth:`merge` in any order gives the :meth:`kept` positions of one picker over all documents.
    """

    def __init__(
        self, tags: Mapping[str, Sequence[int]], *, n: int = 3, start: int = 0, rows: bool = True
    ) -> None:
        self.tags = tags
        self.n = n
        self._heaps: dict[tuple[str, int], list[tuple[float, int]]] = {}
        self._rows: dict[int, dict[str, object]] = {}
        self._keep_rows = rows
        self._seen = start

    def _push(self, key: tuple[str, int], item: tuple[float, int]) -> bool:
        heap = self._heaps.setdefault(key, [])
        if len(heap) < self.n:
            heapq.heappush(heap, item)
        elif item > heap[0]:
            heapq.heapreplace(heap, item)
        else:
            return False
        return True

    def add(self, docs: pd.DataFrame, customer_ids: Sequence[str], support: np.ndarray) -> None:
        """One chunk: its documents (any columns), their customers and ``support`` (docs × topics)."""
        for i, customer in enumerate(customer_ids):
            index = self._seen + i
            for topic in self.tags.get(customer, ()):
                value = float(support[i, topic])
                if value > 0 and self._push((customer, topic), (value, -index)) and self._keep_rows:
                    self._rows.setdefault(index, docs.iloc[i].to_dict())
        self._seen += len(customer_ids)

    def candidates(self) -> dict[tuple[str, int], list[tuple[float, int]]]:
        """Per customer and topic, the ``(support, -position)`` of the documents kept so far."""
        return {key: list(heap) for key, heap in self._heaps.items() if heap}

    def merge(self, candidates: Mapping[tuple[str, int], Sequence[tuple[float, int]]]) -> None:
        """Add another picker's :meth:`candidates` (positions only: no rows)."""
        for key, items in candidates.items():
            for item in items:
                self._push(key, (float(item[0]), int(item[1])))

    def kept(self) -> list[int]:
        """The positions of the kept documents, in input order."""
        return sorted({-neg for heap in self._heaps.values() for _, neg in heap})

    def result(self, columns: Sequence[str]) -> pd.DataFrame:
        """The kept documents in input order, with ``columns``."""
        return pd.DataFrame([self._rows[i] for i in self.kept()], columns=list(columns))


def snippet_support(
    docs: pd.DataFrame,
    counts: Any,
    channel_weights: Mapping[str, float],
    doc_topics: Callable[[Any], np.ndarray],
) -> np.ndarray:
    """Each document's support for each topic (docs × topics): its channel's weight × its words ×
    ``doc_topics(counts)``, the topic's share of the document."""
    w = docs[schema.CHANNEL].map(lambda c: float(channel_weights.get(c, 1.0))).to_numpy()
    return (w * np.asarray(counts.sum(axis=1)).ravel())[:, None] * doc_topics(counts)


def pick_snippets(
    chunks: Iterable[tuple[pd.DataFrame, Any]], *, tags: Mapping[str, Sequence[int]],
    channel_weights: Mapping[str, float], doc_topics: Callable[[Any], np.ndarray], columns: Sequence[str],
) -> pd.DataFrame:  # fmt: skip
    """The documents ``keep_texts="snippets"`` keeps, from ``(documents, counts)`` chunks: per
    customer and tag topic (``tags``), the :class:`SnippetPicker`'s documents by support (channel
    weight × words × ``doc_topics(counts)``, the topic's share of the document), as ``columns``."""
    picker = SnippetPicker(tags)
    for docs, counts in chunks:
        support = snippet_support(docs, counts, channel_weights, doc_topics)
        picker.add(docs, docs[schema.CUSTOMER_ID].tolist(), support)
    return picker.result(columns)
