"""``audience --holdout``: a seeded, stratified control group kept out of the export and recorded for ``campaign``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("duckdb", reason="the db extra (duckdb) is not installed")
pytest.importorskip("phonenumbers", reason="the db extra (phonenumbers) is not installed")

from typer.testing import CliRunner

from topicprofile.cli import app
from topicprofile.db import write_profiles
from topicprofile.db.audience import export_audience, holdout_groups
from topicprofile.errors import ConfigError

SEGMENTS = {"Champions": 120, "At Risk": 60, "Lapsed": 20}


@pytest.fixture
def db_path(tmp_path):
    rows = []
    for segment, n in SEGMENTS.items():
        for i in range(n):
            rows.append({"customer_id": f"{segment[:2]}{i:04d}", "top_interest": "Outdoor", "interest_tags": ["Outdoor"],
                         "interest_scores": {"Outdoor": 0.6}, "rfm_segment": segment, "segment_name": segment,
                         "monetary": 50.0, "recency_days": 30, "frequency": 2})  # fmt: skip
    path = tmp_path / "p.duckdb"
    write_profiles(path, pd.DataFrame(rows))
    return path


def test_actions_holdout_keeps_a_stratified_control_group_out_of_the_file(db_path, tmp_path) -> None:
    summary = export_audience(db_path, to="csv", out=tmp_path / "a.csv", name="outdoor", holdout=0.1, seed=3)
    exported = pd.read_csv(tmp_path / "a.csv", dtype=str)["customer_id"]
    groups = pd.read_csv(tmp_path / "a.holdout.csv", dtype=str)
    control = set(groups.loc[groups["group"] == "control", "customer_id"])
    assert len(groups) == sum(SEGMENTS.values()) and not control & set(exported)
    assert set(exported) | control == set(groups["customer_id"])
    per_stratum = groups[groups["group"] == "control"].groupby("stratum").size().to_dict()
    assert per_stratum == {s: round(0.1 * n) for s, n in SEGMENTS.items()}  # every segment held out at 10%
    assert summary["holdout"]["n_control"] == len(control) == 20
    export_id, treated_ids, control_ids = holdout_groups(db_path, "outdoor")
    assert (
        export_id == summary["export_id"]
        and set(control_ids) == control
        and set(treated_ids) == set(exported)
    )


def test_actions_holdout_is_reproducible_for_a_seed(db_path, tmp_path) -> None:
    def control(seed: int, out: str) -> set[str]:
        export_audience(db_path, to="csv", out=tmp_path / out, name=out, holdout=0.25, seed=seed)
        groups = pd.read_csv(tmp_path / out.replace(".csv", ".holdout.csv"), dtype=str)
        return set(groups.loc[groups["group"] == "control", "customer_id"])

    assert control(7, "a.csv") == control(7, "b.csv")
    assert control(7, "a.csv") != control(8, "c.csv")


def test_actions_holdout_groups_need_a_holdout_export(db_path, tmp_path) -> None:
    export_audience(db_path, to="csv", out=tmp_path / "a.csv", name="plain")
    with pytest.raises(ConfigError, match="no export with a holdout"):
        holdout_groups(db_path, "plain")


def test_actions_holdout_cli_audience_then_campaign(db_path, tmp_path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["audience", "--db", str(db_path), "--out", str(tmp_path / "a.csv"),
                                 "--name", "spring", "--holdout", "20%", "--seed", "1"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "control group: 40 customers held out (20%, seed 1)" in result.output
    groups = pd.read_csv(tmp_path / "a.holdout.csv", dtype=str)
    rng = np.random.default_rng(0)
    buyers = groups["customer_id"][rng.random(len(groups)) < 0.3]
    orders = pd.DataFrame({"customer_id": buyers, "order_id": [f"O{i}" for i in range(len(buyers))],
                           "timestamp": "2025-03-05", "amount": 20.0})  # fmt: skip
    orders.to_csv(tmp_path / "after.csv", index=False)
    result = runner.invoke(app, ["campaign", "--db", str(db_path), "--audience", "spring",
                                 "--orders", str(tmp_path / "after.csv"), "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["arms"]["control"]["customers"] == 40 and report["arms"]["treated"]["customers"] == 160


@pytest.mark.parametrize("value", ["150%", "0", "ten", "1.5"])
def test_actions_holdout_cli_rejects_a_bad_share(db_path, tmp_path, value: str) -> None:
    result = CliRunner().invoke(
        app, ["audience", "--db", str(db_path), "--out", str(tmp_path / "a.csv"), "--holdout", value]
    )
    assert result.exit_code == 2, result.output


def test_actions_holdout_campaign_without_a_holdout_export_is_one_line(db_path, tmp_path) -> None:
    pd.DataFrame(
        {"customer_id": ["Ch0001"], "order_id": ["1"], "timestamp": ["2025-03-05"], "amount": [5.0]}
    ).to_csv(tmp_path / "after.csv", index=False)
    result = CliRunner().invoke(
        app, ["campaign", "--db", str(db_path), "--audience", "nope", "--orders", str(tmp_path / "after.csv")]
    )
    assert result.exit_code == 1 and "no export with a holdout" in result.output
