"""``--no-scrub`` and ``--pseudonymize`` on fit, tag and batch (issue 14): what the manifest records,
what the outputs hold, and the id key a pseudonymous model insists on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from topicprofile import schema
from topicprofile.cli import app
from topicprofile.privacy.pseudonym import ID_KEY_ENV, key_id, pseudonym
from topicprofile.tag.explain import _snippet

CORPORA = Path(__file__).resolve().parents[2] / "corpora"
KEY = b"0123456789abcdef-shop-secret-key"
EMAIL = "@"  # the sample shop's reviews hold seven e-mail addresses


def _fit(runner: CliRunner, model: Path, *extra: str) -> dict:
    args = ["fit", "-m", str(model), "-r", str(CORPORA / "reviews.csv"), "-k", "4", "--json", *extra]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _ids(path: Path) -> pd.Series:
    return pd.read_csv(path, dtype=str, keep_default_na=False)[schema.CUSTOMER_ID]


@pytest.fixture(scope="module")
def key_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("key") / "shop.key"
    path.write_bytes(KEY + b"\n")
    return path


def test_fit_scrubs_by_default_and_no_scrub_keeps_the_texts(tmp_path):
    runner = CliRunner()
    scrubbed = _fit(runner, tmp_path / "scrubbed")
    assert scrubbed["privacy"]["scrub"] is True and scrubbed["privacy"]["scrub_counts"]["EMAIL"] == 7
    manifest = json.loads((tmp_path / "scrubbed" / "manifest.json").read_text())
    assert manifest["privacy"] == scrubbed["privacy"] and manifest["params"]["scrub"] is True
    docs = pd.read_parquet(next((tmp_path / "scrubbed").rglob("documents.parquet")))
    assert not docs[schema.TEXT].str.contains(EMAIL, regex=False).any()

    raw = _fit(runner, tmp_path / "raw", "--no-scrub")
    assert raw["privacy"] == {"scrub": False, "scrub_counts": None, "pseudonymized": False}
    manifest = json.loads((tmp_path / "raw" / "manifest.json").read_text())
    assert manifest["privacy"]["scrub"] is False and manifest["params"]["scrub"] is False
    docs = pd.read_parquet(next((tmp_path / "raw").rglob("documents.parquet")))
    assert docs[schema.TEXT].str.contains(EMAIL, regex=False).sum() == 7
    human = runner.invoke(app, ["privacy-report", "-m", str(tmp_path / "raw"), "--json"])
    assert json.loads(human.output)["settings"]["scrub"] is False


def test_profiler_scrub_parameter_and_manifest():
    from topicprofile.profiler import TopicProfiler

    reviews = pd.read_csv(CORPORA / "reviews.csv", dtype=str)
    kept = TopicProfiler(n_topics=2, scrub=False, iterations=20).fit(reviews=reviews)
    assert kept.to_state()["manifest"]["privacy"] == {"scrub": False}
    assert kept.explain(reviews[schema.CUSTOMER_ID][0])["source"] == "model"
    scrubbed = TopicProfiler(n_topics=2, iterations=20).fit(reviews=reviews)
    assert scrubbed.privacy_["scrub"] is True and scrubbed.privacy_["scrub_counts"]["EMAIL"] == 7
    texts = pd.concat(scrubbed.documents_.chunks())[schema.TEXT]
    assert texts.str.contains("<EMAIL>", regex=False).sum() == 7


def test_pseudonymize_fit_tag_batch_leave_no_raw_id(tmp_path, key_file, monkeypatch):
    monkeypatch.delenv(ID_KEY_ENV, raising=False)
    runner = CliRunner()
    model = tmp_path / "out" / "model"
    summary = _fit(runner, model, "--pseudonymize", "--key-file", str(key_file))
    assert summary["privacy"]["pseudonymized"] is True and summary["privacy"]["id_key_id"] == key_id(KEY)
    raw_ids = {i for i in _ids(CORPORA / "reviews.csv") if i}
    # tag: the model's key is required, and only the model's key
    tag = ["tag", "-m", str(model), "-r", str(CORPORA / "reviews.csv"), "-o", str(tmp_path / "out" / "p.csv")]
    missing = runner.invoke(app, tag)
    assert missing.exit_code == 1 and "fitted on pseudonymous ids" in missing.output
    wrong = tmp_path / "wrong.key"
    wrong.write_bytes(b"another-key-of-the-right-length")
    other = runner.invoke(app, [*tag, "--key-file", str(wrong)])
    assert other.exit_code == 1 and "not the one this model was fitted with" in other.output
    assert not (tmp_path / "out" / "p.csv").exists()
    result = runner.invoke(app, [*tag, "--key-file", str(key_file), "--quiet"])
    assert result.exit_code == 0, result.output
    tagged = _ids(tmp_path / "out" / "p.csv")
    assert set(tagged) <= {pseudonym(i, KEY) for i in raw_ids} and len(tagged) > 0.99 * len(raw_ids)
    # batch: the key from the environment
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(CORPORA / "reviews.csv", inbox / "reviews.csv")
    monkeypatch.setenv(ID_KEY_ENV, KEY.decode())
    result = runner.invoke(
        app, ["batch", "-m", str(model), "-i", str(inbox), "-o", str(tmp_path / "out" / "batch")]
    )
    assert result.exit_code == 0, result.output
    assert set(_ids(tmp_path / "out" / "batch" / "profiles.csv")) == set(tagged)
    # nothing written holds a raw id or the key
    written = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert any(p.name == "documents.parquet" for p in written) and any(
        p.name == "rejects.csv" for p in written
    )
    for path in written:
        blob = path.read_bytes().decode("utf-8", "replace")
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            blob += "\n".join(frame[c].astype(str).str.cat(sep="\n") for c in frame.columns)
        leaked = [i for i in raw_ids if i in blob]
        assert not leaked, f"{path.relative_to(tmp_path)} holds raw ids {leaked[:3]}"
        assert KEY.decode() not in blob


@pytest.mark.slow
def test_recommend_with_a_pseudonymous_model_hashes_every_id(tmp_path, key_file, monkeypatch):
    """A model fitted on pseudonymous ids needs its key for ``recommend --reviews``; with it the
    recommendations hold the model's pseudonyms (they join the profiles), never a raw id."""
    monkeypatch.delenv(ID_KEY_ENV, raising=False)
    runner = CliRunner()
    model = tmp_path / "model"
    _fit(runner, model, "--pseudonymize", "--key-file", str(key_file))
    orders = ["--orders", str(CORPORA / "orders.csv"), "--orders-columns", "timestamp=order_date"]
    out = tmp_path / "recs.csv"
    reviews = ["-m", str(model), "-r", str(CORPORA / "reviews.csv")]
    args = ["recommend", *reviews, *orders, "--top", "2", "--out", str(out)]
    missing = runner.invoke(app, args)
    assert missing.exit_code == 1 and "fitted on pseudonymous ids" in missing.output and not out.exists()
    result = runner.invoke(app, [*args, "--key-file", str(key_file), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["pseudonymized"] is True and summary["with_text"] is True
    raw_orders = {i for i in _ids(CORPORA / "orders.csv") if i}
    raw_writers = {i for i in _ids(CORPORA / "reviews.csv") if i}
    recommended = set(_ids(out))  # buyers, and writers without orders (popular and interest items)
    hashed_orders = {pseudonym(i, KEY) for i in raw_orders}
    assert hashed_orders < recommended <= hashed_orders | {pseudonym(i, KEY) for i in raw_writers}
    blob = out.read_text()
    assert not [i for i in raw_orders | raw_writers if i in blob]
    # no model: --pseudonymize alone hashes the orders' ids
    plain = runner.invoke(app, ["recommend", *orders, "--top", "2", "--out", str(tmp_path / "plain.csv"),
                                "--pseudonymize", "--key-file", str(key_file)])  # fmt: skip
    assert plain.exit_code == 0, plain.output
    assert set(_ids(tmp_path / "plain.csv")) == hashed_orders


def test_campaign_on_a_pseudonymous_database_hashes_the_orders(tmp_path, key_file, monkeypatch):
    """An audience of pseudonymous ids and orders with the shop's own ids: ``campaign`` needs the key
    the database's ids were made with, and then counts the same buyers as the raw ids would."""
    pytest.importorskip("duckdb", reason="the db extra (duckdb) is not installed")
    from topicprofile.db import write_profiles

    monkeypatch.delenv(ID_KEY_ENV, raising=False)
    raw = [f"C{i:04d}" for i in range(200)]
    profiles = pd.DataFrame({"customer_id": [pseudonym(i, KEY) for i in raw], "top_interest": "Outdoor",
                             "interest_tags": [["Outdoor"]] * 200, "interest_scores": [{"Outdoor": 0.6}] * 200,
                             "rfm_segment": ["Champions", "At Risk"] * 100})  # fmt: skip
    db = tmp_path / "p.duckdb"
    manifest = {"version": 1, "privacy": {"scrub": True, "pseudonymized": True, "id_key_id": key_id(KEY)}}
    write_profiles(db, profiles, model_manifest=manifest)
    runner = CliRunner()
    result = runner.invoke(app, ["audience", "--db", str(db), "--out", str(tmp_path / "a.csv"), "--name", "spring",
                                 "--holdout", "25%", "--seed", "3"])  # fmt: skip
    assert result.exit_code == 0, result.output
    buyers = raw[::4]  # 50 buyers, by their raw ids
    pd.DataFrame({"customer_id": buyers, "order_id": [f"O{i}" for i in range(50)], "timestamp": "2025-03-05",
                  "amount": 20.0}).to_csv(tmp_path / "after.csv", index=False)  # fmt: skip
    after = ["--orders", str(tmp_path / "after.csv")]
    campaign = ["campaign", "--db", str(db), "--audience", "spring", *after, "--json"]
    missing = runner.invoke(app, campaign)
    assert missing.exit_code == 1 and "pseudonymous ids" in missing.output
    wrong = tmp_path / "wrong.key"
    wrong.write_bytes(b"another-key-of-the-right-length")
    assert runner.invoke(app, [*campaign, "--key-file", str(wrong)]).exit_code == 1
    report = json.loads(runner.invoke(app, [*campaign, "--key-file", str(key_file)]).stdout)
    arms = report["arms"]
    assert arms["treated"]["customers"] + arms["control"]["customers"] == 200
    assert arms["treated"]["converted"] + arms["control"]["converted"] == 50
    # groups given as files of pseudonyms without the key: a warning names the likely cause
    groups = pd.read_csv(tmp_path / "a.holdout.csv", dtype=str)
    for name in ("treated", "control"):
        groups.loc[groups["group"] == name, ["customer_id"]].to_csv(tmp_path / f"{name}.csv", index=False)
    files = runner.invoke(app, ["campaign", "--treated", str(tmp_path / "treated.csv"), "--control",
                                str(tmp_path / "control.csv"), "--orders", str(tmp_path / "after.csv")])  # fmt: skip
    assert files.exit_code == 0, files.output
    assert "no customer of either group appears" in files.output and "--key-file" in files.output


def _database_text(path: Path) -> str:
    """Every value of every table of a profile database, as text (the file itself is compressed)."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        return "\n".join(con.execute(f'SELECT * FROM "{t}"').df().astype(str).to_csv() for t in tables)
    finally:
        con.close()


@pytest.mark.slow
def test_pseudonymous_tag_and_update_with_a_database_keep_no_raw_id(tmp_path, key_file, monkeypatch):
    """``tag --db --customers`` and ``update`` of a pseudonymous model: identifiers, profiles, the new
    model version and the rejects hold pseudonyms only, and the identifiers still join the profiles
    (an audience finds their e-mail addresses)."""
    pytest.importorskip("duckdb", reason="the db extra (duckdb) is not installed")
    monkeypatch.delenv(ID_KEY_ENV, raising=False)
    runner = CliRunner()
    model, db = tmp_path / "out" / "model", tmp_path / "out" / "p.duckdb"
    _fit(runner, model, "--key-file", str(key_file))
    reviews = pd.read_csv(CORPORA / "reviews.csv", dtype=str, keep_default_na=False)
    raw_ids = sorted({i for i in reviews[schema.CUSTOMER_ID] if i})
    customers = tmp_path / "customers.csv"
    pd.DataFrame({"customer_id": raw_ids[:40], "email": [f"shopper{i}@example.com" for i in range(40)],
                  "accepts_email": "yes"}).to_csv(customers, index=False)  # fmt: skip
    tag = ["tag", "-m", str(model), "-r", str(CORPORA / "reviews.csv"), "-o", str(tmp_path / "out" / "p.csv"),
           "--db", str(db), "--customers", str(customers), "--key-file", str(key_file), "--quiet"]  # fmt: skip
    result = runner.invoke(app, tag)
    assert result.exit_code == 0, result.output
    new = tmp_path / "new.csv"
    reviews[reviews[schema.CUSTOMER_ID].isin(raw_ids[:20])].head(30).to_csv(new, index=False)
    orders = ["--orders", str(CORPORA / "orders.csv"), "--orders-columns", "timestamp=order_date"]
    update = ["update", "-m", str(model), "-r", str(new), *orders, "--db", str(db), "--customers", str(customers)]
    missing = runner.invoke(app, update)
    assert missing.exit_code == 1 and "fitted on pseudonymous ids" in missing.output
    result = runner.invoke(app, [*update, "--key-file", str(key_file), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n_customers"] > 20  # the new texts' and the orders' customers
    audience = tmp_path / "out" / "klaviyo.csv"
    result = runner.invoke(app, ["audience", "--db", str(db), "--to", "klaviyo", "--out", str(audience)])
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(audience)) == 40  # every identifier joined its pseudonymous profile
    leaks = []
    for path in (p for p in (tmp_path / "out").rglob("*") if p.is_file()):
        if path.suffix == ".duckdb":
            blob = _database_text(path)
        elif path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            blob = "\n".join(frame[c].astype(str).str.cat(sep="\n") for c in frame.columns)
        else:
            blob = path.read_bytes().decode("utf-8", "replace")
        leaks += [(path.name, i) for i in raw_ids if i in blob]
    assert not leaks, leaks[:5]


def test_no_scrub_and_pseudonymize_on_tag_of_a_plain_model(tmp_path, key_file):
    runner = CliRunner()
    _fit(runner, tmp_path / "model", "--quiet")
    out = tmp_path / "p.csv"
    args = [
        "tag",
        "-m",
        str(tmp_path / "model"),
        "-r",
        str(CORPORA / "reviews.csv"),
        "-o",
        str(out),
        "--json",
    ]
    result = runner.invoke(app, [*args, "--no-scrub", "--key-file", str(key_file)])
    assert result.exit_code == 0, result.output
    privacy = json.loads(result.output)["privacy"]
    assert privacy == {"scrub": False, "scrub_counts": None, "pseudonymized": True, "id_key_id": key_id(KEY)}
    assert _ids(out).str.fullmatch(r"p_[0-9a-f]{24}").all()
    plain = runner.invoke(app, args)
    assert json.loads(plain.output)["privacy"]["scrub_counts"]["EMAIL"] == 7
    assert not _ids(out).str.startswith("p_").any()


@pytest.mark.parametrize("keep", ["snippets", "all", "none"])
def test_fit_keep_texts(tmp_path, keep):
    runner = CliRunner()
    model = tmp_path / "model"
    summary = _fit(runner, model, "--keep-texts", keep)
    docs = list(model.rglob("documents.parquet"))
    report = json.loads(runner.invoke(app, ["privacy-report", "-m", str(model), "--json"]).output)
    assert report["settings"]["keep_texts"] == keep
    profiles = pd.read_parquet(next(model.rglob("profiles.parquet")))
    customer = profiles.loc[profiles["top_interest"] != "", schema.CUSTOMER_ID].iloc[0]
    explained = runner.invoke(app, ["explain", "-m", str(model), "-c", customer, "--json"])
    if keep == "none":
        assert not docs
        assert explained.exit_code == 1 and "without its documents" in explained.output
        return
    kept = pd.read_parquet(docs[0])
    if keep == "all":
        assert len(kept) == summary["n_documents"]
    else:  # per customer at most 3 documents per tag: the evidence explain shows, nothing else
        tags = (
            profiles.set_index(schema.CUSTOMER_ID)["interest_topics"].str.count(";")
            + (profiles["interest_topics"] != "").to_numpy()
        )
        per_customer = kept.groupby(schema.CUSTOMER_ID).size()
        assert (per_customer <= 3 * tags.reindex(per_customer.index)).all()
        assert len(kept) < summary["n_documents"]  # the sample shop has ~3 reviews a customer: most stay
    assert explained.exit_code == 0, explained.output
    result = json.loads(explained.output)
    row = profiles.set_index(schema.CUSTOMER_ID).loc[customer]
    assert result["top_interest"] == row["top_interest"] and result["n_documents"] == row["n_documents"]
    shown = {s["text"] for tag in result["tags"] for s in tag["snippets"]}
    assert shown and shown <= {_snippet(t) for t in kept[schema.TEXT]}
