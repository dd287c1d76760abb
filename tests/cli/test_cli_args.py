"""Command line arguments and terminal output (issue #10, items 6, 7 and 10).

Bad numbers are bad arguments (exit 2, no traceback); user text with rich markup (``[/]``) is
shown as text, never parsed; the CLI starts without importing the heavy libraries.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from topicprofile.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
MARKUP = "Beauty [/] care [/url] [bold]"


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


# -- item 7: ranges of numeric options -----------------------------------------------------------
BAD_ARGUMENTS = [
    ("fit", "--seed", "-1"),
    ("fit", "--seed", str(2**32)),
    ("fit", "--threshold", "2"),
    ("fit", "--threshold", "0"),
    ("fit", "--threshold", "-0.1"),
    ("fit", "--max-tags", "0"),
    ("fit", "--topics", "1"),
    ("fit", "--segments", "1"),
    ("fit", "--workers", "0"),
    ("fit", "--text-weight", "-1"),
    ("demo", "--seed", "-1"),
    ("demo", "--topics", "1"),
    ("tune", "--seed", str(2**32)),
    ("tune", "--k-min", "1"),
    ("tune", "--step", "0"),
    ("evaluate", "--seed", "-5"),
    ("evaluate", "--cv", "1"),
    ("evaluate", "--horizon", "0"),
    ("explain", "--words", "0"),
    ("explain", "--snippets", "-1"),
    ("tag", "--workers", "0"),
]
# Just enough other options that only the bad one can fail parsing.
_REQUIRED = {
    "fit": ["--model-dir", "m", "--reviews", "missing.csv"],
    "demo": ["--model-dir", "m"],
    "tune": ["--reviews", "missing.csv"],
    "evaluate": ["--orders", "missing.csv", "--cutoff", "2025-01-01"],
    "explain": ["--model-dir", "m", "--customer", "C1"],
    "tag": ["--model-dir", "m", "--reviews", "missing.csv", "--out", "o.csv"],
}


@pytest.mark.parametrize(("command", "option", "value"), BAD_ARGUMENTS)
def test_cli_out_of_range_number_is_a_bad_argument(command, option, value, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke(command, *_REQUIRED[command], option, value)
    assert result.exit_code == 2, result.output
    assert option in result.output
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize(("option", "value"), [("--seed", str(2**32 - 1)), ("--seed", "0"), ("--threshold", "1")])
def test_cli_numbers_at_the_range_ends_are_accepted(option, value, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("fit", *_REQUIRED["fit"], option, value)
    assert result.exit_code == 1 and "missing.csv" in result.stderr  # parsed; failed on the file


# -- item 6: markup in user text ------------------------------------------------------------------
@pytest.fixture(scope="module")
def marked_model(tiny_profiler, tiny_reviews, tmp_path_factory) -> tuple[Path, Path]:
    """A model whose labels, customers and texts contain rich markup, and a reviews file like it."""
    tmp = tmp_path_factory.mktemp("markup")
    reviews = tiny_reviews.copy()
    reviews.loc[:2, "customer_id"] = "C[/]1"
    reviews.loc[0, "text"] = reviews.loc[0, "text"] + " [/url] [/]"
    (tmp / "reviews [").mkdir()  # a file name cannot hold "/": the folder gives the path "reviews [/].csv"
    path = tmp / "reviews [" / "].csv"
    reviews.to_csv(path, index=False)
    model = tmp / "model"
    tiny_profiler.save(str(model))
    labels = tmp / "labels.toml"
    labels.write_text(f'[labels]\n0 = "{MARKUP}"\n1 = "[red]x[/red]"\n', encoding="utf-8")
    assert invoke("label", "-m", model, labels).exit_code == 0
    return model, path


def _shown(result) -> str:
    assert "MarkupError" not in repr(result.exception), result.exception
    assert result.exit_code == 0, result.output
    return result.stdout


def test_cli_topics_after_a_label_with_markup(marked_model) -> None:
    model, _ = marked_model
    assert "Beauty [/] care [/url]" in _shown(invoke("topics", "-m", model)).replace("\n", "")


def test_cli_quality_with_markup_labels(marked_model) -> None:
    assert "[red]x[/red]" in _shown(invoke("quality", "-m", marked_model[0]))


def test_cli_tag_text_with_markup_text(marked_model) -> None:
    text = "hiking boots tent backpack [/] camping [/url] trail"
    out = _shown(invoke("tag-text", "-m", marked_model[0], text))
    assert "[/]" in out and "Beauty [/] care" in out.replace("\n", "") + "Beauty [/] care"


def test_cli_explain_with_markup_in_id_and_text(marked_model) -> None:
    model, reviews = marked_model
    out = _shown(invoke("explain", "-m", model, "--customer", "C[/]1", "--reviews", reviews))
    assert out.startswith("C[/]1:")


def test_cli_tag_summary_with_markup_in_file_names(marked_model, tmp_path) -> None:
    model, reviews = marked_model
    out = _shown(invoke("tag", "-m", model, "--reviews", reviews, "--out", tmp_path / "p [" / "].csv"))
    assert "p [/].csv" in out.replace("\n", "")


def test_cli_error_line_with_markup_in_a_file_name(tmp_path) -> None:
    missing = tmp_path / "exports [/url]" / "x[/].csv"
    result = invoke("fit", "-m", tmp_path / "m", "--reviews", missing)
    assert result.exit_code == 1
    assert "x[/].csv" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_cli_missing_model_with_markup_in_its_name(tmp_path) -> None:
    for command in ("topics", "quality", "segments"):
        result = invoke(command, "-m", tmp_path / "[/]model")
        assert result.exit_code == 1 and "[/]model" in result.stderr, command


def test_cli_batch_summary_with_markup_in_file_names(marked_model, tmp_path) -> None:
    model, reviews = marked_model
    exports = tmp_path / "in"
    exports.mkdir()
    (exports / "day [").mkdir()
    (exports / "day [" / "] 1.csv").write_bytes(reviews.read_bytes())
    (exports / "bad [").mkdir()
    (exports / "bad [" / "url].csv").write_text("customer_id,body\nC1,x\n")
    result = invoke("batch", "-m", model, "-i", exports, "-o", tmp_path / "out [" / "]", "--pattern", "**/*.csv")
    assert "MarkupError" not in repr(result.exception)
    assert result.exit_code == 1  # one file failed, the other is done
    assert "day [/] 1.csv" in result.stdout and "bad [/url].csv: failed" in result.stderr.replace("\n", "")


def test_cli_segments_with_markup_names(tmp_path, tiny_reviews) -> None:
    from topicprofile import TopicProfiler

    orders = pd.DataFrame({
        "customer_id": tiny_reviews["customer_id"].unique()[:12].repeat(2),
        "order_id": [f"o{i}" for i in range(24)], "timestamp": "2025-01-01", "amount": "10",
    })  # fmt: skip
    profiler = TopicProfiler(n_topics=3, random_state=0, phrases=False, n_segments=2)
    profiler.fit(reviews=tiny_reviews, orders=orders).set_topic_labels({k: f"{MARKUP} {k}" for k in range(3)})
    profiler.save(str(tmp_path / "model"))
    from topicprofile.store import model_files

    document = json.loads((model_files(tmp_path / "model") / "segments.json").read_text())
    assert document["segments"]
    _shown(invoke("segments", "-m", tmp_path / "model"))


# -- item 10: start-up ----------------------------------------------------------------------------
def test_cli_start_imports_no_heavy_library() -> None:
    """`topicprofile --help` (and parsing any command) imports no data library: they load in the command."""
    code = (
        "import sys, topicprofile, topicprofile.cli\n"
        "heavy = ('pandas', 'numpy', 'gensim', 'spacy', 'sklearn', 'scipy', 'pyarrow')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_package_names_still_import_lazily() -> None:
    import topicprofile

    assert topicprofile.TopicProfiler.__name__ == "TopicProfiler"
    assert callable(topicprofile.load_reviews) and topicprofile.__version__
    assert {"TopicProfiler", "load_orders", "__version__"} <= set(dir(topicprofile))
    with pytest.raises(AttributeError):
        topicprofile.no_such_name  # noqa: B018
