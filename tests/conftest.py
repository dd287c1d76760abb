"""Shared fixtures: paths, a tiny inline shop, a fitted profiler (fitted once per session)."""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT / "corpora"
SHARED_DATA = ROOT.parent / "shared" / "data"

_THEMES = {
    "outdoor": "hiking boots trail tent backpack camping waterproof jacket summit sleeping bag".split(),
    "kitchen": "knife pan skillet recipe oven cooking chef cutting board saucepan whisk".split(),
    "coffee": "espresso beans grinder roast brew latte crema arabica filter kettle".split(),
}
_FILLER = "arrived fast shipping packaging price quality would again seller gift".split()


def _review(rng: random.Random, theme: str) -> str:
    words = rng.sample(_THEMES[theme], 5) + rng.sample(_FILLER, 2)
    rng.shuffle(words)
    return "The " + " and ".join(words[:3]) + " were " + ", ".join(words[3:]) + "."


@pytest.fixture(autouse=True, scope="session")
def _token_cache_in_tmp(tmp_path_factory):
    """CLI runs cache tokens; keep that cache out of the user's home during tests."""
    patch = pytest.MonkeyPatch()
    patch.setenv("TOPICPROFILE_CACHE_DIR", str(tmp_path_factory.mktemp("token-cache")))
    yield
    patch.undo()


@pytest.fixture(scope="session")
def tiny_reviews() -> pd.DataFrame:
    """90 reviews of 30 customers, 10 per theme (customer id encodes the theme)."""
    rng = random.Random(3)
    rows = []
    for i, theme in enumerate(sorted(_THEMES) * 10):
        for j in range(3):
            rows.append({"customer_id": f"{theme}-{i:02d}", "text": _review(rng, theme), "rating": "5"})
    return pd.DataFrame(rows)


@pytest.fixture(scope="session")
def tiny_profiler(tiny_reviews: pd.DataFrame):
    from topicprofile import TopicProfiler

    return TopicProfiler(n_topics=3, random_state=0, phrases=False).fit(reviews=tiny_reviews)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; tests using it skip (with the reason) in a clone without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real-data test: {SHARED_DATA} not found (CI has it beside the checkout)")
    return SHARED_DATA
