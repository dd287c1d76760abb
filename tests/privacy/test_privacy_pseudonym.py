"""Pseudonymous customer ids (issue 14): HMAC-SHA256 with the shop's key; reidentify for the key holder."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from topicprofile import schema
from topicprofile.cli import app
from topicprofile.errors import ConfigError
from topicprofile.privacy.pseudonym import ID_KEY_ENV, load_id_key, pseudonym, pseudonymize_ids, reidentify

CORPORA = Path(__file__).resolve().parents[2] / "corpora"
KEY = b"0123456789abcdef-shop-secret"


def test_pseudonym_is_keyed_hmac_sha256():
    import hashlib
    import hmac

    expected = "p_" + hmac.new(KEY, b"C00042", hashlib.sha256).hexdigest()[:24]
    assert pseudonym("C00042", KEY) == expected
    assert pseudonym("C00042", KEY + b"x") != expected


def test_pseudonymize_ids_keeps_index_name_and_missing():
    ids = pd.Series(["a", None, "a", 7], index=[3, 4, 5, 6], name=schema.CUSTOMER_ID)
    out = pseudonymize_ids(ids, KEY)
    assert out.index.tolist() == [3, 4, 5, 6] and out.name == schema.CUSTOMER_ID
    assert out[3] == out[5] == pseudonym("a", KEY) and out[6] == pseudonym("7", KEY)
    assert pd.isna(out[4])


def test_load_id_key_from_env_file_and_errors(tmp_path, monkeypatch):
    monkeypatch.setenv(ID_KEY_ENV, KEY.decode())
    assert load_id_key() == KEY
    key_file = tmp_path / "shop.key"
    key_file.write_bytes(b"  another-key-of-enough-bytes\n")
    assert load_id_key(key_file) == b"another-key-of-enough-bytes"
    key_file.write_bytes(b"short")
    with pytest.raises(ConfigError, match="at least 16"):
        load_id_key(key_file)
    with pytest.raises(ConfigError, match="cannot read"):
        load_id_key(tmp_path / "missing.key")
    monkeypatch.delenv(ID_KEY_ENV)
    with pytest.raises(ConfigError, match=ID_KEY_ENV):
        load_id_key()


def test_reidentify_maps_back_and_leaves_unknown_missing():
    originals = pd.Series(["C1", "C2", "C3"])
    mapping = reidentify(pd.Series([pseudonym("C3", KEY), pseudonym("C9", KEY)]), originals, KEY)
    assert mapping["customer_id"].tolist()[0] == "C3"
    assert pd.isna(mapping["customer_id"].tolist()[1])


# -- a pseudonymised fit + tag on the sample shop -------------------------------------------------
def _read_corpora() -> dict[str, pd.DataFrame]:
    return {
        "reviews": pd.read_csv(CORPORA / "reviews.csv", dtype={schema.CUSTOMER_ID: str}),
        "browsing": pd.read_json(CORPORA / "browsing.jsonl", lines=True, dtype={schema.CUSTOMER_ID: str}),
        "orders": pd.read_csv(CORPORA / "orders.csv", dtype={schema.CUSTOMER_ID: str}).rename(
            columns={"order_date": "timestamp"}
        ),
    }


@pytest.fixture(scope="module")
def pseudonymous_run(tmp_path_factory):
    """Fit on the sample shop with pseudonymous ids, save, tag; return (root folder, raw ids)."""
    from topicprofile.profiler import TopicProfiler

    root = tmp_path_factory.mktemp("pseudonymous")
    frames = _read_corpora()
    raw_ids = set().union(*(set(f[schema.CUSTOMER_ID].dropna().astype(str)) for f in frames.values()))
    masked = {
        name: f.assign(**{schema.CUSTOMER_ID: pseudonymize_ids(f[schema.CUSTOMER_ID], KEY)})
        for name, f in frames.items()
    }
    tp = TopicProfiler(n_topics=6, random_state=0, passes=2).fit(**masked)
    tp.save(str(root / "model"))
    profiles = tp.profile(**masked)
    (root / "out").mkdir()
    profiles.to_csv(root / "out" / "profiles.csv", index=False)
    return root, raw_ids


def _strings_in_parquet(path: Path) -> str:
    frame = pd.read_parquet(path)
    return "\n".join(frame[c].astype(str).str.cat(sep="\n") for c in frame.columns) + "\n".join(
        map(str, frame.columns)
    )


def test_pseudonymised_fit_and_tag_leave_no_raw_id(pseudonymous_run):
    root, raw_ids = pseudonymous_run
    assert len(raw_ids) > 100
    cache = os.environ.get("TOPICPROFILE_CACHE_DIR")
    folders = [root] + ([Path(cache)] if cache else [])
    files = [p for folder in folders for p in folder.rglob("*") if p.is_file()]
    assert any(p.name == "documents.parquet" for p in files) and any(p.name == "profiles.csv" for p in files)
    for path in files:
        blob = path.read_bytes().decode("utf-8", "replace")
        if path.suffix == ".parquet":  # compressed pages: look at the decoded values too
            blob += _strings_in_parquet(path)
        leaked = [i for i in raw_ids if i in blob]
        assert not leaked, f"{path.relative_to(path.anchor)} holds raw ids {leaked[:5]}"
    profiles = pd.read_csv(root / "out" / "profiles.csv", dtype=str)
    assert profiles[schema.CUSTOMER_ID].str.fullmatch(r"p_[0-9a-f]{24}").all()


def test_reidentify_cli_maps_outputs_back(pseudonymous_run, tmp_path):
    root, _ = pseudonymous_run
    key_file = tmp_path / "shop.key"
    key_file.write_bytes(KEY)
    runner = CliRunner()
    args = ["reidentify", "--key-file", str(key_file), "--ids", str(root / "out" / "profiles.csv")]
    result = runner.invoke(
        app, [*args, "--candidates", str(CORPORA / "reviews.csv"), "-o", str(tmp_path / "map.csv")]
    )
    assert result.exit_code == 0, result.output
    mapping = pd.read_csv(tmp_path / "map.csv", dtype=str)
    reviewers = set(pd.read_csv(CORPORA / "reviews.csv", dtype=str)[schema.CUSTOMER_ID])
    found = mapping.dropna()
    assert set(found["customer_id"]) == reviewers & set(found["customer_id"]) and len(found) > 0
    assert all(pseudonym(c, KEY) == p for p, c in found.itertuples(index=False))
    wrong = tmp_path / "wrong.key"
    wrong.write_bytes(b"not-the-shop-key-at-all")
    result = runner.invoke(
        app,
        [
            "reidentify",
            "--key-file",
            str(wrong),
            "--ids",
            str(root / "out" / "profiles.csv"),
            "--candidates",
            str(CORPORA / "reviews.csv"),
        ],
    )
    assert result.exit_code == 1 and "wrong key" in result.output


def test_privacy_report_lists_files_counts_and_pseudonymous_ids(pseudonymous_run, tmp_path):
    import json

    root, _ = pseudonymous_run
    runner = CliRunner()
    result = runner.invoke(app, ["privacy-report", "--model-dir", str(root / "model"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    by_name = {Path(e["path"]).name: e for e in report["files"]}
    assert {"documents.parquet", "profiles.parquet", "segments.json", "vocabulary.json"} <= set(by_name)
    docs = by_name["documents.parquet"]
    assert docs["ids_pseudonymous"] is True and by_name["profiles.parquet"]["ids_pseudonymous"] is True
    assert docs["n_texts"] == report["n_texts"] > 1000
    assert docs["placeholders"]["EMAIL"] >= 1  # the sample shop's reviews carry e-mail addresses
    assert report["n_customers"] == by_name["profiles.parquet"]["n_customers"]
    human = runner.invoke(app, ["privacy-report", "--model-dir", str(root / "model")])
    assert human.exit_code == 0 and "documents.parquet" in human.output
    missing = runner.invoke(app, ["privacy-report", "--model-dir", str(tmp_path / "none")])
    assert missing.exit_code == 1 and "not found" in missing.output


def test_pseudonymize_rejects_only_the_id_cells_and_key_id_is_not_the_key():
    from topicprofile.privacy.pseudonym import key_id, pseudonymize_rejects

    rejects = pd.DataFrame({"source": ["f.csv"] * 3, "row": [2, 3, 4], "column": ["customer_id", "text", "customer_id"],
                            "reason": ["too long", "duplicate", "missing"], "value": ["C00042", "great boots", ""]})  # fmt: skip
    out = pseudonymize_rejects(rejects, KEY)
    assert out["value"].tolist() == [pseudonym("C00042", KEY), "great boots", ""]
    assert rejects["value"][0] == "C00042"  # a copy
    assert len(key_id(KEY)) == 12 and key_id(KEY) != key_id(KEY + b"x") and key_id(KEY) not in KEY.hex()
