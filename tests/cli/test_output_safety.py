"""Outputs never destroy inputs, never carry spreadsheet formulas, never leave half files (issue #10).

Items: 4 (output = input refused), 5 (CSV injection escaped, ``--raw-csv``), 7 (read-only output
folder found before work, disk full = one line and the old output intact), 10 (umask permissions,
no float noise, a warning printed once).
"""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from topicprofile import _fs
from topicprofile._fs import apply_umask, check_outputs_apart, escape_csv_cell, escape_csv_frame
from topicprofile.cli import app
from topicprofile.errors import ConfigError

runner = CliRunner()

FORMULAS = ['=HYPERLINK("http://evil.example","click")', "@SUM(1+1)", "+cmd|' /C calc'!A0", "-2+3", "\tx", "\rx"]


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def model_dir(tiny_profiler, tmp_path_factory) -> Path:
    """The tiny profiler with one topic renamed to a formula, saved."""
    path = tmp_path_factory.mktemp("safety") / "model"
    profiler = tiny_profiler.set_topic_labels({0: "=1+1 evil"})
    profiler.save(str(path))
    profiler.set_topic_labels({})
    return path


@pytest.fixture
def hostile_reviews(tiny_reviews, tmp_path) -> Path:
    """The tiny shop's reviews with formula customer ids, a formula text and a rejected formula row."""
    rows = tiny_reviews.iloc[:30].copy()
    for i, formula in enumerate(FORMULAS[:3]):
        rows.loc[rows.index[i * 3 : i * 3 + 3], "customer_id"] = formula
    dup = {"customer_id": "C1", "text": '=HYPERLINK("x") twice the same review', "rating": "5"}
    bad = pd.DataFrame([dup, dup])  # the second is rejected as a duplicate, its text is the value
    path = tmp_path / "reviews.csv"
    pd.concat([rows, bad], ignore_index=True).to_csv(path, index=False)
    return path


# -- the helpers ----------------------------------------------------------------------------------
@pytest.mark.parametrize("value", FORMULAS)
def test_fs_escape_csv_cell_prefixes_formulas(value: str) -> None:
    assert escape_csv_cell(value) == "'" + value
    assert escape_csv_cell(escape_csv_cell(value)) == "'" + value  # idempotent


@pytest.mark.parametrize("value", ["-1", "+3.5", "-2e-05", "plain", "", "'=already", "a=b", -1, 2.5, None])
def test_fs_escape_csv_cell_leaves_numbers_and_plain_text(value) -> None:
    assert escape_csv_cell(value) == value


def test_fs_escape_csv_frame_keeps_numeric_columns_numbers() -> None:
    frame = pd.DataFrame({"recency_days": [-1, 5], "monetary": [-0.5, 1.0], "label": ["=1+1", "-1"]})
    out = escape_csv_frame(frame)
    assert out["recency_days"].tolist() == [-1, 5] and out["monetary"].tolist() == [-0.5, 1.0]
    assert out["label"].tolist() == ["'=1+1", "-1"]
    assert frame["label"].tolist() == ["=1+1", "-1"]  # the caller's table is not changed


