"""Tests for the ingest stage: topicprofile.ingest.load and topicprofile.ingest.files."""

from __future__ import annotations

import gzip
import json
import logging
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from topicprofile import schema
from topicprofile.errors import ConfigError, DataValidationError
from topicprofile.ingest.load import (
    LoadResult,
    clean_browsing,
    clean_orders,
    clean_reviews,
    load_browsing,
    load_orders,
    load_reviews,
    parse_column_map,
    read_table,
    rejects_path_for,
    write_rejects,
)
from topicprofile.ingest.values import clean_text, parse_timestamps

REVIEW_ROWS = [
    {"customer_id": "007", "text": "Great value", "timestamp": "2024-03-05", "rating": "5"},
    {"customer_id": "008", "text": "NA", "timestamp": "", "rating": ""},
]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def reviews_frame(texts: list[str], ids: list[str] | None = None, **extra: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": ids or ["c1"] * len(texts), "text": texts, **extra})


def reasons(result: LoadResult) -> list[tuple[int, str]]:
    return list(zip(result.rejects[schema.ROW].tolist(), result.rejects["reason"].tolist()))


# -- read_table: formats --------------------------------------------------------------------


def _csv(path: Path) -> None:
    pd.DataFrame(REVIEW_ROWS).to_csv(path, index=False)


def _tsv(path: Path) -> None:
    pd.DataFrame(REVIEW_ROWS).to_csv(path, index=False, sep="\t")


def _jsonl(path: Path) -> None:
    path.write_text("\n".join(json.dumps(r) for r in REVIEW_ROWS) + "\n", encoding="utf-8")


def _json_array(path: Path) -> None:
    path.write_text(json.dumps(REVIEW_ROWS), encoding="utf-8")


def _parquet(path: Path) -> None:
    pd.DataFrame(REVIEW_ROWS).to_parquet(path)


def _csv_gz(path: Path) -> None:
    path.write_bytes(gzip.compress(pd.DataFrame(REVIEW_ROWS).to_csv(index=False).encode()))


def _txt_tabs(path: Path) -> None:
    _tsv(path)


@pytest.mark.parametrize(
    ("name", "writer"),
    [
        ("r.csv", _csv), ("r.tsv", _tsv), ("r.jsonl", _jsonl), ("r.ndjson", _jsonl),
        ("r.json", _json_array), ("r.json", _jsonl), ("r.parquet", _parquet),
        ("r.csv.gz", _csv_gz), ("r.txt", _txt_tabs),
    ],
)  # fmt: skip
def test_loaders_read_table_formats(tmp_path: Path, name: str, writer: Callable[[Path], None]) -> None:
    path = tmp_path / name
    writer(path)
    table = read_table(path)
    assert table.columns.tolist() == ["customer_id", "text", "timestamp", "rating"]
    assert table["customer_id"].tolist() == ["007", "008"]
    assert table["text"].tolist() == ["Great value", "NA"]  # "NA" stays text
    assert table["rating"].tolist() == ["5", ""]  # "" stays ""


def test_loaders_read_table_jsonl_numbers_become_clean_strings(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", '{"customer_id": 7, "text": "hi", "rating": 4.0}\n'
                 '{"customer_id": "007", "text": "yo", "rating": null}\n')  # fmt: skip
    table = read_table(path)
    assert table["customer_id"].tolist() == ["7", "007"]
    assert table["rating"].tolist() == ["4", ""]


def test_loaders_read_table_txt_whitespace_separated(tmp_path: Path) -> None:
    # the layout of ../shared/data/cdnow_transactions.txt
    text = " customer_id  date number_of_cds  dollar_value\n 00001 19970101  1  11.77\n"
    path = write(tmp_path / "t.txt", text)
    table = read_table(path)
    assert table.columns.tolist() == ["customer_id", "date", "number_of_cds", "dollar_value"]
    assert table.iloc[0].tolist() == ["00001", "19970101", "1", "11.77"]


def test_loaders_read_table_semicolon_csv(tmp_path: Path) -> None:
    table = read_table(write(tmp_path / "r.csv", "customer_id;text\n1;a,b\n"))
    assert table["text"].tolist() == ["a,b"]


# -- read_table: encodings ------------------------------------------------------------------


def test_loaders_utf8_bom_gives_clean_first_column(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "\ufeffcustomer_id,text\n1,hello\n")
    assert read_table(path).columns[0] == "customer_id"
    assert load_reviews(path).data["customer_id"].tolist() == ["1"]


def test_loaders_gb18030_detected_with_chinese_intact(tmp_path: Path) -> None:
    text = "customer_id,text\n1,质量很好，物流也快！\n2,不错\n"
    path = write(tmp_path / "r.csv", text, "gb18030")
    assert load_reviews(path).data["text"].tolist() == ["质量很好,物流也快!", "不错"]


def test_loaders_cp1252_not_mistaken_for_chinese(tmp_path: Path) -> None:
    # These bytes also decode as GB18030 ("Gr鲞e"), which must not win.
    path = write(tmp_path / "r.csv", "customer_id,text\n1,Größe passt schöne Qualität\n", "cp1252")
    assert read_table(path)["text"].tolist() == ["Größe passt schöne Qualität"]


def test_loaders_explicit_wrong_encoding_error(tmp_path: Path) -> None:
    path = write(tmp_path / "reviews.csv", "customer_id,text\n1,中文评论\n", "gb18030")
    expected = (
        "reviews.csv: cannot decode as 'utf-8' (byte 0xd6 at position 19, line 2). "
        "Try --encoding gb18030."
    )
    with pytest.raises(DataValidationError, match=re.escape(expected)):
        read_table(path, encoding="utf-8")


def test_loaders_explicit_encoding_honoured(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "customer_id,text\n1,café\n", "latin-1")
    assert read_table(path, encoding="latin-1")["text"].tolist() == ["café"]


def test_loaders_unknown_encoding_name(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "customer_id,text\n1,a\n")
    with pytest.raises(ConfigError, match="unknown encoding 'klingon'"):
        read_table(path, encoding="klingon")


# -- read_table: file errors ----------------------------------------------------------------


def test_loaders_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="reviews.csv: file not found"):
        read_table(tmp_path / "reviews.csv")


