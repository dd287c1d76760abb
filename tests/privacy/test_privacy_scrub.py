"""PII scrubbing (issue 14): typed placeholders, real reviews with planted PII, no topic word from it."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from topicprofile import schema
from topicprofile.ingest.documents import build_documents
from topicprofile.privacy.names import NameScrubber
from topicprofile.privacy.scrub import luhn_ok, scrub_documents, scrub_text, scrub_texts
from topicprofile.text.tokenizer import SpacyTokenizer

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
AMAZON = SHARED_DATA / "en_amazon_reviews_4cats.csv.bz2"
ZH_SHOP = SHARED_DATA / "zh_shop_reviews_5cats.csv.bz2"

POSITIVES = [
    ("write to jane.doe84@example.com today", "EMAIL", "jane.doe84@example.com"),
    ("or J.Smith+shop@mail.co.uk.", "EMAIL", "J.Smith+shop@mail.co.uk"),
    ("call (555) 123-4567 after six", "PHONE", "(555) 123-4567"),
    ("call 555-987-6543 after six", "PHONE", "555-987-6543"),
    ("ring +1 415 555 2671 please", "PHONE", "+1 415 555 2671"),
    ("London office +44 20 7946 0958.", "PHONE", "+44 20 7946 0958"),
    ("UK mobile 07700 900123 ok", "PHONE", "07700 900123"),
    ("我的手机13812345678，谢谢", "PHONE", "13812345678"),
    ("手机 139-1234-5678 联系", "PHONE", "139-1234-5678"),
    ("电话+86 139 1234 5678", "PHONE", "+86 139 1234 5678"),
    ("座机010-62345678找我", "PHONE", "010-62345678"),
    ("paid with 4111 1111 1111 1111 yesterday", "CARD", "4111 1111 1111 1111"),
    ("card 5555-5555-5555-4444 was charged", "CARD", "5555-5555-5555-4444"),
    ("amex 378282246310005 works", "CARD", "378282246310005"),
    ("my router is 192.168.1.20 now", "IP", "192.168.1.20"),
    ("v6 2001:db8::8a2e:370:7334 too", "IP", "2001:db8::8a2e:370:7334"),
    ("I live at 221B Baker Street, London", "ADDRESS", "221B Baker Street"),
    ("ship to 1600 Pennsylvania Ave NW please", "ADDRESS", "1600 Pennsylvania Ave NW"),
    ("寄到上海市南京东路100号3楼吧", "ADDRESS", "南京东路100号3楼"),
    ("see https://shop.example.com/item?id=12345&uid=998 there", "URL", "uid=998"),
    ("see www.example.com/track?email=a%40b.com&t=9 there", "URL", "a%40b.com"),
]

NEGATIVES = [
    "Paid $1,299.99 for it, then $19.99 for the case.",
    "Arrived on 2023-05-12, ordered 12/05/2023 at 10:30:45.",
    "Order #123456789012 and order 4111111111111111 are mine.",
    "Tracking number 1Z999AA10123456784, ref 0123456789.",
    "Bought in 1999, again in 2019-2023, ISBN 978-3-16-148410-0.",
    "Size 10.5, 5 stars, 100% cotton, 2 x 500ml, 1,000,000 units, firmware 1.0.5.0.",
    "Screen 1680x1050, 250 cd/m2, model SDSDH-002G-A11, part CSK-150-1500.",
    "Card 4111-1111-1111-1112 fails the Luhn check.",
    "A plain link https://shop.example.com/boots stays.",
    "订单号：50778795174，重量2216克，价格4999元。",
]


@pytest.mark.parametrize(("text", "kind", "secret"), POSITIVES)
def test_scrub_replaces_each_kind(text, kind, secret):
    out, counts = scrub_texts([text])
    assert secret not in out[0]
    assert f"<{kind}>" in out[0]
    assert counts[kind] == 1
    assert sum(counts.values()) == 1, out[0]


@pytest.mark.parametrize("text", NEGATIVES)
def test_scrub_leaves_prices_dates_order_numbers_years(text):
    out, counts = scrub_texts([text])
    assert out == [text]
    assert sum(counts.values()) == 0


def test_scrub_luhn():
    assert luhn_ok("4111111111111111") and luhn_ok("378282246310005")
    assert not luhn_ok("4111111111111112")


def test_scrub_texts_keeps_missing_values_and_reports_every_kind():
    out, counts = scrub_texts(["", None, "ok"])
    assert out == ["", None, "ok"]
    assert counts == {"URL": 0, "EMAIL": 0, "IP": 0, "CARD": 0, "PHONE": 0, "ADDRESS": 0}


# -- real reviews with planted PII ----------------------------------------------------------------
PLANTED = [
    "jane.doe84@example.com",
    "m.chen@shop-mail.cn",
    "(555) 123-4567",
    "+44 20 7946 0958",
    "13812345678",
    "+86 139 1234 5678",
    "4111 1111 1111 1111",
    "192.168.1.20",
    "221B Baker Street",
]
KEPT = ["$1,299.99", "2023-05-12", "order #123456789012", "in 1999"]


def _planted_reviews(n: int = 300, *, plant: bool = True) -> tuple[pd.DataFrame, list[str]]:
    """``n`` real reviews; every third carries personal data (or, with ``plant=False``, nothing in
    its place) and a harmless number."""
    if not AMAZON.exists():
        pytest.skip(f"real reviews not found: {AMAZON}")
    reviews = pd.read_csv(AMAZON).sample(n=n, random_state=7).reset_index(drop=True)
    rng = random.Random(7)
    texts = (reviews["title"].fillna("") + ". " + reviews["text"].fillna("")).tolist()
    for i in range(0, n, 3):
        pii, harmless = PLANTED[(i // 3) % len(PLANTED)], KEPT[(i // 3) % len(KEPT)]
        texts[i] = f"{texts[i]} Reach me at {pii if plant else ''} if needed, paid {harmless}."
    customers = [f"C{rng.randrange(40):03d}" for _ in range(n)]
    return pd.DataFrame({schema.CUSTOMER_ID: customers, schema.TEXT: texts}), texts


def test_scrub_real_reviews_with_planted_pii():
    _, texts = _planted_reviews()
    out, counts = scrub_texts(texts)
    joined = "\n".join(out)
    for pii in PLANTED:
        assert pii not in joined
    for harmless in KEPT:
        assert harmless in joined
    planted_per_kind = {"EMAIL": 2, "PHONE": 4, "CARD": 1, "IP": 1, "ADDRESS": 1}
    for kind, n_values in planted_per_kind.items():
        assert counts[kind] >= n_values * (100 // len(PLANTED))


def test_scrub_documents_keeps_other_columns():
    docs = pd.DataFrame({schema.CUSTOMER_ID: ["a", "b"], schema.TEXT: ["mail x@y.com", "fine"], "row": [1, 2]})
    out, counts = scrub_documents(docs)
    assert out[schema.TEXT].tolist() == ["mail <EMAIL>", "fine"]
    assert out["row"].tolist() == [1, 2] and docs[schema.TEXT][0] == "mail x@y.com"
    assert counts["EMAIL"] == 1


def test_build_documents_scrubs_by_default_and_counts():
    reviews = pd.DataFrame({schema.CUSTOMER_ID: ["a", "b"], schema.TEXT: ["call 555-987-6543", "mail x@y.com"]})
    docs = build_documents(reviews)
    assert docs[schema.TEXT].tolist() == ["call <PHONE>", "mail <EMAIL>"]
    assert docs.attrs["scrub_counts"]["PHONE"] == 1
    raw = build_documents(reviews, scrub=False)
    assert raw[schema.TEXT].tolist() == ["call 555-987-6543", "mail x@y.com"]


@pytest.mark.parametrize("lang", ["en", "zh", "auto"])
def test_tokenizer_drops_placeholders_not_the_words(lang):
    tokens = SpacyTokenizer(lang=lang).tokenize(["Reach <EMAIL> or <PHONE>, <CARD> <IP> <ADDRESS> <URL> <PERSON>: phone case"])
    assert tokens[0].count("phone") == 1  # the word of "phone case", not the placeholder
    assert not {"email", "card", "ip", "address", "url", "person"} & set(tokens[0])


def test_fit_on_planted_pii_has_no_placeholder_or_pii_in_dictionary(tmp_path):
    from topicprofile.profiler import TopicProfiler

    frame, _ = _planted_reviews()
    tp = TopicProfiler(n_topics=4, random_state=0, phrases=True, no_below=2, passes=2, keep_texts="all").fit(reviews=frame)
    words = {part for word in tp.dictionary_.token2id for part in word.split("_")}  # phrases: a_b
    _, clean_texts = _planted_reviews(plant=False)  # the same reviews with no personal data at all
    clean_vocabulary = {t for tokens in tp.tokenizer_.tokenize(clean_texts) for t in tokens}
    assert words <= clean_vocabulary, words - clean_vocabulary  # no placeholder word, no PII fragment
    digits = {p for pii in PLANTED for p in re.split(r"\D+", pii) if p}
    assert not digits & set(tp.dictionary_.token2id)
    tp.save(str(tmp_path / "model"))
    blob = b"".join(p.read_bytes() for p in (tmp_path / "model").rglob("*") if p.is_file())
    for pii in PLANTED:
        assert pii.encode() not in blob
    stored = pd.read_parquet(next((tmp_path / "model").rglob("documents.parquet")))
    assert stored[schema.TEXT].str.contains("<EMAIL>", regex=False).sum() >= 2 * (100 // len(PLANTED))
    assert not stored[schema.TEXT].str.contains("jane.doe84", regex=False).any()


def test_scrub_real_chinese_reviews_finds_phone_numbers():
    if not ZH_SHOP.exists():
        pytest.skip(f"real reviews not found: {ZH_SHOP}")
    texts = pd.read_csv(ZH_SHOP)["text"].fillna("").tolist()
    out, counts = scrub_texts(texts)
    changed = [t for a, t in zip(texts, out, strict=True) if a != t]
    assert counts["PHONE"] >= 15  # real customers post their mobile numbers in reviews
    left = [m for t in out for m in re.finditer(r"(\S{0,4})(?<!\d)1[3-9]\d{9}(?!\d)", t)]
    assert all("订单号" in m.group(1) for m in left)  # only order numbers that look like mobiles stay
    assert len(changed) < 40  # of 34,510: scrubbing is targeted


# -- names (the privacy extra) ----------------------------------------------------------------------
# (the fixture ner_pipeline: tests/privacy/conftest.py)


@pytest.mark.privacy_extra
def test_scrub_names_with_presidio_offline(ner_pipeline):
    path = ner_pipeline
    names = NameScrubber(path)
    out, counts = scrub_texts(["Great boots, says John Smith; call 555-987-6543.", "No names here."], names=names)
    assert out == ["Great boots, says <PERSON>; call <PHONE>.", "No names here."]
    assert counts["PERSON"] == 1 and counts["PHONE"] == 1


@pytest.mark.privacy_extra
def test_scrub_names_in_real_reviews_with_presidio(monkeypatch, ner_pipeline):
    """Names planted in real reviews are replaced; Presidio makes no network call (every socket refused)."""
    path = ner_pipeline
    import socket

    def refuse(*args, **kwargs):
        raise OSError("network call attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    _, texts = _planted_reviews(60, plant=False)
    signed = [f"{t} Thanks, Margaret Thompson" if i % 4 == 0 else t for i, t in enumerate(texts)]
    out, counts = scrub_texts(signed, names=NameScrubber(path))
    assert not any("Margaret" in t or "Thompson" in t for t in out)
    assert counts["PERSON"] >= 15  # the 15 planted names, and any the reviews had
    assert sum("<PERSON>" in t for t in out[::4]) == 15


def test_scrub_names_model_path_must_be_a_pipeline(tmp_path):
    from topicprofile.errors import ConfigError

    with pytest.raises(ConfigError, match="not a saved spaCy pipeline"):
        scrub_texts(["John Smith"], names=NameScrubber(tmp_path))


def test_scrub_text_doc_example():
    assert scrub_text("Mail jo@example.com or call +44 20 7946 0958, order 12345678") == (
        "Mail <EMAIL> or call <PHONE>, order 12345678"
    )


def test_cli_fit_tag_batch_update_write_no_planted_pii(tmp_path):
    """fit, tag, batch and update with default options: no planted personal data in any file they write
    (documents.parquet, profiles, rejects — a rejected duplicate row carries PII too)."""
    from typer.testing import CliRunner

    from topicprofile.cli import app

    frame, _ = _planted_reviews(240)
    again = pd.DataFrame({schema.CUSTOMER_ID: ["C999"] * 2, schema.TEXT: ["Text me on 13812345678, great kettle."] * 2})
    frame = pd.concat([frame, again], ignore_index=True)  # the duplicate is rejected: PII in rejects.csv
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    frame.to_csv(inbox / "reviews.csv", index=False)
    runner = CliRunner()
    model, outputs = tmp_path / "written" / "model", tmp_path / "written"
    steps = [
        ["fit", "-m", str(model), "-r", str(inbox / "reviews.csv"), "-k", "4", "--passes", "2", "--quiet"],
        ["tag", "-m", str(model), "-r", str(inbox / "reviews.csv"), "-o", str(outputs / "profiles.csv"), "--quiet"],
        ["batch", "-m", str(model), "-i", str(inbox), "-o", str(outputs / "batch"), "--quiet"],
        ["update", "-m", str(model), "-r", str(inbox / "reviews.csv"), "--db", str(outputs / "p.duckdb"), "--quiet"],
    ]
    for args in steps:
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args[0], result.output)
    written = [p for p in outputs.rglob("*") if p.is_file()]
    assert any(p.name == "rejects.csv" for p in written) and any(p.name == "documents.parquet" for p in written)
    assert len([p for p in (model / "versions").iterdir() if p.name.isdigit()]) == 2  # update's version
    for path in written:
        blob = path.read_bytes().decode("utf-8", "replace")
        if path.suffix == ".parquet":
            stored = pd.read_parquet(path)
            blob += "\n".join(stored[c].astype(str).str.cat(sep="\n") for c in stored.columns)
        if path.suffix == ".duckdb":  # compressed on disk: read every table
            import duckdb

            with duckdb.connect(str(path), read_only=True) as con:
                tables = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
                blob += "\n".join(con.execute(f'SELECT * FROM "{t}"').df().astype(str).to_csv() for t in tables)
        leaked = [pii for pii in PLANTED if pii in blob]
        assert not leaked, f"{path.name} holds {leaked}"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789 +-().@:/?=#abcXYZ号路街\n")), max_size=60) | st.text(max_size=60))
def test_scrub_never_raises_and_is_idempotent(text):
    once, _ = scrub_texts([text])
    twice, counts = scrub_texts(once)
    assert twice == once and sum(counts.values()) == 0
