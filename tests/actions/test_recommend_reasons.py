"""Reasons and the output table (topicprofile.actions.recommend_reasons)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from topicprofile.actions.recommend_parts import Components
from topicprofile.actions.recommend_reasons import reason_text, recommendation_table
from topicprofile.app.actions import recommend_files


def _components() -> Components:
    factors = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    affinity = np.array([[0.5, 0.1, 0.0], [0.0, 0.2, 0.6]])
    return Components(pd.Index(["a"]), np.array([0.5, 0.25, 0.125]), np.ones((1, 2)), factors, affinity)


def test_recommend_reasons_text_of_each_key_kind() -> None:
    items, m = pd.Index(["tent", "stove", "pan"]), 3
    keys = np.array([-(2 + 1), (1 + 1 * 101 + 62) * (m + 1) + 0 + 1, 0 * (m + 1) + 1 + 1])
    text = reason_text(keys, ["Outdoor", "Kitchen"], items, _components())
    assert list(text) == [
        "popular: bought by 12% of customers",
        "interest: Kitchen 0.62; customers who bought tent also bought this",
        "customers who bought stove also bought this",
    ]


def test_recommend_reasons_table_ranks_rows_and_shares_strings() -> None:
    parts = {
        "row": np.array([0, 0, 1]), "item": np.array([2, 0, 1]), "value": np.array([0.9, 0.5, 0.7]),
        "reason": np.array([-1, -3, -1]),
    }  # fmt: skip
    reasons = np.array(["popular: c", "popular: a"], dtype=object)  # sorted keys: -3, -1
    table = recommendation_table(pd.Index(["u1", "u2"]), pd.Index(["x", "y", "z"]), parts, reasons)
    assert table["rank"].tolist() == [1, 2, 1]
    assert table["customer_id"].astype(str).tolist() == ["u1", "u1", "u2"]
    assert table["item"].astype(str).tolist() == ["z", "x", "y"]
    assert table["reason"].astype(str).tolist() == ["popular: a", "popular: c", "popular: a"]


def test_recommend_reasons_categorical_columns_are_escaped_in_the_csv(tmp_path) -> None:
    """The table's categoricals still go through the CSV writer's formula escaping."""
    rows = [
        (f"C{u:03d}", f"O{u:03d}-{j}", f"2024-0{1 + j}-1{u % 10}", "10", item)
        for u in range(40)
        for j, item in enumerate(
            ["=HYPERLINK(1)", "tent", "stove"] if u % 2 else ["tent", "=HYPERLINK(1)", "lamp"]
        )
    ]
    orders = tmp_path / "orders.csv"
    pd.DataFrame(rows, columns=["customer_id", "order_id", "timestamp", "amount", "product"]).to_csv(
        orders, index=False
    )
    out = tmp_path / "recs.csv"
    recommend_files(orders, out, exclusion_days=1, top=3)
    written = pd.read_csv(out, dtype=str)
    assert "'=HYPERLINK(1)" in set(written["item"]) and "=HYPERLINK(1)" not in set(written["item"])
    assert not written["reason"].str.startswith("=").any()
