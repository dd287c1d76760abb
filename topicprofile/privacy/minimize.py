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

__all__ = ["KEEP_TEXTS", "SnippetPicker", "pick_snippets"]

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
    """

    def __init__(self, tags: Mapping[str, Sequence[int]], *, n: int = 3) -> None:
        self.tags = tags
        self.n = n
        self._heaps: dict[tuple[str, int], list[tuple[float, int]]] = {}
        self._rows: dict[int, dict[str, object]] = {}
        self._seen = 0

    def add(self, docs: pd.DataFrame, customer_ids: Sequence[str], support: np.ndarray) -> None:
        """One chunk: its documents (any columns), their customers and ``support`` (docs × topics)."""
        for i, customer in enumerate(customer_ids):
            index = self._seen + i
            for topic in self.tags.get(customer, ()):
                value = float(support[i, topic])
                if value <= 0:
                    continue
                heap = self._heaps.setdefault((customer, topic), [])
                item = (value, -index)
                if len(heap) < self.n:
                    heapq.heappush(heap, item)
                elif item > heap[0]:
                    heapq.heapreplace(heap, item)
                else:
                    continue
                self._rows.setdefault(index, docs.iloc[i].to_dict())
        self._seen += len(customer_ids)

    def result(self, columns: Sequence[str]) -> pd.DataFrame:
        """The kept documents in input order, with ``columns``."""
        kept = sorted({-neg for heap in self._heaps.values() for _, neg in heap})
        return pd.DataFrame([self._rows[i] for i in kept], columns=list(columns))


def pick_snippets(
    chunks: Iterable[tuple[pd.DataFrame, Any]], *, tags: Mapping[str, Sequence[int]],
    channel_weights: Mapping[str, float], doc_topics: Callable[[Any], np.ndarray], columns: Sequence[str],
) -> pd.DataFrame:  # fmt: skip
    """The documents ``keep_texts="snippets"`` keeps, from ``(documents, counts)`` chunks: per
    customer and tag topic (``tags``), the :class:`SnippetPicker`'s documents by support (channel
    weight × words × ``doc_topics(counts)``, the topic's share of the document), as ``columns``."""
    picker = SnippetPicker(tags)
    for docs, counts in chunks:
        w = docs[schema.CHANNEL].map(lambda c: float(channel_weights.get(c, 1.0))).to_numpy()
        support = (w * np.asarray(counts.sum(axis=1)).ravel())[:, None] * doc_topics(counts)
        picker.add(docs, docs[schema.CUSTOMER_ID].tolist(), support)
    return picker.result(columns)
