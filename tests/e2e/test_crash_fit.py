"""Crash test (issue 10, "keep it found"): SIGKILL ``topicprofile fit`` at seeded random moments of a
refit; after every kill the model path loads a complete model, the old or the new one."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from topicprofile import TopicProfiler

ROOT = Path(__file__).resolve().parents[2]
REVIEWS = ROOT / "corpora" / "reviews.csv"
N_KILLS = 20
N_ROWS = 300


def _fit(model: Path, reviews: Path, seed: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "topicprofile", "fit", "-r", str(reviews), "-m", str(model), "-k", "4",
         "--seed", str(seed), "--workers", "1", "--no-cache", "-q"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip


def _complete_fit(model: Path, reviews: Path, seed: int) -> float:
    start = time.perf_counter()
    process = _fit(model, reviews, seed)
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr.decode()
    return time.perf_counter() - start


def _wait_for_staging(model: Path, process: subprocess.Popen, *, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end and process.poll() is None:
        if any(p.name.startswith(".staging-") and not p.name.startswith(".staging-probe")
               for p in (model / "versions").iterdir()):  # fmt: skip
            return
        time.sleep(0.002)


def _topics(model: Path) -> list[dict]:
    return json.loads(TopicProfiler.load(str(model)).topics().to_json(orient="records"))


@pytest.mark.slow
def test_crash_fit_killed_at_random_moments_leaves_old_or_new_model(tmp_path) -> None:
    if not REVIEWS.is_file():
        pytest.skip(f"sample shop not found: {REVIEWS}")
    reviews = tmp_path / "reviews.csv"
    reviews.write_text("".join(REVIEWS.read_text(encoding="utf-8").splitlines(keepends=True)[: N_ROWS + 1]),
                       encoding="utf-8")  # fmt: skip
    model, reference = tmp_path / "model", tmp_path / "reference"
    duration = _complete_fit(model, reviews, seed=0)  # the fit's duration, measured once
    _complete_fit(reference, reviews, seed=1)
    tables = {0: _topics(model), 1: _topics(reference)}
    assert tables[0] != tables[1], "the two seeds must give two distinguishable models"

    rng = random.Random(0)
    seed, published, interrupted_saves = 0, 0, 0
    for kill in range(N_KILLS):
        process = _fit(model, reviews, seed=1 - seed)  # refit with the other seed
        if kill % 2 == 0:  # anywhere in the fit
            time.sleep(duration * rng.uniform(0.1, 1.05))
        else:  # while it saves: soon after its staging folder appears (the short window that matters)
            _wait_for_staging(model, process, timeout=3 * duration)
            time.sleep(rng.uniform(0.0, 0.05))
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        interrupted_saves += any(p.name.startswith(".staging-") for p in (model / "versions").iterdir())
        loaded = _topics(model)  # a complete model, whatever the moment of the kill
        assert loaded in (tables[0], tables[1]), f"kill {kill}: the model is neither the old nor the new one"
        if loaded == tables[1 - seed]:
            seed, published = 1 - seed, published + 1
        assert TopicProfiler.load(str(model)).n_topics_ == 4
    assert interrupted_saves >= 1, "no kill landed while a version was being written"
    # the next complete run cleans what the killed ones left
    _complete_fit(model, reviews, seed=1 - seed)
    assert _topics(model) == tables[1 - seed]
    versions = sorted(p.name for p in (model / "versions").iterdir())
    assert not [v for v in versions if not v.isdigit()] and len(versions) <= 3, versions
    print(f"{N_KILLS} kills over a {duration:.1f} s fit: {published} published the new model, "
          f"{interrupted_saves} interrupted a save")
