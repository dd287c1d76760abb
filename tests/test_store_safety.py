"""Saved models are plain data, never run code, never destroy the user's files, always resolve to a
complete model (issue 10, items 3, 4 and 7)."""

from __future__ import annotations

import errno
import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from topicprofile import ModelError, TopicProfiler
from topicprofile.cli import app
from topicprofile.store import FORMAT_VERSION, LOCK, model_files

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
TAXONOMY = {
    "Outdoor": ["hiking", "tent", "trail"],
    "Kitchen": ["knife", "pan", "oven"],
    "Coffee": ["espresso", "grinder", "roast"],
}


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def one_line_error(result, *needles: str, code: int = 1) -> None:
    assert result.exit_code == code, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture(scope="module")
def reviews_csv(tmp_path_factory, tiny_reviews) -> Path:
    path = tmp_path_factory.mktemp("input") / "reviews.csv"
    tiny_reviews.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def phrased_profiler(tiny_reviews):
    """Phrases on and a taxonomy (a k × V eta): every saved part is exercised."""
    return TopicProfiler(n_topics=3, random_state=0, taxonomy=TAXONOMY).fit(reviews=tiny_reviews)


@pytest.fixture()
def saved(tiny_profiler, tmp_path) -> Path:
    path = tmp_path / "model"
    tiny_profiler.save(str(path))
    return path


# -- item 3: plain data, identical output ------------------------------------------------------------
@pytest.mark.parametrize("name", ["tiny_profiler", "phrased_profiler"])
def test_store_reload_gives_byte_identical_output(name, request, tiny_reviews, tmp_path) -> None:
    fitted = request.getfixturevalue(name)
    fitted.save(str(tmp_path / "m"))
    loaded = TopicProfiler.load(str(tmp_path / "m"))
    texts = tiny_reviews["text"].tolist() + ["hiking boots on the trail", "", "espresso grinder"]
    assert loaded.tag_text(texts) == fitted.tag_text(texts)
    pd.testing.assert_frame_equal(loaded.profile(reviews=tiny_reviews), fitted.profile(reviews=tiny_reviews))
    pd.testing.assert_frame_equal(loaded.topics(), fitted.topics())
    # the rebuilt gensim objects equal the fitted ones, dict order included
    assert list(loaded.dictionary_.token2id.items()) == list(fitted.dictionary_.token2id.items())
    assert list(loaded.dictionary_.dfs.items()) == list(fitted.dictionary_.dfs.items())
    assert list(loaded.dictionary_.cfs.items()) == list(fitted.dictionary_.cfs.items())
    assert list(loaded.keywords_.tfidf_.idfs.items()) == list(fitted.keywords_.tfidf_.idfs.items())
    a, b = loaded.topics_.lda_, fitted.topics_.lda_
    for left, right in [(a.state.sstats, b.state.sstats), (a.expElogbeta, b.expElogbeta), (a.alpha, b.alpha), (a.eta, b.eta)]:
        assert np.array_equal(left, right)
    if fitted.phrases_ is not None:
        assert list(loaded.phrases_.phrases_.phrasegrams.items()) == list(fitted.phrases_.phrases_.phrasegrams.items())
    # sync_state() on the saved sstats and eta gives exactly the fitted expElogbeta
    a.sync_state()
    assert np.array_equal(a.expElogbeta, b.expElogbeta)


def test_store_model_holds_no_pickle(phrased_profiler, tmp_path) -> None:
    phrased_profiler.save(str(tmp_path / "m"))
    files = [p for p in (tmp_path / "m").rglob("*") if p.is_file()]
    assert {p.suffix for p in files} <= {".json", ".npy", ".parquet", ".lock"}
    for path in files:
        if path.suffix == ".npy":
            with open(path, "rb") as f:
                assert np.lib.format.read_array(f, allow_pickle=False).dtype != object
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION == 2 and manifest["current"] == "versions/1"


