"""Hostile inputs for the ingest stage (issue 10): sample boundaries, damaged bytes, huge rows, fuzzing.

Each test names the issue item it proves. The data files of ``tests/hostile/`` run through the CLI
in :func:`test_hostile_files_through_the_cli` (see ``tests/hostile/README.md``).
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from topicprofile.cli import app
from topicprofile.errors import TopicProfileError
from topicprofile.ingest.load import (
    MAX_TEXT_CHARS,
    StreamedLoad,
    load_browsing,
    load_orders,
    load_reviews,
    write_rejects,
)
from topicprofile.ingest.files import iter_read_table, read_table
from topicprofile.app.jobs import write_table

HOSTILE = Path(__file__).resolve().parents[1] / "hostile"
CORPORA = Path(__file__).resolve().parents[2] / "corpora"
SAMPLE = 200_000  # readers._DETECT_SAMPLE_BYTES
runner = CliRunner()


# -- item 1: a character cut by the end of the 200 kB detection sample ------------------------------


def _boundary_file(tmp_path: Path, fmt: str, encoding: str, char: str, offset: int, *, filler: str) -> tuple[Path, str]:
    """A reviews file over 200 kB whose ``char`` starts ``offset`` bytes before byte 200,000
    (``offset`` 1..len-1 cuts it); returns the path and the text of the row holding it."""

    def line(cid: str, text: str) -> bytes:
        if fmt == "jsonl":
            return (json.dumps({"customer_id": cid, "text": text}, ensure_ascii=False) + "\n").encode(encoding)
        return f"{cid},{text}\n".encode(encoding)

    head = b"" if fmt == "jsonl" else "customer_id,text\n".encode(encoding)
    rows, i = [head], 0
    while sum(map(len, rows)) < SAMPLE - 2_000:
        rows.append(line(f"c{i}", f"{filler * 20} {i}"))  # long rows: few of them, a fast test
        i += 1
    used = sum(map(len, rows))
    # the straddling row: padding so that `char` starts at SAMPLE - offset
    prefix = line("cx", "@")[: line("cx", "@").index("@".encode(encoding))]
    pad = SAMPLE - offset - used - len(prefix)
    assert pad > 0
    text = "p" * pad + char + filler
    rows.append(line("cx", text))
    assert sum(map(len, rows[:-1])) + len(prefix) + pad == SAMPLE - offset
    rows += [line(f"d{j}", f"{filler} after {j}") for j in range(50)]
    raw = b"".join(rows)
    path = tmp_path / f"r.{fmt}"
    path.write_bytes(gzip.compress(raw) if fmt.endswith(".gz") else raw)
    return path, text


# offset 0: the character ends the sample whole (the control); 1..len-1: the sample cuts it
_UTF8_CASES = [(c, off) for c in ("😀", "中", "é") for off in range(len(c.encode("utf-8")))]
_GB_CASES = [("😀", off) for off in range(4)] + [("中", off) for off in range(2)]


@pytest.mark.parametrize("explicit", [None, "utf-8"])
@pytest.mark.parametrize("fmt", ["csv", "jsonl", "csv.gz"])
@pytest.mark.parametrize(("char", "offset"), _UTF8_CASES)
def test_hostile_utf8_character_cut_by_the_sample_boundary(tmp_path, char, offset, fmt, explicit) -> None:
    # item 1: Chinese and English UTF-8 files over 200 kB were refused or read as cp1252
    filler = "质量很好物流也快" if char != "é" else "a fine dénouement"
    path, text = _boundary_file(tmp_path, fmt, "utf-8", char, offset, filler=filler)
    load = StreamedLoad("reviews", path, encoding=explicit, chunk_rows=5_000)
    data = pd.concat([r.data for r in load], ignore_index=True)
    assert load.n_rejected == 0
    assert text in set(data["text"])
    assert data["text"].str.contains(filler, regex=False).all()


@pytest.mark.parametrize("explicit", [None, "gb18030"])
@pytest.mark.parametrize("fmt", ["csv", "jsonl", "csv.gz"])
@pytest.mark.parametrize(("char", "offset"), _GB_CASES)
def test_hostile_gb18030_character_cut_by_the_sample_boundary(tmp_path, char, offset, fmt, explicit) -> None:
    # item 1: a GB18030 file failed the same way (four-byte and two-byte characters)
    filler = "质量很好物流也快"
    path, text = _boundary_file(tmp_path, fmt, "gb18030", char, offset, filler=filler)
    load = StreamedLoad("reviews", path, encoding=explicit, chunk_rows=5_000)
    data = pd.concat([r.data for r in load], ignore_index=True)
    assert load.n_rejected == 0
    assert text in set(data["text"])
    assert data["text"].str.contains(filler, regex=False).all()


@pytest.mark.parametrize("explicit", [[], ["--encoding", "utf-8"]])
def test_hostile_boundary_file_tagged_through_the_cli(tmp_path, fitted_model, explicit) -> None:
    # item 1 as the user met it: `tag [--encoding utf-8]` on a Chinese export over 200 kB
    path, _ = _boundary_file(tmp_path, "csv", "utf-8", "中", 1, filler="质量很好")
    out = tmp_path / "o.csv"
    result = runner.invoke(app, ["tag", "-m", str(fitted_model), "-r", str(path), "-o", str(out), *explicit])
    assert result.exit_code == 0, result.output
    assert "cx" in set(pd.read_csv(out, dtype=str)["customer_id"])


# -- item 2: damaged or mixed files ------------------------------------------------------------------


def _damaged_utf8() -> tuple[bytes, list[int]]:
    rows = ["customer_id,text"] + [f"c{i},très bon café numéro {i} 质量很好" for i in range(60)]
    raw = ("\n".join(rows) + "\n").encode("utf-8")
    positions = []
    for n, bad in ((5, b"\xe9"), (17, b"\xff"), (40, b"\xc3")):
        good = f"numéro {n} ".encode()
        at = raw.index(good) + 3
        raw = raw.replace(good, b"num" + bad + f"ro {n} ".encode())
        positions.append(at)
    return raw, positions


@pytest.mark.parametrize("streamed", [False, True])
def test_hostile_three_bad_bytes_reject_three_rows_with_their_byte(tmp_path, streamed, caplog) -> None:
    # item 2: three invalid bytes made the whole file cp1256, silently
    raw, positions = _damaged_utf8()
    path = tmp_path / "r.csv"
    path.write_bytes(raw)
    if streamed:
        load = StreamedLoad("reviews", path, chunk_rows=7)
        data = pd.concat([r.data for r in load], ignore_index=True)
        rejects = load.rejects
    else:
        result = load_reviews(path)
        data, rejects = result.data, result.rejects
    assert rejects["row"].tolist() == [6, 18, 41]
    assert rejects["reason"].tolist() == [
        f"invalid UTF-8 at byte {positions[0]} (0xe9)", f"invalid UTF-8 at byte {positions[1]} (0xff)",
        f"invalid UTF-8 at byte {positions[2]} (0xc3)",
    ]  # fmt: skip
    assert len(data) == 57 and data["text"].str.startswith("très bon café numéro").all()
    assert "3 invalid UTF-8" in caplog.text


def test_hostile_damaged_utf8_with_explicit_encoding_rejects_rows(tmp_path) -> None:
    raw, _ = _damaged_utf8()
    path = tmp_path / "r.jsonl"
    lines = [json.dumps({"customer_id": f"c{i}", "text": f"très bon café {i}"}, ensure_ascii=False) for i in range(30)]
    path.write_bytes(("\n".join(lines) + "\n").encode().replace("café 7".encode(), b"caf\xe9 7"))
    result = load_reviews(path, encoding="utf-8")
    assert result.rejects["row"].tolist() == [8]
    assert result.rejects["reason"].str.match(r"invalid UTF-8 at byte \d+ \(0xe9\)").all()


def test_hostile_mixed_utf8_and_cp1252_is_never_gb18030(tmp_path) -> None:
    # item 2: a mixed file decoded as GB18030 ("café" -> "caf茅")
    utf8 = [f"u{i},café au lait {i} très bien".encode() for i in range(20)]
    cp1252 = [f"w{i},café noir {i} très bien".encode("cp1252") for i in range(20)]
    raw = b"customer_id,text\n" + b"\n".join(utf8 + cp1252) + b"\n"
    path = tmp_path / "mixed.csv"
    path.write_bytes(raw)
    for result in (load_reviews(path), _streamed(path)):
        text = pd.concat([result.data["text"]], ignore_index=True)
        assert not text.str.contains("茅").any()
        assert set(text) == {f"café au lait {i} très bien" for i in range(20)}
        assert result.n_rejected == 20 and result.rejects["reason"].str.startswith("invalid UTF-8 at byte").all()


def _streamed(path: Path):
    load = StreamedLoad("reviews", path, chunk_rows=9)
    data = pd.concat([r.data for r in load], ignore_index=True)

    class Result:
        pass

    result = Result()
    result.data, result.rejects, result.n_rejected = data, load.rejects, load.n_rejected  # type: ignore[attr-defined]
    return result


def test_hostile_whole_cp1252_file_is_read_with_a_warning(tmp_path, caplog) -> None:
    # item 2: a legacy code page is still chosen on strong evidence, and said on stderr
    rows = [f"c{i},Größe passt und schöne Qualität très réussi {i}" for i in range(40)]
    path = tmp_path / "r.csv"
    path.write_bytes(("customer_id,text\n" + "\n".join(rows) + "\n").encode("cp1252"))
    with caplog.at_level(logging.WARNING, logger="topicprofile"):
        result = load_reviews(path)
    assert result.n_rejected == 0 and result.data["text"].iloc[0] == "Größe passt und schöne Qualität très réussi 0"
    assert re.search(r"r\.csv: not UTF-8 .* reading it as cp1252", caplog.text)


def test_hostile_scattered_ideographs_are_not_chinese(tmp_path) -> None:
    # GB18030 needs runs of common ideographs: bytes that decode to lone ideographs among Latin
    # letters are another encoding (here cp1252 whose pairs happen to be valid GB18030)
    rows = [f"c{i},caféa naïve {i}" for i in range(30)]
    path = tmp_path / "r.csv"
    path.write_bytes(("customer_id,text\n" + "\n".join(rows) + "\n").encode("cp1252"))
    assert read_table(path)["text"].iloc[0] == "caféa naïve 0"


# -- item 7: one huge review -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_hostile_review_over_a_million_characters_is_rejected(tmp_path, fmt) -> None:
    huge = "word " * 220_000  # 1.1M characters
    rows = [{"customer_id": f"c{i}", "text": f"fine review {i}"} for i in range(5)]
    rows.insert(2, {"customer_id": "big", "text": huge})
    path = tmp_path / f"r.{fmt}"
    if fmt == "csv":
        pd.DataFrame(rows).to_csv(path, index=False)
    else:
        path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    for load in (load_reviews(path), _streamed(path)):
        assert load.rejects[["row", "reason"]].values.tolist() == [[3, "text longer than 100,000 characters"]]
        assert len(load.data) == 5
        assert len(load.rejects["value"].iloc[0]) <= 200


def test_hostile_browsing_text_over_the_limit_is_rejected(tmp_path) -> None:
    path = tmp_path / "b.csv"
    pd.DataFrame({"customer_id": ["a", "b"], "title": ["x" * (MAX_TEXT_CHARS + 1), "shoes"]}).to_csv(path, index=False)
    result = load_browsing(path)
    assert result.rejects["reason"].tolist() == ["text longer than 100,000 characters"]


def test_hostile_tag_text_with_a_huge_text_is_one_line(tmp_path, fitted_model) -> None:
    result = runner.invoke(app, ["tag-text", "-m", str(fitted_model), "word " * 220_000])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "longer than 100,000 characters" in lines[0]


# -- item 10: a malformed first data row -------------------------------------------------------------


@pytest.mark.parametrize("streamed", [False, True])
@pytest.mark.parametrize(
    ("content", "line"),
    [
        (b"customer_id,text\n1,hello,extra\n2,world\n3,foo\n", 2),  # one field too many: pandas made it the index
        (b'customer_id,text\n1,"hello\n2,world\n3,foo\n', 2),  # an unbalanced quote
        (b'customer_id,text\n1,ok\n2,fine\n3,"unbalanced\n4,x\n', 4),
    ],
)
def test_hostile_malformed_row_is_a_parse_error_with_its_line(tmp_path, content, line, streamed) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(content)
    with pytest.raises(TopicProfileError, match=rf"r\.csv: malformed file at line {line} "):
        list(StreamedLoad("reviews", path)) if streamed else load_reviews(path)


# -- keep it found: fuzzing --------------------------------------------------------------------------

_FUZZ = settings(max_examples=100, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
_SUFFIXES = [".csv", ".tsv", ".txt", ".jsonl", ".json", ".csv.gz", ".parquet"]
_ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "gb18030", "cp1252", "latin-1", "cp1256", "shift_jis"]


def _read_everything(path: Path, encoding: str | None) -> None:
    """Every reader on `path`: each gives a table or a TopicProfileError, nothing else."""
    for read in (
        lambda: read_table(path, encoding=encoding),
        lambda: list(iter_read_table(path, encoding=encoding, chunk_rows=3)),
        lambda: load_reviews(path, encoding=encoding),
        lambda: list(StreamedLoad("reviews", path, encoding=encoding, chunk_rows=3)),
        lambda: load_browsing(path, encoding=encoding),
        lambda: load_orders(path, encoding=encoding),
    ):
        try:
            read()
        except TopicProfileError:
            pass


@_FUZZ
@given(raw=st.binary(max_size=600), suffix=st.sampled_from(_SUFFIXES))
def test_hostile_fuzz_random_bytes(tmp_path_factory, raw, suffix) -> None:
    path = tmp_path_factory.mktemp("fuzz") / f"f{suffix}"
    path.write_bytes(raw)
    _read_everything(path, None)


_cell = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_table = st.lists(st.lists(_cell, min_size=1, max_size=4), min_size=1, max_size=6)


@pytest.mark.slow
@_FUZZ
@given(rows=_table, encoding=st.sampled_from(_ENCODINGS), sep=st.sampled_from([",", ";", "\t", "|"]),
       quote=st.booleans(), explicit=st.booleans())  # fmt: skip
def test_hostile_fuzz_random_csv_structures(tmp_path_factory, rows, encoding, sep, quote, explicit) -> None:
    text = "customer_id,text,timestamp,amount,order_id\n" + "\n".join(
        sep.join(f'"{c}"' if quote else c for c in row) for row in rows
    )
    raw = text.encode(encoding, errors="replace")
    path = tmp_path_factory.mktemp("fuzz") / "f.csv"
    path.write_bytes(raw)
    _read_everything(path, encoding if explicit else None)


_json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _cell,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_cell, inner, max_size=3),
    max_leaves=6,
)


@pytest.mark.slow
@_FUZZ
@given(records=st.lists(st.dictionaries(st.sampled_from(["customer_id", "text", "title", "x", "timestamp"]) | _cell,
                                        _json_value, max_size=4), min_size=1, max_size=5),
       encoding=st.sampled_from(_ENCODINGS), garbage=st.binary(max_size=8), at=st.integers(0, 400))  # fmt: skip
def test_hostile_fuzz_random_json_lines(tmp_path_factory, records, encoding, garbage, at) -> None:
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n"
    raw = text.encode(encoding, errors="replace")
    raw = raw[:at] + garbage + raw[at:]
    path = tmp_path_factory.mktemp("fuzz") / "f.jsonl"
    path.write_bytes(raw)
    _read_everything(path, None)


_plain_cell = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"), max_size=12)


@pytest.mark.slow
@_FUZZ
# column names without a tab or ';': a .csv header with one of them and no comma is read as tab/;-separated
# (exports from spreadsheets in other locales), by design
@given(columns=st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\t;"), min_size=1,
                                max_size=8), min_size=1, max_size=4, unique=True),
       rows=st.lists(st.lists(_plain_cell, min_size=4, max_size=4), min_size=1, max_size=8),
       suffix=st.sampled_from([".csv", ".parquet"]))  # fmt: skip
def test_hostile_fuzz_written_tables_read_back_identically(tmp_path_factory, columns, rows, suffix) -> None:
    # round trip: what TableWriter writes, read_table reads back unchanged (a lone CR: see below)
    table = pd.DataFrame([r[: len(columns)] for r in rows], columns=columns).astype(str)
    path = tmp_path_factory.mktemp("rt") / f"t{suffix}"
    write_table(table, path, raw_csv=True)  # escaping formulas (the default) changes cells on purpose
    pd.testing.assert_frame_equal(read_table(path).astype(str), table, check_dtype=False)


def test_hostile_table_with_a_lone_carriage_return_reads_back(tmp_path) -> None:
    table = pd.DataFrame({"customer_id": ["a\rb"], "top_interest": ["x"]})
    write_table(table, tmp_path / "t.csv")
    pd.testing.assert_frame_equal(read_table(tmp_path / "t.csv"), table, check_dtype=False)


@_FUZZ
@given(values=st.lists(_cell, min_size=1, max_size=6), reasons=st.lists(_cell, min_size=1, max_size=6))
def test_hostile_fuzz_rejects_file_reads_back_identically(tmp_path_factory, values, reasons) -> None:
    n = min(len(values), len(reasons))
    rejects = pd.DataFrame({"source": "r.csv", "row": range(1, n + 1), "column": "text",
                            "reason": reasons[:n], "value": values[:n]})  # fmt: skip
    path = tmp_path_factory.mktemp("rj") / "rejects.csv"
    write_rejects(rejects, path)
    back = read_table(path)
    pd.testing.assert_frame_equal(back, rejects.astype(str), check_dtype=False)


# -- tests/hostile/: every stored case through the CLI ----------------------------------------------


@pytest.fixture(scope="module")
def fitted_model(tmp_path_factory) -> Path:
    model = tmp_path_factory.mktemp("hostile") / "model"
    result = runner.invoke(app, ["fit", "-r", str(CORPORA / "reviews.csv"), "-m", str(model), "--topics", "4",
                                 "--quiet", "--workers", "1"])  # fmt: skip
    assert result.exit_code == 0, result.output
    return model


def _cases() -> list[dict]:
    return json.loads((HOSTILE / "cases.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c["file"])
def test_hostile_files_through_the_cli(tmp_path, fitted_model, case) -> None:
    path = HOSTILE / case["file"]
    kind = case.get("option", "--reviews")
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["tag", "-m", str(fitted_model), kind, str(path), "-o", str(out), *case.get("args", [])])
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in output
    assert result.exit_code == case["exit"], output
    if case["exit"] == 1:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, result.stderr
        assert re.search(case["error"], lines[0]), lines[0]
        assert not out.exists()
        return
    rejects = tmp_path / "out.rejects.csv"
    reasons = pd.read_csv(rejects)["reason"].tolist() if rejects.exists() else []
    assert len(reasons) == len(case["rejects"]), reasons
    for reason, pattern in zip(reasons, case["rejects"], strict=True):
        assert re.fullmatch(pattern, reason), (reason, pattern)
    profiles = pd.read_csv(out, dtype=str, keep_default_na=False)
    for cid, text in case.get("kept", {}).items():
        assert cid in set(profiles["customer_id"]), (cid, text)
    for needle in case.get("stderr", []):
        assert re.search(needle, result.stderr), result.stderr