def test_fs_check_outputs_apart_through_links(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("a\n")
    (tmp_path / "link.csv").symlink_to(source)
    os.link(source, tmp_path / "hard.csv")
    for output in (source, tmp_path / "link.csv", tmp_path / "hard.csv", f"{tmp_path}/../{tmp_path.name}/in.csv"):
        with pytest.raises(ConfigError, match="is the input file"):
            check_outputs_apart([output], [None, source])
    check_outputs_apart([tmp_path / "new.csv"], [source])  # not there yet: no clash


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_fs_atomic_path_respects_the_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        with _fs.atomic_path(tmp_path / "out.csv") as tmp:
            tmp.write_text("a\n")
        folder = tmp_path / "staged"
        folder.mkdir(mode=0o700)
        apply_umask(folder, is_dir=True)
    finally:
        os.umask(old)
    assert (tmp_path / "out.csv").stat().st_mode & 0o777 == 0o666 & ~umask
    assert folder.stat().st_mode & 0o777 == 0o777 & ~umask


# -- item 4: tag --out onto an input ----------------------------------------------------------
@pytest.mark.parametrize("how", ["same", "symlink", "hardlink", "rejects"])
def test_tag_refuses_an_output_that_is_an_input(model_dir, hostile_reviews, tmp_path, how) -> None:
    before = hostile_reviews.read_bytes()
    out = {"same": hostile_reviews, "symlink": tmp_path / "link.csv", "hardlink": tmp_path / "hard.csv",
           "rejects": tmp_path / "profiles.csv"}[how]  # fmt: skip
    if how == "symlink":
        out.symlink_to(hostile_reviews)
    elif how == "hardlink":
        os.link(hostile_reviews, out)
    elif how == "rejects":  # the rejects file of --out would land on the input
        hostile_reviews.rename(tmp_path / "profiles.rejects.csv")
        hostile_reviews = tmp_path / "profiles.rejects.csv"
    result = invoke("tag", "-m", model_dir, "--reviews", hostile_reviews, "--out", out)
    assert result.exit_code == 1
    assert "is the input file" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert hostile_reviews.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_batch_refuses_an_input_hard_linked_into_the_output(model_dir, tiny_reviews, tmp_path) -> None:
    exports, out = tmp_path / "exports", tmp_path / "out"
    exports.mkdir()
    tiny_reviews.iloc[:9].to_csv(exports / "day1.csv", index=False)
    assert invoke("batch", "-m", model_dir, "-i", exports, "-o", out, "-q").exit_code == 0
    os.unlink(exports / "day1.csv")
    os.link(out / "profiles.csv", exports / "day1.csv")  # the shop "exports" our own output back
    before = (out / "profiles.csv").read_bytes()
    result = invoke("batch", "-m", model_dir, "-i", exports, "-o", out, "-q")
    assert result.exit_code == 1 and "is the input file" in result.stderr
    assert (out / "profiles.csv").read_bytes() == before


# -- item 5: CSV injection ----------------------------------------------------------------------
def _cells(path: Path) -> set[str]:
    return set(pd.read_csv(path, dtype=str, keep_default_na=False).to_numpy().ravel())


def _unsafe(cells: set[str]) -> set[str]:
    return {c for c in cells if c.startswith(_fs.CSV_TRIGGERS) and not _fs._NUMBER.fullmatch(c)}


def test_tag_escapes_formulas_in_profiles_and_rejects(model_dir, hostile_reviews, tmp_path) -> None:
    out = tmp_path / "profiles.csv"
    result = invoke("tag", "-m", model_dir, "--reviews", hostile_reviews, "--out", out, "-q")
    assert result.exit_code == 0, result.output
    profiles, rejects = _cells(out), _cells(tmp_path / "profiles.rejects.csv")
    assert not _unsafe(profiles) and not _unsafe(rejects)
    assert "'" + FORMULAS[0] in profiles and "'=1+1 evil" in profiles  # ids and (user-given) labels
    assert any(c.startswith("'=HYPERLINK") for c in rejects)
    raw = tmp_path / "raw.csv"
    assert invoke("tag", "-m", model_dir, "--reviews", hostile_reviews, "--out", raw, "-q", "--raw-csv").exit_code == 0
    assert FORMULAS[0] in _cells(raw) and "=1+1 evil" in _cells(raw)


def test_tag_keeps_numbers_numeric_and_rounds(tiny_reviews, tmp_path) -> None:
    """recency_days = -1 stays -1 (not '-1); money in cents, shares in 4 places, CSV and Parquet alike."""
    from topicprofile import TopicProfiler

    orders = pd.DataFrame({
        "customer_id": [tiny_reviews["customer_id"][0]] * 3, "order_id": ["o1", "o2", "o3"],
        "timestamp": ["2025-01-01", "2025-02-01", "2025-03-01"], "amount": ["10.10", "20.20", "13.68"],
    })  # fmt: skip  (0.1 + 0.2 style sums: 43.980000000000004 unrounded)
    model = tmp_path / "model"
    TopicProfiler(n_topics=3, random_state=0, phrases=False, n_segments=2).fit(
        reviews=tiny_reviews, orders=orders
    ).save(str(model))
    reviews, orders_file = tmp_path / "reviews.csv", tmp_path / "orders.csv"
    tiny_reviews.to_csv(reviews, index=False)
    orders.to_csv(orders_file, index=False)
    for name in ("p.csv", "p.parquet"):
        result = invoke("tag", "-m", model, "--reviews", reviews, "--orders", orders_file, "--out", tmp_path / name, "-q")
        assert result.exit_code == 0, result.output
    text = (tmp_path / "p.csv").read_text()
    assert "43.980000000000004" not in text and "43.98" in text
    csv = pd.read_csv(tmp_path / "p.csv")
    assert csv["recency_days"].dtype.kind == "i" and (csv["recency_days"] == -1).sum() == len(csv) - 1
    shares = csv.filter(like="topic_")
    assert ((shares * 10_000).round(6) % 1 == 0).all().all()
    parquet = pd.read_parquet(tmp_path / "p.parquet")
    assert parquet["monetary"].max() == 43.98
    pd.testing.assert_series_equal(parquet["topic_0"], csv["topic_0"], check_exact=True)


def test_batch_escapes_every_csv_and_records_the_choice(model_dir, hostile_reviews, tmp_path) -> None:
    exports, out = tmp_path / "exports", tmp_path / "out"
    exports.mkdir()
    hostile_reviews.rename(exports / "day1.csv")
    assert invoke("batch", "-m", model_dir, "-i", exports, "-o", out, "-q").exit_code == 0
    written = [p for p in out.rglob("*.csv")]
    assert {p.name for p in written} >= {"profiles.csv", "rejects.csv"} and len(written) == 4
    for path in written:
        assert not _unsafe(_cells(path)), path
    assert "'" + FORMULAS[0] in _cells(out / "profiles.csv")
    result = invoke("batch", "-m", model_dir, "-i", exports, "-o", out, "-q", "--raw-csv")
    assert result.exit_code == 1 and "without --raw-csv" in result.stderr


# -- item 7: read-only output folder, disk full -------------------------------------------------
def test_tag_read_only_out_folder_is_found_before_work(model_dir, hostile_reviews, tmp_path, monkeypatch) -> None:
    """As root a chmod cannot make a folder read-only, so the refusal of the system is simulated."""
    from topicprofile.profiler import TopicProfiler

    real = _fs.tempfile.mkstemp

    def mkstemp(*args, **kwargs):
        if Path(kwargs["dir"]) == tmp_path / "ro":
            raise PermissionError(errno.EACCES, "Permission denied")
        return real(*args, **kwargs)

    def no_work(*args, **kwargs):
        raise AssertionError("the model was loaded before the output folder was checked")

    (tmp_path / "ro").mkdir()
    monkeypatch.setattr(_fs.tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(TopicProfiler, "load", no_work)
    result = invoke("tag", "-m", model_dir, "--reviews", hostile_reviews, "--out", tmp_path / "ro" / "p.csv")
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {tmp_path / 'ro'}: cannot write there (Permission denied); choose another output path"


def test_fit_read_only_model_parent_is_found_before_work(hostile_reviews, tmp_path, monkeypatch) -> None:
    from topicprofile.app import jobs as workflows

    real = _fs.tempfile.mkstemp

    def mkstemp(*args, **kwargs):
        if Path(kwargs["dir"]) == tmp_path / "ro":
            raise PermissionError(errno.EACCES, "Permission denied")
        return real(*args, **kwargs)

    def no_work(*args, **kwargs):
        raise AssertionError("the input was read before the model folder was checked")

    (tmp_path / "ro").mkdir()
    monkeypatch.setattr(_fs.tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(workflows, "_stream_inputs", no_work)
    result = invoke("fit", "-m", tmp_path / "ro" / "model", "--reviews", hostile_reviews, "--topics", "3")
    assert result.exit_code == 1 and "cannot write there (Permission denied)" in result.stderr
    assert not (tmp_path / "ro" / "model").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders; simulated in the test above")
def test_tag_read_only_out_folder_for_real(model_dir, hostile_reviews, tmp_path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    result = invoke("tag", "-m", model_dir, "--reviews", hostile_reviews, "--out", folder / "p.csv")
    assert result.exit_code == 1 and "cannot write there" in result.stderr


@pytest.mark.parametrize("out_name", ["p.csv", "p.parquet"])
def test_tag_disk_full_is_one_line_and_keeps_the_old_output(model_dir, hostile_reviews, tmp_path, monkeypatch, out_name) -> None:
    out = tmp_path / out_name
    assert invoke("tag", "-m", model_dir, "--reviews", hostile_reviews, "--out", out, "-q").exit_code == 0
    before = out.read_bytes()
    real_replace = os.replace

    def full(src, dst, *args, **kwargs):  # the last step of every write: the disk is full by then
        if str(dst) == str(out):
            raise OSError(errno.ENOSPC, "No space left on device", str(src))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(_fs.os, "replace", full)
    result = invoke("tag", "-m", model_dir, "--reviews", hostile_reviews, "--out", out)
    assert result.exit_code == 1
    assert "No space left on device" in result.stderr and len(result.stderr.strip().splitlines()) == 2  # + warning
    assert "Traceback" not in result.output + result.stderr
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_table_writer_disk_full_mid_write_removes_the_temporary_file(tmp_path, monkeypatch) -> None:
    from topicprofile.app.jobs import TableWriter

    out = tmp_path / "p.csv"
    out.write_text("old\n")
    with pytest.raises(OSError, match="No space"):
        with TableWriter(out) as writer:
            writer.write(pd.DataFrame({"a": [1]}))
            raise OSError(errno.ENOSPC, "No space left on device")
    assert out.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["p.csv"]


# -- item 10: permissions, one warning --------------------------------------------------------
def test_tag_output_is_readable_by_others_under_umask_022(model_dir, hostile_reviews, tmp_path) -> None:
    old = os.umask(0o022)
    try:
        assert invoke("tag", "-m", model_dir, "--reviews", hostile_reviews, "--out", tmp_path / "p.csv", "-q").exit_code == 0
    finally:
        os.umask(old)
    assert (tmp_path / "p.csv").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "p.rejects.csv").stat().st_mode & 0o777 == 0o644


def test_cli_prints_a_repeated_warning_once() -> None:
    """``demo`` reads the sample for fitting and again for tagging: its rejects warning came twice."""
    from topicprofile.cli._util import user_errors

    runner_app = __import__("typer").Typer()

    @runner_app.command()
    def twice() -> None:
        with user_errors():
            for _ in range(2):
                logging.getLogger("topicprofile.ingest.load").warning("reviews.csv: 11 of 1201 rows rejected")

    result = runner.invoke(runner_app, [])
    assert result.stderr.count("11 of 1201 rows rejected") == 1