def test_loaders_directory_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(DataValidationError, match="d.csv: is a directory"):
        read_table(tmp_path / "d.csv")


@pytest.mark.parametrize("content", ["", "\n\n", "customer_id,text\n", "customer_id,text"])
def test_loaders_empty_or_header_only_file(tmp_path: Path, content: str) -> None:
    with pytest.raises(DataValidationError, match="reviews.csv: no data rows"):
        load_reviews(write(tmp_path / "reviews.csv", content))


def test_loaders_empty_jsonl_and_parquet(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="no data rows"):
        read_table(write(tmp_path / "r.jsonl", "\n"))
    pd.DataFrame({"customer_id": pd.Series([], dtype=str)}).to_parquet(tmp_path / "r.parquet")
    with pytest.raises(DataValidationError, match="r.parquet: no data rows"):
        read_table(tmp_path / "r.parquet")


def test_loaders_unsupported_extension(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match=r"unsupported file type '\.xlsx'.*\.csv.*CSV UTF-8"):
        read_table(write(tmp_path / "r.xlsx", "x"))


def test_loaders_malformed_csv_names_line(tmp_path: Path) -> None:
    path = write(tmp_path / "reviews.csv", "customer_id,text\n1,a\n2,b,c,d\n")
    with pytest.raises(DataValidationError, match="reviews.csv: malformed file at line 3"):
        read_table(path)


def test_loaders_malformed_jsonl_names_line(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", '{"customer_id": "1", "text": "a"}\n{"customer_id": 2,\n')
    with pytest.raises(DataValidationError, match="r.jsonl: malformed JSON at line 2"):
        read_table(path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("r.jsonl", '{"a": 1}\n[1, 2]\n', "malformed JSON at line 2: expected one JSON object per line"),
        ("r.json", '["a"]', "r.json: malformed JSON: expected an array of JSON objects"),
    ],
)
def test_loaders_json_must_hold_objects(tmp_path: Path, name: str, content: str, message: str) -> None:
    with pytest.raises(DataValidationError, match=re.escape(message)):
        read_table(write(tmp_path / name, content))


