#!/usr/bin/env python
"""Measure ``update``'s ways of folding new texts into the topics against a refit (issue #13; medians, not a test).

Real Amazon reviews (../shared/data, 4 categories), customers of 4 reviews each, shuffled. The
model is fitted on 90% of the reviews and tagged into a profile database; then the other 10%
arrive, and each option is run on a fresh copy of the model and database:

* ``update, fold none``: the topics as fitted (the update before the fold existed);
* ``update, fold add``: the new texts' expected topic-word counts added once (the default);
* ``update, fold add ×3``: the same with 3 rounds over the new texts (old share held fixed);
* ``update, fold online``: gensim's ``LdaModel.update`` step (its ``rho`` schedule);
* ``fit --previous``: a warm-started refit on all reviews, topics matched to the old ones;
* ``full refit``: a cold fit on all reviews (the time reference; its topics are matched to the
  old model's ids only to compare top interests).

Columns: the time (median of ``--runs``; updates include loading the model, re-profiling the
affected customers and saving the new version), the share of *unaffected* customers (no new
review) whom the new model tags exactly as the old one did (tags and ids, their same texts
profiled again: the database keeps their old rows, so this is how many rows would be stale), the
customers whose top interest id equals the cold refit's, and the held-out perplexity (document
completion: topics inferred from half of each held-out customer's tokens, the other half scored;
only words every model knows, each model's topic-word rows renormalised over them; lower is better).

    python scripts/bench_update.py --reviews 2000 --runs 3
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from topicprofile import TopicProfiler
from topicprofile.app.jobs import tag_files
from topicprofile.app.update import update_files
from topicprofile.text.vectorize import bows_to_csr, to_bows
from topicprofile.topics.matching import match_topics, vocabulary

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "en_amazon_reviews_4cats.csv.bz2"
UPDATES = {"update, fold none": ("none", 1), "update, fold add": ("add", 1), "update, fold add ×3": ("add", 3),
           "update, fold online": ("online", 1)}  # fmt: skip
TAG_COLUMNS = ["interest_tags", "interest_topics"]


def sample_reviews(n_reviews: int, n_heldout: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n_reviews`` reviews of customers with 4 reviews each (one category each), shuffled, and
    ``n_heldout`` reviews of other customers for perplexity."""
    frame = pd.read_csv(DATA, dtype=str)
    per = (n_reviews + n_heldout) // 4
    sample = pd.concat(
        [g.sample(per, random_state=0) for _, g in frame.groupby("category")], ignore_index=True
    )
    sample["customer_id"] = [f"{c}-{i // 4:05d}" for i, c in enumerate(sample["category"])]
    customers = sample["customer_id"].drop_duplicates().sample(frac=1.0, random_state=2)
    heldout_ids = set(customers.iloc[: n_heldout // 4])
    heldout = sample[sample["customer_id"].isin(heldout_ids)][["customer_id", "text"]]
    reviews = sample[~sample["customer_id"].isin(heldout_ids)][["customer_id", "text"]]
    return reviews.sample(frac=1.0, random_state=1).reset_index(drop=True), heldout.reset_index(drop=True)


def tags_of(profiler: TopicProfiler, reviews: pd.DataFrame) -> pd.DataFrame:
    return profiler.profile(reviews).set_index("customer_id")[TAG_COLUMNS].astype(str)


def top_ids(profiler: TopicProfiler, reviews: pd.DataFrame, order: np.ndarray | None = None) -> pd.Series:
    """Each customer's top topic id (``order``: the model's topic j is called ``order[j]``)."""
    table = profiler.profile(reviews).set_index("customer_id").sort_index()
    top = table[[f"topic_{t}" for t in range(profiler.n_topics_)]].to_numpy().argmax(axis=1)
    return pd.Series(top if order is None else order[top], index=table.index)


def heldout_perplexity(profiler: TopicProfiler, heldout: pd.DataFrame, common: set[str]) -> float:
    """Document completion on each held-out customer's pooled tokens (see the module docstring)."""
    pooled = heldout.groupby("customer_id")["text"].apply(" ".join)
    tokens = profiler.encoder_.tokens(pooled.tolist())
    words = vocabulary(profiler.dictionary_)
    keep = np.array([w in common for w in words])
    phi = profiler.topics_.topic_word_ * keep
    phi = phi / phi.sum(axis=1, keepdims=True)
    n_terms = len(words)
    first = bows_to_csr(to_bows(profiler.dictionary_, [t[0::2] for t in tokens]), n_terms)
    second = bows_to_csr(to_bows(profiler.dictionary_, [t[1::2] for t in tokens]), n_terms)
    theta = profiler.topics_.transform_counts(first)
    second = sparse.csr_matrix(second.multiply(keep[None, :]))
    second.eliminate_zeros()
    log_lik, n = 0.0, 0.0
    for i in range(second.shape[0]):
        row = second[i]
        log_lik += float(row.data @ np.log(theta[i] @ phi[:, row.indices]))
        n += float(row.data.sum())
    return float(np.exp(-log_lik / n))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviews", type=int, default=2000)
    parser.add_argument("--topics", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--trainer", default="vb", choices=["vb", "gibbs"])
    args = parser.parse_args(argv)
    reviews, heldout = sample_reviews(args.reviews, args.reviews // 5)
    cut = int(len(reviews) * 0.9)
    old, new = reviews.iloc[:cut], reviews.iloc[cut:]
    unaffected = old[~old["customer_id"].isin(set(new["customer_id"]))]
    make = lambda: TopicProfiler(n_topics=args.topics, trainer=args.trainer, random_state=0)
    times: dict[str, list[float]] = {}
    models: dict[str, TopicProfiler] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        new.to_csv(base / "new.csv", index=False)
        old.to_csv(base / "old.csv", index=False)
        old_model = make().fit(old)
        old_model.save(str(base / "model"))
        tag_files(base / "model", base / "p.csv", reviews=base / "old.csv", db=base / "p.duckdb")
        for run in range(args.runs):  # the options take turns, so a busy spell slows all of them alike
            for name, (fold, passes) in UPDATES.items():
                work = base / f"run-{run}-{fold}-{passes}"
                shutil.copytree(base / "model", work / "model")
                shutil.copy(base / "p.duckdb", work / "p.duckdb")
                t0 = time.perf_counter()
                update_files(work / "model", db=work / "p.duckdb", reviews=base / "new.csv", fold=fold,
                             fold_passes=passes)  # fmt: skip
                times.setdefault(name, []).append(time.perf_counter() - t0)
                models[name] = TopicProfiler.load(str(work / "model"))
            for name, previous in (("fit --previous", old_model), ("full refit", None)):
                t0 = time.perf_counter()
                models[name] = make().fit(reviews, previous=previous)
                times.setdefault(name, []).append(time.perf_counter() - t0)
            print(
                f"run {run + 1}: " + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in times.items()),
                file=sys.stderr,
            )
    cold = models["full refit"]
    match = match_topics(cold.topics_.topic_word_, vocabulary(cold.dictionary_),
                         old_model.topics_.topic_word_, vocabulary(old_model.dictionary_))  # fmt: skip
    reference = top_ids(cold, reviews, np.argsort(match.order))
    before = tags_of(old_model, unaffected)
    common = set.intersection(*(set(vocabulary(m.dictionary_)) for m in models.values()))
    refit_time = statistics.median(times["full refit"])
    print(f"| {len(reviews):,} reviews ({len(new):,} new, {unaffected['customer_id'].nunique()} unaffected "
          f"customers), k={args.topics}, {args.trainer}, median of {args.runs} | time | × refit | unaffected "
          "customers keeping tags and ids | top interest = refit's | held-out perplexity |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    for name, model in models.items():
        after = tags_of(model, unaffected) if name != "full refit" else None
        kept = "—" if after is None else f"{(before == after.loc[before.index]).all(axis=1).mean():.1%}"
        agree = (top_ids(model, reviews) == reference).mean() if name != "full refit" else 1.0
        median = statistics.median(times[name])
        print(f"| {name} | {median:.1f} s | {median / refit_time:.2f} | {kept} | {agree:.1%} | "
              f"{heldout_perplexity(model, heldout, common):.1f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
