"""Measure parallel tokenization and the token cache on ~100k short English reviews.

Texts: critic snippets of ../shared/data/rotten_tomatoes.csv.bz2 (about 18 words each), resampled
with replacement to --n-texts. Each tokenization run happens in a fresh Python process and is timed
twice: "cold" (first call: spaCy pipelines built, fork server and workers started, as a CLI fit sees
it) and "warm" (a second call in the same process). "CPU s" adds the CPU time of every process
involved (this one, the fork server, the workers); on an idle machine the wall time of n workers
approaches CPU s / n, so 1-worker CPU / n-worker CPU shows the parallel overhead even when the
machine is busy. Reference: raw ``spacy.blank("en").pipe`` with
``n_process`` 1 and 2 (pipeline built before timing). Prints medians of --runs runs as a Markdown
table, then token cache timings. The machine's load average is printed too: on a shared machine,
other processes take CPU from the workers, so compare ratios, and rerun when it is quiet.

Runs of the different configurations are interleaved, so that load changes hit them alike.

Usage: python scripts/measure_tokenize.py [--n-texts 100000] [--runs 3] [--workers 1 2]
       [--chunk-sizes 2000] [--sizes 5000 20000 50000]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "rotten_tomatoes.csv.bz2"


def load_texts(path: Path, n_texts: int, seed: int = 0) -> list[str]:
    import pandas as pd

    reviews = pd.read_csv(path)
    snippets = reviews.loc[reviews["category"] != "plot", "text"].dropna().tolist()
    rng = random.Random(seed)
    return [rng.choice(snippets) for _ in range(n_texts)]


# -- one run, in a fresh process ---------------------------------------------------------------
class DescendantCpu(threading.Thread):
    """CPU seconds of this process's descendants (fork server, workers), sampled from /proc.

    Workers are grandchildren through the fork server, so ``os.times()`` does not see them. CPU a
    worker spends after the last sample before it exits (at most 0.2 s, usually idle) is missed.
    Linux only (elsewhere: 0).
    """

    def __init__(self, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.seen: dict[int, float] = {}
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def run(self) -> None:
        while True:
            self.sample()
            time.sleep(self.interval)

    def sample(self) -> None:
        parents: dict[int, int] = {}
        cpu: dict[int, float] = {}
        for entry in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = entry.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # the process exited meanwhile
            pid = int(entry.parent.name)
            parents[pid] = int(fields[1])
            cpu[pid] = (int(fields[11]) + int(fields[12])) / self._tick
        mine, frontier = set(), {os.getpid()}
        while frontier:
            frontier = {pid for pid, parent in parents.items() if parent in frontier} - mine
            mine |= frontier
        for pid in mine:
            self.seen[pid] = cpu[pid]

    def total(self) -> float:
        self.sample()
        return sum(self.seen.values())


def run_one(spec: dict, path: Path) -> dict:
    """Time one configuration twice (cold, warm); wall and CPU seconds of all processes."""
    texts = load_texts(path, spec["n_texts"])
    n_words = sum(len(t.split()) for t in texts)
    if spec["kind"] == "spacy":
        import spacy

        nlp = spacy.blank("en")
        nlp("warm up")

        def call() -> int:
            return sum(len(doc) for doc in nlp.pipe(texts, batch_size=1000, n_process=spec["workers"]))
    else:
        from topicprofile.text.pool import tokenize_parallel
        from topicprofile.text.tokenizer import SpacyTokenizer

        tokenizer = SpacyTokenizer("en")  # pipeline not built yet: the cold run pays for it

        def call() -> int:
            tokens = tokenize_parallel(
                tokenizer, texts, workers=spec["workers"], chunk_size=spec["chunk_size"]
            )
            return sum(map(len, tokens))

    sampler = DescendantCpu()
    if Path("/proc/self/stat").exists():
        sampler.start()
    out: dict = {"n_words": n_words}
    # spaCy's pipeline is built before timing and n_process starts new processes on every call, so
    # one call is both its cold and warm time.
    for run in ("cold", "warm") if spec["kind"] != "spacy" else ("warm",):
        start, cpu = time.perf_counter(), time.process_time() + sampler.total()
        out["n_tokens"] = call()
        out[run] = time.perf_counter() - start
        out[f"{run}_cpu"] = time.process_time() + sampler.total() - cpu
    return out


def run_in_fresh_process(spec: dict, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--one", json.dumps(spec), "--data", str(path)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(specs: list[dict], runs: int, path: Path) -> list[dict]:
    """Medians per spec. Runs are interleaved (all specs, then all again) so that a change in the
    machine's load hits every configuration alike."""
    results: list[list[dict]] = [[] for _ in specs]
    for _ in range(runs):
        for spec, spec_results in zip(specs, results):
            spec_results.append(run_in_fresh_process(spec, path))
    summaries = []
    for spec_results in results:
        for r in spec_results:
            r.setdefault("cold", r["warm"])
            r.setdefault("cold_cpu", r["warm_cpu"])
        keys = ("cold", "warm", "cold_cpu", "warm_cpu")
        summary = {key: statistics.median(r[key] for r in spec_results) for key in keys}
        summaries.append({**summary, "n_words": spec_results[0]["n_words"],
                          "all_warm": [round(r["warm"], 2) for r in spec_results]})  # fmt: skip
    return summaries