def test_loaders_not_parquet(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="r.parquet: not a valid Parquet file"):
        read_table(write(tmp_path / "r.parquet", "customer_id,text\n1,a\n"))


def test_loaders_bad_gzip(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="r.csv.gz: not a valid .gz file"):
        read_table(write(tmp_path / "r.csv.gz", "customer_id,text\n1,a\n"))


# -- column mapping -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("text=review_body,customer_id=user_id", {"text": "review_body", "customer_id": "user_id"}),
        (" text = Review Body , ", {"text": "Review Body"}),
        ("", {}),
        (None, {}),
        ({"amount": "total"}, {"amount": "total"}),
    ],
)
def test_loaders_parse_column_map(spec: object, expected: dict[str, str]) -> None:
    assert parse_column_map(spec) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("text", "not of the form standard=column"),
        ("body=text", "unknown standard column 'body'.*Accepted names: customer_id, text"),
        ("text=", "no column given for 'text'"),
    ],
)
def test_loaders_parse_column_map_errors(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_column_map(spec)


def test_loaders_column_map_from_spec_string(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "user_id,review_body,text\n9,mapped,not this one\n")
    result = load_reviews(path, columns="text=review_body,customer_id=user_id")
    assert result.data[["customer_id", "text"]].values.tolist() == [["9", "mapped"]]
    assert result.source == "r.csv"


def test_loaders_missing_column_message(tmp_path: Path) -> None:
    path = write(tmp_path / "reviews.csv", "id,body,date\n1,a,2024-01-01\n")
    expected = (
        "reviews.csv: required columns 'customer_id', 'text' are missing (found: id, body, date). "
        "Map them with --columns customer_id=<your column>,text=<your column>."
    )
    with pytest.raises(DataValidationError) as info:
        load_reviews(path)
    assert str(info.value) == expected
    expected = (
        "reviews.csv: required column 'text' is missing (found: id, body, date). "
        "Map it with --columns text=<your column>."
    )
    with pytest.raises(DataValidationError, match=f"^{re.escape(expected)}$"):
        load_reviews(path, columns="customer_id=id")


def test_loaders_mapped_column_must_exist() -> None:
    with pytest.raises(DataValidationError, match="column 'body' \\(mapped to 'text'\\) does not exist"):
        clean_reviews(reviews_frame(["a"]), columns={"text": "body"})


@pytest.mark.parametrize(
    ("header", "matches"), [("Customer_ID", True), (" CUSTOMER_ID ", True), ("Customer ID", False)]
)
def test_loaders_column_names_match_ignoring_case(header: str, matches: bool) -> None:
    frame = pd.DataFrame({header: ["1"], "Text": ["hello"]})
    if matches:
        assert clean_reviews(frame).data["customer_id"].tolist() == ["1"]
    else:
        with pytest.raises(DataValidationError, match="'customer_id' is missing"):
            clean_reviews(frame)


def test_loaders_ambiguous_column_names() -> None:
    frame = pd.DataFrame({"Text": ["a"], "TEXT": ["b"], "customer_id": ["1"]})
    with pytest.raises(DataValidationError, match="several columns match 'text' \\(Text, TEXT\\)"):
        clean_reviews(frame)


def test_loaders_empty_dataframe() -> None:
    with pytest.raises(DataValidationError, match="^<DataFrame>: no data rows"):
        clean_orders(pd.DataFrame({"customer_id": []}))


# -- reviews: rejects and cleaning ----------------------------------------------------------


def test_loaders_empty_text_rejected_with_row_number() -> None:
    result = clean_reviews(reviews_frame(["good", "  <br/> ", "fine"], ["a", "b", "c"]))
    assert result.data["row"].tolist() == [1, 3]
    assert result.rejects.columns.tolist() == list(schema.REJECT_COLUMNS)
    assert result.rejects.iloc[0].tolist() == ["<DataFrame>", 2, "text", "empty text", "  <br/> "]
    assert result.n_rejected == 1 and result.n_read == 3


def test_loaders_duplicate_rejected_with_first_row() -> None:
    frame = reviews_frame(["Nice  shoes", "other", "Nice shoes", "Nice shoes"], ["a", "a", "a", "b"])
    result = clean_reviews(frame)
    assert reasons(result) == [(3, "duplicate of row 1")]
    assert result.data["row"].tolist() == [1, 2, 4]


def test_loaders_unparseable_timestamp_rejected() -> None:
    frame = reviews_frame(["a", "b", "c"], ["1", "2", "3"], timestamp=["2024-03-05", "", "next tuesday-ish"])
    result = clean_reviews(frame)
    assert reasons(result) == [(3, "unparseable timestamp")]
    assert result.data["timestamp"].isna().tolist() == [False, True]


def test_loaders_row_keeps_only_first_reason() -> None:
    result = clean_reviews(reviews_frame(["", "ok"], ["", "1"]))
    assert reasons(result) == [(1, "missing customer id")]


def test_loaders_all_rows_rejected_is_an_error() -> None:
    expected = "reviews.csv: all 2 rows were rejected (2 empty text)."
    with pytest.raises(DataValidationError, match=f"^{re.escape(expected)}$"):
        clean_reviews(reviews_frame(["", " "], ["1", "2"]), source="reviews.csv")


def test_loaders_aggregated_warning(caplog: pytest.LogCaptureFixture) -> None:
    frame = reviews_frame(["a", "", "a", "b"], rating=["5", "x", "1", "great"])
    with caplog.at_level(logging.WARNING, logger="topicprofile.ingest.load"):
        clean_reviews(frame, source="reviews.csv")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "reviews.csv: 2 of 4 rows rejected (1 empty text, 1 duplicate); see the rejects file; "
        "1 non-numeric rating set to NaN"
    ]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Fish &amp; chips", "Fish & chips"),
        ("Fish &amp;amp; chips", "Fish & chips"),
        ("line one<br/>line two", "line one line two"),
        ("<p>Very <b>good</b></p>", "Very good"),
        ("&lt;b&gt;bold&lt;/b&gt; move", "bold move"),
        ("a<script>alert(1)</script>b<style>p {}</style>c", "a b c"),
        ("x <!-- hidden --> y", "x y"),
        ("I <3 it, 1 < 2 > 0", "I <3 it, 1 < 2 > 0"),
        ("  tabs\tand\nnew\u3000lines\u00a0here  ", "tabs and new lines here"),
        ("ＡＢＣ１２３", "ABC123"),
        ("中文评论，很好！", "中文评论,很好!"),
        ("", ""),
    ],
)
def test_loaders_clean_text(raw: str, clean: str) -> None:
    assert clean_text(pd.Series([raw], dtype="str")).tolist() == [clean]


