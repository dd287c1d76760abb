"""Benchmark LDA training on a Dask ``LocalCluster`` (1 and 2 workers × 1 thread) against the local
trainer, on distinct documents, and check that every run gives the identical model.

The documents: real reviews (``../shared/data``: Amazon 4 categories + Rotten Tomatoes) tokenized
once; each benchmark document draws 30-80 words from the words of two random real reviews, so all
are distinct and keep real vocabulary structure. Only LDA training is timed (the step the cluster
takes over; tokenizing is measured apart, it scales per chunk).

Runs are interleaved (local, 1 worker, 2 workers, then again ``--repeat`` times) so that the
ratios compare runs made side by side on a shared machine. Besides wall time it reports CPU time:
the driver's for the local fit, the workers' processes' (user + system) for a cluster fit, per
E-step task (one block of one pass), and the load average. Prints a table of medians and a JSON
line, plus the per-pass traffic and driver time the paper model of docs/distributed.md uses.
Example::

    python scripts/bench_dask.py --docs 200000 --passes 2 --repeat 3
    python scripts/bench_dask.py --docs 50000 --passes 3      # a quick run
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from topicprofile.distributed import DaskBackend, cluster_estep
from topicprofile.text.corpus import CsrCorpus
from topicprofile.text.encoder import make_tokenizer
from topicprofile.text.vectorize import bows_to_csr, build_dictionary, to_bows
from topicprofile.topics import lda as lda_module
from topicprofile.topics.lda import LdaTopics

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def real_counts() -> tuple[sparse.csr_matrix, object]:
    texts = pd.concat(
        [
            pd.read_csv(DATA / "en_amazon_reviews_4cats.csv.bz2", dtype=str)["text"],
            pd.read_csv(DATA / "rotten_tomatoes.csv.bz2", dtype=str)["text"],
        ]
    ).dropna()
    tokens = make_tokenizer("en").tokenize(texts.tolist())
    dictionary = build_dictionary(tokens, no_below=5, no_above=0.5, keep_n=20_000)
    return bows_to_csr(to_bows(dictionary, tokens), len(dictionary)), dictionary


def distinct_docs(base: sparse.csr_matrix, n_docs: int, seed: int) -> sparse.csr_matrix:
    """``n_docs`` documents, each 30-80 words drawn from the words of two random real documents."""
    rng = np.random.default_rng(seed)
    base = base[np.diff(base.indptr) > 0]
    words = np.repeat(base.indices, base.data.astype(np.int64))
    per_doc = np.add.reduceat(base.data.astype(np.int64), base.indptr[:-1])
    starts, lengths = np.concatenate([[0], np.cumsum(per_doc)[:-1]]), per_doc
    pairs = rng.integers(0, base.shape[0], size=(n_docs, 2))
    n_words = rng.integers(30, 81, size=n_docs)
    rows, cols = [], []
    for i in range(n_docs):
        a, b = pairs[i]
        pool = np.concatenate(
            [words[starts[a] : starts[a] + lengths[a]], words[starts[b] : starts[b] + lengths[b]]]
        )
        rows.append(np.full(n_words[i], i))
        cols.append(pool[rng.integers(0, pool.size, size=n_words[i])])
    r, c = np.concatenate(rows), np.concatenate(cols)
    counts = sparse.csr_matrix((np.ones(r.size), (r, c)), shape=(n_docs, base.shape[1]))
    counts.sum_duplicates()
    distinct = len({counts.indices[a:b].tobytes() + counts.data[a:b].tobytes()
                    for a, b in zip(counts.indptr[:-1], counts.indptr[1:])})  # fmt: skip
    if distinct != n_docs:
        raise SystemExit(f"only {distinct} of {n_docs} documents are distinct; change --seed")
    return counts


def fit(counts, dictionary, args, estep=None) -> tuple[LdaTopics, float, float]:
    """The fitted topics, the wall seconds and this process's CPU seconds."""
    topics = LdaTopics(args.topics, passes=args.passes, trainer="vectorized", random_state=args.seed)
    start, cpu = time.perf_counter(), _cpu()
    topics.fit(CsrCorpus(counts), dictionary, estep=estep)
    return topics, time.perf_counter() - start, _cpu() - cpu


def _cpu() -> float:
    """User + system CPU seconds of this process (the E-step's page faults are system time)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def workers_cpu(client) -> float:
    """User + system CPU seconds of all the cluster's worker processes so far."""
    return sum(client.run(_cpu).values())


