"""``--scrub-names-model PATH`` / ``TopicProfiler(scrub_names=...)`` end to end (issue 14): names of
people scrubbed with the privacy extra (Presidio over a spaCy pipeline from a folder) in fit, tag,
batch, update and tag-text; without the extra, one clean error line."""

from __future__ import annotations

import importlib.util
import json
import random
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from topicprofile import schema
from topicprofile.cli import app
from topicprofile.errors import ConfigError
from topicprofile.privacy.names import names_record

CORPORA = Path(__file__).resolve().parents[2] / "corpora"
AMAZON = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "en_amazon_reviews_4cats.csv.bz2"
HAS_EXTRA = importlib.util.find_spec("presidio_analyzer") is not None
MISSING_EXTRA = "error: scrubbing names needs the privacy extra: pip install 'topicprofile[privacy]'"
#: Signatures planted in real reviews (first and last names that appear nowhere in the data set).
PLANTED = ["Margaret Thompson", "Jonathan Whitaker", "Priya Raghunathan"]


@pytest.fixture
def blank_pipeline(tmp_path) -> Path:
    """A saved spaCy pipeline folder (it has a meta.json), enough to reach the extra's import."""
    import spacy

    folder = tmp_path / "pipeline"
    spacy.blank("en").to_disk(folder)
    return folder


def _commands(tmp_path: Path, pipeline: Path) -> dict[str, list[str]]:
    reviews, model = str(CORPORA / "reviews.csv"), str(tmp_path / "model")
    opt = ["--scrub-names-model", str(pipeline)]
    (tmp_path / "in").mkdir(exist_ok=True)
    return {
        "fit": ["fit", "-m", model, "-r", reviews, "-k", "4", *opt],
        "tag": ["tag", "-m", model, "-r", reviews, "-o", str(tmp_path / "p.csv"), *opt],
        "batch": [
            "batch",
            "-m",
            model,
            "--input-dir",
            str(tmp_path / "in"),
            "--out",
            str(tmp_path / "out"),
            *opt,
        ],
        "update": ["update", "-m", model, "-r", reviews, "--db", str(tmp_path / "p.duckdb"), *opt],
        "tag-text": ["tag-text", "-m", model, "John Smith loves these boots", *opt],
    }


@pytest.mark.parametrize("command", ["fit", "tag", "batch", "update", "tag-text"])
def test_scrub_names_model_without_the_extra_is_one_error_line(tmp_path, blank_pipeline, command):
    if HAS_EXTRA:
        pytest.skip("the privacy extra is installed here")
    result = CliRunner().invoke(app, _commands(tmp_path, blank_pipeline)[command])
    assert result.exit_code == 1, result.output
    assert result.output.strip() == MISSING_EXTRA
    assert not (tmp_path / "model" / "manifest.json").exists() and not (tmp_path / "p.csv").exists()


@pytest.mark.parametrize("command", ["fit", "tag", "batch"])
def test_scrub_names_model_with_no_scrub_is_a_usage_error(tmp_path, blank_pipeline, command):
    result = CliRunner().invoke(app, [*_commands(tmp_path, blank_pipeline)[command], "--no-scrub"])
    assert result.exit_code == 2, result.output
    assert "--no-scrub" in result.output and "Traceback" not in result.output


def test_scrub_names_model_must_be_a_pipeline_folder(tmp_path):
    result = CliRunner().invoke(app, _commands(tmp_path, tmp_path)["fit"])
    assert result.exit_code == 1
    assert (
        "not a saved spaCy pipeline (no meta.json)" in result.output
        and "--scrub-names-model" in result.output
    )


def test_profiler_scrub_names_needs_scrub(blank_pipeline):
    from topicprofile.profiler import TopicProfiler

    reviews = pd.read_csv(CORPORA / "reviews.csv", dtype=str)
    with pytest.raises(ConfigError, match="needs scrub=True"):
        TopicProfiler(n_topics=2, scrub=False, scrub_names=str(blank_pipeline)).fit(reviews=reviews)


def test_names_record_names_the_pipeline_not_the_folder(blank_pipeline):
    meta = json.loads((blank_pipeline / "meta.json").read_text())
    meta.update(name="core_web_sm", version="3.8.0")
    (blank_pipeline / "meta.json").write_text(json.dumps(meta))
    assert names_record(blank_pipeline) == {"scrub_names": True, "names_pipeline": "en_core_web_sm 3.8.0"}


