"""Profile rows and RFM columns side by side: the readable profile table, one row per customer.

:func:`join_behavior` puts the RFM columns of the output contract (``recency_days`` … ``rfm_segment``)
next to the text profile columns, over the *union* of customers who wrote something and customers
who ordered.

Customers with only one side
----------------------------
Nobody is dropped and nothing is NaN. The row is read by people, so its fill values differ on purpose
from those of the fused vector, which feeds a distance-based clustering (see
:mod:`topicprofile.segments.fuse`):

=====================  ========================================
customer               profile row (:func:`join_behavior`)
=====================  ========================================
text, no orders        ``frequency 0``, ``monetary 0``,
                       ``avg_order_value 0``, ``recency_days
                       -1``, ``r/f/m_score 0``,
                       ``rfm_segment "No orders"``
orders, no text        text columns empty, ``n_documents 0``,
                       topic shares uniform ``1/K`` (the
                       tagger's "no evidence" row)
=====================  ========================================

``-1`` and score ``0`` are outside every real value (days and scores 1..5 are never negative or 0), so
a filter or a chart cannot mistake them for a customer who bought; ``rfm_segment`` says it in words.
"""

from __future__ import annotations

import pandas as pd

from topicprofile import schema
from topicprofile.behavior import (
    AVG_ORDER_VALUE,
    F_SCORE,
    FREQUENCY,
    M_SCORE,
    MONETARY,
    R_SCORE,
    RECENCY_DAYS,
    RFM_SEGMENT,
)
from topicprofile.errors import DataValidationError
from topicprofile.segments.columns import TOPIC_PREFIX, require_columns, topic_columns

__all__ = ["BEHAVIOR_COLUMNS", "NO_ORDERS_RECENCY", "NO_ORDERS_SEGMENT", "join_behavior"]

#: RFM columns of the output contract, in order (see :func:`join_behavior`).
BEHAVIOR_COLUMNS: tuple[str, ...] = (
    RECENCY_DAYS, FREQUENCY, MONETARY, AVG_ORDER_VALUE, R_SCORE, F_SCORE, M_SCORE, RFM_SEGMENT,
)  # fmt: skip
#: ``rfm_segment`` of a customer without any order.
NO_ORDERS_SEGMENT = "No orders"
#: ``recency_days`` of a customer without any order in the readable profile.
NO_ORDERS_RECENCY = -1


def join_behavior(
    profiles: pd.DataFrame | None, rfm: pd.DataFrame | None, *, n_topics: int | None = None
) -> pd.DataFrame:
    """Profile rows and RFM columns side by side, one row per customer of either table.

    Input: ``profiles`` as from :meth:`TopicProfiler.profile` (one row per customer with text;
    None when there is no text) and ``rfm`` as from :func:`~topicprofile.behavior.compute_rfm`
    (index ``customer_id``, with scores and ``rfm_segment``; None when there are no orders).
    Output: one row per customer of the union (sorted by ``customer_id``, index reset): the profile
    columns, then :data:`BEHAVIOR_COLUMNS`. Fill values for one-sided customers are in the module
    docstring; no NaN.

    Parameters
    ----------
    profiles : pandas.DataFrame or None
        Text profile table.
    rfm : pandas.DataFrame or None
        Scored RFM table.
    n_topics : int, optional
        Number of topics: the ``topic_*`` columns to fill (or to create when ``profiles`` is None);
        without it they are found in ``profiles``.

    Returns
    -------
    pandas.DataFrame
        The joined table.
    """
    if profiles is None and rfm is None:
        raise DataValidationError("nothing to join: give profiles (text) and/or an RFM table (orders).")
    if rfm is not None:
        require_columns(rfm, BEHAVIOR_COLUMNS, "RFM table")
    if profiles is not None:
        require_columns(profiles, (schema.CUSTOMER_ID,), "profiles")
        text = profiles.set_index(profiles[schema.CUSTOMER_ID].astype(str)).drop(columns=schema.CUSTOMER_ID)
    else:
        columns = [*schema.PROFILE_COLUMNS[1:], "n_tokens", "interest_topics"]
        columns += [f"{TOPIC_PREFIX}{k}" for k in range(n_topics or 0)]
        text = pd.DataFrame(columns=columns, index=pd.Index([], dtype=object))
    rfm_part = (
        rfm.loc[:, list(BEHAVIOR_COLUMNS)].set_axis(rfm.index.astype(str))
        if rfm is not None
        else pd.DataFrame(columns=list(BEHAVIOR_COLUMNS), index=pd.Index([], dtype=object))
    )
    index = text.index.union(rfm_part.index).sort_values()
    table = text.reindex(index)
    no_text = ~index.isin(text.index)
    topics = topic_columns(text) if n_topics is None else [f"{TOPIC_PREFIX}{k}" for k in range(n_topics)]
    for column in text.columns:
        if column in topics:
            fill: object = 1.0 / len(topics)
        elif column in (schema.N_DOCUMENTS, "n_tokens"):
            fill = 0
        elif column == schema.INTEREST_SCORES:
            fill = "{}"
        elif pd.api.types.is_numeric_dtype(text[column]):
            fill = 0
        else:
            fill = ""
        if no_text.any():
            table.loc[no_text, column] = fill
        table[column] = table[column].astype(text[column].dtype if len(text) else type(fill))
    behavior = rfm_part.reindex(index)
    no_orders = ~index.isin(rfm_part.index)
    fills = {
        RECENCY_DAYS: NO_ORDERS_RECENCY, FREQUENCY: 0, MONETARY: 0.0, AVG_ORDER_VALUE: 0.0,
        R_SCORE: 0, F_SCORE: 0, M_SCORE: 0, RFM_SEGMENT: NO_ORDERS_SEGMENT,
    }  # fmt: skip
    dtypes = {RFM_SEGMENT: object, MONETARY: "float64", AVG_ORDER_VALUE: "float64"}
    for column, fill in fills.items():
        behavior.loc[no_orders, column] = fill
        behavior[column] = behavior[column].astype(dtypes.get(column, "int64"))
    joined = pd.concat([table, behavior], axis=1)
    joined.index.name = schema.CUSTOMER_ID
    return joined.reset_index()
