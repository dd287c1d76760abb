"""Tests of topicprofile.segments.join: the profile table with RFM columns (one-sided customers filled)."""

from __future__ import annotations

import pandas as pd

from topicprofile.segments.join import BEHAVIOR_COLUMNS, NO_ORDERS_RECENCY, NO_ORDERS_SEGMENT, join_behavior


def test_join_behavior_fills_one_sided_customers(shares: pd.DataFrame, rfm: pd.DataFrame) -> None:
    profiles = shares.reset_index().assign(
        top_interest=["x", "y", ""], interest_tags=["x", "y", ""],
        interest_scores=['{"x": 0.9}', '{"y": 0.8}', "{}"],
        n_documents=[2, 1, 1], keywords=["k", "k", ""], interest_topics=["0", "1", ""], n_tokens=[9, 8, 2],
    )  # fmt: skip
    table = join_behavior(profiles, rfm)
    assert table["customer_id"].tolist() == ["a", "b", "c", "d", "e"]
    assert not table.isna().any().any()
    assert set(BEHAVIOR_COLUMNS) <= set(table.columns)
    b = table.set_index("customer_id").loc["b"]
    assert (b["recency_days"], b["frequency"], b["r_score"], b["rfm_segment"]) == (
        NO_ORDERS_RECENCY,
        0,
        0,
        NO_ORDERS_SEGMENT,
    )
    c = table.set_index("customer_id").loc["c"]
    assert (c["n_documents"], c["top_interest"], c["interest_scores"], c["topic_0"]) == (0, "", "{}", 0.5)
    assert table["frequency"].dtype == "int64" and table["n_documents"].dtype == "int64"