# -- item 3: a pickle in a model never runs, through every command that loads a model ------------
class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _legacy_model(profiler: TopicProfiler, path: Path, payload: object | None = None) -> None:
    """A model as topicprofile format 1 saved it (gensim pickles); with ``payload``, every pickle is it."""
    from topicprofile.store import model_manifest

    path.mkdir(parents=True)
    (path / "lda").mkdir()
    parts = {
        "dictionary.gensim": profiler.dictionary_,
        "tfidf.gensim": profiler.keywords_.tfidf_,
        "lda/lda.gensim": profiler.topics_.lda_,
    }
    if profiler.phrases_ is not None:
        parts["phrases.gensim"] = profiler.phrases_.phrases_
    for name, part in parts.items():
        if payload is None:
            part.save(str(path / name))
        else:
            (path / name).write_bytes(pickle.dumps(payload))
    topics = profiler.topic_info_.drop(columns=["label"]).to_dict(orient="records")
    (path / "topics.json").write_text(json.dumps(topics, default=lambda v: v.tolist()), encoding="utf-8")
    profiler.profiles_.to_parquet(path / "profiles.parquet", index=False)
    profiler.documents_.write_parquet(path / "documents.parquet")
    manifest = {**model_manifest(profiler.to_state()["manifest"]), "format_version": 1}
    (path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def _pickled_npy_model(profiler: TopicProfiler, path: Path, payload: object) -> None:
    """A current-format model whose LDA statistics are an object array holding the payload."""
    profiler.save(str(path))
    np.save(model_files(path) / "lda" / "sstats.npy", np.array([payload], dtype=object), allow_pickle=True)


def _commands(model: Path, work: Path, reviews_csv: Path) -> dict[str, list[str]]:
    (work / "in").mkdir(exist_ok=True)
    shutil.copy(reviews_csv, work / "in" / "reviews.csv")
    (work / "labels.toml").write_text('[labels]\n0 = "Zero"\n', encoding="utf-8")
    m = str(model)
    return {
        "tag": ["tag", "-m", m, "-r", str(reviews_csv), "-o", str(work / "out.csv")],
        "tag-text": ["tag-text", "-m", m, "hiking boots"],
        "topics": ["topics", "-m", m],
        "label": ["label", "-m", m, str(work / "labels.toml")],
        "quality": ["quality", "-m", m],
        "explain": ["explain", "-m", m, "-c", "outdoor-00"],
        "segments": ["segments", "-m", m],
        "batch": ["batch", "-m", m, "-i", str(work / "in"), "-o", str(work / "batch-out")],
    }


COMMANDS = ["tag", "tag-text", "topics", "label", "quality", "explain", "segments", "batch"]


@pytest.mark.parametrize("kind", ["format-1 pickles", "object .npy"])
@pytest.mark.parametrize("command", COMMANDS)
def test_store_pickle_payload_never_runs(command, kind, tiny_profiler, reviews_csv, tmp_path) -> None:
    marker = tmp_path / "payload-ran"
    model = tmp_path / "model"
    if kind == "format-1 pickles":
        _legacy_model(tiny_profiler, model, _Payload(marker))
    else:
        _pickled_npy_model(tiny_profiler, model, _Payload(marker))
    result = invoke(*_commands(model, tmp_path, reviews_csv)[command])
    assert not marker.exists(), "the model's pickle ran"
    if kind == "format-1 pickles":
        one_line_error(result, "pickles", f"topicprofile convert-model --trust {model}")
    elif command == "segments":  # reads segments.json only (this model has none): never an .npy
        one_line_error(result, "no segments")
    else:
        one_line_error(result, "corrupt model")


@pytest.mark.parametrize("kind", ["format-1 pickles", "object .npy"])
def test_store_pickle_payload_never_runs_in_python(kind, tiny_profiler, tmp_path) -> None:
    marker = tmp_path / "payload-ran"
    model = tmp_path / "model"
    (_legacy_model if kind == "format-1 pickles" else _pickled_npy_model)(tiny_profiler, model, _Payload(marker))
    with pytest.raises(ModelError, match="convert-model --trust" if kind == "format-1 pickles" else "corrupt model"):
        TopicProfiler.load(str(model))
    assert not marker.exists()
    # converting without --trust reads nothing either
    one_line_error(invoke("convert-model", model), "--trust", code=2)
    assert not marker.exists()


def test_store_convert_model_with_trust(tiny_profiler, tiny_reviews, tmp_path) -> None:
    model = tmp_path / "model"
    _legacy_model(tiny_profiler, model)
    (model / "notes.txt").write_text("mine", encoding="utf-8")
    result = invoke("convert-model", "--trust", model)
    assert result.exit_code == 0, result.output
    assert not [p for p in model.rglob("*.gensim*")] and not (model / "lda").exists()
    assert (model / "notes.txt").read_text(encoding="utf-8") == "mine"
    loaded = TopicProfiler.load(str(model))
    texts = tiny_reviews["text"].tolist()
    assert loaded.tag_text(texts) == tiny_profiler.tag_text(texts)
    pd.testing.assert_frame_equal(loaded.topics(), tiny_profiler.topics())
    assert "nothing to do" in invoke("convert-model", "--trust", model).stdout


# -- item 4: the user's files are never deleted ----------------------------------------------------
def test_store_fit_and_label_keep_the_labels_file_they_read(reviews_csv, tmp_path) -> None:
    model = tmp_path / "model"
    assert invoke("fit", "-r", reviews_csv, "-m", model, "-k", "3", "-q").exit_code == 0
    labels = model / "labels.toml"
    labels.write_text('[labels]\n0 = "Zero"\n', encoding="utf-8")
    result = invoke("fit", "-r", reviews_csv, "-m", model, "-k", "3", "--labels", labels, "-q")
    assert result.exit_code == 0, result.output
    assert labels.is_file()
    labels.write_text('[labels]\n1 = "One"\n', encoding="utf-8")
    assert invoke("label", "-m", model, labels).exit_code == 0
    assert labels.is_file()
    assert TopicProfiler.load(str(model)).topic_labels_[:2] == ["Zero", "One"]


def test_store_folder_of_other_files_needs_force(reviews_csv, tmp_path, monkeypatch) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    fitted = []
    monkeypatch.setattr(TopicProfiler, "fit_documents", lambda *a, **k: fitted.append(1))
    one_line_error(invoke("fit", "-r", reviews_csv, "-m", folder, "-k", "3"), "not a topicprofile model", "--force")
    assert not fitted, "the folder must be refused before the fit"
    monkeypatch.undo()
    assert invoke("fit", "-r", reviews_csv, "-m", folder, "-k", "3", "--force", "-q").exit_code == 0
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert TopicProfiler.load(str(folder)).n_topics_ == 3
    assert invoke("fit", "-r", reviews_csv, "-m", folder, "-k", "3", "-q").exit_code == 0  # now a model


# -- item 4: versions, pointer, stale staging, lock --------------------------------------------------
def test_store_versions_are_kept_pruned_and_loadable(tiny_profiler, tmp_path) -> None:
    model = tmp_path / "model"
    tiny_profiler.save(str(model))
    (model / "versions" / "notes").mkdir()  # not ours: never touched
    for _ in range(4):
        tiny_profiler.save(str(model))
    versions = sorted(p.name for p in (model / "versions").iterdir())
    assert versions == ["3", "4", "5", "notes"]
    assert json.loads((model / "manifest.json").read_text())["current"] == "versions/5"
    older = TopicProfiler.load(str(model / "versions" / "3"))
    pd.testing.assert_frame_equal(older.topics(), tiny_profiler.topics())


def test_store_stale_staging_of_killed_runs_is_cleaned(tiny_profiler, saved) -> None:
    versions = saved / "versions"
    (versions / ".staging-killed").mkdir()
    (versions / ".staging-killed" / "lda").mkdir()
    shutil.copytree(versions / "1", versions / "7")  # renamed into place, never published
    (saved / ".manifest.json.abc.tmp").write_text("{", encoding="utf-8")
    assert TopicProfiler.load(str(saved)).n_topics_ == 3  # still resolves to version 1
    tiny_profiler.save(str(saved))
    assert sorted(p.name for p in versions.iterdir()) == ["1", "2"]
    assert not list(saved.glob(".*.tmp"))


def test_store_half_deleted_versions_of_killed_runs_are_cleaned(tiny_profiler, saved) -> None:
    versions = saved / "versions"
    shutil.copytree(versions / "1", versions / "2")
    (versions / "2" / "manifest.json").unlink()  # a delete killed midway, with the next free number
    (versions / "0" / "lda").mkdir(parents=True)  # an older one
    tiny_profiler.save(str(saved))  # neither blocks the save nor survives it
    assert sorted(p.name for p in versions.iterdir()) == ["1", "2"]
    assert TopicProfiler.load(str(saved)).n_topics_ == 3


def test_store_prune_killed_midway_leaves_only_a_staging_folder(tiny_profiler, saved, monkeypatch) -> None:
    import topicprofile.store_versions as store_versions

    for _ in range(3):
        tiny_profiler.save(str(saved))
    monkeypatch.setattr(store_versions.shutil, "rmtree", lambda *a, **k: None)  # killed before deleting a file
    tiny_profiler.save(str(saved))
    names = sorted(p.name for p in (saved / "versions").iterdir())
    assert names[1:] == ["3", "4", "5"] and names[0].startswith(".staging-old-2-")
    monkeypatch.undo()
    tiny_profiler.save(str(saved))
    assert sorted(p.name for p in (saved / "versions").iterdir()) == ["4", "5", "6"]


def test_store_second_writer_gets_one_line(reviews_csv, saved, monkeypatch) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", (
            "import fcntl, os, sys, time\n"
            f"fd = os.open({str(saved / LOCK)!r}, os.O_RDWR)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, b'pid of the other fit')\n"
            "print('locked', flush=True); time.sleep(60)\n"
        )],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        fitted = []
        monkeypatch.setattr(TopicProfiler, "fit_documents", lambda *a, **k: fitted.append(1))
        one_line_error(invoke("fit", "-r", reviews_csv, "-m", saved, "-k", "3"), "another run is writing this model")
        assert not fitted
        labels = saved.parent / "labels.toml"
        labels.write_text('[labels]\n0 = "Zero"\n', encoding="utf-8")
        one_line_error(invoke("label", "-m", saved, labels), "another run is writing this model")
    finally:
        holder.kill()
        holder.wait()
    monkeypatch.undo()
    assert invoke("fit", "-r", reviews_csv, "-m", saved, "-k", "3", "-q").exit_code == 0  # the lock died with it


