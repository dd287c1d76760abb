"""Segment names that tell segments apart (topicprofile.segments.names) and counts in words."""

from __future__ import annotations

import pandas as pd
import pytest

from topicprofile.segments.names import counted, distinct_names, distinctive_interests, value_traits


def test_names_repeat_only_when_no_trait_tells_them_apart() -> None:
    values = ["High value", "High value", "Lapsed", "Lapsed", "New", "New"]
    traits = [
        ["audio", "big baskets"],
        ["audio", "small baskets"],
        ["kitchen"],
        ["kitchen", "one-time buyers"],
        [],
        [],
    ]
    assert distinct_names(values, traits, tagged=True) == [
        "High value · audio, big baskets", "High value · audio, small baskets",
        "Lapsed · kitchen", "Lapsed · kitchen, one-time buyers",
        "New · mixed interests", "New · mixed interests",  # nothing tells these apart: left for the caller
    ]  # fmt: skip
    assert distinct_names(["New"], [[]], tagged=False) == ["New"]


def test_names_distinctive_interests_need_lift_support_and_more_than_chance() -> None:
    top = [
        {"interest": "audio · headphone", "lift": 1.5, "p_value": 0.02},
        {"interest": "outdoor · tent", "lift": 1.4, "p_value": 0.2},  # chance could do it
        {"interest": "pet · dog", "lift": 2.0, "p_value": 0.001},  # but only 3 customers
        {"interest": "garden · prune", "lift": 1.1, "p_value": 0.001},  # barely over the base
    ]
    counts = {"audio · headphone": 21, "outdoor · tent": 24, "pet · dog": 3, "garden · prune": 300}
    assert distinctive_interests(top, counts, min_lift=1.2, max_p_value=0.05, min_support=5) == [
        "audio · headphone"
    ]


def _rfm(rows: list[tuple[int, int, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["recency_days", "frequency", "monetary"])
    return frame.assign(avg_order_value=frame["monetary"] / frame["frequency"], rfm_segment="Lost")


def test_names_value_traits_farthest_from_the_base_first() -> None:
    base = _rfm(
        [(r, f, m) for r in (5, 50, 200, 400) for f in (1, 2, 5, 10) for m in (20.0, 100.0, 400.0, 900.0)]
    )
    lapsed_once = _rfm([(400, 1, 20.0)] * 5)
    # recency is what "Lapsed" says already; one order and small spend are what sets it apart
    assert value_traits(lapsed_once, base, "Lapsed")[:2] == ["one-time buyers", "small spenders"]
    middle = _rfm([(50, 2, 100.0), (200, 5, 400.0)] * 3)
    assert value_traits(middle, base, "Occasional") == []  # nothing far from the middle: no trait
    assert value_traits(lapsed_once, base, "No orders yet") == []


@pytest.mark.parametrize(
    ("n", "spec", "expected"),
    [(1, ",", "1 order"), (2, ",", "2 orders"), (0, ",", "0 orders"), (1.0, "g", "1 order"), (1.5, "g", "1.5 orders"),
     (1200, ",", "1,200 orders"), (0.6, ".0f", "1 order")],
)  # fmt: skip
def test_names_counted_plurals(n: float, spec: str, expected: str) -> None:
    assert counted(n, "order", spec) == expected
