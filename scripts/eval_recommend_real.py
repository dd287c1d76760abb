"""Recommenders on real data: CDNOW purchase histories x English Amazon reviews (issue 17).

No public file here has customers x products, so the shop is built the way the quality shops are
(scripts/_shops.py): the real parts are the **customers and when and how much they bought**
(``cdnow_transactions.txt``: 23,570 customers, Jan 1997 - Jun 1998, each row a purchase day with its
number of CDs) and **the review texts with their product category** (``en_amazon_reviews_4cats``:
books, dvd, electronics, kitchen). The planted part is *which* product each line is. Two catalogues:

* ``--construction categories`` (the first one): ``PER_CATEGORY`` = 50 products per category,
  Zipf-popular (exponent ``ZIPF``) inside it; each customer has a primary category, drawn by the
  categories' share of the review source; each order line (a CDNOW row of n CDs gives min(n, 5)
  lines) is from it with probability ``PRIMARY_SHARE``, else from another one. Taste lives only at
  the level of 4 categories, so even the oracle that knows it is ~1.11x popularity on hit@10.
* ``--construction shelves`` (default): the real reviews of each category are grouped into
  ``SHELVES`` = 10 shelves by k-means on their TF-IDF (cookbooks vs novels, headphones vs cameras),
  ``PER_SHELF`` = 25 Zipf-popular products per shelf: 1,000 products. Each customer also has a
  favourite shelf in the primary category (drawn by shelf size); ``FAVOURITE_SHARE`` of the lines
  come from it, the rest of the primary category's share from its shelves by size, the others as
  before. Everything else (customers, days, CD counts, ``PRIMARY_SHARE``) is unchanged.

In both, a customer writes reviews with probability ``REVIEW_P`` (1-2 reviews, each a real Amazon
review of the category / shelf of one of their order lines, dated that day, drawn without
replacement). ``build_shop`` also returns what was planted, so the **oracle** row ranks by the true
purchase probabilities: the ceiling any recommender can reach on the construction.

Evaluation: topics are fitted on reviews written before the cutoff only; the recommender trains on
orders before the cutoff (its CF model and blend weights chosen on the last 20% of *that* period:
the validation split) and is scored on the orders from the cutoff to the end. Reported per variant:
hit@k, recall@k, NDCG@k, catalogue coverage; then medians over seeds x cutoffs.

    python scripts/eval_recommend_real.py --construction shelves --seeds 0 1 2 --cutoffs 1997-10-01 1998-01-01
    python scripts/eval_recommend_real.py --construction categories --seeds 0 1 2
    python scripts/eval_recommend_real.py --topics 0 ...   # no text: popularity, CF, hybrid, oracle (fast)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer

from topicprofile import TopicProfiler
from topicprofile.actions import evaluate_recommenders, item_lines
from topicprofile.actions.recommend_lines import pairs, window
from topicprofile.actions.recommend_rank import rank_metrics, recall_at, top_items
from topicprofile.config import RunOptions
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
    cdnow: pd.DataFrame,
    reviews: pd.DataFrame,
    *,
    n_customers: int | None = None,
    seed: int = 0,
    shelves: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """``(orders, texts, planted)``: order lines (``customer_id, order_id, timestamp, amount, product,
    category``), reviews (``customer_id, review_id, timestamp, text, category``) and what was
    planted, for the oracle: ``labels``, each customer's ``primary`` category (index into labels)
    and ``favourite`` shelf (-1 without shelves), ``shelf_weight`` (a shelf's share of its category).

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
    weight = None
    if shelves:
        size = reviews["shelf"].value_counts().sort_index()
        weight = size / size.groupby(size.index.str.split("/").str[0]).transform("sum")
    planted = {"labels": labels, "primary": primary, "favourite": favourite, "shelf_weight": weight}
    return orders, texts, planted


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
    orders: pd.DataFrame,
    reviews: pd.DataFrame,
    pools: np.ndarray,
    line_pool: np.ndarray,
    rng: np.random.Generator,
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


def oracle_scores(items: pd.Index, customers: pd.Index, planted: dict) -> np.ndarray:
    """P(a customer's next line is the item) under the planted process: the ceiling of any recommender."""
    labels = list(planted["labels"])
    name = items.to_series().str.rsplit("-", n=1)
    rank = name.str[1].astype(int).to_numpy()
    shelf = name.str[0].to_numpy()
    category = np.array([labels.index(s.split("/")[0]) for s in shelf])
    primary = planted["primary"].reindex(customers).to_numpy()[:, None]
    p_category = np.where(
        category[None, :] == primary, PRIMARY_SHARE, (1 - PRIMARY_SHARE) / (len(labels) - 1)
    )
    if planted["shelf_weight"] is None:
        within = 1.0 / rank**ZIPF / (1.0 / np.arange(1, PER_CATEGORY + 1) ** ZIPF).sum()
        return p_category * within[None, :]
    weight = planted["shelf_weight"].reindex(shelf).to_numpy()
    favourite = planted["favourite"].reindex(customers).to_numpy()[:, None]
    loyal = FAVOURITE_SHARE * (shelf[None, :] == favourite)
    p_shelf = (
        np.where(category[None, :] == primary, PRIMARY_SHARE - FAVOURITE_SHARE, p_category) * weight + loyal
    )
    within = 1.0 / rank**ZIPF / (1.0 / np.arange(1, PER_SHELF + 1) ** ZIPF).sum()
    return p_shelf * within[None, :]


def oracle_row(
    lines: pd.DataFrame, planted: dict, *, cutoff: pd.Timestamp, k: int, exclusion_days: int = 90
) -> dict:
    """The oracle's metrics on the same test customers and targets as :func:`evaluate_recommenders`."""
    before, after = lines[lines["timestamp"] < cutoff], lines[lines["timestamp"] >= cutoff]
    items = pd.Index(np.sort(before["item"].unique()))
    after = after[after["item"].isin(items)]
    ids = pd.Index(np.sort(after["customer_id"].unique()))
    bought = pairs(after, ids, items)
    excluded = pairs(window(before, cutoff, exclusion_days), ids, items)
    targets = bought - bought.multiply(excluded)
    targets.eliminate_zeros()
    keep = np.asarray(targets.sum(axis=1)).ravel() > 0
    ids, targets, excluded = ids[keep], targets[keep], excluded[keep]
    top = top_items(oracle_scores(items, ids, planted).astype("float32"), excluded, k)[0]
    hit, ndcg = rank_metrics(top, targets, k)
    coverage = len(np.unique(top)) / len(items)
    return {
        "model": "oracle",
        "hit_rate": hit,
        "ndcg": ndcg,
        "recall": recall_at(top, targets),
        "coverage": coverage,
    }


def topic_table(texts: pd.DataFrame, *, cutoff: pd.Timestamp, n_topics: int, seed: int) -> pd.DataFrame:
    """Customer topic shares from the reviews written before ``cutoff`` only (topics fitted on them too)."""
    before = texts[texts["timestamp"] < cutoff][["customer_id", "review_id", "text"]]
    with tempfile.TemporaryDirectory() as cache:  # profile() reuses fit()'s tokens
        run = RunOptions(cache_dir=cache)
        profiler = TopicProfiler(n_topics=n_topics, random_state=seed).fit(reviews=before, run=run)
        return topic_shares(profiler.profile(reviews=before, run=run))


def evaluate(
    orders: pd.DataFrame, texts: pd.DataFrame, planted: dict | None = None, *, cutoff: str, k: int = 10,
    n_topics: int = 4, seed: int = 0, **params: object,
) -> dict:  # fmt: skip
    """:func:`evaluate_recommenders` with topics fitted on the reviews written before ``cutoff`` only,
    plus the oracle's row when ``planted`` is given."""
    cut = pd.Timestamp(cutoff)
    lines = item_lines(orders.astype({"timestamp": str, "amount": str}))
    shares = None if n_topics == 0 else topic_table(texts, cutoff=cut, n_topics=n_topics, seed=seed)
    result = evaluate_recommenders(lines, shares, cutoff=cut, k=k, random_state=seed, **params)
    if planted is not None:
        result["rows"].append(oracle_row(lines, planted, cutoff=cut, k=k))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--construction", choices=["shelves", "categories"], default="shelves")
    parser.add_argument("--cutoffs", nargs="+", default=["1997-10-01"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument(
        "--topics", type=int, default=None, help="default: 4 (categories), 20 (shelves); 0: no text (fast)"
    )
    parser.add_argument(
        "--cf", default="auto", help="HybridRecommender(cf=...): auto, als, cosine, bm25, tfidf"
    )
    parser.add_argument("--customers", type=int, default=None, help="first n CDNOW customers (default all)")
    parser.add_argument("--json", default=None, help="append each run's result as a JSON line to this file")
    args = parser.parse_args()
    shelves = SHELVES if args.construction == "shelves" else 0
    n_topics = (20 if shelves else 4) if args.topics is None else args.topics
    cdnow, reviews = read_cdnow(), read_reviews()
    runs = []
    for seed in args.seeds:
        orders, texts, planted = build_shop(
            cdnow, reviews, n_customers=args.customers, seed=seed, shelves=shelves
        )
        print(f"{args.construction} seed {seed}: {orders['customer_id'].nunique():,} customers, {len(orders):,} "
              f"order lines, {orders['product'].nunique()} products, {len(texts):,} reviews by "
              f"{texts['customer_id'].nunique():,} customers", flush=True)  # fmt: skip
        for cutoff in args.cutoffs:
            start, cpu = time.perf_counter(), time.process_time()
            result = evaluate(
                orders, texts, planted, cutoff=cutoff, k=args.k, n_topics=n_topics, seed=seed, cf=args.cf
            )
            table = pd.DataFrame(result["rows"]).set_index("model")
            print(f"  cutoff {result['cutoff']}: {result['n_customers']:,} tested ({result['n_with_text']:,} with text), "
                  f"{result['n_items']} items; CF {result['cf']}; weights {result['weights']}; "
                  f"{time.perf_counter() - start:.0f} s wall, {time.process_time() - cpu:.0f} s CPU")  # fmt: skip
            print(table.round(3).to_string(), flush=True)
            runs.append({"construction": args.construction, "seed": seed, **result})
            if args.json:
                with open(args.json, "a", encoding="utf-8") as f:
                    f.write(json.dumps(runs[-1], default=str) + "\n")
    summary = pd.DataFrame(
        [{"seed": r["seed"], "cutoff": r["cutoff"], **row} for r in runs for row in r["rows"]]
    )
    medians = summary.groupby("model", sort=False)[["hit_rate", "ndcg", "recall", "coverage"]].median()
    print(f"medians over {len(runs)} run(s) (seeds {args.seeds} x cutoffs {args.cutoffs}):")
    print(medians.round(3).to_string())
    ratio = summary.pivot_table(index=["seed", "cutoff"], columns="model", values="hit_rate")
    print(f"hybrid / popularity hit@{args.k}: {(ratio['hybrid'] / ratio['popularity']).round(2).tolist()}; "
          f"hybrid - CF: {(ratio['hybrid'] - ratio['cf']).round(3).tolist()}; "
          f"oracle / popularity: {(ratio['oracle'] / ratio['popularity']).round(2).tolist()}")  # fmt: skip
    if "hybrid without text" in ratio:
        print(
            f"hybrid - hybrid without text: {(ratio['hybrid'] - ratio['hybrid without text']).round(3).tolist()}"
        )


if __name__ == "__main__":
    main()
