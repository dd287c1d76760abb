"""Scoring primitives (topicprofile.actions.recommend_rank): scaling, blend, top-k, metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from topicprofile.actions.recommend_rank import Scores, blend, rank_metrics, recall_at, scale_rows, top_items


def test_recommend_rank_scale_rows_maps_each_row_to_unit_range_and_constant_rows_to_zero() -> None:
    values = np.array([[1.0, 3.0, 2.0], [5.0, 5.0, 5.0]], dtype="float32")
    assert np.array_equal(scale_rows(values), np.array([[0.0, 1.0, 0.5], [0.0, 0.0, 0.0]], dtype="float32"))


def test_recommend_rank_top_items_sinks_excluded_and_breaks_ties_by_item() -> None:
    scores = np.array([[0.5, 0.9, 0.5, 0.5, 0.1]], dtype="float32")
    excluded = sp.csr_matrix(np.array([[0, 1, 0, 0, 0]]))
    top, values = top_items(scores, excluded, 3)
    assert top.tolist() == [[0, 2, 3]] and values.tolist() == [[0.5, 0.5, 0.5]]
    top, values = top_items(np.array([[0.2, 0.1]], dtype="float32"), sp.csr_matrix(np.array([[1, 0]])), 5)
    assert top.tolist() == [[1, 0]] and np.isneginf(values[0, 1])  # a short catalogue: all, excluded last


def test_recommend_rank_blend_weights_the_components_and_reuses_the_buffer() -> None:
    scores = Scores(
        pd.Index(["a", "b"]), cf=np.array([[1.0, 0.0], [0.0, 1.0]], dtype="float32"),
        content=np.array([[0.0, 1.0], [0.0, 1.0]], dtype="float32"), popularity=np.array([1.0, 0.0], dtype="float32"),
        known=np.ones(2, bool), has_text=np.ones(2, bool), vectors=None,
    )  # fmt: skip
    out = np.empty((2, 2), dtype="float32")
    blended = blend(scores, {"cf": 0.5, "content": 0.25, "popularity": 0.25}, out=out)
    assert blended is out
    np.testing.assert_allclose(blended, [[0.75 + 1e-6, 0.25], [0.25 + 1e-6, 0.75]], rtol=1e-6)


def test_recommend_rank_metrics_by_hand() -> None:
    targets = sp.csr_matrix(np.array([[0, 1, 0, 1], [1, 0, 0, 0], [0, 0, 1, 0]]))
    top = np.array([[1, 0], [2, 3], [2, 1]])
    hit, ndcg = rank_metrics(top, targets, 2)
    assert hit == pytest.approx(2 / 3)
    ideal_two = 1 + 1 / np.log2(3)
    assert ndcg == pytest.approx((1 / ideal_two + 0 + 1) / 3)
    assert recall_at(top, targets) == pytest.approx((0.5 + 0 + 1) / 3)
