"""Batch tagging of a folder of exports: skip done files, replace changed ones, resume after a crash, lock."""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from topicprofile.app import batch
from topicprofile.app.batch import batch_lock, find_inputs, summary_line, tag_folder
from topicprofile.cli import app
from topicprofile.errors import ConfigError, DataValidationError, TopicProfileError

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
# day1 gets two unusable rows on top of its 30 reviews
N_BAD_DAY1 = 2


class Crash(Exception):
    """Stands for a killed process: not a TopicProfileError, so nothing catches it."""


@pytest.fixture(scope="module")
def model_dir(tiny_profiler, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("batch") / "model"
    tiny_profiler.save(str(path))
    return path


def _write_exports(folder: Path, reviews: pd.DataFrame) -> Path:
    """Three daily exports in three formats (csv, jsonl, csv.gz) plus files that must be ignored."""
    folder.mkdir(parents=True, exist_ok=True)
    bad = pd.DataFrame({"customer_id": ["", "kitchen-99"], "text": ["no customer", "   "], "rating": "1"})
    pd.concat([reviews.iloc[:30], bad], ignore_index=True).to_csv(folder / "day1.csv", index=False)
    reviews.iloc[30:60].to_json(folder / "day2.jsonl", orient="records", lines=True)
    with gzip.open(folder / "day3.csv.gz", "wt", encoding="utf-8") as f:
        reviews.iloc[60:].to_csv(f, index=False)
    (folder / "README.txt").write_text("not an export\n")
    (folder / ".day4.csv.swp").write_text("editor file\n")
    reviews.iloc[:3].to_csv(folder / ".partial.csv", index=False)
    return folder


@pytest.fixture
def exports(tmp_path, tiny_reviews) -> Path:
    return _write_exports(tmp_path / "exports", tiny_reviews)


def _run(exports: Path, out: Path, model_dir: Path, **kwargs) -> dict:
    return tag_folder(exports, model_dir=model_dir, out=out, **kwargs)


def _snapshot(out: Path) -> dict[str, object]:
    """Every output file's bytes, and the ledger without its finish times (they differ run to run)."""
    files = {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name not in ("ledger.json", "batch.lock")
    }
    ledger = json.loads((out / "ledger.json").read_text())
    for entry in ledger["files"]:
        del entry["finished_at"]
    return {"files": files, "ledger": ledger}


def _statuses(summary: dict) -> dict[str, str]:
    return {f["file"]: f["status"] for f in summary["files"]}


def test_batch_first_run_tags_every_file_and_rerun_none(exports, model_dir, tmp_path) -> None:
    out = tmp_path / "out"
    first = _run(exports, out, model_dir)
    assert _statuses(first) == {"day1.csv": "new", "day2.jsonl": "new", "day3.csv.gz": "new"}
    profiles = pd.read_csv(out / "profiles.csv", dtype=str, keep_default_na=False)
    assert list(profiles.columns[:2]) == ["source", "customer_id"]
    per_file = profiles.groupby("source").size().to_dict()
    assert per_file == {"day1.csv": 10, "day2.jsonl": 10, "day3.csv.gz": 10}
    assert not profiles.duplicated(["source", "customer_id"]).any()
    assert first["n_profile_rows"] == len(profiles) == 30
    ledger = json.loads((out / "ledger.json").read_text())
    entry = ledger["files"][0]
    assert entry["file"] == "day1.csv" and entry["size"] == (exports / "day1.csv").stat().st_size
    assert (entry["n_read"], entry["n_used"], entry["n_rejected"], entry["n_customers"]) == (32, 30, 2, 10)
    assert re.fullmatch(r"[0-9a-f]{64}", entry["sha256"]) and entry["finished_at"] and entry["mtime"]
    assert (out / entry["part"]).is_file()
    before = _snapshot(out)

    again = _run(exports, out, model_dir)
    assert set(_statuses(again).values()) == {"done"}
    assert (again["n_new"], again["n_changed"], again["n_done"]) == (0, 0, 3)
    assert _snapshot(out) == before


def test_batch_find_inputs_default_and_pattern(exports, tmp_path) -> None:
    (exports / "out").mkdir()
    (exports / "out" / "profiles.csv").write_text("customer_id\nx\n")  # output inside the input folder
    (exports / "old").mkdir()
    (exports / "old" / "day0.csv").write_text("customer_id,text\na,b\n")
    default = [p.relative_to(exports).as_posix() for p in find_inputs(exports, exclude=exports / "out")]
    assert default == ["day1.csv", "day2.jsonl", "day3.csv.gz"]
    found = find_inputs(exports, pattern="**/*.csv", exclude=exports / "out")
    assert [p.relative_to(exports).as_posix() for p in found] == ["day1.csv", "old/day0.csv"]
    with pytest.raises(DataValidationError, match="input folder not found"):
        find_inputs(tmp_path / "missing")


def test_batch_rejects_counted_and_written_with_reasons(exports, model_dir, tmp_path) -> None:
    out = tmp_path / "out"
    summary = _run(exports, out, model_dir)
    day1 = next(f for f in summary["files"] if f["file"] == "day1.csv")
    assert day1["n_rejected"] == N_BAD_DAY1 and day1["n_used"] == 30
    rejects = pd.read_csv(summary["rejects_file"], dtype=str, keep_default_na=False)
    assert set(rejects["source"]) == {"day1.csv"}
    assert set(rejects["reason"]) == {"missing customer id", "empty text"}
    assert pd.read_csv(out / day1["rejects_file"]).shape[0] == N_BAD_DAY1
    assert next(f for f in summary["files"] if f["file"] == "day2.jsonl")["rejects_file"] is None


def test_batch_changed_file_replaces_its_profiles(exports, model_dir, tmp_path, tiny_reviews) -> None:
    out = tmp_path / "out"
    first = _run(exports, out, model_dir)
    old_part = next(f["part"] for f in first["files"] if f["file"] == "day2.jsonl")
    tiny_reviews.iloc[30:45].to_json(exports / "day2.jsonl", orient="records", lines=True)  # re-exported

    second = _run(exports, out, model_dir)
    assert _statuses(second) == {"day1.csv": "done", "day2.jsonl": "changed", "day3.csv.gz": "done"}
    profiles = pd.read_csv(out / "profiles.csv", dtype=str, keep_default_na=False)
    assert not profiles.duplicated(["source", "customer_id"]).any()
    assert (profiles["source"] == "day2.jsonl").sum() == 5
    assert not (out / old_part).exists()
    clean = tmp_path / "clean"
    _run(exports, clean, model_dir)
    assert _snapshot(out) == _snapshot(clean)


def _crash_before_output(monkeypatch) -> None:
    real = batch.write_table

    def write_table(table, path, **kwargs):
        if "day2" in Path(path).name:
            raise Crash("killed before day2's part was written")
        real(table, path, **kwargs)

    monkeypatch.setattr(batch, "write_table", write_table)


def _crash_before_ledger(monkeypatch) -> None:
    real = batch.write_ledger

    def write_ledger(out, ledger):
        if "day2.jsonl" in ledger["files"]:
            raise Crash("killed after day2's part, before its ledger entry")
        real(out, ledger)

    monkeypatch.setattr(batch, "write_ledger", write_ledger)


def _crash_before_views(monkeypatch) -> None:
    def refresh_views(*args, **kwargs):
        raise Crash("killed after the ledger, before the combined views")

    monkeypatch.setattr(batch, "refresh_views", refresh_views)  # where tag_folder calls it


@pytest.mark.parametrize(
    ("crash", "n_parts_left", "n_ledgered"),
    [(_crash_before_output, 2, 1), (_crash_before_ledger, 3, 1), (_crash_before_views, 4, 3)],
)
def test_batch_crash_then_rerun_equals_clean_run(
    crash, n_parts_left, n_ledgered, exports, model_dir, tmp_path, monkeypatch
) -> None:
    clean = tmp_path / "clean"
    _run(exports, clean, model_dir)
    out = tmp_path / "out"
    with monkeypatch.context() as patch:
        crash(patch)
        with pytest.raises(Crash):
            _run(exports, out, model_dir)
    # what the crash left: parts (day1's + its rejects, maybe day2's unledgered), no combined view
    assert len(list((out / "parts").iterdir())) == n_parts_left
    assert len(json.loads((out / "ledger.json").read_text())["files"]) == n_ledgered
    assert not (out / "profiles.csv").exists()
    rerun = _run(exports, out, model_dir)
    assert rerun["n_failed"] == 0
    assert _snapshot(out) == _snapshot(clean)
    assert not list(out.rglob("*.tmp"))


def test_batch_changed_file_crash_before_views_repairs_stale_view(
    exports, model_dir, tmp_path, monkeypatch, tiny_reviews
) -> None:
    out = tmp_path / "out"
    _run(exports, out, model_dir)
    tiny_reviews.iloc[60:72].to_csv(exports / "day1.csv", index=False)
    with monkeypatch.context() as patch:
        _crash_before_views(patch)
        with pytest.raises(Crash):
            _run(exports, out, model_dir)
    assert set(_statuses(_run(exports, out, model_dir)).values()) == {"done"}  # nothing to tag, view rebuilt
    clean = tmp_path / "clean"
    _run(exports, clean, model_dir)
    assert _snapshot(out) == _snapshot(clean)
    assert not (out / "rejects.csv").exists()  # day1's rejects went with its old version


def test_batch_lock_blocks_a_concurrent_run(exports, model_dir, tmp_path) -> None:
    out = tmp_path / "out"
    with batch_lock(out):
        with pytest.raises(TopicProfileError, match="another batch run is working on this folder"):
            _run(exports, out, model_dir)
        assert not (out / "ledger.json").exists()
    assert _run(exports, out, model_dir)["n_new"] == 3  # released


def test_batch_failed_file_is_reported_and_retried(exports, model_dir, tmp_path, tiny_reviews) -> None:
    out = tmp_path / "out"
    tiny_reviews.rename(columns={"text": "body"}).iloc[:5].to_csv(exports / "day4.csv", index=False)
    first = _run(exports, out, model_dir)
    failed = [f for f in first["files"] if f["status"] == "failed"]
    assert [f["file"] for f in failed] == ["day4.csv"] and "'text'" in failed[0]["error"]
    assert first["n_new"] == 3
    assert _statuses(_run(exports, out, model_dir))["day4.csv"] == "failed"  # tried again, not in the ledger
    assert _statuses(_run(exports, out, model_dir, columns={"text": "body"}))["day4.csv"] == "new"


def test_batch_other_model_or_format_needs_a_new_out(exports, model_dir, tmp_path) -> None:
    out = tmp_path / "out"
    _run(exports, out, model_dir)
    other = tmp_path / "other_model"
    shutil.copytree(model_dir, other)
    with open(other / "manifest.json", "a") as f:
        f.write("\n")  # any change to the manifest (refit, relabel) is another model
    with pytest.raises(ConfigError, match="another model"):
        _run(exports, out, other)
    with pytest.raises(ConfigError, match="--format csv"):
        _run(exports, out, model_dir, fmt="parquet")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "profiles.csv").write_text("x\n")
    with pytest.raises(ConfigError, match="not a batch output folder"):
        _run(exports, tmp_path / "busy", model_dir)


