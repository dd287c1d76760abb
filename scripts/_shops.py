"""Evaluation shops for scripts/quality.py: real review texts, customers with a planted interest.

A shop is built from a labelled source (the label of a review comes from outside any topic model:
the shop's product category, or a rule on domain words) the way a real shop looks: every customer
has one planted primary interest; each of their 1-10 reviews comes from it with probability
``PRIMARY_SHARE`` and otherwise from another category. Reviews are drawn without replacement, so a
text appears at most once in a shop. Same source, size and construction seed -> the same shop.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "DATA_DIR",
    "CORPORA_DIR",
    "PRIMARY_SHARE",
    "REVIEW_COUNT_P",
    "ZH_DOMAIN_WORDS",
    "SOURCES",
    "Shop",
    "load_source",
    "build_shop",
    "corpora_shop",
    "label_zh_domain",
    "oracle",
]

ROOT = Path(__file__).resolve().parents[1]
#: ``../shared/data`` beside the checkout (or beside the folder of worktrees holding it).
DATA_DIR = next(
    (d for d in (ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data") if d.is_dir()),
    ROOT.parent / "shared" / "data",
)
CORPORA_DIR = ROOT / "corpora"

#: Share of a customer's reviews drawn from their planted interest (the rest from other categories).
PRIMARY_SHARE = 0.75
#: P(n reviews) for n = 1..10: geometric-like, 0.7 ** (n - 1), normalised; 68% of customers write
#: 1-3 reviews, the mean is 3.0.
REVIEW_COUNT_P = 0.7 ** np.arange(10) / (0.7 ** np.arange(10)).sum()

#: zh_reviews.txt has no labels: a review is about a domain when it holds one of these words, and is
#: dropped when it holds words of none or of several domains. Words picked to be unambiguous in
#: these reviews (hotels, books, laptops): 书 also matches 说明书 (a manual), which then makes a
#: laptop review match two domains and drops it rather than mislabelling it.
ZH_DOMAIN_WORDS: dict[str, tuple[str, ...]] = {
    "hotel": tuple("酒店 宾馆 房间 前台 入住 客房 住宿 早餐 服务员 大堂 标准间".split()),
    "book": tuple("书 作者 阅读 小说 读者 故事 出版 章节 作品 读完 看完".split()),
    "computer": tuple("电脑 笔记本 屏幕 键盘 系统 显卡 内存 硬盘 散热 驱动 光驱 本本 cpu xp vista 触摸板".split()),
}


@dataclass(frozen=True)
class Shop:
    """One evaluation shop.

    ``reviews``: ``customer_id, text`` (+ ``label``: the review's true category; absent for
    corpora/); ``browsing``: browsing events or None; ``planted``: customer_id -> planted interest,
    one entry per evaluated customer; ``k``: the planted number of interests.
    """

    name: str
    lang: str
    k: int
    reviews: pd.DataFrame
    planted: pd.Series
    browsing: pd.DataFrame | None = None

    @property
    def n_customers(self) -> int:
        return len(self.planted)


def label_zh_domain(text: str) -> str | None:
    """The domain of a Chinese review by :data:`ZH_DOMAIN_WORDS`, or None (no domain or several)."""
    low = text.lower()
    hits = [d for d, words in ZH_DOMAIN_WORDS.items() if any(w in low for w in words)]
    return hits[0] if len(hits) == 1 else None


def _zh_reviews(path: Path) -> pd.DataFrame:
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    table = pd.DataFrame({"text": [line for line in lines if line]}).drop_duplicates("text")
    table["label"] = table["text"].map(label_zh_domain)
    return table.dropna(subset=["label"]).reset_index(drop=True)


def _csv(path: Path, label: str) -> pd.DataFrame:
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table = table.rename(columns={label: "label"})[["label", "text"]]
    table = table[table["text"].str.strip() != ""].drop_duplicates("text")
    return table.reset_index(drop=True)


#: source name -> (language, loader of a ``label, text`` table).
SOURCES = {
    "en_amazon": ("en", lambda d: _csv(d / "en_amazon_reviews_4cats.csv.bz2", "category")),
    "zh_shop": ("zh", lambda d: _csv(d / "zh_shop_reviews_5cats.csv.bz2", "category")),
    "zh_domains": ("zh", lambda d: _zh_reviews(d / "zh_reviews.txt")),
}


def load_source(source: str, data_dir: Path = DATA_DIR) -> tuple[str, pd.DataFrame]:
    """``(lang, table)`` of a labelled source: one row per distinct review text, columns ``label, text``."""
    lang, loader = SOURCES[source]
    return lang, loader(Path(data_dir))


def build_shop(
    table: pd.DataFrame, *, n_customers: int, seed: int, lang: str, name: str,
    primary_share: float = PRIMARY_SHARE,
) -> Shop:  # fmt: skip
    """A shop of ``n_customers`` customers from a labelled ``label, text`` table.

    A planted interest is drawn for each customer in proportion to the category's share of the
    source (the source's real mix; zh_shop has few water-heater reviews, so few customers plant
    it); the number of reviews from :data:`REVIEW_COUNT_P`; each review is from the planted
    interest with probability ``primary_share``, otherwise from another category (again in
    proportion to the source). Texts are drawn without replacement.
    """
    rng = np.random.default_rng([seed, n_customers, zlib.crc32(name.encode())])
    labels = sorted(table["label"].unique())
    pools = {lab: rng.permutation(np.flatnonzero(table["label"].to_numpy() == lab)) for lab in labels}
    weights = np.array([len(pools[lab]) for lab in labels], dtype=float)
    weights /= weights.sum()
    used = dict.fromkeys(labels, 0)
    rows: list[tuple[str, int, str]] = []
    planted: dict[str, str] = {}
    for i in range(n_customers):
        customer = f"C{i + 1:05d}"
        primary = int(rng.choice(len(labels), p=weights))
        planted[customer] = labels[primary]
        others = np.array([j for j in range(len(labels)) if j != primary])
        other_p = weights[others] / weights[others].sum()
        for _ in range(int(rng.choice(10, p=REVIEW_COUNT_P)) + 1):
            lab = labels[primary if rng.random() < primary_share else int(rng.choice(others, p=other_p))]
            if used[lab] >= len(pools[lab]):
                raise ValueError(f"{name}: not enough '{lab}' reviews for {n_customers} customers")
            rows.append((customer, int(pools[lab][used[lab]]), lab))
            used[lab] += 1
    order = rng.permutation(len(rows))  # a shop's reviews are not grouped by customer
    reviews = pd.DataFrame(
        {
            "customer_id": [rows[j][0] for j in order],
            "review_id": [f"R{j + 1:06d}" for j in range(len(rows))],
            "text": table["text"].to_numpy()[[rows[j][1] for j in order]],
            "label": [rows[j][2] for j in order],
        }
    )
    planted_interest = pd.Series(planted, name="interest")
    return Shop(name=name, lang=lang, k=len(labels), reviews=reviews, planted=planted_interest)


def corpora_shop(folder: Path = CORPORA_DIR) -> Shop:
    """The bundled synthetic sample (reviews + browsing; planted interests from truth.csv)."""
    reviews = pd.read_csv(folder / "reviews.csv", dtype=str, keep_default_na=False)
    browsing = pd.read_json(folder / "browsing.jsonl", lines=True, dtype=False)
    truth = pd.read_csv(folder / "truth.csv", dtype=str, keep_default_na=False)
    for flag in ("thin", "order_only"):  # planted without text: nothing to recover
        truth = truth[truth[flag].str.lower() != "true"]
    planted = truth.set_index("customer_id")["interest"]
    return Shop(
        name="corpora", lang="en", k=int(planted.nunique()), reviews=reviews[["customer_id", "text"]],
        planted=planted, browsing=browsing,
    )  # fmt: skip


#: A taxonomy per source, as a shop would write one (issue #12 part 7: three or four seed words per
#: interest, named by the planted labels so that a tag's name can be checked against the label).
#: corpora/'s are the words of corpora/taxonomy.toml; zh_domains' are a few of the domain rule's
#: words (the hidden shop's taxonomy had 3-4 seed words each). Sources without one are not run.
TAXONOMIES: dict[str, dict[str, list[str]]] = {
    "corpora": {
        "kitchen": ["kitchen", "knife", "pan", "cook", "bake"],
        "outdoor": ["hiking", "tent", "camping", "trail", "backpack"],
        "beauty": ["skincare", "serum", "moisturiser", "hair", "beauty"],
        "pets": ["dog", "cat", "pet", "litter", "lead"],
        "audio": ["headphones", "speaker", "wireless", "audio", "soundbar"],
        "fitness": ["running", "fitness", "yoga", "shoes", "workout"],
        "coffee": ["coffee", "espresso", "tea", "beans", "grinder"],
        "garden": ["garden", "pruning", "hose", "compost", "seeds"],
    },
    "zh_domains": {
        "hotel": ["酒店", "房间", "前台", "入住"],
        "book": ["书", "作者", "小说"],
        "computer": ["电脑", "笔记本", "屏幕", "键盘"],
    },
    "en_amazon": {
        "books": ["book", "author", "novel", "read"],
        "dvd": ["movie", "film", "dvd", "actor"],
        "electronics": ["camera", "battery", "sound", "cable"],
        "kitchen": ["kitchen", "pan", "coffee", "knife"],
    },
}


def oracle(shop: Shop) -> pd.Series | None:
    """Each customer's majority true review label (ties: the label of its earliest review), or None
    when reviews carry no labels: the best any per-customer rule can do from perfectly classified reviews."""
    if "label" not in shop.reviews:
        return None
    first = shop.reviews.groupby("customer_id", sort=False)["label"]
    return first.agg(lambda s: s.value_counts(sort=False).idxmax())
