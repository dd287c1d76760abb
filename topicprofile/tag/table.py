"""The profile table: numbers in, the output contract's columns out, built once at the end.

The ``;``-joined tags and keywords and the JSON scores are strings for people; they are made here
and nowhere else.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from topicprofile import schema
from topicprofile.tag.tagger import CustomerTopics
from topicprofile.tag.texts import text_tags

__all__ = ["profile_table", "label_columns", "relabel", "order_columns", "column_order", "topic_shares", "text_tags"]


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
