#!/usr/bin/env python
"""Evidence for topicprofile's LDA defaults: compare engines and settings on real short texts.

Both corpora go through topicprofile's own preprocessing (``SpacyTokenizer`` -> ``PhraseDetector``
-> ``build_dictionary``, whose ``no_below`` defaults to ``default_no_below``), so every engine is
trained on exactly the same documents and vocabulary:

* ``en``: ``rotten_tomatoes.csv.bz2``, all 13,905 plot summaries and critic snippets, pooled by
  movie (the movie plays the customer, as in ``tests/e2e/test_quality_real.py``) -> 1,435 non-empty
  documents. The texts go in raw: ``TopicProfiler`` would also drop 14 empty and 18 duplicate rows,
  so its seed-0 scores differ slightly from this script's;
* ``zh``: ``zh_reviews.txt``, 16,548 short Chinese reviews, one document each (no grouping).

Engines, all with k topics and one process:

* ``gensim-plain``: ``LdaModel(corpus, id2word, num_topics=k, random_state=seed)``, every other
  setting at gensim's default (1 pass, online, 50 iterations);
* ``topicprofile``: ``LdaTopics(k, random_state=seed)``, i.e. ``DEFAULT_LDA_PARAMS``;
* ``tomotopy-500``: ``tomotopy.LDAModel(k=k, seed=seed)`` (alpha 0.1, eta 0.01) trained for 500
  collapsed-Gibbs iterations with ``workers=1``, fed the same documents (bags of words as words);
* lever rows: ``LdaTopics`` with one setting changed from the defaults (update mode, passes,
  iterations, alpha, eta, no_below).

Scores are the project's own (``topicprofile.topics.coherence``), computed as ``TopicProfiler``
does: ``c_npmi`` and ``c_v`` of each topic's 10 most probable words against the individual
(un-pooled) token lists, and diversity of the top 25 words. Fit seconds exclude preprocessing and
scoring; wall and CPU seconds are both reported (CPU time is steadier on a shared machine). Each
table row is the median over seeds.

Run from the repository root (``--budget-min`` stops starting new fits once that many minutes
have passed; the rows done so far are still reported)::

    /work/venv/bin/python scripts/tune_lda.py --budget-min 45 --out /tmp/tune_lda.jsonl
    /work/venv/bin/python scripts/tune_lda.py --corpus en --seeds 0 --no-levers   # ~1 minute
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import statistics
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from topicprofile.text.phrases import PhraseDetector  # noqa: E402
from topicprofile.text.tokenizer import SpacyTokenizer  # noqa: E402
from topicprofile.topics.coherence import coherence_scores, topic_diversity  # noqa: E402
from topicprofile.topics.lda import DEFAULT_LDA_PARAMS, LdaTopics  # noqa: E402
from topicprofile.text.vectorize import build_dictionary, default_no_below, pool_bows, to_bows  # noqa: E402

DATA = REPO.parent / "shared" / "data"


@dataclasses.dataclass
class Corpus:
    """Tokenized texts (after phrases) and, for pooled corpora, each text's group."""

    name: str
    tokens: list[list[str]]
    groups: list[str] | None
    _vocab: dict[int | None, tuple[Any, list]] = dataclasses.field(default_factory=dict)

    def training(self, no_below: int | None) -> tuple[Any, list[list[tuple[int, int]]]]:
        """Dictionary and non-empty training bags of words (pooled by group when grouped)."""
        if no_below not in self._vocab:
            dictionary = build_dictionary(self.tokens, no_below=no_below)
            bows = to_bows(dictionary, self.tokens)
            if self.groups is not None:
                bows = pool_bows(bows, self.groups)
            self._vocab[no_below] = (dictionary, [b for b in bows if b])
        return self._vocab[no_below]


def load_corpus(name: str, max_docs: int | None) -> Corpus:
    if name == "en":
        import pandas as pd

        frame = pd.read_csv(DATA / "rotten_tomatoes.csv.bz2")
        texts = frame["text"].fillna("").astype(str).tolist()
        groups: list[str] | None = frame["movie_name"].astype(str).tolist()
    else:
        with open(DATA / "zh_reviews.txt", encoding="utf-8") as fh:
            texts = [line.strip() for line in fh if line.strip()]
        groups = None
    if max_docs and max_docs < len(texts):  # an even, deterministic sample
        keep = np.linspace(0, len(texts) - 1, max_docs).astype(int)
        texts = [texts[i] for i in keep]
        groups = [groups[i] for i in keep] if groups else None
    tokens = SpacyTokenizer(name).tokenize(texts)
    tokens = PhraseDetector().fit(tokens).transform(tokens)
    return Corpus(name, tokens, groups)


