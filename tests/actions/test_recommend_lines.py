"""The recommender's input (topicprofile.actions.recommend_lines): exclusion window and who-bought-what."""

from __future__ import annotations

import numpy as np
import pandas as pd

from topicprofile.actions.recommend_lines import pairs, sample_customers, window


def _lines() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["a", "a", "b", "c"], "item": ["x", "y", "x", "z"],
        "timestamp": pd.to_datetime(["2024-01-01 00:00", "2024-03-31 23:00", "2024-04-01 00:00", "2024-02-01 00:00"]),
    })  # fmt: skip


def test_recommend_lines_window_counts_whole_calendar_days_up_to_as_of() -> None:
    lines = _lines()
    recent = window(lines, pd.Timestamp("2024-03-31 08:00"), 30)
    assert recent["item"].tolist() == ["y"]  # late on the last day is inside, the next day is not
    assert window(lines, pd.Timestamp("2024-03-31"), None)["item"].tolist() == ["x", "y", "z"]


def test_recommend_lines_pairs_are_binary_and_ignore_unknown_customers_and_items() -> None:
    lines = pd.concat([_lines(), _lines().iloc[[0]]])  # a repeat purchase still counts once
    matrix = pairs(lines, pd.Index(["a", "b"]), pd.Index(["x", "y"]))
    assert matrix.toarray().tolist() == [[1.0, 1.0], [1.0, 0.0]]


def test_recommend_lines_sample_keeps_the_judged_customers() -> None:
    lines = pd.DataFrame({"customer_id": [f"c{i}" for i in range(50)], "item": "x"})
    sample = sample_customers(lines, np.array(["c7", "c42"]), 10, np.random.default_rng(0))
    assert sample["customer_id"].nunique() == 10 and {"c7", "c42"} <= set(sample["customer_id"])
