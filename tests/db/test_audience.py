"""Audiences: the filter language (incl. hostile input), deltas, and each destination's header and hashing."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest

pytest.importorskip("duckdb", reason="the db extra (duckdb) is not installed")
pytest.importorskip("phonenumbers", reason="the db extra (phonenumbers) is not installed")

from typer.testing import CliRunner

from topicprofile.cli import app
from topicprofile.db import ProfileDatabase, write_profiles
from topicprofile.db.audience import export_audience, select_audience
from topicprofile.db.exporters import GOOGLE_HEADER, KLAVIYO_HEADER, META_HEADER, SHOPIFY_HEADER
from topicprofile.db.filters import BoolOp, Compare, InList, Not, compile_filter, parse
from topicprofile.db.identifiers import clean_customers
from topicprofile.errors import ConfigError

HOSTILE_LABEL = "Can't; DROP TABLE profiles; --"


def _profile(cid: str, tags: dict[str, float], rfm: str, monetary: float) -> dict:
    return {
        "customer_id": cid, "top_interest": max(tags, key=tags.get) if tags else "", "interest_tags": list(tags),
        "interest_scores": tags, "rfm_segment": rfm, "segment_name": "Lapsed", "monetary": monetary,
        "recency_days": 30, "frequency": 2,
    }  # fmt: skip


@pytest.fixture
def db_path(tmp_path):
    path = tmp_path / "p.duckdb"
    profiles = pd.DataFrame([
        _profile("A", {"Outdoor": 0.7, "Coffee": 0.2}, "At Risk", 120.0),
        _profile("B", {"Outdoor": 0.25}, "Can't Lose", 80.0),
        _profile("C", {"Coffee": 0.9}, "At Risk", 300.0),
        _profile("D", {HOSTILE_LABEL: 0.8}, "Champions", 10.0),
        _profile("E", {"Outdoor": 0.6}, "Champions", 50.0),
    ])  # fmt: skip
    ids = pd.DataFrame({
        "customer_id": ["A", "B", "C", "D"], "email": [" John.Doe@Example.COM ", "b@shop.org", "", "=2+3@evil.com"],
        "phone": ["+1 415-555-2671", "", "+44 20 7946 0958", ""], "first_name": ["John", "=HYPERLINK(\"x\")", "Cem", "Dee"],
        "last_name": ["O'Neil", "B", "C", "D"], "accepts_email": ["yes", "no", "", "yes"],
    })  # fmt: skip
    write_profiles(path, profiles, identifiers=clean_customers(ids)[0])
    return path


def ids_of(path, where, **kw) -> list[str]:
    with ProfileDatabase(path, read_only=True) as db:
        return select_audience(db, where, **kw)["customer_id"].tolist()


# -- the language --------------------------------------------------------------------------------
def test_parse_precedence_quotes_and_keywords():
    tree = parse("interest = 'Outdoor' OR rfm_segment in ('At Risk', 'Can''t Lose') and NOT monetary >= 1e2")
    assert tree == BoolOp("or", (
        Compare("interest", "=", "Outdoor"),
        BoolOp("and", (InList("rfm_segment", ("At Risk", "Can't Lose")), Not(Compare("monetary", ">=", 100.0)))),
    ))  # fmt: skip
    assert parse("(score > 0.5)") == Compare("score", ">", 0.5)
    assert parse("segment_id not in (1, 2)") == InList("segment_id", (1, 2), negated=True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("'; drop table profiles; --", "unterminated string"),
        ("rfm_segment = 'x'; drop table profiles; --", "unexpected character ';'"),
        ("profiles = 1", "unknown column 'profiles'"),
        ("monetary > 'a lot'", "monetary is a number"),
        ("rfm_segment = 3", "takes 'quoted text'"),
        ("interest > 'Outdoor'", "interest takes =, != or in"),
        ("last_seen > 'yesterday'", "ISO date"),
        ("score > 1 and", "expected name, found the end"),
        ("(" * 200 + "score > 1" + ")" * 200, "nesting deeper"),
        ("score > 1 or " * 1000 + "score > 1", "at most"),
        ("   ", "empty"),
        ("score > 1 /* */", "unexpected character '/'"),
    ],
)
def test_bad_and_hostile_filters_are_one_config_error(text, message):
    with pytest.raises(ConfigError, match=message):
        parse(text)


def test_user_text_only_travels_as_parameters():
    sql, params = compile_filter(
        "interest = 'Can''t; DROP TABLE profiles; --' or rfm_segment = 'x'' OR 1=1 --'"
    )
    assert "DROP" not in sql and "1=1" not in sql and "'" not in sql
    assert params == [HOSTILE_LABEL, "x' OR 1=1 --"]


def test_filters_select_the_right_customers(db_path):
    assert ids_of(db_path, "interest = 'Outdoor' and rfm_segment in ('At Risk', 'Can''t Lose')") == ["A", "B"]
    assert ids_of(
        db_path, "interest = 'Outdoor' and rfm_segment in ('At Risk', 'Can''t Lose')", min_score=0.3
    ) == ["A"]
    assert ids_of(db_path, "not interest = 'Outdoor'") == ["C", "D"]
    assert ids_of(db_path, "monetary >= 100 or (score > 0.55 and rfm_segment = 'Champions')") == [
        "A",
        "C",
        "D",
        "E",
    ]
    assert ids_of(db_path, "accepts_email = 'yes'") == ["A", "D"]
    assert ids_of(db_path, None, min_score=0.65) == ["A", "C", "D"]


def test_a_hostile_tag_label_is_just_a_value(db_path):
    assert ids_of(db_path, "interest = 'Can''t; DROP TABLE profiles; --'") == ["D"]
    assert ids_of(db_path, "top_interest != 'none'") == ["A", "B", "C", "D", "E"]
    with ProfileDatabase(db_path, read_only=True) as db:
        assert db.counts()["profiles"] == 5


# -- destinations -------------------------------------------------------------------------------
def read(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_meta_and_google_hash_normalised_identifiers(db_path, tmp_path):
    email = hashlib.sha256(b"john.doe@example.com").hexdigest()
    export_audience(db_path, to="meta", out=tmp_path / "meta.csv", where="monetary > 100")
    meta = read(tmp_path / "meta.csv")
    assert tuple(meta.columns) == META_HEADER
    row = meta.iloc[0]
    assert row["email"] == email
    assert row["phone"] == hashlib.sha256(b"14155552671").hexdigest()  # Meta: digits with country code, no +
    assert (
        row["fn"] == hashlib.sha256(b"john").hexdigest() and row["ln"] == hashlib.sha256(b"oneil").hexdigest()
    )
    assert meta.iloc[1]["email"] == ""  # C has only a phone
    assert meta.iloc[1]["phone"] == hashlib.sha256(b"442079460958").hexdigest()
    export_audience(db_path, to="google", out=tmp_path / "google.csv", where="monetary > 100")
    google = read(tmp_path / "google.csv")
    assert tuple(google.columns) == GOOGLE_HEADER
    assert google.iloc[0]["Email"] == email
    assert google.iloc[0]["Phone"] == hashlib.sha256(b"+14155552671").hexdigest()  # Google: E.164 with +
    assert google.iloc[0]["Last Name"] == hashlib.sha256(b"o'neil").hexdigest()


def test_google_drops_dots_of_gmail_addresses(tmp_path):
    path = tmp_path / "p.duckdb"
    ids = clean_customers(pd.DataFrame({"customer_id": ["A"], "email": ["Jane.Doe@GMail.com"]}))[0]
    write_profiles(path, pd.DataFrame([_profile("A", {"Outdoor": 0.9}, "Champions", 1.0)]), identifiers=ids)
    export_audience(path, to="google", out=tmp_path / "g.csv")
    assert read(tmp_path / "g.csv")["Email"][0] == hashlib.sha256(b"janedoe@gmail.com").hexdigest()


def test_klaviyo_puts_identifiers_first_and_skips_the_unreachable(db_path, tmp_path):
    summary = export_audience(db_path, to="klaviyo", out=tmp_path / "k.csv")
    table = read(tmp_path / "k.csv")
    assert tuple(table.columns) == KLAVIYO_HEADER and list(table.columns[:2]) == ["Email", "Phone Number"]
    # B refused e-mail marketing and has no phone: a marketing list leaves B out
    assert table["Email"].tolist() == ["john.doe@example.com", "", "'=2+3@evil.com"]  # formula escaped
    assert json.loads(table["topicprofile_interests"][0]) == ["Outdoor", "Coffee"]
    assert summary["n_rows"] == 3
    assert summary["skipped"] == {"no e-mail or phone": 1, "no marketing consent": 1}
    assert read(tmp_path / "k.skipped.csv").to_dict(orient="records") == [
        {"customer_id": "E", "reason": "no e-mail or phone"},
        {"customer_id": "B", "reason": "no marketing consent"},
    ]


@pytest.mark.parametrize("to", ["klaviyo", "meta", "google"])
def test_marketing_lists_follow_consent_per_channel(tmp_path, to):
    path = tmp_path / "p.duckdb"
    profiles = pd.DataFrame([_profile(c, {"Outdoor": 0.7}, "At Risk", 10.0) for c in "PQRS"])
    ids = pd.DataFrame({
        "customer_id": list("PQRS"), "email": ["p@x.org", "q@x.org", "r@x.org", "s@x.org"],
        "phone": ["+14155550101", "+14155550102", "", "+14155550104"],
        "accepts_email": ["no", "yes", "", "no"], "accepts_sms": ["yes", "no", "", "no"],
    })  # fmt: skip
    write_profiles(path, profiles, identifiers=clean_customers(ids)[0])
    first = {"klaviyo": "Email", "meta": "email", "google": "Email"}[to]
    second = {"klaviyo": "Phone Number", "meta": "phone", "google": "Phone"}[to]

    def exported(**kw) -> tuple[list[str], list[str], dict]:
        summary = export_audience(path, to=to, out=tmp_path / f"{to}.csv", **kw)
        table = read(tmp_path / f"{to}.csv")
        return table[first].tolist(), table[second].tolist(), summary["skipped"]

    def h(text: str) -> str:
        return (
            text
            if to == "klaviyo"
            else hashlib.sha256(text.lstrip("+" if to == "meta" else "").encode()).hexdigest()
        )

    emails, phones, skipped = exported()
    # P: SMS only; Q: e-mail only; R: no flags (kept by default); S: refused both
    assert emails == ["", h("q@x.org"), h("r@x.org")] and phones == [h("+14155550101"), "", ""]
    assert skipped == {"no marketing consent": 1}
    emails, phones, skipped = exported(require_consent=True)
    assert emails == ["", h("q@x.org")] and phones == [h("+14155550101"), ""]
    assert skipped == {"no marketing consent": 2}


def test_shopify_header_tags_and_escaping(db_path, tmp_path):
    export_audience(db_path, to="shopify", out=tmp_path / "s.csv")
    text = (tmp_path / "s.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(SHOPIFY_HEADER)
    table = read(tmp_path / "s.csv")
    assert table["Tags"][0] == "Outdoor, Coffee, At Risk, Lapsed"
    assert table["First Name"][1] == '\'=HYPERLINK("x")'
    assert table["Accepts Email Marketing"].tolist() == ["yes", "no", "no", "yes"]


def test_shopify_caps_tags_and_splits_files_at_one_megabyte(tmp_path):
    path = tmp_path / "p.duckdb"
    tags = {f"interest number {k:03d}, with a comma and padding text": 0.5 for k in range(300)}
    profiles = pd.DataFrame([_profile(f"C{i:04d}", tags, "At Risk", 1.0) for i in range(120)])
    ids = clean_customers(
        pd.DataFrame(
            {"customer_id": profiles["customer_id"], "email": [f"c{i}@shop.org" for i in range(120)]}
        )
    )[0]
    write_profiles(path, profiles, identifiers=ids)
    summary = export_audience(path, to="shopify", out=tmp_path / "big.csv")
    files = [tmp_path / f"big.part{i}.csv" for i in range(1, len(summary["files"]) + 1)]
    assert len(files) >= 2 and [str(f) for f in files] == summary["files"]
    total = 0
    for f in files:
        assert f.stat().st_size <= 1_000_000
        part = read(f)
        assert tuple(part.columns) == SHOPIFY_HEADER
        tag_lists = part["Tags"].str.split(", ")
        assert tag_lists.map(len).max() == 250
        assert not any("," in t for tags_ in tag_lists for t in tags_)
        total += len(part)
    assert total == 120


def test_plain_csv_and_parquet(db_path, tmp_path):
    export_audience(
        db_path,
        to="csv",
        out=tmp_path / "a.csv",
        where="rfm_segment = 'At Risk'",
        columns=("customer_id", "interest_tags"),
    )
    assert read(tmp_path / "a.csv").to_dict(orient="records") == [
        {"customer_id": "A", "interest_tags": "Outdoor;Coffee"}, {"customer_id": "C", "interest_tags": "Coffee"},
    ]  # fmt: skip
    export_audience(db_path, to="parquet", out=tmp_path / "a.parquet")
    table = pd.read_parquet(tmp_path / "a.parquet")
    assert len(table) == 5 and list(table.loc[0, "interest_tags"]) == ["Outdoor", "Coffee"]


# -- deltas -------------------------------------------------------------------------------------
def test_since_last_exports_only_changed_customers(db_path, tmp_path):
    where = "rfm_segment in ('At Risk', 'Champions', 'Can''t Lose')"
    with pytest.raises(ConfigError, match="never exported"):
        export_audience(db_path, to="csv", out=tmp_path / "d0.csv", where=where, since="last")
    first = export_audience(db_path, to="csv", out=tmp_path / "d1.csv", where=where)
    assert first["n_rows"] == 5
    unchanged = export_audience(db_path, to="csv", out=tmp_path / "d2.csv", where=where, since="last")
    assert unchanged["n_rows"] == 0
    write_profiles(db_path, pd.DataFrame([_profile("C", {"Coffee": 0.9}, "Champions", 300.0),
                                           _profile("E", {"Outdoor": 0.6}, "Champions", 51.0)]))  # fmt: skip
    delta = export_audience(db_path, to="csv", out=tmp_path / "d3.csv", where=where, since="last")
    assert read(tmp_path / "d3.csv")["customer_id"].tolist() == [
        "C"
    ]  # E's money moved, not its tags or segment
    by_id = export_audience(
        db_path, to="csv", out=tmp_path / "d4.csv", where=where, since=str(first["export_id"])
    )
    assert by_id["n_rows"] == 1 and delta["export_id"] == by_id["export_id"] - 1


def test_audience_cli(db_path, tmp_path):
    runner = CliRunner()
    out = tmp_path / "o.csv"
    result = runner.invoke(app, ["audience", "--db", str(db_path), "--where", "interest = 'Outdoor'", "--min-score", "0.5",
                                 "--to", "klaviyo", "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert read(out)["Email"].tolist() == ["john.doe@example.com"]
    bad = runner.invoke(
        app, ["audience", "--db", str(db_path), "--where", "'; drop table profiles; --", "--out", str(out)]
    )
    assert bad.exit_code == 1 and "error: --where: unterminated string" in bad.output
    assert (
        runner.invoke(app, ["audience", "--db", str(db_path), "--to", "tiktok", "--out", str(out)]).exit_code
        == 2
    )
    history = runner.invoke(app, ["history", "--db", str(db_path), "--customer", "A", "--json"])
    assert history.exit_code == 0 and [r["label"] for r in json.loads(history.output)["history"]] == [
        "Outdoor",
        "Coffee",
    ]


# -- churn and value columns (tag --orders) -----------------------------------------------------
@pytest.fixture
def churn_db(tmp_path):
    """A with orders and at risk, B with orders and safe, C without orders (NULL columns)."""
    path = tmp_path / "churn.duckdb"
    profiles = pd.DataFrame([
        _profile("A", {"Jazz": 0.7}, "At Risk", 120.0) | {"p_alive": 0.31, "expected_orders_90d": 0.2, "clv_12m": 12.5, "churn_risk": True},
        _profile("B", {"Jazz": 0.6}, "Champions", 80.0) | {"p_alive": 0.93, "expected_orders_90d": 1.7, "clv_12m": 210.0, "churn_risk": False},
        _profile("C", {"Jazz": 0.8}, "At Risk", 50.0),
    ])  # fmt: skip
    ids = pd.DataFrame({"customer_id": ["A", "B", "C"], "email": ["a@x.org", "b@x.org", "c@x.org"]})
    write_profiles(path, profiles, identifiers=clean_customers(ids)[0])
    return path


def test_filters_on_churn_and_value(churn_db):
    assert ids_of(churn_db, "interest = 'Jazz' and churn_risk = 'yes'") == ["A"]
    assert ids_of(churn_db, "churn_risk = 'no'") == ["B"]  # C's flag is unknown: neither
    assert ids_of(churn_db, "p_alive < 0.5 or clv_12m >= 200") == ["A", "B"]
    assert ids_of(churn_db, "expected_orders_90d > 1") == ["B"]
    assert compile_filter("churn_risk = 'YES'")[1] == [True]
    for text, message in (("churn_risk = 'maybe'", "'yes' or 'no'"), ("churn_risk > 'no'", "takes =, != or in"),
                          ("clv_12m > 'high'", "clv_12m is a number")):  # fmt: skip
        with pytest.raises(ConfigError, match=message):
            parse(text)


def test_klaviyo_and_plain_exports_carry_churn_and_value(churn_db, tmp_path):
    export_audience(churn_db, to="klaviyo", out=tmp_path / "k.csv")
    table = read(tmp_path / "k.csv")
    assert tuple(table.columns) == (*KLAVIYO_HEADER, "topicprofile_p_alive", "topicprofile_expected_orders_90d",
                                    "topicprofile_clv_12m", "topicprofile_churn_risk")  # fmt: skip
    assert table["topicprofile_churn_risk"].tolist() == ["true", "false", ""]
    assert table["topicprofile_p_alive"].tolist() == ["0.31", "0.93", ""]
    assert table["topicprofile_clv_12m"].tolist() == ["12.5", "210.0", ""]
    export_audience(churn_db, to="klaviyo", out=tmp_path / "k2.csv", where="churn_risk = 'no'")
    assert read(tmp_path / "k2.csv")["topicprofile_churn_risk"].tolist() == ["false"]
    export_audience(churn_db, to="klaviyo", out=tmp_path / "k3.csv", where="monetary = 50")
    assert tuple(read(tmp_path / "k3.csv").columns) == KLAVIYO_HEADER  # C only: no values, no columns
    export_audience(churn_db, to="csv", out=tmp_path / "p.csv")
    plain = read(tmp_path / "p.csv")
    assert plain["churn_risk"].tolist() == ["True", "False", ""] and plain["clv_12m"].tolist()[:2] == [
        "12.5",
        "210.0",
    ]
    export_audience(churn_db, to="parquet", out=tmp_path / "p.parquet")
    frame = pd.read_parquet(tmp_path / "p.parquet")
    assert frame["p_alive"].tolist()[:2] == [0.31, 0.93] and pd.isna(frame["p_alive"][2])


def test_since_last_carries_a_customer_turning_at_risk(churn_db, tmp_path):
    where = "interest = 'Jazz'"
    export_audience(churn_db, to="csv", out=tmp_path / "d1.csv", where=where)
    turned = _profile("B", {"Jazz": 0.6}, "Champions", 80.0) | {
        "p_alive": 0.4,
        "expected_orders_90d": 0.3,
        "clv_12m": 150.0,
        "churn_risk": True,
    }
    drifted = _profile("A", {"Jazz": 0.7}, "At Risk", 120.0) | {
        "p_alive": 0.29,
        "expected_orders_90d": 0.1,
        "clv_12m": 10.0,
        "churn_risk": True,
    }
    write_profiles(churn_db, pd.DataFrame([turned, drifted]))  # fmt: skip
    delta = export_audience(churn_db, to="csv", out=tmp_path / "d2.csv", where=where, since="last")
    assert delta["n_rows"] == 1 and read(tmp_path / "d2.csv")["customer_id"].tolist() == ["B"]
