"""Recommenders on real data: CDNOW purchase histories x English Amazon reviews (issue 17).

No public file here has customers x products, so the shop is built the way the quality shops are
(scripts/_shops.py): the real parts are the **customers and when and how much they bought**
(``cdnow_transactions.txt``: 23,570 customers, Jan 1997 - Jun 1998, each row a purchase day with its
number of CDs) and **the review texts with their product category** (``en_amazon_reviews_4cats``:
books, dvd, electronics, kitchen). The planted part is *which* product each line is:

* a catalogue of ``PER_CATEGORY`` products per category, Zipf-popular (exponent ``ZIPF``) inside it;
* each customer has a primary category, drawn by the categories' share of the review source; each
  order line (a CDNOW row of n CDs gives min(n, 5) lines) is from it with probability
  ``PRIMARY_SHARE``, else from another one; the product by its popularity;
* a customer writes reviews with probability ``REVIEW_P`` (1-2 reviews, each about the category of
  one of their order lines, dated that day); texts are real Amazon reviews of that category, drawn
  without replacement.

Evaluation: topics are fitted on reviews written before the cutoff only; the recommender trains on
orders before the cutoff (its blend weights chosen on the last 20% of *that* period: the validation
split) and is scored on the test split, the orders from the cutoff to the end. Reported per variant:
hit@k, recall@k, NDCG@k, catalogue coverage.

The ALS defaults (8 factors, regularization 1.0) were chosen with ``--tune``: the grid below scored
on the validation split only (train before 1997-07-01, validate 1997-07-01 to 1997-09-30; no order
of the test period is read). Measured: CF hit@10 0.445 (32, 0.05), 0.643 (8, 1.0), 0.463 (32, 5.0),
0.647 (8, 10.0); hybrid 0.661, 0.695, 0.663, 0.695.

    python scripts/eval_recommend_real.py --cutoff 1997-10-01 --k 10
    python scripts/eval_recommend_real.py --tune
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer

from topicprofile import TopicProfiler
from topicprofile.actions import evaluate_recommenders
from topicprofile.segments.fuse import topic_shares

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = next(
    (d for d in (ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data") if d.is_dir()),
    ROOT.parent / "shared" / "data",
)
PER_CATEGORY = 50
PER_SHELF = 25  # shelves construction: 4 categories x 10 shelves x 25 = 1,000 products
SHELVES = 10
FAVOURITE_SHARE = 0.5  # shelves construction: share of a customer's lines from their favourite shelf
ZIPF = 1.0
PRIMARY_SHARE = 0.75
REVIEW_P = 0.2
MAX_LINES = 5


def read_cdnow(data_dir: Path = DATA_DIR) -> pd.DataFrame:
    """``customer_id, date (Timestamp), number_of_cds, dollar_value``: one row per purchase day."""
    raw = pd.read_csv(data_dir / "cdnow_transactions.txt", sep=r"\s+", dtype=str)
    return raw.assign(
        date=pd.to_datetime(raw["date"], format="%Y%m%d"),
        number_of_cds=raw["number_of_cds"].astype(int),
        dollar_value=raw["dollar_value"].astype(float),
    )


def read_reviews(data_dir: Path = DATA_DIR) -> pd.DataFrame:
    table = pd.read_csv(data_dir / "en_amazon_reviews_4cats.csv.bz2", dtype=str, keep_default_na=False)
    return table[table["text"].str.strip() != ""].drop_duplicates("text").reset_index(drop=True)


def build_shop(
    cdnow: pd.DataFrame, reviews: pd.DataFrame, *, n_customers: int | None = None, seed: int = 0, shelves: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(orders, texts, taste)``: order lines (``customer_id, order_id, timestamp, amount, product,
    category``), reviews (``customer_id, review_id, timestamp, text, category``) and each customer's
    planted taste (``primary`` category index, ``favourite`` shelf or -1), for the oracle.

    ``shelves`` = 0: the *categories* construction (``PER_CATEGORY`` products per category).
    ``shelves`` > 0: the *shelves* construction (see :func:`shelve_reviews` and the module docstring).
    ``n_customers``: the first n CDNOW customers by id (all by default). Same inputs and seed, same shop.
    """
    rng = np.random.default_rng(seed)
    if n_customers is not None:
        keep = np.sort(cdnow["customer_id"].unique())[:n_customers]
        cdnow = cdnow[cdnow["customer_id"].isin(keep)]
    cdnow = cdnow.sort_values(["customer_id", "date"], kind="stable").reset_index(drop=True)
    labels = np.array(sorted(reviews["category"].unique()))
    mix = reviews["category"].value_counts().reindex(labels).to_numpy(float)
    mix /= mix.sum()
    customers = cdnow["customer_id"].unique()
    primary = pd.Series(rng.choice(len(labels), len(customers), p=mix), index=customers)
    # order lines: min(n_cds, MAX_LINES) per purchase day
    n_lines = np.minimum(cdnow["number_of_cds"].to_numpy(), MAX_LINES).clip(min=1)
    row = np.repeat(np.arange(len(cdnow)), n_lines)
    own = primary.reindex(cdnow["customer_id"].to_numpy()[row]).to_numpy()
    # another category: uniform over the others (the source's four are near-equal, 1,954-1,977 reviews)
    other = (own + rng.integers(1, len(labels), len(row))) % len(labels)
    category = np.where(rng.random(len(row)) < PRIMARY_SHARE, own, other)
    favourite = pd.Series(-1, index=customers)
    if shelves:
        reviews = shelve_reviews(reviews, shelves, seed=seed)
        shelf, favourite = _shelves_of_lines(reviews, labels, primary, category, own, row, cdnow, rng)
        per = PER_SHELF
        weights = 1.0 / np.arange(1, per + 1) ** ZIPF
        product = rng.choice(per, len(row), p=weights / weights.sum())
        names = [f"{s}-{p + 1:02d}" for s, p in zip(shelf, product, strict=True)]
        pools = reviews["shelf"].to_numpy()
        topic_of_line = shelf
    else:
        weights = 1.0 / np.arange(1, PER_CATEGORY + 1) ** ZIPF
        product = rng.choice(PER_CATEGORY, len(row), p=weights / weights.sum())
        names = [f"{labels[c]}-{p + 1:02d}" for c, p in zip(category, product, strict=True)]
        pools = reviews["category"].to_numpy()
        topic_of_line = labels[category]
    orders = pd.DataFrame({
        "customer_id": cdnow["customer_id"].to_numpy()[row],
        "order_id": [f"{r}-{j}" for r, j in zip(row, _line_numbers(row), strict=True)],  # one id per line
        "timestamp": cdnow["date"].to_numpy()[row],
        "amount": (cdnow["dollar_value"].to_numpy() / n_lines)[row].round(2),
        "category": labels[category],
        "product": names,
    })  # fmt: skip
    texts = _reviews_for(orders, reviews, pools, np.asarray(topic_of_line), rng)
    taste = pd.DataFrame({"primary": primary, "favourite": favourite})
    return orders, texts, taste


