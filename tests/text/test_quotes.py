"""Which review a segment card quotes (topicprofile.text.quotes) and which one the fit keeps per customer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from topicprofile import schema
from topicprofile.ingest.docstore import DocumentStore
from topicprofile.ingest.documents import build_documents
from topicprofile.text.corpus import CountedCorpus
from topicprofile.text.quotes import (
    count_words,
    is_readable,
    low_ratings,
    mentions,
    quote_rank,
    sounds_negative,
)

GOOD = "Great grip on wet rocks and the boots stayed dry all day."


@pytest.mark.parametrize(
    ("text", "readable"),
    [
        (GOOD, True),
        ("I'VE HAD THE BREAD MAKER FOR FOUR WEEKS NOW. IT BROKE A PADDLE.", False),  # shouting
        ("Love it", False),  # too short
        ("word " * 61, False),  # too long
        ("$$$ 100% !!! ### 2024-01-01 *** :) :) :) ok fine", False),  # mostly not letters
        ("这家酒店的房间很干净，服务也很周到，下次还会再来。", True),  # Chinese: two characters a word
        ("Bought the NASA poster and a USB lamp for my son, he loves both.", True),  # a few acronyms
    ],
)
def test_quotes_readable(text: str, readable: bool) -> None:
    assert is_readable(text) is readable


def test_quotes_complaint_words_english_and_chinese() -> None:
    assert sounds_negative("Way overpriced for what you get. Delivery took almost three weeks.")
    assert sounds_negative("It broke after a week, returned it.")
    assert sounds_negative("质量太差了，很失望")
    assert not sounds_negative(GOOD)
    assert not sounds_negative("房间很干净，早餐丰富")
    assert count_words("房间很干净") == 2 and count_words("one two three") == 3


def test_quotes_low_ratings_on_the_scale_seen() -> None:
    stars = np.array([1, 2, 3, 4, 5, np.nan])
    assert low_ratings(stars).tolist() == [True, True, False, False, False, False]
    assert low_ratings(np.array([4.0, 5.0])).tolist() == [False, False]  # all good: none low
    assert low_ratings(np.array([10.0, 30.0, 90.0, 100.0])).tolist() == [True, True, False, False]  # 0-100
    assert not low_ratings(np.array([np.nan, np.nan])).any()


def test_quotes_rank_and_mentions() -> None:
    shouting, complaint = GOOD.upper(), "The boots leaked and I returned them for a refund."
    ranked = sorted([(quote_rank(t, r), t) for t, r in [(shouting, 5.0), (complaint, 1.0), (GOOD, 4.0)]])
    assert [t for _, t in ranked] == [shouting, complaint, GOOD]
    assert quote_rank(GOOD, 5.0) > quote_rank(GOOD, 4.0) > quote_rank(GOOD, None)
    assert mentions("Great for hiking, and two tents", "outdoor · hike · tent") == 2
    assert mentions("The comedies are funny", "comedy · funny") == 2
    assert mentions("I come here often", "comedy") == 0
    assert mentions("这家酒店很好", "酒店 · 房间") == 1


def test_quotes_fit_keeps_each_customers_most_quotable_review() -> None:
    # the old rule kept each customer's first review of five words: a complaint and a shout here
    reviews = pd.DataFrame({
        "customer_id": ["a", "a", "a", "b", "b", "c"],
        "text": ["Way overpriced for what you get, it broke in a week.", GOOD, "Also fine, a nice pair of boots.",
                 GOOD.upper(), "Warm tent, easy to pitch in the wind and rain.", "Short but fine words here."],
        "rating": [1, 3, 5, 5, 4, None],
    })  # fmt: skip
    docs = build_documents(reviews, scrub=False)
    assert docs[schema.RATING].tolist()[:5] == [1.0, 3.0, 5.0, 5.0, 4.0] and np.isnan(
        docs[schema.RATING].iloc[5]
    )
    store = DocumentStore.from_frame(docs)
    chunk = next(store.chunks())
    assert schema.RATING in chunk  # the fit's shards carry the rating (a saved model's documents do not)
    corpus = CountedCorpus(store, store.directory / "counts", seed=0, min_example_words=5)
    corpus.add(chunk, sparse.csr_matrix((len(chunk), 3)), [[] for _ in range(len(chunk))])
    kept = corpus.first_reviews.set_index(schema.CUSTOMER_ID)
    # a: its first readable, uncomplaining review is rated 3, then a 5 comes: the best rated wins
    assert (
        kept.loc["a", schema.TEXT] == "Also fine, a nice pair of boots." and kept.loc["a", schema.RATING] == 5
    )
    assert kept.loc["b", schema.TEXT].startswith("Warm tent")
    assert kept.loc["c", schema.TEXT] == "Short but fine words here." and np.isnan(
        kept.loc["c", schema.RATING]
    )