# -- item 7: one line, before the work ---------------------------------------------------------------
def test_store_model_dir_is_a_file(reviews_csv, tmp_path) -> None:
    file = tmp_path / "model.txt"
    file.write_text("not a folder", encoding="utf-8")
    one_line_error(invoke("fit", "-r", reviews_csv, "-m", file, "-k", "3"), "is a file")
    one_line_error(invoke("topics", "-m", file), "is a file")
    one_line_error(invoke("tag-text", "-m", file, "boots"), "is a file")
    assert file.read_text(encoding="utf-8") == "not a folder"


def test_store_unwritable_parent_is_found_before_the_fit(reviews_csv, tmp_path, monkeypatch) -> None:
    parent = tmp_path / "readonly"
    parent.mkdir()
    real_mkdir = os.mkdir

    def mkdir(path, *args, **kwargs):  # what a read-only parent does (tests may run as root)
        if Path(path).parent == parent:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    fitted = []
    monkeypatch.setattr(TopicProfiler, "fit_documents", lambda *a, **k: fitted.append(1))
    one_line_error(invoke("fit", "-r", reviews_csv, "-m", parent / "model", "-k", "3"), "Permission denied")
    assert not fitted and list(parent.iterdir()) == []


def test_store_failed_fit_leaves_no_folder(tmp_path) -> None:
    one_line_error(invoke("fit", "-r", tmp_path / "nope.csv", "-m", tmp_path / "a" / "model"), "nope.csv")
    assert list(tmp_path.iterdir()) == []


def test_store_wrong_shape_npy_is_one_line(saved) -> None:
    np.save(model_files(saved) / "lda" / "sstats.npy", np.zeros((2, 2)), allow_pickle=False)
    one_line_error(invoke("topics", "-m", saved), "sstats.npy", "shape (2, 2)")
    with pytest.raises(ModelError, match="sstats.npy"):
        TopicProfiler.load(str(saved))


def test_store_disk_full_keeps_the_old_model(tiny_profiler, reviews_csv, saved, monkeypatch) -> None:
    before = TopicProfiler.load(str(saved)).topics()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "save", full)
    with pytest.raises(ModelError, match="No space left on device.*previous model is unchanged"):
        tiny_profiler.save(str(saved))
    one_line_error(invoke("fit", "-r", reviews_csv, "-m", saved, "-k", "4"), "No space left on device")
    monkeypatch.undo()
    pd.testing.assert_frame_equal(TopicProfiler.load(str(saved)).topics(), before)
    assert sorted(p.name for p in (saved / "versions").iterdir()) == ["1"]
