"""The bundled sample shop in ``corpora/``: reproducible, consistent with its truth, noisy on purpose."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPORA = ROOT / "corpora"
SCRIPT = ROOT / "scripts" / "make_sample_shop.py"
DATA_FILES = ("reviews.csv", "browsing.jsonl", "orders.csv", "truth.csv")
INTERESTS = ("kitchen", "outdoor", "beauty", "pets", "audio", "fitness", "coffee", "garden")
REFERENCE_DAY = pd.Timestamp("2025-06-30")


def _load_script() -> ModuleType:
    """Import ``scripts/make_sample_shop.py`` by path (``scripts/`` is not a package)."""
    spec = importlib.util.spec_from_file_location("make_sample_shop", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return _load_script()


@pytest.fixture(scope="module")
def regenerated(script: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample shop written by the script's command line with default arguments."""
    out = tmp_path_factory.mktemp("sample_shop")
    assert script.main(["--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def reviews() -> pd.DataFrame:
    return pd.read_csv(CORPORA / "reviews.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def browsing() -> pd.DataFrame:
    with (CORPORA / "browsing.jsonl").open(encoding="utf-8") as handle:
        return pd.DataFrame([json.loads(line) for line in handle])


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    orders = pd.read_csv(CORPORA / "orders.csv", dtype={"customer_id": str, "order_id": str})
    orders["order_date"] = pd.to_datetime(orders["order_date"], format="%Y-%m-%d %H:%M:%S")
    return orders


@pytest.fixture(scope="module")
def truth() -> pd.DataFrame:
    return pd.read_csv(CORPORA / "truth.csv", dtype=str, keep_default_na=False)


@pytest.mark.parametrize("name", DATA_FILES)
def test_sample_shop_regenerates_byte_identical(regenerated: Path, name: str) -> None:
    assert (regenerated / name).read_bytes() == (CORPORA / name).read_bytes(), (
        f"corpora/{name} differs from what scripts/make_sample_shop.py writes with default arguments; "
        "regenerate with: python scripts/make_sample_shop.py --seed 7 --out corpora"
    )


def test_sample_shop_seed_changes_output(script: ModuleType, tmp_path: Path) -> None:
    script.generate(tmp_path, seed=8)
    assert (tmp_path / "reviews.csv").read_bytes() != (CORPORA / "reviews.csv").read_bytes()


def test_sample_shop_columns_as_documented(reviews: pd.DataFrame, browsing: pd.DataFrame,
                                           orders: pd.DataFrame, truth: pd.DataFrame) -> None:
    assert list(reviews.columns) == ["customer_id", "review_id", "product", "rating", "timestamp", "text"]
    assert list(browsing.columns) == ["customer_id", "timestamp", "url", "title", "query"]
    assert list(orders.columns) == ["customer_id", "order_id", "order_date", "amount", "status", "category"]
    assert list(truth.columns) == ["customer_id", "interest", "secondary_interest", "value_group", "thin",
                                   "order_only"]


def test_sample_shop_truth_covers_every_customer(reviews: pd.DataFrame, browsing: pd.DataFrame,
                                                 orders: pd.DataFrame, truth: pd.DataFrame) -> None:
    known = set(truth["customer_id"])
    assert truth["customer_id"].is_unique
    assert all(re.fullmatch(r"C\d{5}", cid) for cid in known)
    seen = {*reviews["customer_id"], *browsing["customer_id"], *orders["customer_id"]} - {""}
    assert seen - known == set()
    assert known - seen == set()  # every planted customer left some trace


def test_sample_shop_every_interest_has_20_customers(truth: pd.DataFrame) -> None:
    counts = truth["interest"].value_counts()
    assert set(counts.index) == set(INTERESTS)
    assert counts.min() >= 20
    assert counts.max() > 2 * counts.min()  # popularity is skewed, not uniform
    secondary = truth.loc[truth["secondary_interest"] != ""]
    assert (secondary["secondary_interest"] != secondary["interest"]).all()
    assert 0.2 < len(secondary) / len(truth) < 0.4


def test_sample_shop_noise_rows_present(reviews: pd.DataFrame) -> None:
    with_text = reviews.loc[reviews["text"].str.strip() != ""]
    dates = pd.to_datetime(reviews["timestamp"], format="%Y-%m-%d", errors="coerce")
    assert 3 <= (reviews["text"].str.strip() == "").sum() <= 5
    assert (reviews["customer_id"] == "").sum() == 2
    assert 2 <= with_text.duplicated(["customer_id", "text"]).sum() <= 3
    assert 1 <= dates.isna().sum() <= 2
    assert dates.min() >= pd.Timestamp("2024-01-01") and dates.max() <= REFERENCE_DAY
    for pattern in (r"&amp;|<br|&#39;|<p>", r"https?://|@", "\n"):
        assert reviews["text"].str.contains(pattern).any(), pattern


def test_sample_shop_reviews_look_like_reviews(reviews: pd.DataFrame) -> None:
    n_words = reviews["text"].str.split().str.len()
    assert 1000 <= len(reviews) <= 1400
    assert n_words[n_words > 0].between(5, 80).all()
    assert set(reviews["rating"]) == {"1", "2", "3", "4", "5"}


def test_sample_shop_thin_and_order_only_customers(reviews: pd.DataFrame, browsing: pd.DataFrame,
                                                   truth: pd.DataFrame) -> None:
    thin = truth.loc[truth["thin"] == "True", "customer_id"]
    order_only = truth.loc[truth["order_only"] == "True", "customer_id"]
    assert 0.05 < len(thin) / len(truth) < 0.11
    assert reviews["customer_id"].value_counts()[thin].eq(1).all()
    assert browsing["customer_id"].value_counts().reindex(thin, fill_value=0).le(2).all()
    assert len(order_only) >= 3
    assert not order_only.isin(reviews["customer_id"]).any()
    assert not order_only.isin(browsing["customer_id"]).any()


def test_sample_shop_browsing_events(browsing: pd.DataFrame) -> None:
    is_search = browsing["query"].notna()
    assert (browsing.loc[is_search, "title"].isna()).all()
    assert (browsing.loc[~is_search, "title"].notna()).all()
    assert browsing.loc[is_search, "url"].str.startswith("https://shop.example.com/search?q=").all()
    assert browsing["timestamp"].is_monotonic_increasing


def test_sample_shop_orders_statuses(orders: pd.DataFrame) -> None:
    shares = orders["status"].value_counts(normalize=True)
    assert set(shares.index) == {"completed", "cancelled", "refunded"}
    assert 0.03 <= shares["cancelled"] <= 0.05 and 0.01 <= shares["refunded"] <= 0.03
    assert orders.groupby("order_id")["customer_id"].nunique().eq(1).all()
    assert orders.groupby("order_id").size().between(1, 3).all()
    assert (orders["amount"] > 0).all()


@pytest.mark.parametrize(("group", "max_recency", "min_recency", "n_orders"), [
    ("champion", 30, 0, (8, 16)),
    ("loyal", 90, 0, (4, 8)),
    ("at_risk", None, 270, (5, 10)),
    ("new", 45, 0, (1, 1)),
    ("occasional", None, 120, (1, 2)),
])
def test_sample_shop_value_groups_follow_their_rfm_rule(orders: pd.DataFrame, truth: pd.DataFrame, group: str,
                                                        max_recency: int | None, min_recency: int,
                                                        n_orders: tuple[int, int]) -> None:
    members = truth.loc[truth["value_group"] == group, "customer_id"]
    mine = orders.loc[orders["customer_id"].isin(members)]
    latest = mine.loc[mine["status"] == "completed"].groupby("customer_id")["order_date"].max()
    recency = (REFERENCE_DAY - latest.dt.normalize()).dt.days
    assert set(latest.index) == set(members)
    assert recency.min() >= min_recency
    if max_recency is not None:
        assert recency.max() <= max_recency
    assert mine.groupby("customer_id")["order_id"].nunique().between(*n_orders).all()


def test_sample_shop_customers_without_orders(orders: pd.DataFrame, truth: pd.DataFrame) -> None:
    no_orders = truth.loc[truth["value_group"] == "no_orders", "customer_id"]
    assert len(no_orders) >= 10
    assert not no_orders.isin(orders["customer_id"]).any()


def test_sample_shop_readme_row_counts_match(reviews: pd.DataFrame, browsing: pd.DataFrame,
                                             orders: pd.DataFrame, truth: pd.DataFrame) -> None:
    readme = (CORPORA / "README.md").read_text(encoding="utf-8")
    actual = {"reviews.csv": len(reviews), "browsing.jsonl": len(browsing), "orders.csv": len(orders),
              "truth.csv": len(truth)}
    for name, n_rows in actual.items():
        match = re.search(rf"^\| `{re.escape(name)}` \| ([\d,]+) \|", readme, flags=re.MULTILINE)
        assert match, f"corpora/README.md has no row-count line for {name}"
        assert int(match.group(1).replace(",", "")) == n_rows, name


def test_sample_shop_is_small() -> None:
    assert sum((CORPORA / name).stat().st_size for name in DATA_FILES) < 1_500_000