@pytest.mark.parametrize(
    "ids",
    [
        pd.Series(["007", " 0123 "]),
        pd.Series([7, 123]),
        pd.Series([7.0, 123.0]),
        pd.Series([7, 123], dtype="Int64"),
    ],
)
def test_loaders_customer_ids_are_clean_strings(ids: pd.Series) -> None:
    result = clean_reviews(pd.DataFrame({"customer_id": ids, "text": ["a", "b"]}))
    assert result.data["customer_id"].tolist() in (["007", "0123"], ["7", "123"])


def test_loaders_parquet_int_ids_with_nulls(tmp_path: Path) -> None:
    pd.DataFrame({"customer_id": [7, None], "text": ["a", "b"]}).to_parquet(tmp_path / "r.parquet")
    result = load_reviews(tmp_path / "r.parquet")
    assert result.data["customer_id"].tolist() == ["7"]
    assert reasons(result) == [(2, "missing customer id")]


def test_loaders_reviews_standard_table() -> None:
    frame = pd.DataFrame(
        {"customer_id": ["1", "2"], "text": ["a", "b"], "rating": ["4,5", "five"], "extra": ["x", "y"]}
    )
    data = clean_reviews(frame).data
    assert data.columns.tolist() == ["customer_id", "text", "timestamp", "rating", "product", "row", "source"]
    assert str(data["timestamp"].dtype) == "datetime64[ns]"
    assert data["rating"].tolist()[0] == 4.5 and np.isnan(data["rating"].tolist()[1])
    assert data["product"].tolist() == ["", ""]
    assert data["row"].dtype == np.int64


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-03-05", "2024-03-05 00:00:00"),
        ("2024-03-05 10:00", "2024-03-05 10:00:00"),
        ("2024/03/05", "2024-03-05 00:00:00"),
        ("2024-03-05T10:00:00+02:00", "2024-03-05 08:00:00"),
        ("1709632800", "2024-03-05 10:00:00"),
        ("19970101", "1997-01-01 00:00:00"),
    ],
)
def test_loaders_timestamp_formats(raw: str, expected: str) -> None:
    parsed, bad = parse_timestamps(pd.Series([raw, "2024-01-01"]))
    assert str(parsed[0]) == expected and not bad.any()


