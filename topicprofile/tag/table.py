"""The profile table: numbers in, the output contract's columns out, built once at the end.

The ``;``-joined tags and keywords and the JSON scores are strings for people; they are made here
and nowhere else.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from topicprofile import schema
from topicprofile.tag.tagger import CustomerTopics
from topicprofile.tag.texts import text_tags

__all__ = [
    "CustomerTags", "profile_table", "label_columns", "relabel", "order_columns", "column_order", "topic_shares",
    "text_tags", "customer_tags", "tags_of_table", "tag_topic_ids",
]  # fmt: skip


@dataclass(frozen=True)
class CustomerTags:
    """Customers' interest tags as numbers: what the segments stage reads instead of the strings.

    ``customer_ids`` (n,) str; ``labels`` (L,) the tag labels; ``tagged`` (n, L) int64, 1 where the
    customer carries the label; ``scores`` (n, L) float64, the tag's score as shown (3 places), 0
    where not a tag; ``shares`` (n, K) the customers' topic shares, or None when not known.
    """

    customer_ids: np.ndarray
    labels: list[str]
    tagged: np.ndarray
    scores: np.ndarray
    shares: np.ndarray | None = None

    def reindex(self, customer_ids: Iterable[str]) -> CustomerTags:
        """The rows of ``customer_ids`` in that order; a customer not here carries no tag (shares dropped)."""
        ids = np.asarray(list(customer_ids), dtype=object)
        at = pd.Index(self.customer_ids).get_indexer(ids)
        known = at >= 0
        tagged = np.zeros((len(ids), len(self.labels)), dtype=np.int64)
        scores = np.zeros((len(ids), len(self.labels)), dtype=np.float64)
        tagged[known], scores[known] = self.tagged[at[known]], self.scores[at[known]]
        return CustomerTags(ids, list(self.labels), tagged, scores)


def customer_tags(
    customer_ids: Sequence[str], shares: np.ndarray, topic_tags: Sequence[Sequence[tuple[int, float]]],
    labels: Sequence[str],
) -> CustomerTags:  # fmt: skip
    """:class:`CustomerTags` of customers from the tagger's ``(topic, score)`` lists (labels = topic labels)."""
    n, k = len(topic_tags), len(labels)
    tagged, scores = np.zeros((n, k), dtype=np.int64), np.zeros((n, k), dtype=np.float64)
    for i, tags in enumerate(topic_tags):
        for topic, score in tags:
            tagged[i, topic], scores[i, topic] = 1, score
    return CustomerTags(np.asarray(customer_ids, dtype=object), list(labels), tagged, scores, shares)


def tags_of_table(table: pd.DataFrame) -> CustomerTags:
    """:class:`CustomerTags` read back from a profile table's ``interest_tags``, ``interest_scores``
    (when present) and ``topic_{k}`` columns (when present): for a table without its numbers, e.g.
    a saved model's profiles after the topics were renamed."""
    rows = table[schema.INTEREST_TAGS].fillna("").astype(str).str.split(";")
    labels = sorted({label for row in rows for label in row if label.strip()})
    column = {label: j for j, label in enumerate(labels)}
    tagged = np.zeros((len(table), len(labels)), dtype=np.int64)
    scores = np.zeros((len(table), len(labels)), dtype=np.float64)
    raw_scores = table[schema.INTEREST_SCORES] if schema.INTEREST_SCORES in table else [""] * len(table)
    for i, (row, raw) in enumerate(zip(rows, raw_scores, strict=True)):
        for label in row:
            if label in column:
                tagged[i, column[label]] = 1
        for label, score in _parse_scores(raw).items():
            if label in column:
                scores[i, column[label]] = score
    n_topics = sum(1 for c in table.columns if isinstance(c, str) and c.startswith("topic_") and c[6:].isdigit())
    shares = topic_shares(table, n_topics).astype("float64") if n_topics else None
    return CustomerTags(table[schema.CUSTOMER_ID].astype(str).to_numpy(dtype=object), labels, tagged, scores, shares)


def _parse_scores(raw: object) -> dict[str, float]:
    try:
        value = json.loads(raw) if isinstance(raw, str) and raw else {}
        return {str(k): float(v) for k, v in value.items()} if isinstance(value, dict) else {}
    except (ValueError, AttributeError, TypeError):
        return {}


def profile_table(
    customers: CustomerTopics, *, topic_tags: Sequence[Sequence[tuple[int, float]]],
    keywords: Sequence[Sequence[str]], labels: Sequence[str],
) -> pd.DataFrame:  # fmt: skip
    """One row per customer: ids, tags (topic ids and labels), scores, counts, keywords, topic shares."""
    interest_topics = [";".join(str(k) for k, _ in t) for t in topic_tags]
    columns = {
        schema.CUSTOMER_ID: customers.customer_ids,
        "interest_topics": interest_topics,
        schema.N_DOCUMENTS: customers.n_documents,
        "n_tokens": customers.n_tokens,
        schema.KEYWORDS: [";".join(words).replace("_", " ") for words in keywords],
        **{f"topic_{k}": customers.shares[:, k] for k in range(customers.shares.shape[1])},
        **label_columns(interest_topics, customers.shares, labels),
    }
    # built once, in the output contract's order (no copies: this table has a row per customer)
    return pd.DataFrame({name: columns[name] for name in column_order(list(columns))})


def topic_shares(table: pd.DataFrame, n_topics: int) -> np.ndarray:
    """The ``topic_{k}`` columns of a profile table as an ``n_customers × n_topics`` array."""
    return table[[f"topic_{k}" for k in range(n_topics)]].to_numpy()


def relabel(table: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """(Re)write the label columns from ``interest_topics``, the shares and ``labels``."""
    table = table.assign(**label_columns(table["interest_topics"], topic_shares(table, len(labels)), labels))
    return order_columns(table)


def label_columns(interest_topics: Iterable[str], shares: np.ndarray, labels: Sequence[str]) -> dict[str, list[str]]:
    """``top_interest``, ``interest_tags`` and ``interest_scores`` of each row, in ``labels``."""
    named = [
        [(labels[int(k)], round(float(shares[i, int(k)]), 3)) for k in ids.split(";") if k]
        for i, ids in enumerate(interest_topics)
    ]
    return {
        schema.TOP_INTEREST: [t[0][0] if t else "" for t in named],
        schema.INTEREST_TAGS: [";".join(label for label, _ in t) for t in named],
        schema.INTEREST_SCORES: [json.dumps(dict(t), ensure_ascii=False) for t in named],
    }


def order_columns(table: pd.DataFrame) -> pd.DataFrame:
    """The output contract's columns first (profile, then behavior when present), the rest after."""
    return table[column_order(list(table.columns))].reset_index(drop=True)


def column_order(columns: Sequence[str]) -> list[str]:
    front = [c for c in (*schema.PROFILE_COLUMNS, *schema.BEHAVIOR_PROFILE_COLUMNS) if c in columns]
    return front + [c for c in columns if c not in front]


def tag_topic_ids(table: pd.DataFrame) -> dict[str, list[int]]:
    """Each tagged customer's tag topics, read from a profile table's ``interest_topics`` (``"3;0"`` -> ``[3, 0]``)."""
    pairs = zip(table[schema.CUSTOMER_ID], table["interest_topics"], strict=True)
    return {customer: [int(k) for k in topics.split(";") if k] for customer, topics in pairs if topics}