def shelve_reviews(reviews: pd.DataFrame, shelves: int, *, seed: int = 0) -> pd.DataFrame:
    """``reviews`` plus ``shelf`` (``"<category>/<k>"``): k-means on TF-IDF of the real texts, per category.

    Shelves are groups of products whose reviews read alike (cookbooks vs novels, headphones vs
    cameras): the catalogue's finer structure comes from the real texts, not from a list we wrote.
    """
    shelf = np.empty(len(reviews), dtype=object)
    for category in sorted(reviews["category"].unique()):
        at = np.flatnonzero(reviews["category"].to_numpy() == category)
        tfidf = TfidfVectorizer(stop_words="english", min_df=3, max_df=0.5, sublinear_tf=True)
        matrix = tfidf.fit_transform(reviews["text"].to_numpy()[at])
        groups = KMeans(n_clusters=shelves, n_init=3, random_state=seed).fit_predict(matrix)
        shelf[at] = [f"{category}/{g}" for g in groups]
    return reviews.assign(shelf=shelf)


def _shelves_of_lines(
    reviews: pd.DataFrame, labels: np.ndarray, primary: pd.Series, category: np.ndarray, own: np.ndarray,
    row: np.ndarray, cdnow: pd.DataFrame, rng: np.random.Generator,
) -> tuple[np.ndarray, pd.Series]:  # fmt: skip
    """Each line's shelf, and each customer's favourite shelf (drawn by shelf size in their category).

    A line of the primary category is from the favourite shelf with probability
    ``FAVOURITE_SHARE / PRIMARY_SHARE``, else (and for the other categories) from a shelf drawn by size.
    """
    size = reviews["shelf"].value_counts()
    by_category = {c: size[size.index.str.startswith(f"{c}/")].sort_index() for c in labels}
    favourite = np.empty(len(primary), dtype=object)
    for c, label in enumerate(labels):
        at = np.flatnonzero(primary.to_numpy() == c)
        sizes = by_category[label]
        favourite[at] = rng.choice(sizes.index.to_numpy(), len(at), p=(sizes / sizes.sum()).to_numpy())
    favourite = pd.Series(favourite, index=primary.index)
    shelf = np.empty(len(row), dtype=object)
    for c, label in enumerate(labels):
        at = np.flatnonzero(category == c)
        sizes = by_category[label]
        shelf[at] = rng.choice(sizes.index.to_numpy(), len(at), p=(sizes / sizes.sum()).to_numpy())
    loyal = (category == own) & (rng.random(len(row)) < FAVOURITE_SHARE / PRIMARY_SHARE)
    shelf[loyal] = favourite.reindex(cdnow["customer_id"].to_numpy()[row]).to_numpy()[loyal]
    return shelf, favourite


def _line_numbers(row: np.ndarray) -> np.ndarray:
    """0, 1, 2... within each run of equal values of the sorted ``row``."""
    starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
    return np.arange(len(row)) - np.repeat(starts, np.diff(np.r_[starts, len(row)]))


