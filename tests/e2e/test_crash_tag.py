"""Kill ``tag`` and ``batch`` at random moments: outputs are old-complete or new-complete (issue #10).

Each test SIGKILLs a real ``python -m topicprofile`` process at 20 seeded random moments of its
run (from start-up to just past its end) and checks what is left on disk:

- ``tag``: the profiles file and its rejects file each hold either the previous run's complete
  bytes or the new run's complete bytes, never a part;
- ``batch``: the next (uninterrupted) run gives exactly the output of a run that was never killed.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPORA = ROOT / "corpora"
N_KILLS = 20

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def crash_shop(tmp_path_factory) -> dict[str, Path]:
    """A model fitted once on a slice of corpora/reviews.csv, and three review files to tag."""
    from topicprofile import TopicProfiler

    tmp = tmp_path_factory.mktemp("crash")
    reviews = pd.read_csv(CORPORA / "reviews.csv", dtype=str, keep_default_na=False)
    TopicProfiler(n_topics=4, random_state=0).fit(reviews=reviews.iloc[:400]).save(str(tmp / "model"))
    files = {}
    for name, rows in (("old", slice(0, 150)), ("new", slice(150, 400)), ("day3", slice(400, 500))):
        files[name] = tmp / f"{name}.csv"
        reviews.iloc[rows].to_csv(files[name], index=False)
    return {"model": tmp / "model", **files}


def _command(*args: object) -> list[str]:
    return [sys.executable, "-m", "topicprofile", *(str(a) for a in args)]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _run(*args: object) -> float:
    start = time.perf_counter()
    done = subprocess.run(_command(*args), env=_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return time.perf_counter() - start


def _kill_at(args: tuple[object, ...], moment: float) -> None:
    """Start the command, SIGKILL its whole process group after ``moment`` seconds (if still running)."""
    proc = subprocess.Popen(_command(*args), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    try:
        proc.wait(timeout=moment)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _moments(seed: int, duration: float) -> list[float]:
    """20 seeded moments from 30% of an uninterrupted run (start-up is mostly imports) to just past its end."""
    rng = random.Random(seed)
    return [rng.uniform(0.3 * duration, 1.05 * duration) for _ in range(N_KILLS)]


def test_crash_tag_output_is_old_or_new_complete(crash_shop, tmp_path) -> None:
    model = crash_shop["model"]
    reference, out = tmp_path / "reference", tmp_path / "out"
    _run("tag", "-m", model, "--reviews", crash_shop["new"], "--out", reference / "p.csv", "-q")
    duration = _run("tag", "-m", model, "--reviews", crash_shop["new"], "--out", reference / "p.csv", "-q")
    _run("tag", "-m", model, "--reviews", crash_shop["old"], "--out", out / "p.csv", "-q")
    names = ("p.csv", "p.rejects.csv")
    old = {n: (out / n).read_bytes() for n in names}
    new = {n: (reference / n).read_bytes() for n in names}
    assert all(old[n] != new[n] for n in names)
    outcomes = []
    for moment in _moments(0, duration):
        for n in names:
            (out / n).write_bytes(old[n])
        _kill_at(("tag", "-m", model, "--reviews", crash_shop["new"], "--out", out / "p.csv", "-q"), moment)
        state = []
        for n in names:
            content = (out / n).read_bytes()
            assert content in (old[n], new[n]), f"{n} is neither old nor new after a kill at {moment:.2f} s"
            state.append("new" if content == new[n] else "old")
        outcomes.append("/".join(state))
        for stray in out.glob(".*.tmp"):  # what a killed run cannot clean; never the output itself
            stray.unlink()
    assert len(outcomes) == N_KILLS


def _snapshot(out: Path) -> dict[str, object]:
    """Everything a batch run leaves, minus what depends on the clock (finish times, the lock)."""
    files = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if not path.is_file() or rel == "batch.lock":
            continue
        if rel == "ledger.json":
            ledger = json.loads(path.read_text())
            files[rel] = [{k: v for k, v in e.items() if k != "finished_at"} for e in ledger["files"]]
        else:
            files[rel] = path.read_bytes()
    return files


def test_crash_batch_next_run_equals_an_uninterrupted_run(crash_shop, tmp_path) -> None:
    from topicprofile.app.batch import tag_folder

    exports = tmp_path / "exports"
    exports.mkdir()
    for name in ("old", "new", "day3"):
        shutil.copy(crash_shop[name], exports / f"{name}.csv")
    model = crash_shop["model"]
    reference = tmp_path / "reference"
    duration = _run("batch", "-m", model, "-i", exports, "-o", reference, "-q")
    expected = _snapshot(reference)
    assert {"profiles.csv", "rejects.csv", "ledger.json"} <= set(expected)
    for i, moment in enumerate(_moments(1, duration)):
        out = tmp_path / f"out{i}"
        _kill_at(("batch", "-m", model, "-i", exports, "-o", out, "-q"), moment)
        summary = tag_folder(exports, model_dir=model, out=out)  # the next run, uninterrupted
        assert summary["n_failed"] == 0
        assert _snapshot(out) == expected, f"kill at {moment:.2f} s of {duration:.2f} s"
        shutil.rmtree(out)