def test_loaders_timestamp_mixed_formats_and_garbage() -> None:
    raw = ["2024/03/05", "2024/03/06 10:00", "5", "now", "", "9999-01-01"]
    parsed, bad = parse_timestamps(pd.Series(raw))
    assert parsed[:2].astype(str).tolist() == ["2024-03-05 00:00:00", "2024-03-06 10:00:00"]
    assert bad.tolist() == [False, False, True, True, False, True]


def test_loaders_tz_aware_datetime_column_to_utc() -> None:
    stamps = pd.Series(pd.to_datetime(["2024-03-05 10:00"]).tz_localize("Asia/Shanghai"))
    data = clean_reviews(pd.DataFrame({"customer_id": ["1"], "text": ["a"], "timestamp": stamps})).data
    assert str(data["timestamp"].dtype) == "datetime64[ns]"
    assert str(data["timestamp"][0]) == "2024-03-05 02:00:00"


# -- browsing -------------------------------------------------------------------------------


def test_loaders_browsing_built_from_title_query_url() -> None:
    frame = pd.DataFrame({
        "customer_id": ["1", "1", "2", "3"],
        "title": ["Red &amp; blue shoes", "", "", ""],
        "query": ["running", "sandals", "", ""],
        "url": ["https://shop.example/shoes?id=1", "", "https://shop.example/p/42", ""],
    })  # fmt: skip
    result = clean_browsing(frame)
    data = result.data
    assert data.columns.tolist() == [
        "customer_id", "timestamp", "text", "title", "query", "url", "row", "source",
    ]  # fmt: skip
    assert data["text"].tolist() == ["Red & blue shoes running", "sandals", ""]
    assert data["url"].tolist() == ["https://shop.example/shoes?id=1", "", "https://shop.example/p/42"]
    assert reasons(result) == [(4, "no text, title, query or url")]
    assert result.rejects["column"].tolist() == ["title|query|url"]


def test_loaders_browsing_repeat_visits_kept_exact_duplicates_rejected() -> None:
    frame = pd.DataFrame({
        "customer_id": ["1", "1", "1"], "url": ["/p/1", "/p/1", "/p/1"],
        "timestamp": ["2024-03-05 10:00", "2024-03-06 10:00", "2024-03-05 10:00"],
    })  # fmt: skip
    assert reasons(clean_browsing(frame)) == [(3, "duplicate of row 1")]


def test_loaders_browsing_needs_a_content_column() -> None:
    expected = (
        "b.csv: needs at least one of the columns 'text', 'title', 'query', 'url' (found: customer_id, ts)."
    )
    with pytest.raises(DataValidationError, match=re.escape(expected)):
        clean_browsing(pd.DataFrame({"customer_id": ["1"], "ts": ["x"]}), source="b.csv")


def test_loaders_load_browsing_jsonl(tmp_path: Path) -> None:
    path = write(tmp_path / "events.jsonl", '{"user": "u1", "page_title": "Tea set", "url": "/tea"}\n')
    result = load_browsing(path, columns="customer_id=user,title=page_title")
    row = result.data[["customer_id", "text", "url", "source"]].values.tolist()
    assert row == [["u1", "Tea set", "/tea", "events.jsonl"]]


