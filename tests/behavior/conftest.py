"""Shared inputs of the behavior tests: an orders-table builder and the real CDNOW transactions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def _make_orders(*lines: tuple) -> pd.DataFrame:
    """Orders table from (customer_id, order_id, date, amount[, status]) tuples."""
    rows = [(*line, "") if len(line) == 4 else line for line in lines]
    frame = pd.DataFrame(rows, columns=["customer_id", "order_id", "timestamp", "amount", "status"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], format="ISO8601").astype("datetime64[ns]")
    frame["amount"] = frame["amount"].astype("float64")
    return frame


@pytest.fixture
def make_orders() -> Callable[..., pd.DataFrame]:
    """``make_orders(("c1", "o1", "2024-03-05", 12.5[, "refunded"]), ...)``: an orders table of those lines."""
    return _make_orders


@pytest.fixture
def cdnow_raw(shared_data: Path) -> pd.DataFrame:
    """The CDNOW transactions file as it is (customer_id, date, n_items, dollar_value)."""
    path = shared_data / "cdnow_transactions.txt"
    if not path.exists():
        pytest.skip(f"real CDNOW data not found at {path}")
    return pd.read_csv(path, sep=r"\s+", dtype={"customer_id": str, "date": str})


@pytest.fixture
def cdnow_orders(cdnow_raw: pd.DataFrame) -> pd.DataFrame:
    # Each file row is one order line; the rows of one customer on one day form one order, so
    # order_id = customer_id + date (CDNOW has no order ids and no statuses).
    raw = cdnow_raw
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"],
            "order_id": raw["customer_id"] + "-" + raw["date"],
            "timestamp": pd.to_datetime(raw["date"], format="%Y%m%d"),
            "amount": raw["dollar_value"].astype("float64"),
            "status": "",
            "row": np.arange(1, len(raw) + 1),
        }
    )
