"""A regular install works like the editable one: build the wheel, install it into a fresh virtual
environment and run ``topicprofile demo`` from an empty folder, far from the repository.

Before the sample shop was package data, ``pip install .`` followed by ``topicprofile demo`` failed
with "sample shop not found ... run from a clone" (issue #11). The demo's profiles must equal the
golden file byte for byte: the installed package is the same code with the same sample shop.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "demo_profiles.csv"
SAMPLE_FILES = ("reviews.csv", "browsing.jsonl", "orders.csv", "truth.csv", "taxonomy.toml", "README.md")
# What a wheel is built from; a copy keeps build/ and *.egg-info out of the working tree.
SOURCES = ("pyproject.toml", "setup.py", "README.md", "topicprofile", "corpora")
NO_NETWORK = ("Could not find a version", "No matching distribution", "Failed to establish", "Temporary failure")


def _run(args: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=900)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, src / name)
    done = _run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-w", str(tmp / "dist"), "-q"], cwd=tmp)
    if done.returncode != 0 and any(s in done.stderr for s in NO_NETWORK):
        pytest.skip(f"building the wheel needs setuptools>=68 from the package index: {done.stderr[-300:]}")
    assert done.returncode == 0, done.stderr
    (built,) = (tmp / "dist").glob("topicprofile-*.whl")
    return built


@pytest.mark.slow
def test_wheel_carries_the_sample_shop(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in SAMPLE_FILES:
        assert f"topicprofile/sample_data/{name}" in names
        packaged = zipfile.ZipFile(wheel).read(f"topicprofile/sample_data/{name}")
        assert packaged == (ROOT / "corpora" / name).read_bytes(), f"{name}: the wheel's copy differs from corpora/"
    assert "topicprofile/data/shop_stop_words_en.txt" in names
    assert not any(n.startswith(("tests/", "corpora/", "scripts/")) for n in names)


@pytest.mark.slow
def test_installed_wheel_runs_the_demo_from_any_folder(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    done = _run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / "python"
    done = _run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TOPICPROFILE_CACHE_DIR"] = str(tmp_path / "cache")
    where = _run([str(python), "-c", "import topicprofile; print(topicprofile.__file__)"], cwd=work, env=env)
    assert Path(where.stdout.strip()).is_relative_to(venv), f"imported {where.stdout!r}, not the installed wheel"
    done = _run([str(bindir / "topicprofile"), "demo", "--model-dir", "models/demo", "--out", "out/demo_profiles.csv",
                 "--quiet"], cwd=work, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    profiles = (work / "out" / "demo_profiles.csv").read_text(encoding="utf-8")
    assert profiles == GOLDEN.read_text(encoding="utf-8")
