"""`update`: new texts join the topics (folded, no refit) and refresh only their customers' rows in the database."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

pytest.importorskip("duckdb", reason="the db extra (duckdb) is not installed")

from test_db_wiring import db_state

from topicprofile import TopicProfiler
from topicprofile.app.forget import forget_customers
from topicprofile.app.jobs import fit_files, tag_files
from topicprofile.app.update import fold_counts, update_files
from topicprofile.cli import app
from topicprofile.db import ProfileDatabase
from topicprofile.errors import ConfigError
from topicprofile.privacy.training_bows import TRAINING_BOWS, read_training_bows
from topicprofile.store import model_files
from topicprofile.topics.fold import expected_counts
from topicprofile.topics.matching import hellinger

runner = CliRunner()


@pytest.fixture
def tagged(tiny_profiler, tiny_reviews, tmp_path) -> tuple[Path, Path]:
    """A model and a database holding its 30 customers' profiles."""
    model, db = tmp_path / "model", tmp_path / "p.duckdb"
    tiny_profiler.save(str(model))
    reviews = tmp_path / "reviews.csv"
    tiny_reviews.to_csv(reviews, index=False)
    tag_files(model, tmp_path / "profiles.csv", reviews=reviews, db=db)
    return model, db


def _new_reviews(tmp_path: Path, tiny_reviews: pd.DataFrame, name: str = "new.csv") -> Path:
    """Two known customers write about another theme (their interests should move); one new customer."""
    other = tiny_reviews[tiny_reviews["customer_id"].str.startswith("outdoor")]["text"].tolist()
    ids = sorted(tiny_reviews["customer_id"].unique())
    movers = [i for i in ids if not i.startswith("outdoor")][:2]
    rows = [{"customer_id": c, "text": t, "rating": "5"} for c in movers for t in other[:8]]
    rows.append({"customer_id": "newcomer-01", "text": other[0], "rating": "4"})
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_update_refreshes_only_the_customers_of_the_new_file(tagged, tiny_reviews, tmp_path) -> None:
    model, db = tagged
    before = db_state(db)["profiles"].set_index("customer_id")
    new = _new_reviews(tmp_path, tiny_reviews)
    movers = sorted(set(pd.read_csv(new)["customer_id"]))
    summary = update_files(model, db=db, reviews=new)
    after = db_state(db)["profiles"].set_index("customer_id")
    assert summary["n_customers"] == 3 and summary["db"]["n_new"] == 1
    others = [c for c in before.index if c not in movers]
    pd.testing.assert_frame_equal(before.loc[others], after.loc[others])  # untouched, byte for byte
    for mover in movers[:-1] if movers[-1] == "newcomer-01" else movers:
        assert after.loc[mover, "n_documents"] == before.loc[mover, "n_documents"] + 8  # old texts + new
        assert after.loc[mover, "top_interest"] != before.loc[mover, "top_interest"]  # the interest moved
    with ProfileDatabase(db, read_only=True) as database:
        assert database.history(movers[0])["run_id"].nunique() == 2  # the drift is in the history


