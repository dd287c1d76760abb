"""What reaches the driver in a ``--dask`` fit of a folder of input files, by step, beside the local fit.

Real Amazon reviews (``../shared/data``) cut into 4 CSV files are fitted locally and on a
``LocalCluster`` (2 workers × 1 thread), with the workers writing their shards to shared files and
with the shards kept in the workers' memory. For each cluster run it prints the wall time, whether
the saved LDA arrays equal the local ones bit for bit, and the size of every task result the driver
fetched, grouped by the step named in the task's key (measured by serialising each result once;
nothing is saved). Example::

    python scripts/measure_dask_traffic.py --reviews 4000
"""

from __future__ import annotations

import argparse
import collections
import pickle
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from topicprofile import TopicProfiler
from topicprofile.app.jobs import fit_files
from topicprofile.config import RunOptions
from topicprofile.distributed import DaskBackend
from topicprofile.distributed import cluster as cluster_module

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "en_amazon_reviews_4cats.csv.bz2"
FIT = {"n_topics": 8, "random_state": 0, "trainer": "vb", "passes": 2}
ARRAYS = ("sstats", "alpha", "exp_elog_beta")


def _same_lda(here: Path, there: Path) -> bool:
    return all(
        np.array_equal(np.load(next(here.rglob(f"lda/{a}.npy"))), np.load(next(there.rglob(f"lda/{a}.npy"))))
        for a in ARRAYS
    )


def main() -> None:
    from distributed import Client, LocalCluster

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reviews", type=int, default=4000, help="real reviews to fit (default 4000)")
    n = p.parse_args().reviews
    if not DATA.is_file():
        raise SystemExit(f"error: real data not found: {DATA} (a clone with ../shared/data is needed)")
    frame = pd.read_csv(DATA, dtype=str, nrows=n)
    reviews = pd.DataFrame({"customer_id": [f"c{i % max(1, n // 3):05d}" for i in range(n)],
                            "text": frame["text"], "rating": frame["rating"]})  # fmt: skip
    tmp = Path(tempfile.mkdtemp())
    folder = tmp / "exports"
    folder.mkdir()
    for i, rows in enumerate(np.array_split(np.arange(n), 4)):
        reviews.iloc[rows].to_csv(folder / f"part-{i}.csv", index=False)
    size = sum(p.stat().st_size for p in folder.iterdir())

    fetched: collections.Counter[str] = collections.Counter()
    result = cluster_module.DaskBackend.result

    def measured(self, future):  # the driver's every fetch, by the step in the task's key
        value = result(self, future)
        fetched[str(future.key).split("-")[2]] += len(pickle.dumps(value, protocol=5))
        return value

    cluster_module.DaskBackend.result = measured
    start = time.perf_counter()
    fit_files(tmp / "here", profiler=TopicProfiler(**FIT), reviews=folder, run=RunOptions(chunk_rows=500))
    local = time.perf_counter() - start
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        for shares in (True, False):
            fetched.clear()
            start = time.perf_counter()
            run = RunOptions(chunk_rows=500, dask=DaskBackend(client, shares_files=shares))
            fit_files(tmp / f"there-{shares}", profiler=TopicProfiler(**FIT), reviews=folder, run=run)
            wall = time.perf_counter() - start
            same = _same_lda(tmp / "here", tmp / f"there-{shares}")
            print(f"shares_files={shares}: {n} reviews in 4 files ({size / 1e6:.2f} MB); wall {wall:.1f} s "
                  f"(local {local:.1f} s); LDA identical to local: {same}")  # fmt: skip
            for step, n_bytes in sorted(fetched.items(), key=lambda kv: -kv[1]):
                print(f"   {step:14s} {n_bytes / 1e6:8.3f} MB")


if __name__ == "__main__":
    main()