def test_batch_parquet_output(exports, model_dir, tmp_path) -> None:
    summary = _run(exports, tmp_path / "out", model_dir, fmt="parquet")
    profiles = pd.read_parquet(summary["profiles"])
    assert len(profiles) == 30 and profiles.columns[0] == "source"
    assert all(f["part"].endswith(".parquet") for f in summary["files"])


def test_batch_summary_line() -> None:
    result = {"file": "reviews_2026-11-20.csv", "status": "new", "n_read": 1204, "n_used": 1190,
              "n_rejected": 14, "n_customers": 873, "part": "parts/x.csv"}  # fmt: skip
    assert summary_line(result, out="out") == (
        "reviews_2026-11-20.csv: 1,204 rows, 1,190 used, 14 rejected, 873 customers → out/parts/x.csv"
    )


# -- command line and script --------------------------------------------------------------------
def _cli(*args: str):
    return runner.invoke(app, ["batch", *args], catch_exceptions=False)


def test_batch_cli_prints_one_line_per_file_then_totals(exports, model_dir, tmp_path) -> None:
    out = tmp_path / "out"
    result = _cli("--model-dir", str(model_dir), "--input-dir", str(exports), "--out", str(out))
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    part = r"parts/day1\.csv\.[0-9a-f]{12}\.csv"
    assert re.fullmatch(rf"day1\.csv: 32 rows, 30 used, 2 rejected, 10 customers → .*{part}", lines[0])
    assert len(lines) == 4
    assert lines[-1].startswith("3 new, 0 changed, 0 already done, 0 failed; 30 profile rows")
    again = _cli("--model-dir", str(model_dir), "--input-dir", str(exports), "--out", str(out), "--quiet")
    assert again.exit_code == 0 and again.stdout == ""


