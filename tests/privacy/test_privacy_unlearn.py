"""``forget`` takes a customer out of the topic statistics (issue 14): the E-step counts of their
training document against the current model, from the bags of words the model keeps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy import sparse
from typer.testing import CliRunner

from topicprofile import TopicProfiler, schema
from topicprofile.app.forget import forget_customers
from topicprofile.cli import app
from topicprofile.ingest.documents import build_documents
from topicprofile.privacy.training_bows import COUNTS, TERM_IDS, TRAINING_BOWS
from topicprofile.store import model_files
from topicprofile.topics.infer import doc_seeds

CORPORA = Path(__file__).resolve().parents[2] / "corpora"
GONE = "C00530"


def _lda_arrays(model: Path) -> dict[str, np.ndarray]:
    folder = model_files(model) / "lda"
    return {k: np.load(folder / f"{k}.npy") for k in ("sstats", "exp_elog_beta", "alpha", "eta")}


def _customer_counts(profiler: TopicProfiler, reviews: pd.DataFrame, customer: str) -> sparse.csr_matrix:
    """The customer's pooled word counts, made from their texts here (not from the model's record)."""
    docs = build_documents(reviews)
    texts = docs.loc[docs[schema.CUSTOMER_ID] == customer, schema.TEXT].tolist()
    pooled: dict[int, int] = {}
    for tokens in profiler.encoder_.tokens(texts):
        for term, n in profiler.dictionary_.doc2bow(tokens):
            pooled[term] = pooled.get(term, 0) + n
    terms = sorted(pooled)
    return sparse.csr_matrix(
        ([float(pooled[t]) for t in terms], terms, [0, len(terms)]), shape=(1, len(profiler.dictionary_))
    )


@pytest.fixture(scope="module")
def reviews() -> pd.DataFrame:
    return pd.read_csv(CORPORA / "reviews.csv", dtype=str)


def _fit(folder: Path, reviews: pd.DataFrame, **params) -> Path:
    profiler = TopicProfiler(n_topics=4, passes=3, iterations=60, random_state=0, **params).fit(reviews)
    profiler.save(str(folder))
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("trainer", ["gibbs", "vb"])
def test_forget_subtracts_the_customers_estep_counts(tmp_path, reviews, trainer):
    model = _fit(tmp_path / "model", reviews, trainer=trainer)
    profiler = TopicProfiler.load(str(model))
    before = _lda_arrays(model)
    numdocs = json.loads((model_files(model) / "lda" / "params.json").read_text())["numdocs"]
    bows = pq.read_table(model_files(model) / TRAINING_BOWS).to_pandas()
    snippets = pd.read_parquet(model_files(model) / "documents.parquet")  # --keep-texts snippets: with days
    assert len(snippets) < len(bows) and snippets[schema.DATE].str.fullmatch(r"20\d\d-\d\d-\d\d").all()
    profiles = pd.read_parquet(model_files(model) / "profiles.parquet")
    counts = _customer_counts(profiler, reviews, GONE)
    # the record holds the customer's words: their rows add up to the counts made from their texts
    theirs = bows[bows[schema.CUSTOMER_ID] == GONE]
    recorded = {}
    for ids, values in zip(theirs[TERM_IDS], theirs[COUNTS], strict=True):
        for t, n in zip(ids, values, strict=True):
            recorded[int(t)] = recorded.get(int(t), 0) + int(n)
    assert recorded == dict(zip(counts.indices.tolist(), counts.data.astype(int).tolist(), strict=True))
    # the E-step of their pooled document against the current model, computed here
    _, expected = profiler.topics_._infer_gamma(counts, doc_seeds(counts, profiler.topics_.random_state),
                                                collect_sstats=True)  # fmt: skip
    assert expected.sum() == pytest.approx(counts.sum(), rel=1e-6)  # every token is assigned

    summary = forget_customers([GONE], model_dir=model)

    after = _lda_arrays(model)
    np.testing.assert_allclose(
        after["sstats"], np.maximum(before["sstats"] - expected, 0.0), rtol=1e-9, atol=1e-9
    )
    assert not np.allclose(after["sstats"], before["sstats"])
    stats = summary["model_statistics"]
    assert (
        stats["subtracted"]
        and stats["n_training_documents_removed"] == 1
        and stats["n_rows_removed"] == len(theirs)
    )
    assert json.loads((model_files(model) / "lda" / "params.json").read_text())["numdocs"] == numdocs - 1
    reloaded = TopicProfiler.load(str(model))  # exp_elog_beta follows from the new sstats (checked on load)
    np.testing.assert_allclose(reloaded.topics_.exp_elog_beta_, after["exp_elog_beta"])
    # their rows are gone, everyone else's are as they were, and so are the other profiles
    left = pq.read_table(model_files(model) / TRAINING_BOWS).to_pandas()
    kept = bows[bows[schema.CUSTOMER_ID] != GONE].reset_index(drop=True)
    assert GONE not in set(left[schema.CUSTOMER_ID]) and len(left) == len(kept)
    assert left[TERM_IDS].map(list).tolist() == kept[TERM_IDS].map(list).tolist()
    pd.testing.assert_frame_equal(
        pd.read_parquet(model_files(model) / "profiles.parquet"),
        profiles[profiles[schema.CUSTOMER_ID] != GONE].reset_index(drop=True),
    )
    manifest = json.loads((model / "manifest.json").read_text())
    assert manifest["privacy"]["refit_due"] and manifest["privacy"]["statistics_subtracted"]
    # idempotent: nothing changes the second time
    again = forget_customers([GONE], model_dir=model)
    assert again["customers"][0]["status"] == "already erased" and again["model_statistics"] is None
    np.testing.assert_array_equal(_lda_arrays(model)["sstats"], after["sstats"])


@pytest.mark.slow
def test_forget_without_bags_of_words_marks_refit_due_and_says_why(tmp_path, reviews):
    model = _fit(tmp_path / "model", reviews, keep_texts="none")
    assert not (model_files(model) / TRAINING_BOWS).exists()
    before = _lda_arrays(model)
    summary = forget_customers([GONE], model_dir=model)
    assert summary["model_statistics"]["subtracted"] is False
    assert "--keep-texts none" in summary["model_statistics"]["reason"]
    np.testing.assert_array_equal(_lda_arrays(model)["sstats"], before["sstats"])
    manifest = json.loads((model / "manifest.json").read_text())
    assert manifest["privacy"]["refit_due"] and manifest["privacy"]["statistics_subtracted"] is False


@pytest.mark.slow
def test_cli_forget_reports_the_subtraction_and_fit_previous_clears_refit_due(tmp_path, reviews):
    inbox = tmp_path / "reviews.csv"
    reviews.to_csv(inbox, index=False)
    model = tmp_path / "model"
    runner = CliRunner()
    fit = ["fit", "-m", str(model), "-r", str(inbox), "-k", "4", "--passes", "2", "--quiet"]
    assert runner.invoke(app, fit).exit_code == 0
    result = runner.invoke(app, ["forget", GONE, "-m", str(model), "--no-cache"])
    assert result.exit_code == 0, result.output
    assert "topic statistics: subtracted 1 training document" in result.output
    assert json.loads((model / "manifest.json").read_text())["privacy"]["refit_due"] is True
    refit = runner.invoke(app, [*fit, "--previous", str(model)])
    assert refit.exit_code == 0, refit.output
    privacy = json.loads((model / "manifest.json").read_text())["privacy"]
    assert not privacy.get("refit_due") and GONE not in json.dumps(privacy)
