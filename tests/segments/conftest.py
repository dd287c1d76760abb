"""Shared inputs of the segments tests: a few customers' topic shares and orders, one-sided on purpose."""

from __future__ import annotations

import pandas as pd
import pytest

from topicprofile.behavior import compute_rfm


@pytest.fixture
def shares() -> pd.DataFrame:
    """Customers a, b, d have text; b has none of the orders."""
    return pd.DataFrame(
        {"topic_0": [0.9, 0.2, 0.5], "topic_1": [0.1, 0.8, 0.5]},
        index=pd.Index(["a", "b", "d"], name="customer_id"),
    )


@pytest.fixture
def orders() -> pd.DataFrame:
    """Customers a, c, d ordered; c has no text, e only cancelled."""
    frame = pd.DataFrame(
        [
            ("a", "1", "2025-01-02", 30.0, ""), ("a", "2", "2025-03-01", 50.0, ""),
            ("c", "3", "2024-06-01", 12.5, ""),
            ("d", "4", "2025-02-10", 200.0, ""), ("d", "5", "2025-02-20", 80.0, ""),
            ("d", "6", "2025-03-02", 5.0, ""),
            ("e", "7", "2025-01-15", 99.0, "cancelled"),
        ],
        columns=["customer_id", "order_id", "timestamp", "amount", "status"],
    )  # fmt: skip
    frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    return frame


@pytest.fixture
def rfm(orders: pd.DataFrame) -> pd.DataFrame:
    return compute_rfm(orders, as_of="2025-03-31")