def test_update_folds_the_new_texts_into_the_topics_and_writes_a_new_version(
    tagged, tiny_reviews, tmp_path
) -> None:
    """Was ``test_update_keeps_topics_...``, which asserted the topics did not change: they now learn
    from the new texts (their expected counts join the statistics) and keep their ids and labels."""
    model, db = tagged
    old = TopicProfiler.load(str(model))
    versions = sorted(p.name for p in (model / "versions").iterdir())
    new_file = _new_reviews(tmp_path, tiny_reviews)
    summary = update_files(model, db=db, reviews=new_file)
    new = TopicProfiler.load(str(model))
    assert sorted(p.name for p in (model / "versions").iterdir()) != versions
    assert (
        TopicProfiler.load(str(model / "versions" / versions[-1])).n_documents_ == old.n_documents_
    )  # still loads
    texts = pd.read_csv(new_file, dtype=str)
    counts = fold_counts(old, texts, old.encoder_.tokens(texts["text"].tolist()))
    assert counts.shape[0] == 3  # pooled per customer, as the model was fitted
    np.testing.assert_allclose(new.topics_.lda_.state.sstats,
                               old.topics_.lda_.state.sstats + expected_counts(old.topics_, counts), rtol=1e-9)  # fmt: skip
    assert summary["fold"]["method"] == "add" and summary["fold"]["n_documents"] == 3
    assert new.topic_labels_ == old.topic_labels_
    distance = hellinger(new.topics_.topic_word_, old.topics_.topic_word_)
    np.testing.assert_array_equal(distance.argmin(axis=1), np.arange(old.n_topics_))  # same topics, same ids
    assert new.n_documents_ == old.n_documents_ + 17
    # a second update profiles a customer from the texts the model keeps (this snippets model: the
    # fit's evidence, 3 here; no text of the first update) plus its own: with keep_texts="all" the
    # first update's texts would count too (test_update_reads_the_kept_documents_in_batches)
    second = _new_reviews(tmp_path, tiny_reviews, "second.csv")
    update_files(model, db=db, reviews=second)
    mover = min(set(pd.read_csv(second)["customer_id"]))
    row = db_state(db)["profiles"].set_index("customer_id").loc[mover]
    assert row["n_documents"] == 3 + 8


def test_update_fold_none_keeps_the_topics(tagged, tiny_reviews, tmp_path) -> None:
    model, db = tagged
    old = TopicProfiler.load(str(model))
    summary = update_files(model, db=db, reviews=_new_reviews(tmp_path, tiny_reviews), fold="none")
    np.testing.assert_array_equal(TopicProfiler.load(str(model)).topics_.topic_word_, old.topics_.topic_word_)
    assert summary["fold"]["method"] == "none"
    with pytest.raises(ConfigError, match="--fold"):
        update_files(model, db=db, reviews=_new_reviews(tmp_path, tiny_reviews), fold="refit")


def test_update_is_deterministic_and_unaffected_customers_keep_their_tags(
    tiny_profiler, tiny_reviews, tmp_path
) -> None:
    new_file = _new_reviews(tmp_path, tiny_reviews)
    states = []
    for name in ("a", "b"):
        model, db = tmp_path / name / "model", tmp_path / name / "p.duckdb"
        tiny_profiler.save(str(model))
        update_files(model, db=db, reviews=new_file)
        states.append((TopicProfiler.load(str(model)), db_state(db)["profiles"]))
    (first, rows), (second, rows_again) = states
    np.testing.assert_array_equal(first.topics_.lda_.state.sstats, second.topics_.lda_.state.sstats)
    pd.testing.assert_frame_equal(rows.drop(columns=["updated_at"], errors="ignore"),
                                  rows_again.drop(columns=["updated_at"], errors="ignore"))  # fmt: skip
    # the customers without new texts, profiled again with the folded topics, keep their tags and ids
    others = tiny_reviews[~tiny_reviews["customer_id"].isin(set(pd.read_csv(new_file)["customer_id"]))]
    columns = ["customer_id", "interest_tags", "interest_topics"]
    pd.testing.assert_frame_equal(first.profile(others)[columns], tiny_profiler.profile(others)[columns])