# -- orders ---------------------------------------------------------------------------------


def orders_frame(amounts: list[str], **extra: list[str]) -> pd.DataFrame:
    n = len(amounts)
    return pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(n)], "order_id": [f"o{i}" for i in range(n)],
        "timestamp": ["2024-03-05"] * n, "amount": amounts, **extra,
    })  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "amount"),
    [("$1,234.50", 1234.5), ("1234.5", 1234.5), ("€ 12,50", 12.5), ("1.234,56", 1234.56),
     ("￥88", 88.0), ("£0", 0.0), (" 7 ", 7.0)],
)  # fmt: skip
def test_loaders_orders_amount_parsing(raw: str, amount: float) -> None:
    assert clean_orders(orders_frame([raw])).data["amount"].tolist() == [amount]


def test_loaders_orders_bad_amounts_rejected() -> None:
    result = clean_orders(orders_frame(["10", "-3", "abc", ""]))
    assert reasons(result) == [(2, "negative amount"), (3, "non-numeric amount"), (4, "non-numeric amount")]
    assert result.rejects["value"].tolist() == ["-3", "abc", ""]


def test_loaders_orders_standard_table_and_reasons() -> None:
    frame = orders_frame(["1", "2", "3", "4", "5"], status=[" Cancelled ", "PAID", "", "x", "x"])
    frame.loc[1, "order_id"] = ""
    frame.loc[2, "timestamp"] = ""
    frame.loc[3, "timestamp"] = "soon"
    result = clean_orders(frame)
    assert reasons(result) == [
        (2, "missing order id"), (3, "missing timestamp"), (4, "unparseable timestamp"),
    ]  # fmt: skip
    data = result.data
    assert data.columns.tolist() == [
        "customer_id", "order_id", "timestamp", "amount", "status", "row", "source",
    ]  # fmt: skip
    assert data["status"].tolist() == ["cancelled", "x"]


def test_loaders_orders_duplicates_are_whole_identical_rows() -> None:
    frame = pd.DataFrame({
        "customer_id": ["c1"] * 3, "order_id": ["o1"] * 3, "timestamp": ["2024-03-05"] * 3,
        "amount": ["10", "10", "10"], "product": ["tea", "cup", "tea"],
    })  # fmt: skip
    result = clean_orders(frame)
    assert reasons(result) == [(3, "duplicate of row 1")]  # row 2 is another line item
    assert "product" not in result.data.columns


def test_loaders_orders_missing_required_column() -> None:
    expected = (
        "orders.csv: required column 'amount' is missing (found: customer_id, order_id, timestamp, total). "
        "Map it with --orders-columns amount=<your column>."
    )
    with pytest.raises(DataValidationError, match=re.escape(expected)):
        clean_orders(orders_frame(["1"]).rename(columns={"amount": "total"}), source="orders.csv")


def test_loaders_orders_from_typed_parquet(tmp_path: Path) -> None:
    pd.DataFrame({
        "customer_id": pd.Series([1, 2, 3], dtype="Int64"), "order_id": [10, 11, 12],
        "timestamp": pd.to_datetime(["2024-03-05 10:00", None, "2024-03-06 00:00"]).tz_localize("UTC"),
        "amount": pd.Series([9.5, 1.0, None], dtype="Float64"), "status": ["Paid", "paid", None],
    }).to_parquet(tmp_path / "orders.parquet")  # fmt: skip
    result = load_orders(tmp_path / "orders.parquet")
    first = result.data.iloc[0]
    assert first[["customer_id", "order_id", "amount", "status"]].tolist() == ["1", "10", 9.5, "paid"]
    assert str(result.data["timestamp"].dtype) == "datetime64[ns]"
    assert reasons(result) == [(2, "missing timestamp"), (3, "non-numeric amount")]


def test_loaders_load_orders_csv(tmp_path: Path) -> None:
    path = write(tmp_path / "orders.csv", 'cust,order,date,total\n00001,A1,19970101,"$1,234.50"\n')
    result = load_orders(path, columns="customer_id=cust,order_id=order,timestamp=date,amount=total")
    assert result.data.iloc[0][["customer_id", "amount", "status"]].tolist() == ["00001", 1234.5, ""]


