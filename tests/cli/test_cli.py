"""Command line: help everywhere, exit codes, errors as one line, end-to-end fit -> tag on corpora/."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pandas as pd
import pytest
import typer.main
from typer.testing import CliRunner

from sklearn.metrics import adjusted_rand_score

from topicprofile.cli import app
from topicprofile.schema import BEHAVIOR_PROFILE_COLUMNS, PROFILE_COLUMNS
from topicprofile.app.sample import planted_recovery


CORPORA = Path(__file__).resolve().parents[2] / "corpora"
runner = CliRunner()

# Measured on corpora/ with the defaults (README, docs/pooling_and_vocabulary.md): 0.93 with --topics 8, seed 0.
RECOVERY_FLOOR = 0.8
# Segments vs planted value groups (adjusted Rand index), measured 0.79 with automatic k.
VALUE_GROUP_ARI_FLOOR = 0.7


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def _leaf_commands() -> dict[str, object]:
    """Every command the user types, groups opened: ``{"fit": cmd, "db export": cmd, ...}``."""
    out: dict[str, object] = {}
    for name, cmd in typer.main.get_command(app).commands.items():
        subcommands = getattr(cmd, "commands", None)
        if subcommands:
            out.update({f"{name} {sub}": subcmd for sub, subcmd in subcommands.items()})
        else:
            out[name] = cmd
    return out


@pytest.mark.parametrize("command", sorted(_leaf_commands()))
def test_cli_every_command_has_an_example_its_parser_accepts(command: str) -> None:
    """The help's example is a real invocation: the command's own parser accepts every option and
    value in it (an option renamed or removed since, or a bad value, raises a UsageError)."""
    words = command.split()
    assert invoke(*words, "--help").exit_code == 0
    parser = _leaf_commands()[command]
    example = re.search(r"Example: (topicprofile .*?)(?:\s{2,}|$)", parser.help or "", re.MULTILINE)
    assert example, f"{command}: no 'Example: topicprofile {command} ...' in its help"
    args = shlex.split(example.group(1))
    assert args[: 1 + len(words)] == ["topicprofile", *words]
    given = args[1 + len(words) :]
    params = parser.make_context(command, given).params
    names = {opt: param.name for param in parser.params for opt in param.opts}
    for option in (a.split("=")[0] for a in given if a.startswith("--")):
        assert params[names[option]] not in (None, False), f"{command}: {option} in the example was not taken"


@pytest.fixture(scope="module")
def shop_model(tmp_path_factory):
    """Fit on the sample shop through the CLI once for this module."""
    tmp = tmp_path_factory.mktemp("shop")
    result = invoke(
        "fit", "--reviews", str(CORPORA / "reviews.csv"), "--browsing", str(CORPORA / "browsing.jsonl"),
        "--orders", str(CORPORA / "orders.csv"), "--orders-columns", "timestamp=order_date",
        "--model-dir", str(tmp / "model"), "--topics", "8", "--json",
    )
    assert result.exit_code == 0, result.output
    return tmp / "model", json.loads(result.stdout)


def test_cli_fit_reports_and_writes_rejects(shop_model) -> None:
    model_dir, summary = shop_model
    assert (model_dir / "manifest.json").is_file()
    assert summary["inputs"]["reviews"]["rejected"] > 0
    rejects = pd.read_csv(summary["rejects_file"])
    assert {"row", "reason"} <= set(rejects.columns)
    assert "empty text" in set(rejects["reason"])
    assert len(summary["topics"]) == 8


def test_cli_end_to_end_tag_recovers_planted_interests(shop_model, tmp_path) -> None:
    model_dir, _ = shop_model
    out = tmp_path / "profiles.csv"
    result = invoke(
        "tag", "--model-dir", str(model_dir), "--reviews", str(CORPORA / "reviews.csv"),
        "--browsing", str(CORPORA / "browsing.jsonl"), "--orders", str(CORPORA / "orders.csv"),
        "--orders-columns", "timestamp=order_date", "--out", str(out), "--json",
    )
    assert result.exit_code == 0, result.output
    profiles = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(profiles.columns[: len(PROFILE_COLUMNS + BEHAVIOR_PROFILE_COLUMNS)]) == list(
        PROFILE_COLUMNS + BEHAVIOR_PROFILE_COLUMNS
    )
    truth = pd.read_csv(CORPORA / "truth.csv", dtype=str)
    assert set(profiles["customer_id"]) == set(truth["customer_id"])  # text-only and order-only customers too
    assert (profiles[list(BEHAVIOR_PROFILE_COLUMNS)] != "").all().all()
    recovery = planted_recovery(profiles, truth)
    assert recovery["accuracy"] >= RECOVERY_FLOOR, recovery
    value_groups = profiles.merge(truth, on="customer_id")
    ari = adjusted_rand_score(value_groups["value_group"], value_groups["segment_id"])
    assert ari >= VALUE_GROUP_ARI_FLOOR, ari


def test_cli_segments(shop_model) -> None:
    model_dir, summary = shop_model
    result = invoke("segments", "-m", str(model_dir), "--json")
    assert result.exit_code == 0
    cards = json.loads(result.stdout)["segments"]
    assert len(cards) == len(summary["segments"]) >= 4
    assert {"name", "size", "rfm_medians", "rfm_segment_mix", "top_interests", "examples"} <= set(cards[0])


def test_cli_tag_parquet_output(shop_model, tmp_path) -> None:
    model_dir, _ = shop_model
    out = tmp_path / "p.parquet"
    assert invoke("tag", "-m", str(model_dir), "-r", str(CORPORA / "reviews.csv"), "-o", str(out), "-q").exit_code == 0
    assert len(pd.read_parquet(out)) > 100


def test_cli_tag_text_json_and_file(shop_model, tmp_path) -> None:
    model_dir, _ = shop_model
    result = invoke("tag-text", "-m", str(model_dir), "Waterproof hiking boots, great on the trail and comfy in the tent", "--json")
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert payload[0]["tags"] and abs(sum(payload[0]["topics"]) - 1) < 1e-4
    texts = tmp_path / "texts.txt"
    texts.write_text("espresso beans and a burr grinder\nthe dog loves this chew toy\n")
    result = invoke("tag-text", "-m", str(model_dir), "--input", str(texts), "--json")
    assert result.exit_code == 0 and len(json.loads(result.stdout)) == 2


def test_cli_explain_shows_evidence_for_a_sample_customer(shop_model, tmp_path) -> None:
    model_dir, _ = shop_model
    truth = pd.read_csv(CORPORA / "truth.csv", dtype=str).set_index("customer_id")
    customer = "C00001"  # planted interest: beauty
    result = invoke("explain", "-m", str(model_dir), "--customer", customer, "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    top = payload["tags"][0]
    assert payload["top_interest"] == top["label"] and top["score"] > 0
    assert truth.loc[customer, "interest"] in top["label"] + " " + " ".join(w["word"] for w in top["words"])
    assert top["words"] and top["snippets"]
    text = invoke("explain", "-m", str(model_dir), "--customer", customer)
    assert "score" in text.output and "words:" in text.output and top["snippets"][0]["text"][:30] in text.output
    # a customer the model never saw: from files, or a one-line error without them
    new = tmp_path / "new.csv"
    new.write_text("customer_id,text\nZ1,Loved the espresso beans and the burr grinder for my morning latte\n")
    assert json.loads(invoke("explain", "-m", str(model_dir), "-c", "Z1", "-r", str(new), "--json").stdout)["tags"]
    _one_line_error(invoke("explain", "-m", str(model_dir), "-c", "Z1"), "Z1", "not in")


def test_cli_topics_and_label(shop_model, tmp_path) -> None:
    model_dir, _ = shop_model
    result = invoke("topics", "-m", str(model_dir), "--json")
    assert result.exit_code == 0
    assert len(json.loads(result.stdout)["topics"]) == 8
    labels = tmp_path / "labels.toml"
    labels.write_text('[labels]\n0 = "First interest"\n')
    copy = tmp_path / "copy"
    shutil.copytree(model_dir, copy)
    assert invoke("label", "-m", str(copy), str(labels)).exit_code == 0
    topics = json.loads(invoke("topics", "-m", str(copy), "--json").stdout)["topics"]
    assert topics[0]["label"] == "First interest"


# -- user errors: one line, exit 1, no traceback; bad arguments exit 2 -----------------------------
def _one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output + result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_cli_missing_file(tmp_path) -> None:
    result = invoke("fit", "-r", str(tmp_path / "nope.csv"), "-m", str(tmp_path / "m"))
    _one_line_error(result, "nope.csv", "not found")


def test_cli_missing_column(tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("user,body\n1,hello there\n")
    result = invoke("fit", "-r", str(bad), "-m", str(tmp_path / "m"))
    _one_line_error(result, "bad.csv", "customer_id", "found: user, body")


def test_cli_empty_file(tmp_path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    _one_line_error(invoke("fit", "-r", str(empty), "-m", str(tmp_path / "m")), "empty.csv")


def test_cli_wrong_encoding(tmp_path) -> None:
    gbk = tmp_path / "zh.csv"
    gbk.write_bytes("customer_id,text\n1,酒店房间很干净\n".encode("gb18030"))
    _one_line_error(invoke("fit", "-r", str(gbk), "-m", str(tmp_path / "m"), "--encoding", "utf-8"), "zh.csv")


def test_cli_missing_model(tmp_path) -> None:
    _one_line_error(invoke("topics", "-m", str(tmp_path / "nomodel")), "not found")


def test_cli_bad_argument_exits_2(tmp_path) -> None:
    assert runner.invoke(app, ["fit", "--topics", "zero", "-m", str(tmp_path)]).exit_code == 2
    result = runner.invoke(app, ["fit", "-r", "x.csv", "-m", str(tmp_path), "--columns", "nonsense"])
    assert result.exit_code == 2