class Timer:
    """Wall and CPU seconds of a block; CPU time is the steadier one when other jobs share the cores."""

    def __enter__(self) -> Timer:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self._wall, time.process_time() - self._cpu


# -- engines: each returns (n_topics × n_terms topic-word matrix or top-25 words, Timer of the fit) --
def fit_gensim_plain(dictionary: Any, bows: list, k: int, seed: int) -> tuple[np.ndarray, Timer]:
    from gensim.models import LdaModel

    with Timer() as timer:
        lda = LdaModel(bows, id2word=dictionary, num_topics=k, random_state=seed)
    return lda.get_topics(), timer


def fit_topicprofile(
    dictionary: Any, bows: list, k: int, seed: int, **params: Any
) -> tuple[np.ndarray, Timer]:
    with Timer() as timer:
        topics = LdaTopics(k, random_state=seed, **params).fit(bows, dictionary)
    return topics.topic_word_, timer


def fit_tomotopy(dictionary: Any, bows: list, k: int, seed: int, *, iterations: int) -> tuple[list, Timer]:
    import tomotopy as tp

    model = tp.LDAModel(k=k, seed=seed)
    for bow in bows:
        model.add_doc([dictionary[i] for i, count in bow for _ in range(count)])
    with Timer() as timer:
        model.train(iterations, workers=1)
    return [[w for w, _ in model.get_topic_words(j, top_n=25)] for j in range(k)], timer


def top_words(topics: Any, dictionary: Any, n: int = 25) -> list[list[str]]:
    if isinstance(topics, list):
        return topics
    return [[dictionary[int(i)] for i in np.argsort(-row, kind="stable")[:n]] for row in topics]


@dataclasses.dataclass(frozen=True)
class Setting:
    """One table row: an engine, LdaTopics overrides, and the vocabulary rule."""

    label: str
    engine: str = "topicprofile"  # or "gensim-plain", "tomotopy"
    params: tuple[tuple[str, Any], ...] = ()
    no_below: int | None = None  # None: default_no_below(n_docs)


def headline(tomotopy_iterations: int) -> list[Setting]:
    return [
        Setting("gensim-plain", "gensim-plain"),
        Setting("topicprofile defaults"),
        Setting(f"tomotopy-{tomotopy_iterations}", "tomotopy"),
    ]


def levers(n_docs: int) -> list[Setting]:
    """One change at a time from DEFAULT_LDA_PARAMS, most informative first."""

    def with_(label: str, **params: Any) -> Setting:
        return Setting(label, params=tuple(params.items()))

    rule = default_no_below(n_docs)
    return [
        with_("online, chunksize 2000", update_every=1, chunksize=2000),
        with_("online, chunksize 500", update_every=1, chunksize=500),
        with_("passes 5", passes=5),
        with_("passes 10", passes=10),
        with_("iterations 50", iterations=50),
        with_("alpha auto", alpha="auto"),
        with_("alpha asymmetric", alpha="asymmetric"),
        with_("alpha 0.05", alpha=0.05),
        with_("eta 0.01", eta=0.01),
        Setting("no_below 3", no_below=3),
        Setting("no_below 10", no_below=10),
        Setting(f"no_below {2 * rule} (2x rule)", no_below=2 * rule),
        with_("passes 40", passes=40),
        with_("iterations 400", iterations=400),
    ]