# -- rejects files --------------------------------------------------------------------------


def test_loaders_write_rejects(tmp_path: Path) -> None:
    frame = reviews_frame(["ok", "", '中文,"quoted"\nline'], ["1", "2", ""])
    result = clean_reviews(frame, source="r.csv")
    path = tmp_path / "out" / "profiles.rejects.csv"
    write_rejects(result.rejects, path)
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert back.columns.tolist() == list(schema.REJECT_COLUMNS)
    assert back.values.tolist() == [
        ["r.csv", "2", "text", "empty text", ""],
        ["r.csv", "3", "customer_id", "missing customer id", ""],
    ]
    assert [p.name for p in path.parent.iterdir()] == ["profiles.rejects.csv"]  # no temp file left


def test_loaders_write_rejects_needs_reject_columns(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="lacks the columns"):
        write_rejects(pd.DataFrame({"row": [1]}), tmp_path / "r.csv")


def test_loaders_rejects_value_is_the_offending_value_truncated() -> None:
    result = clean_reviews(reviews_frame(["x" * 500, "<p>" + " " * 300 + "</p>", "ok"], ["", "1", "1"]))
    assert result.rejects["column"].tolist() == ["customer_id", "text"]
    assert result.rejects["value"].tolist() == ["", "<p>" + " " * 197]


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("out/profiles.csv", "out/profiles.rejects.csv"),
        ("out/profiles.parquet", "out/profiles.rejects.csv"),
        ("out/profiles.csv.gz", "out/profiles.rejects.csv"),
        ("models/shop", "models/shop/rejects.csv"),
        ("models/shop.v2/", "models/shop.v2/rejects.csv"),
    ],
)
def test_loaders_rejects_path_for(tmp_path: Path, output: str, expected: str) -> None:
    assert rejects_path_for(f"{tmp_path}/{output}") == tmp_path / expected


def test_loaders_rejects_path_for_existing_directory(tmp_path: Path) -> None:
    (tmp_path / "model.v1").mkdir()
    assert rejects_path_for(tmp_path / "model.v1") == tmp_path / "model.v1" / "rejects.csv"


# -- properties -----------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(), min_size=1, max_size=5))
def test_loaders_clean_text_never_raises(texts: list[str]) -> None:
    cleaned = clean_text(pd.Series(texts, dtype="str")).tolist()
    assert len(cleaned) == len(texts)
    assert all(c == c.strip() and "  " not in c for c in cleaned)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=5), st.text(max_size=30)), min_size=1, max_size=6))
def test_loaders_clean_reviews_accounts_for_every_row(rows: list[tuple[str, str]]) -> None:
    frame = pd.DataFrame(rows, columns=["customer_id", "text"])
    try:
        result = clean_reviews(frame)
    except DataValidationError as e:
        assert "rows were rejected" in str(e)
        return
    assert len(result.data) + result.n_rejected == len(rows)
    rows_seen = sorted(result.data["row"].tolist() + result.rejects["row"].tolist())
    assert rows_seen == list(range(1, len(rows) + 1))


# -- real data ------------------------------------------------------------------------------


def test_loaders_cdnow_head_as_orders(tmp_path: Path, shared_data: Path) -> None:
    lines = (shared_data / "cdnow_transactions.txt").read_text().splitlines()[:301]
    path = write(tmp_path / "cdnow.txt", "\n".join(lines) + "\n")
    result = load_orders(path, columns="order_id=date,timestamp=date,amount=dollar_value")
    assert result.n_read == 300
    # a date is no order id: a day shared by several customers is one order_id under two customers,
    # and all its lines are refused with that reason (the rest is read)
    assert 0 < result.n_rejected < 300
    assert result.rejects["reason"].str.contains("order id also under customer").all()
    assert result.data["customer_id"].str.fullmatch(r"\d{5}").all()
    assert str(result.data["timestamp"].min()) >= "1997-01-01"
    assert (result.data["amount"] >= 0).all()
