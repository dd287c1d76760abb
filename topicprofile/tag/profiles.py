"""The tag stage of a fitted model: per-customer aggregates in, profile rows and tags as numbers out.

:class:`ProfileBuilder` holds what a profile row needs besides the customer's aggregates
(:class:`~topicprofile.tag.tagger.CustomerTopics`): the tag rules, the anchor-word counts, the
TF-IDF keywords and the topic labels. It turns customers into the profile table
(:func:`~topicprofile.tag.table.profile_table`) and the tags as numbers for the segments
(:class:`~topicprofile.tag.table.CustomerTags`), a block of customers at a time.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from topicprofile.tag.aggregate import MonthlyTopics, Report, aggregate_topics, customer_block
from topicprofile.tag.table import CustomerTags, customer_tags, profile_table
from topicprofile.tag.tagger import AnchorCounts, CustomerTopics, InterestTagger
from topicprofile.tag.texts import TextTagger
from topicprofile.text.encoder import TextEncoder

__all__ = ["ProfileBuilder", "customer_aggregates", "lda_anchor_counts"]

#: ``(profiles, tags, last customer id)`` of a block of customers (the last block's id is None).
Block = tuple[pd.DataFrame | None, CustomerTags | None, str | None]


def lda_anchor_counts(
    cache: AnchorCounts, topics: Any, *, prevalence: np.ndarray, threshold: float
) -> Callable[[Any], np.ndarray | None]:
    """``anchors(counts)``: per row of a count matrix and topic, how many tokens are anchor words of
    the topic, for a fitted :class:`~topicprofile.topics.lda.LdaTopics` (its training tokens per word
    are the column sums of its topic-word statistics). ``cache`` keeps the anchor matrix between calls."""

    def word_counts() -> np.ndarray:
        return np.asarray(topics.lda_.state.sstats, dtype=np.float64).sum(axis=0)

    def anchors(counts: Any) -> np.ndarray | None:
        return cache(counts, topic_word=topics.topic_word_, prevalence=prevalence, threshold=threshold,
                     word_counts=word_counts)  # fmt: skip

    return anchors


def customer_aggregates(
    chunks: Iterable[tuple[Any, ...]], *, topics: Any, tagger: InterestTagger, report: Report, total: int | None,
    pooled: Any = None, monthly: MonthlyTopics | None = None,
) -> tuple[CustomerTopics, np.ndarray]:  # fmt: skip
    """:func:`~topicprofile.tag.aggregate.aggregate_topics` under ``tagger``'s channel weights and
    aggregation rule: the customers' aggregates and the documents' topic mass."""
    return aggregate_topics(chunks, topics=topics, channel_weights=tagger.weights(), report=report, total=total,
                            pooled=pooled, aggregation=tagger.aggregation, monthly=monthly)  # fmt: skip


@dataclass(frozen=True)
class ProfileBuilder:
    """Profile rows of customers from their aggregates.

    Parameters
    ----------
    encoder : TextEncoder
        The fitted encoder (its TF-IDF model gives the keywords).
    topics : LdaTopics
        The fitted topics (anything with ``transform_counts`` for :meth:`text_tagger`).
    tagger : InterestTagger
        The tag rules.
    anchors : callable
        ``anchors(counts)``, see :func:`lda_anchor_counts` (None: no anchor rule).
    labels : sequence of str
        Topic labels.
    n_keywords : int
        TF-IDF keywords per customer.
    """

    encoder: TextEncoder
    topics: Any
    tagger: InterestTagger
    anchors: Callable[[Any], np.ndarray | None]
    labels: Sequence[str]
    n_keywords: int

    def profiles(self, customers: CustomerTopics) -> tuple[pd.DataFrame, CustomerTags]:
        """The profile table of ``customers`` (shares, counts, pooled word counts), and their tags as numbers."""
        anchors = self.anchors(customers.counts)
        topic_tags = self.tagger.customer_tags(customers.shares, customers.n_tokens, anchors)
        keywords = self.encoder.keywords(customers.counts, n=self.n_keywords)
        table = profile_table(customers, topic_tags=topic_tags, keywords=keywords, labels=self.labels)
        return table, customer_tags(customers.customer_ids, customers.shares, topic_tags, self.labels)

    def text_tagger(self) -> TextTagger:
        """The tagger of free texts with these topics, rules and labels (``TopicProfiler.tag_text``)."""
        return TextTagger(self.encoder.counter(), topics=self.topics, anchors=self.anchors, tagger=self.tagger,
                          labels=self.labels)  # fmt: skip

    def blocks(self, customers: CustomerTopics | None, block_rows: int | None) -> Iterator[Block]:
        """:meth:`profiles` of consecutive blocks of at most ``block_rows`` customers (None: one
        block), each with its last customer id; no customers give one empty block ``(None, None, None)``."""
        if customers is None:
            yield None, None, None
            return
        n = len(customers.customer_ids)
        step = max(n, 1) if block_rows is None else block_rows
        for start, stop in itertools.pairwise([*range(0, n, step), n] if n else [0, 0]):
            table, tags = self.profiles(customer_block(customers, start, stop))
            yield table, tags, None if stop == n else customers.customer_ids[stop - 1]
