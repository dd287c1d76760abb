"""How long a command line call takes to start: medians of repeated wall-clock runs (issue #10).

Targets on the 2-core development machine: ``topicprofile --help`` <= 0.5 s and a one-sentence
``tag-text`` <= 1.5 s. Each command runs ``--repeat`` times in a fresh interpreter (as a user or
cron calls it); the table gives the median, min and max wall time and the median CPU time (user +
system, which a shared machine's load moves far less than the wall time), next to a bare ``python
-c pass``, the estimator's own load + ``tag_text`` and the import time of each heavy library, with
the load average before and after. docs/startup.md has the figures and where the time goes.

    python scripts/bench_startup.py [--model-dir models/demo] [--repeat 5]

Without ``--model-dir`` a small model is fitted on corpora/ into a temporary folder first. For a
per-module breakdown: ``python -X importtime -m topicprofile --help 2> imports.txt``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SENTENCE = "Love these trail shoes, great grip on wet rocks"
#: The whole estimator's path (pandas, gensim, scikit-learn), for comparison with ``tag-text``'s own.
FULL_PATH = "from topicprofile import TopicProfiler; TopicProfiler.load({model!r}).tag_text([{text!r}])"
LIBRARIES = ("typer", "numpy", "scipy.sparse, scipy.special", "spacy", "pandas", "gensim", "sklearn.base")


def wall(command: list[str], repeat: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU (user + system) seconds of each run; on a shared machine the CPU time
    moves less with the load than the wall time."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    times, cpu = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return times, cpu


def fit_small_model(folder: Path) -> Path:
    model = folder / "model"
    subprocess.run(
        [sys.executable, "-m", "topicprofile", "fit", "--reviews", str(ROOT / "corpora" / "reviews.csv"),
         "--topics", "6", "--model-dir", str(model), "--quiet", "--no-cache"],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True,
    )  # fmt: skip
    return model


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model-dir", type=Path, help="Model for tag-text (default: fit a small one).")
    ap.add_argument("--repeat", type=int, default=5, help="Runs per command (default 5).")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="topicprofile-startup-") as tmp:
        model = args.model_dir or fit_small_model(Path(tmp))
        py = [sys.executable]
        rows = {
            "python -c pass": py + ["-c", "pass"],
            "topicprofile --help": py + ["-m", "topicprofile", "--help"],
            "topicprofile tag --help": py + ["-m", "topicprofile", "tag", "--help"],
            "tag-text, one sentence": py + ["-m", "topicprofile", "tag-text", "-m", str(model), SENTENCE],
            "TopicProfiler.load+tag_text": py + ["-c", FULL_PATH.format(model=str(model), text=SENTENCE)],
            **{f"import {lib}": py + ["-c", f"import {lib}"] for lib in LIBRARIES},
        }
        print(f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(
            f"{'what':<28} {'median s':>9} {'min s':>7} {'max s':>7} {'cpu s':>7}   ({args.repeat} runs each)"
        )
        for name, command in rows.items():
            times, cpu = wall(command, args.repeat)
            print(f"{name:<28} {statistics.median(times):>9.2f} {min(times):>7.2f} {max(times):>7.2f} "
                  f"{statistics.median(cpu):>7.2f}")  # fmt: skip
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