def test_batch_cli_json(exports, model_dir, tmp_path) -> None:
    result = _cli("-m", str(model_dir), "-i", str(exports), "-o", str(tmp_path / "out"), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["n_new"] == 3 and [f["n_customers"] for f in summary["files"]] == [10, 10, 10]


def test_batch_cli_exit_codes(exports, model_dir, tmp_path, tiny_reviews) -> None:
    out = tmp_path / "out"
    with batch_lock(out):
        locked = _cli("-m", str(model_dir), "-i", str(exports), "-o", str(out))
    assert locked.exit_code == 1
    assert len(locked.stderr.strip().splitlines()) == 1 and "another batch run" in locked.stderr
    assert "Traceback" not in locked.output
    tiny_reviews.rename(columns={"text": "body"}).iloc[:5].to_csv(exports / "day4.csv", index=False)
    failed = _cli("-m", str(model_dir), "-i", str(exports), "-o", str(out))
    assert failed.exit_code == 1 and "day4.csv: failed:" in failed.stderr
    assert "3 new, 0 changed, 0 already done, 1 failed" in failed.stdout
    bad_format = _cli("-m", str(model_dir), "-i", str(exports), "-o", str(out), "--format", "xml")
    assert bad_format.exit_code == 2


def test_batch_script_runs_the_same_core(exports, model_dir, tmp_path, capsys) -> None:
    spec = importlib.util.spec_from_file_location("batch_tag", ROOT / "scripts" / "batch_tag.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    args = ["-m", str(model_dir), "-i", str(exports), "-o", str(tmp_path / "out")]
    assert script.main(args) == 0
    assert "day3.csv.gz: 30 rows, 30 used, 0 rejected, 10 customers" in capsys.readouterr().out
    with batch_lock(tmp_path / "out"):
        assert script.main(args) == 1
    assert "another batch run" in capsys.readouterr().err