def run_one(corpus: Corpus, setting: Setting, k: int, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    dictionary, bows = corpus.training(setting.no_below)
    if setting.engine == "gensim-plain":
        topics, timer = fit_gensim_plain(dictionary, bows, k, seed)
    elif setting.engine == "tomotopy":
        topics, timer = fit_tomotopy(dictionary, bows, k, seed, iterations=args.tomotopy_iterations)
    else:
        topics, timer = fit_topicprofile(dictionary, bows, k, seed, **dict(setting.params))
    top = top_words(topics, dictionary)
    scores = coherence_scores([t[:10] for t in top], corpus.tokens, dictionary)
    return {
        "corpus": corpus.name, "k": k, "setting": setting.label, "seed": seed,
        "n_docs": len(bows), "n_terms": len(dictionary), "fit_s": timer.wall, "cpu_s": timer.cpu,
        "c_npmi": scores["c_npmi"]["mean"], "c_v": scores["c_v"]["mean"],
        "diversity": topic_diversity(top, topn=25), "top10": [t[:10] for t in top],
    }  # fmt: skip


def median_row(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    out = {key: runs[0][key] for key in ("corpus", "k", "setting", "n_docs", "n_terms")}
    for key in ("c_npmi", "c_v", "diversity", "fit_s", "cpu_s"):
        out[key] = statistics.median(r[key] for r in runs)
    out["n_seeds"] = len(runs)
    return out


def print_table(rows: Sequence[dict[str, Any]]) -> None:
    print("| corpus | setting | docs | terms | seeds | c_npmi | c_v | diversity | fit s | fit CPU s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['corpus']} k={r['k']} | {r['setting']} | {r['n_docs']:,} | {r['n_terms']:,} "
              f"| {r['n_seeds']} | {r['c_npmi']:+.3f} | {r['c_v']:.3f} | {r['diversity']:.2f} "
              f"| {r['fit_s']:.1f} | {r['cpu_s']:.1f} |")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", choices=["en", "zh", "both"], default="both")
    ap.add_argument("--k", type=int, default=10, help="number of topics (default 10)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--lever-seeds", type=int, default=None, help="use only the first N seeds for lever rows")
    ap.add_argument("--no-levers", action="store_true", help="only the three headline engines")
    ap.add_argument("--only", nargs="+", default=None, metavar="TEXT",
                    help="run only the rows whose label contains one of these texts, e.g. 'iterations 50'")
    ap.add_argument("--max-docs", type=int, default=None,
                    help="evenly sample at most this many texts per corpus")
    ap.add_argument("--tomotopy-iterations", type=int, default=500)
    ap.add_argument("--budget-min", type=float, default=None,
                    help="start no new fit after this many minutes (wall time); rows report their seed count")
    ap.add_argument("--out", type=Path, default=None,
                    help="write every fit (with its top words) as JSON lines")
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.getLogger("gensim").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=RuntimeWarning)  # NaN pair scores; counted as 0 in the mean
    start = time.perf_counter()
    deadline = start + args.budget_min * 60 if args.budget_min else math.inf

    names = ["en", "zh"] if args.corpus == "both" else [args.corpus]
    corpora = [load_corpus(name, args.max_docs) for name in names]
    print(f"DEFAULT_LDA_PARAMS = {DEFAULT_LDA_PARAMS}")
    for c in corpora:
        dictionary, bows = c.training(None)
        print(f"{c.name}: {len(c.tokens):,} texts -> {len(bows):,} training documents, "
              f"{sum(sum(n for _, n in b) for b in bows):,} tokens, {len(dictionary):,} terms "
              f"(no_below {default_no_below(len(c.tokens))}); "
              f"preprocessing {time.perf_counter() - start:.0f}s")

    lever_seeds = args.seeds[: args.lever_seeds] if args.lever_seeds else args.seeds
    plan = [(c, s, args.seeds) for c in corpora for s in headline(args.tomotopy_iterations)]
    if not args.no_levers:
        # lever by lever, each on every corpus: a budget cut drops the last levers, not a corpus
        per_corpus = [levers(len(c.tokens)) for c in corpora]
        for i in range(len(per_corpus[0])):
            plan += [(c, ls[i], lever_seeds) for c, ls in zip(corpora, per_corpus)]
    if args.only:
        plan = [p for p in plan if any(text in p[1].label for text in args.only)]

    rows, out = [], args.out.open("w", encoding="utf-8") if args.out else None
    for corpus, setting, seeds in plan:
        runs = []
        for seed in seeds:
            if time.perf_counter() > deadline:
                print(f"budget reached: skipped {corpus.name} / {setting.label} / seed {seed}")
                continue
            run = run_one(corpus, setting, args.k, seed, args)
            runs.append(run)
            if out:
                out.write(json.dumps(run, ensure_ascii=False) + "\n")
                out.flush()
        if not runs:
            continue
        rows.append(median_row(runs))
        r = rows[-1]
        print(f"[{time.perf_counter() - start:6.0f}s] {corpus.name} {setting.label:<28} "
              f"c_npmi {r['c_npmi']:+.3f} c_v {r['c_v']:.3f} div {r['diversity']:.2f} "
              f"fit {r['fit_s']:.1f}s ({r['cpu_s']:.1f}s CPU)", flush=True)
        if setting.label in ("gensim-plain", "topicprofile defaults") or setting.engine == "tomotopy":
            for i, words in enumerate(runs[0]["top10"]):
                print(f"    seed {seeds[0]} topic {i}: {' '.join(words)}")
    if out:
        out.close()

    print(f"\nMedians over seeds; total {time.perf_counter() - start:.0f}s\n")
    print_table(sorted(rows, key=lambda r: r["corpus"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
