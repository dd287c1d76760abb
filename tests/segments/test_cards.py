"""Segment card examples (topicprofile.segments.cards): a readable review of the segment's interest, not a complaint."""

from __future__ import annotations

import json

import pandas as pd

from topicprofile.segments.cards import segment_cards

OUTDOOR = "outdoor · hike · tent"


def _segment(n: int = 8) -> pd.DataFrame:
    """One segment of ``n`` outdoor customers, o0 the most strongly tagged, and a few others."""
    rows = [(f"o{i}", 0, OUTDOOR, json.dumps({OUTDOOR: 0.9 - i / 100}), 2, 10 + i, 5, 500.0, 100.0, "Champions")
            for i in range(n)]  # fmt: skip
    rows += [(f"k{i}", 1, "kitchen", "{}", 2, 300, 1, 20.0, 20.0, "Lost") for i in range(n)]
    columns = ["customer_id", "segment_id", "interest_tags", "interest_scores", "n_documents", "recency_days",
               "frequency", "monetary", "avg_order_value", "rfm_segment"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


SHOUT = "I'VE HAD THESE BOOTS FOR FOUR WEEKS NOW AND THEY ARE GREAT ON THE TRAIL."
COMPLAINT = "Way overpriced for what you get. Delivery took almost three weeks."
PLAIN = "Arrived quickly and the packaging was neat, thank you."
HIKE = "Took the tent on a wet hiking weekend and it kept us dry."


def _examples(reviews: pd.DataFrame) -> list[str]:
    return [e["customer_id"] for e in segment_cards(_segment(), reviews=reviews)[0]["examples"]]


def test_cards_example_skips_capitals_and_low_ratings() -> None:
    # the old rule quoted the most strongly tagged customer's first review: o0's shout
    reviews = pd.DataFrame({"customer_id": ["o0", "o1", "o2", "o3"], "text": [SHOUT, PLAIN, HIKE, HIKE],
                            "rating": [5, 1, 4, 2]})  # fmt: skip
    # the good one first, then the least bad: both low rated, o3's names the interest (tent, hiking)
    assert _examples(reviews) == ["o2", "o3"]


def test_cards_example_without_ratings_skips_complaint_words_and_names_the_interest() -> None:
    reviews = pd.DataFrame({"customer_id": ["o0", "o1", "o2"], "text": [COMPLAINT, PLAIN, HIKE]})
    # o1 and o2 are both fine quotes; o2's names the interest (hiking, tent)
    assert _examples(reviews) == ["o2", "o1"]


def test_cards_example_when_every_review_is_poor_still_quotes_the_least_bad() -> None:
    reviews = pd.DataFrame({"customer_id": ["o0", "o1"], "text": [SHOUT, COMPLAINT], "rating": [5, 1]})
    assert _examples(reviews) == ["o1", "o0"]  # a complaint reads better than a shout
    assert segment_cards(_segment(), reviews=reviews, n_examples=1)[0]["examples"][0]["text"] == COMPLAINT


def test_cards_example_comes_from_the_segment_and_its_interest() -> None:
    reviews = pd.DataFrame({"customer_id": ["k0", "o5"], "text": [HIKE, PLAIN]})
    cards = segment_cards(_segment(), reviews=reviews)
    assert cards[0]["interest"] == OUTDOOR and [e["customer_id"] for e in cards[0]["examples"]] == ["o5"]
    assert [e["customer_id"] for e in cards[1]["examples"]] == ["k0"]


def test_cards_print_counts_in_words() -> None:
    from topicprofile.cli._util import stdout
    from topicprofile.cli.segments import print_segment_cards

    segment = _segment(n=6)
    cards = segment_cards(segment.iloc[[0, 6, 7]].reset_index(drop=True))  # 1 outdoor customer, 2 others
    assert [c["size"] for c in cards] == [1, 2] and cards[1]["rfm_medians"]["frequency"] == 1
    with stdout.capture() as captured:
        print_segment_cards({"model_dir": "m", "segments": cards})
    shown = captured.get()
    assert "1 customer (" in shown and "2 customers (" in shown and ", 1 order," in shown, shown
    assert "1 orders" not in shown and "1 customers" not in shown