# -- token cache -------------------------------------------------------------------------------
def measure_cache(texts: list[str], runs: int) -> list[tuple[str, float, str]]:
    from topicprofile.text.pool import tokenize_parallel
    from topicprofile.text.cache import TokenCache, fingerprint_texts
    from topicprofile.text.tokenizer import SpacyTokenizer

    tokenizer = SpacyTokenizer("en")
    tokens = tokenize_parallel(tokenizer, texts, workers=2)
    n_tokens = sum(map(len, tokens))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = TokenCache(tmp)
        cache.key(texts[:10], tokenizer)  # spaCy's stop word lists imported once, not timed
        key = ""

        def timed(label: str, action, note: str = "") -> None:
            seconds = []
            for _ in range(runs):
                start = time.perf_counter()
                action()
                seconds.append(time.perf_counter() - start)
            rows.append((label, statistics.median(seconds), note))

        def do_key() -> None:
            nonlocal key
            key = cache.key(texts, tokenizer)

        timed(f"key ({len(texts):,} texts)", do_key)
        million = texts * max(1, 1_000_000 // len(texts))
        timed(f"fingerprint_texts ({len(million):,} texts)", lambda: fingerprint_texts(million))
        timed(f"put ({len(tokens):,} docs, {n_tokens:,} tokens)", lambda: cache.put(key, tokens))
        size = cache.path(key).stat().st_size
        rows[-1] = (*rows[-1][:2], f"file {size / 1e6:.1f} MB, {size / n_tokens:.1f} bytes/token")
        timed("get (hit)", lambda: cache.get(key))
        assert cache.get(key) == tokens
        timed("get (miss)", lambda: cache.get("0" * 32))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-texts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--chunk-sizes", type=int, nargs="+", default=None,
                        help="chunk sizes to compare (default: DEFAULT_CHUNK_SIZE)")
    parser.add_argument("--sizes", type=int, nargs="*", default=[],
                        help="extra corpus sizes for 1 vs 2 workers (the small-input threshold)")
    parser.add_argument("--no-spacy", action="store_true", help="skip the raw spaCy reference")
    parser.add_argument("--no-cache", action="store_true", help="skip the token cache timings")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    if args.one:
        print(json.dumps(run_one(json.loads(args.one), args.data)))
        return
    if not args.data.is_file():
        sys.exit(f"{args.data} not found (pass --data)")
    from topicprofile.text.pool import DEFAULT_CHUNK_SIZE, START_METHOD, available_cpus

    chunk_sizes = args.chunk_sizes or [DEFAULT_CHUNK_SIZE]
    load = os.getloadavg()
    print(f"{args.n_texts:,} texts, {available_cpus()} CPUs, start method {START_METHOD}, median of "
          f"{args.runs} fresh processes; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}\n")
    print("| method | texts | workers | chunk | cold s | warm s | texts/s (warm) | words/s (warm) "
          "| speed-up cold | speed-up warm | CPU s cold | CPU s warm | warm runs |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    configs = [("topicprofile", args.n_texts, w, c) for c in chunk_sizes for w in args.workers]
    configs += [("topicprofile", n, w, chunk_sizes[0]) for n in args.sizes for w in args.workers]
    if not args.no_spacy:
        configs += [("spacy", args.n_texts, w, 1000) for w in args.workers]
    specs = [{"kind": kind, "n_texts": n, "workers": w, "chunk_size": c} for kind, n, w, c in configs]
    baseline: dict[tuple[str, int], dict] = {}
    for spec, r in zip(specs, measure(specs, args.runs, args.data)):
        kind, n_texts = spec["kind"], spec["n_texts"]
        base = baseline.setdefault((kind, n_texts), r)
        cold_speedup, warm_speedup = base["cold"] / r["cold"], base["warm"] / r["warm"]
        name = "SpacyTokenizer + tokenize_parallel" if kind == "topicprofile" else "spacy.blank('en').pipe"
        print(f"| {name} | {n_texts:,} | {spec['workers']} | {spec['chunk_size']} | {r['cold']:.2f} | "
              f"{r['warm']:.2f} | {n_texts / r['warm']:,.0f} | {r['n_words'] / r['warm']:,.0f} | "
              f"{cold_speedup:.2f}x | {warm_speedup:.2f}x | {r['cold_cpu']:.2f} | {r['warm_cpu']:.2f} | "
              f"{r['all_warm']} |", flush=True)
    if not args.no_cache:
        texts = load_texts(args.data, args.n_texts)
        print("\n| token cache | median s | note |\n|---|---|---|")
        for label, seconds, note in measure_cache(texts, args.runs):
            print(f"| {label} | {seconds:.3f} | {note} |", flush=True)
    load = os.getloadavg()
    print(f"\nload average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")


if __name__ == "__main__":
    main()