def test_tag_text_of_a_model_that_scrubs_names_takes_the_scrubbing_path(tmp_path, blank_pipeline):
    """The light tag-text path does not scrub: a model fitted with names scrubbed goes through the
    profiler (here: no extra, so the clean error proves the names path was taken)."""
    if HAS_EXTRA:
        pytest.skip("the privacy extra is installed here")
    runner = CliRunner()
    model = tmp_path / "model"
    fitted = runner.invoke(
        app, ["fit", "-m", str(model), "-r", str(CORPORA / "reviews.csv"), "-k", "4", "-q"]
    )
    assert fitted.exit_code == 0, fitted.output
    light = runner.invoke(app, ["tag-text", "-m", str(model), "comfortable running shoes"])
    assert light.exit_code == 0, light.output
    manifest = json.loads((model / "manifest.json").read_text())
    manifest["params"]["scrub_names"] = str(blank_pipeline)  # as a fit with --scrub-names-model saves it
    (model / "manifest.json").write_text(json.dumps(manifest))
    result = runner.invoke(app, ["tag-text", "-m", str(model), "comfortable running shoes"])
    assert result.exit_code == 1 and result.output.strip() == MISSING_EXTRA


# -- with the privacy extra (.ci/run's second environment) -------------------------------------------
def _signed_reviews(path: Path, n: int = 160) -> int:
    """``n`` real reviews written to ``path``; every fourth is signed with a planted name. Returns how many."""
    if not AMAZON.exists():
        pytest.skip(f"real reviews not found: {AMAZON}")
    reviews = pd.read_csv(AMAZON).sample(n=n, random_state=11).reset_index(drop=True)
    texts = (reviews["title"].fillna("") + ". " + reviews["text"].fillna("")).tolist()
    for i in range(0, n, 4):
        texts[i] = f"{texts[i]} Thanks, {PLANTED[(i // 4) % len(PLANTED)]}"
    rng = random.Random(11)
    frame = pd.DataFrame(
        {schema.CUSTOMER_ID: [f"C{rng.randrange(60):03d}" for _ in range(n)], schema.TEXT: texts}
    )
    frame.to_csv(path, index=False)
    return len(range(0, n, 4))


def _files_with_names(*roots: Path) -> list[str]:
    found = []
    for root in roots:
        for path in (p for p in root.rglob("*") if p.is_file()):
            blob = path.read_bytes()
            found += [f"{path}: {name}" for name in PLANTED for part in name.split() if part.encode() in blob]
    return found


@pytest.mark.privacy_extra
@pytest.mark.slow
def test_fit_tag_batch_update_with_scrub_names_model_keep_no_planted_name(tmp_path, monkeypatch, ner_pipeline):
    pipeline = ner_pipeline
    monkeypatch.setenv("TOPICPROFILE_CACHE_DIR", str(tmp_path / "cache"))  # the token cache is grepped too
    reviews = tmp_path / "in" / "reviews.csv"
    reviews.parent.mkdir()
    n_signed = _signed_reviews(reviews)
    runner = CliRunner()
    model, out = tmp_path / "model", tmp_path / "out"
    args = ["fit", "-m", str(model), "-r", str(reviews), "-k", "4", "--keep-texts", "all", "--json"]
    fitted = runner.invoke(app, [*args, "--scrub-names-model", str(pipeline)])
    assert fitted.exit_code == 0, fitted.output
    privacy = json.loads(fitted.output)["privacy"]
    assert privacy["scrub_names"] is True and privacy["names_pipeline"].startswith("en_core_web_sm")
    assert privacy["scrub_counts"]["PERSON"] >= n_signed
    manifest = json.loads((model / "manifest.json").read_text())
    assert manifest["privacy"]["scrub_counts"]["PERSON"] == privacy["scrub_counts"]["PERSON"]
    assert manifest["params"]["scrub_names"] == str(pipeline.resolve())
    docs = pd.read_parquet(next(model.rglob("documents.parquet")))
    assert docs[schema.TEXT].str.contains("Thanks, <PERSON>", regex=False).sum() == n_signed

    # tag, batch and update reuse the model's pipeline without being told
    tagged = runner.invoke(
        app, ["tag", "-m", str(model), "-r", str(reviews), "-o", str(out / "p.csv"), "--json"]
    )
    assert tagged.exit_code == 0, tagged.output
    assert json.loads(tagged.output)["privacy"]["scrub_counts"]["PERSON"] >= n_signed
    batch = runner.invoke(
        app, ["batch", "-m", str(model), "--input-dir", str(reviews.parent), "--out", str(out / "b")]
    )
    assert batch.exit_code == 0, batch.output
    updated = runner.invoke(
        app, ["update", "-m", str(model), "-r", str(reviews), "--db", str(out / "p.duckdb")]
    )
    assert updated.exit_code == 0, updated.output
    assert _files_with_names(model, out, tmp_path / "cache") == []
    human = runner.invoke(app, ["privacy-report", "-m", str(model), "--json"])
    assert json.loads(human.output)["settings"]["scrub_names"] == privacy["names_pipeline"]

    # tag-text on such a model takes the profiler's path, which scrubs names first
    text = "Jonathan Whitaker says these headphones have great sound and battery"
    result = runner.invoke(app, ["tag-text", "-m", str(model), "--json", text])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)) == 1
