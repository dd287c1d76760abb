"""topicprofile.ingest.inputs: an input given as a folder, a glob or a list of files reads like their concatenation."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from topicprofile.app.jobs import stream_documents
from topicprofile.errors import DataValidationError
from topicprofile.ingest.docstore import DocumentStore, combine_fingerprints
from topicprofile.ingest.documents import build_documents, fingerprint
from topicprofile.ingest.inputs import input_files
from topicprofile.ingest.load import load_reviews


@pytest.fixture(scope="module")
def real_reviews(shared_data: Path) -> pd.DataFrame:
    """90 real Amazon reviews of 30 customers."""
    frame = pd.read_csv(shared_data / "en_amazon_reviews_4cats.csv.bz2", dtype=str, nrows=90)
    return pd.DataFrame({"customer_id": [f"c{i % 30:03d}" for i in range(90)], "text": frame["text"],
                         "rating": frame.get("rating", "5")})  # fmt: skip


@pytest.fixture
def mixed_folder(real_reviews: pd.DataFrame, tmp_path: Path) -> Path:
    """The reviews cut into 3 files of 3 formats (one compressed, one in Latin-1), a bad row in the second."""
    folder = tmp_path / "exports"
    folder.mkdir()
    first, second, third = real_reviews.iloc[:30], real_reviews.iloc[30:60].copy(), real_reviews.iloc[60:]
    first.to_csv(folder / "a.csv", index=False)
    second.loc[second.index[3], "customer_id"] = ""  # rejected: no customer id (row 4 of b.jsonl.gz)
    with gzip.open(folder / "b.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write(second.to_json(orient="records", lines=True))
    third.to_parquet(folder / "c.parquet", index=False)
    (folder / "notes.txt.bak").write_text("not an input")
    (folder / ".hidden.csv").write_text("customer_id,text\nx,y\n")
    return folder


def test_inputs_folder_glob_and_list_find_the_files_in_path_order(mixed_folder: Path) -> None:
    expected = [mixed_folder / name for name in ("a.csv", "b.jsonl.gz", "c.parquet")]
    assert input_files(mixed_folder) == expected
    assert input_files(str(mixed_folder / "[a-c].*")) == expected
    assert input_files(str(mixed_folder / "*"))[-1].name == "notes.txt.bak"  # a pattern takes what it matches
    assert input_files(str(mixed_folder / "[bc]*")) == expected[1:]
    assert input_files([expected[2], expected[0]]) == [expected[2], expected[0]]  # a list keeps its order
    assert input_files(mixed_folder / "missing.csv") == [mixed_folder / "missing.csv"]  # the reader says


@pytest.mark.parametrize("given", ["*.xlsx", "empty"])
def test_inputs_no_match_is_one_line(given: str, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(
        DataValidationError, match=r"^reviews: .*give a file, a folder of files or a glob"
    ) as e:
        input_files(str(tmp_path / given), name="reviews")
    assert "\n" not in str(e.value)


def test_inputs_folder_reads_as_the_concatenation(mixed_folder: Path, real_reviews: pd.DataFrame) -> None:
    """A folder of 3 files of mixed formats gives exactly the documents of the 3 files one after the other."""
    store, loads = stream_documents(reviews=mixed_folder, chunk_rows=7)
    got = pd.concat(store.chunks(), ignore_index=True)
    files = input_files(mixed_folder)
    parts = [build_documents(load_reviews(path)) for path in files]
    expected = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(got, DocumentStore.from_frame(expected).chunks().__next__())
    assert len(got) == 89  # one row rejected
    assert list(got["text"]) == [t for i, t in enumerate(real_reviews["text"]) if i != 33]
    summary = loads["reviews"]
    assert (summary.source, summary.n_read, summary.n_rejected) == ("a.csv and 2 more files", 90, 1)
    assert summary.rejects[["source", "row"]].values.tolist() == [["b.jsonl.gz", 4]]
    # the fingerprint: one part per file
    assert store.fingerprint == combine_fingerprints([fingerprint(p) for p in parts])


def test_inputs_one_file_keeps_the_plain_fingerprint(mixed_folder: Path) -> None:
    store, _ = stream_documents(reviews=mixed_folder / "a.csv", chunk_rows=7)
    assert store.fingerprint == fingerprint(build_documents(load_reviews(mixed_folder / "a.csv")))


def test_inputs_cli_fit_takes_a_glob(mixed_folder: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from topicprofile.cli import app

    result = CliRunner().invoke(app, ["fit", "--reviews", str(mixed_folder / "[a-c]*"), "--model-dir",
                                      str(tmp_path / "model"), "--topics", "3", "--trainer", "vb", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(app, ["fit", "--reviews", str(mixed_folder / "*.xlsx"), "--model-dir",
                                      str(tmp_path / "model2")])  # fmt: skip
    assert result.exit_code == 1
    assert result.output.strip().startswith("error: reviews: no file matches")
