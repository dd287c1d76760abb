"""Regenerate the golden outputs the architecture test compares against.

The files in this folder were written by the code *before* the stage-folder refactor; the test
``tests/e2e/test_golden.py`` reruns the same commands and asserts byte-identical output. Run from
a clone (``../shared/data`` beside it for the Chinese case):

    python tests/golden/generate.py            # writes tests/golden/*.csv / *.json

Only regenerate when a change is *meant* to change results, and say so in the commit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ZH_SOURCE = ROOT.parent / "shared" / "data" / "zh_reviews.txt"
ZH_LINES = 900  # a slice of real Chinese reviews, three per customer


def _run(*args: str, cwd: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TOPICPROFILE_CACHE_DIR": str(cwd / "cache")}
    done = subprocess.run(
        [sys.executable, "-m", "topicprofile", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"topicprofile {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done.stdout


def _json(text: str) -> str:
    """A JSON answer with the run's temporary paths removed, pretty-printed with sorted keys."""
    document = json.loads(text)
    document.pop("model_dir", None)
    return json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def zh_reviews_csv(target: Path) -> Path:
    """The Chinese slice as a reviews CSV: customer ``z000`` has lines 0-2, ``z001`` lines 3-5, …"""
    import csv

    lines = [line.strip() for line in ZH_SOURCE.read_text(encoding="utf-8").splitlines() if line.strip()]
    with target.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["customer_id", "text"])
        for i, text in enumerate(lines[:ZH_LINES]):
            writer.writerow([f"z{i // 3:03d}", text])
    return target


def generate(out: Path) -> dict[str, str]:
    """Run every golden command in a scratch folder; returns {file name: content}."""
    results: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        _run("demo", "--model-dir", "models/demo", "--out", "out/demo_profiles.csv", "--quiet", cwd=work)
        results["demo_profiles.csv"] = (work / "out" / "demo_profiles.csv").read_text(encoding="utf-8")
        results["demo_topics.json"] = _json(_run("topics", "--model-dir", "models/demo", "--json", cwd=work))
        results["demo_segments.json"] = _json(_run("segments", "--model-dir", "models/demo", "--json", cwd=work))
        if ZH_SOURCE.is_file():
            reviews = zh_reviews_csv(work / "zh_reviews.csv")
            _run("fit", "--reviews", str(reviews), "--lang", "zh", "--topics", "5", "--model-dir", "models/zh",
                 "--quiet", "--no-cache", cwd=work)  # fmt: skip
            _run("tag", "--model-dir", "models/zh", "--reviews", str(reviews), "--out", "out/zh_profiles.csv",
                 "--quiet", cwd=work)  # fmt: skip
            results["zh_profiles.csv"] = (work / "out" / "zh_profiles.csv").read_text(encoding="utf-8")
            results["zh_topics.json"] = _json(_run("topics", "--model-dir", "models/zh", "--json", cwd=work))
    for name, content in results.items():
        (out / name).write_text(content, encoding="utf-8")
    return results


if __name__ == "__main__":
    written = generate(HERE)
    print("wrote " + ", ".join(sorted(written)))