def _reviews_for(
    orders: pd.DataFrame, reviews: pd.DataFrame, pools: np.ndarray, line_pool: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """Reviews: each writer's texts are real reviews from the pool (category or shelf) of a line they bought."""
    by_pool = {c: list(rng.permutation(np.flatnonzero(pools == c))) for c in pd.unique(pools)}
    writers = [c for c in orders["customer_id"].unique() if rng.random() < REVIEW_P]
    by_customer = orders.groupby("customer_id").indices
    rows = []
    for customer in writers:
        lines = by_customer[customer]
        for line in rng.choice(lines, min(len(lines), int(rng.integers(1, 3))), replace=False):
            pool = line_pool[line]
            if by_pool.get(pool):
                text_row = by_pool[pool].pop()
                rows.append((customer, orders["timestamp"].iat[line], text_row, orders["category"].iat[line]))
    return pd.DataFrame({
        "customer_id": [r[0] for r in rows], "review_id": [f"R{i + 1:06d}" for i in range(len(rows))],
        "timestamp": [r[1] for r in rows], "text": reviews["text"].to_numpy()[[r[2] for r in rows]],
        "category": [r[3] for r in rows],
    })  # fmt: skip


def evaluate(
    orders: pd.DataFrame, texts: pd.DataFrame, *, cutoff: str, k: int = 10, n_topics: int = 4, seed: int = 0
) -> dict:
    """:func:`evaluate_recommenders` with topics fitted on the reviews written before ``cutoff`` only."""
    from topicprofile.actions import item_lines

    cut = pd.Timestamp(cutoff)
    lines = item_lines(orders.astype({"timestamp": str, "amount": str}))
    before = texts[texts["timestamp"] < cut][["customer_id", "review_id", "text"]]
    profiler = TopicProfiler(n_topics=n_topics, random_state=seed).fit(reviews=before)
    shares = topic_shares(profiler.profile(reviews=before))
    return evaluate_recommenders(lines, shares, cutoff=cut, k=k, random_state=seed)


TUNE_GRID = [(32, 0.05), (8, 1.0), (32, 5.0), (8, 10.0)]  # (factors, regularization)


def tune(
    orders: pd.DataFrame, texts: pd.DataFrame, *, test_cutoff: str, validation_cutoff: str, k: int = 10
) -> None:
    """Print hit@k per ALS setting on the validation split (orders before ``test_cutoff`` only)."""
    from topicprofile.actions import item_lines

    test_cut, val_cut = pd.Timestamp(test_cutoff), pd.Timestamp(validation_cutoff)
    lines = item_lines(orders.astype({"timestamp": str, "amount": str}))
    lines = lines[lines["timestamp"] < test_cut]  # the test period is never read
    before = texts[texts["timestamp"] < val_cut][["customer_id", "review_id", "text"]]
    shares = topic_shares(
        TopicProfiler(n_topics=4, random_state=0).fit(reviews=before).profile(reviews=before)
    )
    for factors, regularization in TUNE_GRID:
        result = evaluate_recommenders(
            lines, shares, cutoff=val_cut, k=k, factors=factors, regularization=regularization
        )
        hits = {row["model"]: round(row["hit_rate"], 3) for row in result["rows"]}
        print(f"factors {factors}, regularization {regularization}: hit@{k} {hits}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cutoff", default="1997-10-01")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--topics", type=int, default=4)
    parser.add_argument("--customers", type=int, default=None, help="first n CDNOW customers (default all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--tune", action="store_true", help="score the ALS grid on the validation split instead"
    )
    parser.add_argument("--validation-cutoff", default="1997-07-01")
    args = parser.parse_args()
    start = time.perf_counter()
    orders, texts = build_shop(read_cdnow(), read_reviews(), n_customers=args.customers, seed=args.seed)
    if args.tune:
        tune(orders, texts, test_cutoff=args.cutoff, validation_cutoff=args.validation_cutoff, k=args.k)
        return
    print(f"{orders['customer_id'].nunique():,} customers, {len(orders):,} order lines, "
          f"{orders['product'].nunique()} products, {len(texts):,} reviews by {texts['customer_id'].nunique():,} customers")  # fmt: skip
    result = evaluate(orders, texts, cutoff=args.cutoff, k=args.k, n_topics=args.topics, seed=args.seed)
    print(f"cutoff {result['cutoff']}: {result['n_customers']:,} customers bought a new item after it "
          f"({result['n_cold']:,} without earlier orders, {result['n_with_text']:,} with text); weights {result['weights']}")  # fmt: skip
    table = pd.DataFrame(result["rows"]).set_index("model")
    print(table.round(3).to_string())
    ratio = table.loc["hybrid", "hit_rate"] / table.loc["popularity", "hit_rate"]
    print(f"hybrid / popularity hit@{args.k}: {ratio:.2f}x; hybrid - CF: "
          f"{table.loc['hybrid', 'hit_rate'] - table.loc['cf', 'hit_rate']:+.3f}; "
          f"{time.perf_counter() - start:.0f} s")  # fmt: skip


if __name__ == "__main__":
    main()
