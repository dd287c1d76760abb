"""What the segments say (#12 part 8), on the demo sample and on real movie reviews with real CDNOW orders.

Names tell segments apart (an interest with lift, else the value median that sets the segment apart),
the example is a readable review of the segment's interest by one of its customers, and not a
complaint when a better one exists, and counts read "1 order", "2 orders".
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from topicprofile import TopicProfiler
from topicprofile.text.quotes import is_readable

pytestmark = pytest.mark.slow  # two real fits of several seconds each

FRESH, ROTTEN = 5, 2  # a critic's snippet as a star rating


def movie_shop(data, *, n_movies: int = 160, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Real critic snippets (``rotten_tomatoes.csv.bz2``) as reviews of real CDNOW customers.

    The snippets of ``n_movies`` seeded movies are dealt to customers, 3-7 each (a customer writes
    about one film), rated :data:`FRESH` or :data:`ROTTEN` as the critic marked them. Each customer
    is a seeded CDNOW customer and brings all of their real purchases (one order per line).
    """
    frame = pd.read_csv(data / "rotten_tomatoes.csv.bz2")
    snippets = frame[frame["category"] != "plot"]
    rng = np.random.default_rng(seed)
    movies = sorted(rng.choice(sorted(snippets["movie_name"].unique()), size=n_movies, replace=False))
    rows, n_customers = [], 0
    for movie in movies:
        own = snippets[snippets["movie_name"] == movie].iloc[
            rng.permutation(int((snippets["movie_name"] == movie).sum()))
        ]
        start = 0
        while start < len(own):
            size = int(rng.integers(3, 8))
            for _, snippet in own.iloc[start : start + size].iterrows():
                rating = FRESH if snippet["category"] == "fresh" else ROTTEN
                rows.append({"writer": n_customers, "text": snippet["text"], "rating": rating})
            start, n_customers = start + size, n_customers + 1
    raw = pd.read_csv(data / "cdnow_transactions.txt", sep=r"\s+", dtype=str)
    ids = pd.Series(raw["customer_id"].unique()).sample(n_customers, random_state=seed).tolist()
    reviews = pd.DataFrame(rows)
    reviews.insert(0, "customer_id", reviews.pop("writer").map(dict(enumerate(ids))))
    lines = raw[raw["customer_id"].isin(ids)].reset_index(drop=True)
    orders = pd.DataFrame({
        "customer_id": lines["customer_id"],
        "order_id": lines["customer_id"] + "-" + lines["date"] + "-" + lines.index.astype(str),
        "timestamp": pd.to_datetime(lines["date"], format="%Y%m%d"),
        "amount": lines["dollar_value"].astype(float),
    })  # fmt: skip
    return reviews, orders


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[str, TopicProfiler, pd.DataFrame]:
    """The demo's fit (``topicprofile demo``: corpora/, 8 topics, seed 0), saved."""
    from topicprofile.app.jobs import fit_files
    from topicprofile.app.sample import sample_dir

    corpora, model_dir = sample_dir(), tmp_path_factory.mktemp("demo") / "model"
    fit_files(model_dir, profiler=TopicProfiler(n_topics=8, random_state=0), reviews=corpora / "reviews.csv",
              browsing=corpora / "browsing.jsonl", orders=corpora / "orders.csv",
              orders_columns={"timestamp": "order_date"})  # fmt: skip
    reviews = pd.read_csv(corpora / "reviews.csv", dtype={"customer_id": str})
    return str(model_dir), TopicProfiler.load(str(model_dir)), reviews


@pytest.fixture(scope="module")
def movies(shared_data, tmp_path_factory) -> tuple[str, TopicProfiler, pd.DataFrame]:
    """Default settings on :func:`movie_shop` (891 customers, 4,068 snippets), saved."""
    reviews, orders = movie_shop(shared_data)
    model_dir = tmp_path_factory.mktemp("movies") / "model"
    profiler = TopicProfiler(random_state=0).fit(reviews=reviews, orders=orders)
    profiler.save(str(model_dir))
    return str(model_dir), profiler, reviews


@pytest.fixture(params=["demo", "movies"])
def shop(request) -> tuple[str, TopicProfiler, pd.DataFrame]:
    return request.getfixturevalue(request.param)


def test_segment_names_tell_segments_apart(shop) -> None:
    _, profiler, _ = shop
    cards = profiler.segment_cards_
    names = [c["name"] for c in cards]
    assert len(set(names)) == len(names) and len(cards) >= 3, names
    # before: 4 of 5 demo names and all movie names ended in "mixed interests"
    assert sum(name.endswith("mixed interests") for name in names) <= 1, names
    for card in cards:
        if card["interest"] is not None:  # named after an interest: one over-represented in the segment
            listed = {t["interest"]: t for t in card["top_interests"]}
            assert listed[card["interest"]]["lift"] > 1 and card["name"].split(" · ")[1].startswith(
                card["interest"].split(" · ")[0]
            )


def test_segment_examples_are_readable_and_not_complaints(shop) -> None:
    _, profiler, reviews = shop
    texts = reviews.assign(flat=reviews["text"].map(lambda t: " ".join(str(t).split())))
    tags = profiler.profiles_.set_index("customer_id")["interest_tags"]
    for card in profiler.segment_cards_:
        example = card["examples"][0]
        quoted = example["text"].rstrip("…")
        own = texts[(texts["customer_id"] == example["customer_id"]) & texts["flat"].str.startswith(quoted)]
        assert len(own) >= 1, example
        # before: the demo's "High value" quote was a 1-star complaint and the "Lapsed" one in capitals
        assert own["rating"].max() >= 4, (card["name"], example)
        assert is_readable(own["flat"].iloc[0]) and not quoted.isupper(), (card["name"], example)
        # a review of the segment's interest: its writer carries that tag
        focus = card["interest"] or card["top_interests"][0]["interest"]
        assert focus in tags[example["customer_id"]].split(";"), (card["name"], focus, example)


def test_segment_cards_count_in_words(shop) -> None:
    from typer.testing import CliRunner

    from topicprofile.cli import app

    model_dir, _, _ = shop
    shown = CliRunner().invoke(app, ["segments", "--model-dir", model_dir])
    assert shown.exit_code == 0, shown.output
    assert not re.search(r"\b1 (orders|customers|days)\b", shown.output), shown.output
    assert re.search(r"\b1 order\b|\b[02-9]\d* orders\b", shown.output)