def driver_seconds_per_pass(topics: LdaTopics, n_blocks: int) -> tuple[float, float]:
    """The driver's share of a pass: (the M-step alone, as with the tree reduce on the workers;
    adding ``n_blocks`` statistics on the driver + the M-step, as before the tree reduce)."""
    from gensim.models.ldamodel import LdaState

    lda = topics.lda_
    parts = [np.random.default_rng(i).random(lda.state.sstats.shape) for i in range(min(n_blocks, 8))]
    seconds = []
    for n_added in (1, n_blocks):
        start = time.perf_counter()
        other = LdaState(lda.eta, lda.state.sstats.shape, lda.dtype)
        for i in range(n_added):
            other.sstats += parts[i % len(parts)]
        other.numdocs = 1
        lda.do_mstep(0.5, other, True)
        seconds.append(time.perf_counter() - start)
    return seconds[0], seconds[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=200_000)
    parser.add_argument("--topics", type=int, default=20)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--workers", default="1,2", help="cluster sizes to run, comma-separated")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1, help="interleaved repetitions (medians reported)")
    args = parser.parse_args()

    start = time.perf_counter()
    base, dictionary = real_counts()
    counts = distinct_docs(base, args.docs, args.seed)
    prep = time.perf_counter() - start
    n_terms = counts.shape[1]
    n_blocks = -(-counts.shape[0] // lda_module.REDUCE_BLOCK)
    print(f"{counts.shape[0]} distinct documents, {n_terms} terms, {counts.nnz} stored counts "
          f"({n_blocks} blocks of {lda_module.REDUCE_BLOCK}); built in {prep:.1f} s")  # fmt: skip

    sizes = [int(w) for w in args.workers.split(",")]
    tasks_per_fit = n_blocks * args.passes
    runs: dict[str, list[dict]] = {}
    local = None
    for repeat in range(args.repeat):
        model, wall, cpu = fit(counts, dictionary, args)
        local = model if local is None else local
        runs.setdefault("local (1 process)", []).append(
            {"wall": wall, "cpu": cpu, "identical": True, "load": os.getloadavg()[0]}
        )
        for n in sizes:
            with DaskBackend.connect(f"local:{n}") as backend:
                backend.client.run(lambda: None)  # workers up before the clock starts
                before = workers_cpu(backend.client)
                remote, wall, _ = fit(counts, dictionary, args, estep=cluster_estep(backend))
                cpu = workers_cpu(backend.client) - before
            same = bool(np.array_equal(remote.lda_.state.sstats, local.lda_.state.sstats))
            runs.setdefault(f"LocalCluster {n} worker(s) x 1 thread", []).append(
                {"wall": wall, "cpu": cpu, "identical": same, "load": os.getloadavg()[0]}
            )
        print(f"repeat {repeat + 1}/{args.repeat}: "
              + ", ".join(f"{name.split(' x')[0]} {r[-1]['wall']:.1f} s wall {r[-1]['cpu']:.1f} s CPU"
                          for name, r in runs.items()),
              flush=True)  # fmt: skip
    rows = [
        {
            "run": name, "wall s (median)": statistics.median(r["wall"] for r in rs),
            "min": min(r["wall"] for r in rs), "max": max(r["wall"] for r in rs),
            "CPU s": statistics.median(r["cpu"] for r in rs),
            "CPU s per task": statistics.median(r["cpu"] for r in rs) / tasks_per_fit,
            "identical": all(r["identical"] for r in rs),
            "load": f"{min(r['load'] for r in rs):.1f}-{max(r['load'] for r in rs):.1f}",
        }
        for name, rs in runs.items()
    ]  # fmt: skip
    table = pd.DataFrame(rows)
    print(f"medians of {args.repeat} interleaved runs; a task = one block of {lda_module.REDUCE_BLOCK} "
          f"documents in one pass ({tasks_per_fit} per fit)")  # fmt: skip
    print(table.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    t_local = rows[0]["wall s (median)"]
    by = {r["run"]: r["wall s (median)"] for r in rows}
    one = next((s for r, s in by.items() if r.startswith("LocalCluster 1 ")), None)
    two = next((s for r, s in by.items() if r.startswith("LocalCluster 2 ")), None)
    # side by side: the ratio within each repeat, then the median of those
    names = list(runs)

    def pair(a: str, b: str) -> list[float]:
        return [x["wall"] / y["wall"] for x, y in zip(runs[a], runs[b], strict=True)]

    k_v_bytes = args.topics * n_terms * 8
    mstep, add_and_mstep = driver_seconds_per_pass(local, n_blocks)
    facts = {
        "docs": counts.shape[0], "terms": n_terms, "topics": args.topics, "passes": args.passes,
        "blocks": n_blocks, "local_s": round(t_local, 2),
        "speedup_2_vs_1_worker": None if not (one and two) else round(one / two, 2),
        "overhead_1_worker_vs_local": None if not one else round(one / t_local, 2),
        "speedup_2_vs_1_worker_paired": None if not (one and two) else round(
            statistics.median(pair(names[1], names[2])), 2),
        "overhead_1_worker_vs_local_paired": None if not one else round(
            statistics.median(pair(names[1], names[0])), 2),
        "cpu_s_per_task": {r["run"]: round(r["CPU s per task"], 3) for r in rows},
        "bytes_to_workers_per_pass": k_v_bytes + args.topics * 8,
        "bytes_to_driver_per_pass": k_v_bytes,  # the tree's root (before the tree: n_blocks x K x V)
        "bytes_between_workers_per_pass_at_most": (n_blocks - 1) * k_v_bytes,
        "driver_s_per_pass": round(mstep, 4),
        "driver_s_per_pass_if_it_added_the_blocks": round(add_and_mstep, 4),
        "estep_cpu_us_per_doc_pass": round(1e6 * t_local / args.passes / counts.shape[0], 2),
        "identical": all(r["identical"] for r in rows), "repeat": args.repeat,
    }  # fmt: skip
    print(json.dumps(facts))


if __name__ == "__main__":
    main()
