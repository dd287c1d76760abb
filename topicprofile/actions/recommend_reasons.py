"""The one-line reason of each recommendation, and the long output table.

A reason is first a number per recommendation (cheap to make for millions of rows), then each
distinct number becomes its text once: ``"interest: Outdoor 0.62; customers who bought tent also
bought this"`` or ``"popular: bought by 12% of customers"``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp

from topicprofile.actions.recommend_parts import Components
from topicprofile.actions.recommend_rank import ITEM, Scores
from topicprofile.schema import CUSTOMER_ID

__all__ = ["reason_keys", "reason_text", "recommendation_table"]


def reason_keys(
    top_items: np.ndarray,
    scores: Scores,
    owned: sp.csr_matrix,
    comp: Components,
    weights: Mapping[str, float],
) -> np.ndarray:
    """A number per recommendation that :func:`reason_text` turns into its one-line reason.

    The reason names the interest that lifts the item most above its base rate (its topic and
    the customer's share, in hundredths) and the customer's own item nearest to it in CF space;
    without either, the item's popularity. ``key = interest * (n_items + 1) + neighbour + 1``
    with ``interest = 1 + topic * 101 + share``, 0 for none; ``-(item + 1)`` for popularity.
    """
    m = len(comp.popularity)
    interest = np.zeros(top_items.shape, dtype=np.int64)
    if weights["content"] > 0 and scores.vectors is not None and scores.has_text.any():
        vectors = scores.vectors
        lift = (comp.affinity - comp.popularity)[:, top_items]  # topics x n x k
        contrib = vectors.T[:, :, None] * lift
        best = contrib.argmax(axis=0)
        show = (np.take_along_axis(contrib, best[None], axis=0)[0] > 0) & scores.has_text[:, None]
        share = np.rint(np.take_along_axis(vectors, best, axis=1) * 100).astype(np.int64)
        interest = np.where(show, 1 + best * 101 + share, 0)
    friend = np.full(top_items.shape, -1, dtype=np.int64)
    if weights["cf"] > 0 and scores.known.any() and owned.nnz:
        friend = _neighbours(top_items, owned, comp)
    keys = interest * (m + 1) + friend + 1
    return np.where(keys > 0, keys, -(top_items.astype(np.int64) + 1))


def reason_text(keys: np.ndarray, labels: list[str], items: pd.Index, comp: Components) -> np.ndarray:
    """The one-line reasons of :func:`reason_keys`' numbers (object array, one per key)."""
    m, names = len(items), items.to_numpy().astype(object)
    n_topics = 0 if comp.affinity is None else comp.affinity.shape[0]
    topics = [labels[t] if t < len(labels) else str(t) for t in range(n_topics)]
    # every possible part once: "interest: <topic> <share>" and "customers who bought <item> ..."
    interest_text = np.array(
        [""] + [f"interest: {t} {share / 100:.2f}" for t in topics for share in range(101)], dtype=object
    )
    friend_text = np.append("", "customers who bought " + names + " also bought this").astype(object)
    popular = np.array([f"popular: bought by {p:.0%} of customers" for p in comp.popularity], dtype=object)
    interest, friend = np.divmod(np.maximum(keys, 0), m + 1)
    both = (interest > 0) & (friend > 0)
    text = interest_text[interest] + np.where(both, "; ", "").astype(object) + friend_text[friend]
    return np.where(keys < 0, popular[np.maximum(-keys - 1, 0)], text)


def recommendation_table(
    ids: pd.Index, items: pd.Index, parts: Mapping[str, np.ndarray], reasons: np.ndarray
) -> pd.DataFrame:
    """The long output table; strings are made once per distinct value (items, reasons), not per row.

    ``parts``: ``row`` (position in ``ids``, sorted), ``item`` (position in ``items``), ``value``
    (score) and ``reason`` (a key; ``reasons`` holds the text of each distinct key, in sorted order).
    """
    row = parts["row"]
    rank = np.ones(len(row), dtype=np.int64)
    if len(row):
        starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
        rank = np.arange(len(row)) - np.repeat(starts, np.diff(np.r_[starts, len(row)])) + 1
    codes = np.searchsorted(np.unique(parts["reason"]), parts["reason"])
    return pd.DataFrame({
        CUSTOMER_ID: _take(ids, row), "rank": rank, ITEM: _take(items, parts["item"]),
        "score": np.round(parts["value"].astype("float64"), 4), "reason": _take(pd.Index(reasons), codes),
    })  # fmt: skip


def _take(values: pd.Index, positions: np.ndarray) -> pd.Categorical:
    """``values[positions]`` as a categorical: integer codes, each distinct string stored once.

    Building 2,000,000 Python strings into pandas' string dtype took seconds; codes take
    milliseconds, and the CSV / Parquet writers print the values as usual.
    """
    categories = pd.Index(values.astype(str))
    codes = np.asarray(positions, dtype=np.int64)
    if categories.has_duplicates:  # e.g. two items bought by the same share of customers
        categories, first = np.unique(np.asarray(categories, dtype=object), return_inverse=True)
        categories, codes = pd.Index(categories), first[codes]
    return pd.Categorical.from_codes(codes, categories=categories)


def _neighbours(top_items: np.ndarray, owned: sp.csr_matrix, comp: Components) -> np.ndarray:
    """Per recommendation, the customer's own item most similar to it in CF space (-1: none)."""
    n, k = top_items.shape
    owner = np.repeat(np.arange(n), np.diff(owned.indptr))
    rows, slots = np.repeat(owner, k), np.tile(np.arange(k), len(owner))
    mine = np.repeat(owned.indices, k)
    target = top_items[rows, slots]
    value = comp.item_similarity(target, mine)
    value[(target == mine) | ~(value > 0)] = -np.inf  # an unrelated item explains nothing
    key = rows * k + slots
    order = np.lexsort((mine, -value, key))  # best neighbour first in each (customer, slot)
    first = order[np.unique(key[order], return_index=True)[1]]
    friend = np.full(n * k, -1)
    keep = np.isfinite(value[first])
    friend[key[first][keep]] = mine[first][keep]
    return friend.reshape(n, k)