def test_update_counts_new_words_and_says_when_a_refit_is_due(tagged, tmp_path) -> None:
    model, db = tagged
    path = tmp_path / "odd.csv"
    pd.DataFrame({"customer_id": ["coffee-00"] * 3,
                  "text": ["zorblax quintafer mollusk vintry gadroon", "zorblax gadroon", "brindle quokka"]}
                 ).to_csv(path, index=False)  # fmt: skip
    result = runner.invoke(
        app, ["update", "--model-dir", str(model), "--db", str(db), "--reviews", str(path), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["n_oov"] == summary["n_tokens"] > 0 and summary["refit_due"] is True
    text = runner.invoke(app, ["update", "--model-dir", str(model), "--db", str(db), "--reviews", str(path)])
    assert "a refit is due" in text.output and "--previous" in text.output


def test_update_needs_db(tagged, tmp_path) -> None:
    model, _ = tagged
    result = runner.invoke(app, ["update", "--model-dir", str(model), "--reviews", str(tmp_path / "x.csv")])
    assert result.exit_code == 2  # --db is required


def test_update_cli_fold_options(tagged, tiny_reviews, tmp_path) -> None:
    model, db = tagged
    new = str(_new_reviews(tmp_path, tiny_reviews))
    base = ["update", "--model-dir", str(model), "--db", str(db), "--reviews", new]
    text = runner.invoke(app, base)
    assert text.exit_code == 0, text.output
    assert "topics folded (add" in text.output and "ids and labels kept" in text.output
    none = runner.invoke(app, [*base, "--fold", "none", "--json"])
    assert none.exit_code == 0 and json.loads(none.output)["fold"]["method"] == "none"
    assert runner.invoke(app, [*base, "--fold", "refit"]).exit_code == 2
    assert runner.invoke(app, [*base, "--fold-passes", "0"]).exit_code == 2


def test_update_records_the_folded_texts_so_forget_can_take_them_out(tagged, tiny_reviews, tmp_path) -> None:
    """The folded texts join ``training_bows.parquet`` (one row per text with words); ``fold="none"``
    adds none (the topics never saw them), and ``forget`` then removes all of a mover's rows."""
    model, db = tagged
    before = read_training_bows(model_files(model) / TRAINING_BOWS).to_pandas()
    new_file = _new_reviews(tmp_path, tiny_reviews)
    update_files(model, db=db, reviews=new_file, fold="none")
    assert len(read_training_bows(model_files(model) / TRAINING_BOWS)) == len(before)
    update_files(model, db=db, reviews=new_file)
    after = read_training_bows(model_files(model) / TRAINING_BOWS).to_pandas()
    texts = pd.read_csv(new_file, dtype=str)
    assert len(after) == len(before) + len(texts)  # every new text has vocabulary words here
    pd.testing.assert_frame_equal(after.iloc[: len(before)], before)  # old rows first, unchanged
    assert after.iloc[len(before) :]["customer_id"].tolist() == texts["customer_id"].tolist()
    mover = min(set(texts["customer_id"]) - {"newcomer-01"})
    forget_customers([mover], model_dir=model, db=db)
    assert mover not in set(read_training_bows(model_files(model) / TRAINING_BOWS)["customer_id"].to_pylist())


def _tagged_keeping(keep_texts: str, tiny_reviews: pd.DataFrame, folder: Path) -> tuple[Path, Path]:
    """A model fitted with ``keep_texts`` and a database holding its 30 customers' profiles."""
    model, db, reviews = folder / "model", folder / "p.duckdb", folder / "reviews.csv"
    TopicProfiler(n_topics=3, random_state=0, phrases=False, keep_texts=keep_texts).fit(reviews=tiny_reviews).save(
        str(model)
    )
    tiny_reviews.to_csv(reviews, index=False)
    tag_files(model, folder / "profiles.csv", reviews=reviews, db=db)
    return model, db


@pytest.mark.parametrize("keep_texts", ["snippets", "none"])
def test_update_keeps_no_new_text_unless_the_model_keeps_all(keep_texts, tiny_reviews, tmp_path) -> None:
    """``update`` follows the model's ``keep_texts``: a ``snippets`` model keeps the fit's evidence
    only and a ``none`` model no text at all, however many texts it folds in (privacy, issue 14)."""
    model, db = _tagged_keeping(keep_texts, tiny_reviews, tmp_path)
    path = model_files(model) / "documents.parquet"
    before = pd.read_parquet(path) if path.exists() else None
    new = _new_reviews(tmp_path, tiny_reviews)
    summary = update_files(model, db=db, reviews=new)
    path = model_files(model) / "documents.parquet"
    assert summary["n_documents"] == len(tiny_reviews) + len(pd.read_csv(new, dtype=str))
    if keep_texts == "none":
        assert before is None and not path.exists()
    else:
        pd.testing.assert_frame_equal(pd.read_parquet(path), before)
    assert TopicProfiler.load(str(model)).n_documents_ == summary["n_documents"]


def test_update_reads_the_kept_documents_in_batches(tiny_reviews, tmp_path, monkeypatch) -> None:
    """A ``keep_texts="all"`` model's documents.parquet is read batch by batch (never whole, the test's
    reader refuses that), and the new version keeps the old documents, then the new ones, in shards
    of chunk_rows."""
    import pyarrow.parquet as pq

    from topicprofile.config import RunOptions

    model, db = _tagged_keeping("all", tiny_reviews, tmp_path)
    old = pd.read_parquet(model_files(model) / "documents.parquet")
    read = pd.read_parquet

    def no_whole_documents(path, *args, **kwargs):
        if Path(str(path)).name == "documents.parquet":
            raise AssertionError(f"read {path} whole")
        return read(path, *args, **kwargs)

    monkeypatch.setattr(TopicProfiler, "run_options", lambda self, run=None: run or RunOptions(chunk_rows=4))
    monkeypatch.setattr(pd, "read_parquet", no_whole_documents)
    new = _new_reviews(tmp_path, tiny_reviews)
    summary = update_files(model, db=db, reviews=new)
    monkeypatch.undo()
    path = model_files(model) / "documents.parquet"
    saved = pd.read_parquet(path)
    added = pd.read_csv(new, dtype=str)
    assert summary["n_documents"] == len(saved) == len(old) + len(added)
    pd.testing.assert_frame_equal(saved.iloc[: len(old)].reset_index(drop=True), old)
    assert saved["text"].iloc[len(old) :].tolist() == added["text"].tolist()
    groups = pq.ParquetFile(str(path)).metadata
    sizes = [groups.row_group(i).num_rows for i in range(groups.num_row_groups)]

    def shards(n: int) -> list[int]:
        return [4] * (n // 4) + ([n % 4] if n % 4 else [])

    assert sizes == shards(len(old)) + shards(len(added))  # each part cut from its start


@pytest.mark.slow
def test_update_without_orders_keeps_what_the_database_knows_of_their_orders(tmp_path) -> None:
    """``update --reviews`` alone: the re-profiled customers keep their RFM, churn and value columns
    from the database (before, they became "No orders yet" with empty churn columns), and their
    segment is the one the model gives them with those orders."""
    corpora = Path(__file__).resolve().parents[2] / "corpora"
    orders = {"orders": corpora / "orders.csv", "orders_columns": {"timestamp": "order_date"}}
    model, db = tmp_path / "model", tmp_path / "p.duckdb"
    fit_files(model, profiler=TopicProfiler(n_topics=6, random_state=0), reviews=corpora / "reviews.csv", **orders)
    tag_files(model, tmp_path / "p.csv", reviews=corpora / "reviews.csv", db=db, **orders)
    reviews = pd.read_csv(corpora / "reviews.csv", dtype=str)
    new = tmp_path / "new.csv"
    reviews.head(40).to_csv(new, index=False)
    before = db_state(db)["profiles"].set_index("customer_id")
    update_files(model, db=db, reviews=new)
    after = db_state(db)["profiles"].set_index("customer_id")
    movers = sorted(set(reviews.head(40)["customer_id"]))
    behavior = ["recency_days", "frequency", "monetary", "avg_order_value", "r_score", "f_score", "m_score",
                "rfm_segment", "p_alive", "expected_orders_90d", "clv_12m", "churn_risk"]  # fmt: skip
    buyers = before.loc[movers, "frequency"] > 0
    assert buyers.sum() >= 20
    pd.testing.assert_frame_equal(before.loc[movers, behavior], after.loc[movers, behavior])
    # the segment: the updated model's, with the same orders given again
    again = tag_files(model, tmp_path / "again.csv", reviews=corpora / "reviews.csv", **orders)
    assert again["n_customers"] > 0
    fresh = pd.read_csv(tmp_path / "again.csv", dtype=str).set_index("customer_id")
    moved = after.loc[movers, "segment_name"] != before.loc[movers, "segment_name"]
    assert (after.loc[movers, "segment_name"] == fresh.loc[movers, "segment_name"]).mean() >= 0.9, moved.sum()
