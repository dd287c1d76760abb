"""The saved model: plain-data parts in versioned folders, published by replacing one small manifest.

Layout (format version 2)::

    MODEL/
      manifest.json            the current version's manifest + "current": "versions/<n>";
                               replaced atomically (temporary file, fsync, os.replace), so MODEL
                               always resolves to one complete version
      model.lock               held (flock) by the fit / label / convert-model writing the model
      versions/<n>/            one complete model each; the newest KEEP_VERSIONS are kept
        manifest.json          format version, package versions, parameters, input fingerprint, coherence
        dictionary/vocabulary.json   tokens and ids (gensim ``token2id`` order), num_docs, num_pos, num_nnz
        dictionary/dfs.npy     int64 (n, 2): term id, document frequency (gensim ``dfs`` order)
        dictionary/cfs.npy     int64 (n, 2): term id, collection frequency
        tfidf/params.json      normalize, pivot, slope, num_docs, num_nnz
        tfidf/dfs.npy          int64 (n, 2): term id, document frequency over the TF-IDF corpus
        tfidf/idfs.npy         float64 (n,): the inverse document frequencies, rows as dfs.npy
        lda/params.json        gensim ``LdaModel`` settings, num_updates, numdocs, inference settings
        lda/alpha.npy          float64 (k,)
        lda/eta.npy            float64 (V,) or (k, V)
        lda/sstats.npy         float64 (k, V): the sufficient statistics
        lda/exp_elog_beta.npy  float64 (k, V)
        phrases.json           phrases and scores + gensim settings (absent when phrases are off)
        topics.json            per-topic terms, prevalence, coherence
        profiles.parquet       the customers' profiles at fit time
        documents.parquet      the cleaned texts the model keeps (``keep_texts``) and their days, for ``explain``
        training_bows.parquet  each training document's bag of words (ids + counts, no text), for ``forget``
        segments.json          RFM/topic fusion, segment centres and cards (only with orders)

Nothing in a model is a pickle: arrays are read with ``allow_pickle=False`` and checked for dtype
and shape, tables are JSON or Parquet, and the gensim objects are rebuilt from them. A model of
format 1 (gensim pickles) is refused; ``topicprofile convert-model --trust`` converts one
(:mod:`topicprofile.store_legacy`).

Each fitted part turns itself into plain data and back (``to_state()`` / ``from_state()``); this
module writes and reads that data (:func:`save_model`, :func:`load_model`) and never builds an
estimator itself.

A new version is written aside and published by replacing ``manifest.json``
(:mod:`topicprofile.store_versions`): at every instant MODEL holds a complete model, the old or the
new. Writers hold ``model.lock`` (:mod:`topicprofile.store_lock`, released by the system when the
process dies); the next writer removes what killed runs left. Nothing in MODEL that the model did
not write is ever deleted.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from topicprofile._fs import atomic_write_text
from topicprofile.errors import ModelError
from topicprofile.model_reader import FORMAT_VERSION, _parts_folder, read_arrays, read_manifest
from topicprofile.privacy.training_bows import TRAINING_BOWS
from topicprofile.segments.saved import SEGMENTS_FILE, load_segment_cards
from topicprofile.store_lock import LOCK, model_lock
from topicprofile.store_versions import (
    KIND,
    MANIFEST,
    VERSIONS,
    one_line,
    publish_version,
    read_json,
    version_number,
)

__all__ = [
    "FORMAT_VERSION",
    "LEGACY_FILES",
    "LOCK",
    "MANIFEST",
    "atomic_write_text",
    "rewrite_version",
    "load_model",
    "model_files",
    "model_lock",
    "model_manifest",
    "read_manifest",
    "read_state",
    "read_tables",
    "save_model",
]

LEGACY_FILES = ("topics.json", "profiles.parquet", "documents.parquet", "segments.json")
_LEGACY_PICKLES = ("dictionary.gensim", "tfidf.gensim", "phrases.gensim")
_VERSIONED = ("topicprofile", "gensim", "spacy", "scikit-learn", "pandas", "numpy")
T = TypeVar("T")


# -- small file helpers ---------------------------------------------------------------------------
def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1), encoding="utf-8")


# -- saving -------------------------------------------------------------------------------------
def _package_versions() -> dict[str, str]:
    versions = {}
    for name in _VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "unknown"
    return versions


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def model_manifest(fields: dict[str, Any]) -> dict[str, Any]:
    """A version's manifest: format, kind, package versions, then the model's own ``fields``
    (``TopicProfiler.to_state()["manifest"]``: parameters, tokenizer, LDA settings, input...)."""
    return {"format_version": FORMAT_VERSION, "kind": KIND, "versions": _package_versions(), **_json_safe(fields)}


def save_model(state: dict[str, Any], path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Save a fitted model's ``state`` (``TopicProfiler.to_state()``) as a new version of the model at ``path``.

    ``path`` may be new, a model (the new version replaces the current one) or, with ``force``, a
    folder holding other files (they are left alone). See the module docstring for the layout.

    Raises
    ------
    ModelError
        ``path`` cannot hold a model (see :func:`model_lock`), or writing failed (disk full...):
        the previous model, if any, is unchanged.
    """
    target = Path(path)
    with model_lock(target, force=force):
        previous = read_json(target / MANIFEST) if (target / MANIFEST).is_file() else None

        def write(folder: Path) -> dict[str, Any]:
            manifest = model_manifest(state["manifest"])
            _write_parts(state, folder, manifest)
            return manifest

        publish_version(target, write, had_model=previous is not None)
        if previous is not None and previous.get("format_version") == 1:
            _remove_legacy_parts(target)
    return target


def rewrite_version(
    path: str | os.PathLike[str], rewrite: Callable[[Path, dict[str, Any]], dict[str, Any]], *, drop_older: bool = False
) -> Path:
    """Publish a copy of the current version, changed by ``rewrite``, as the next version of the model.

    ``rewrite(folder, manifest)`` edits the copied parts in ``folder`` (a staging folder) and
    returns the new version's manifest fields; publishing is as atomic as :func:`save_model`. With
    ``drop_older`` every other version is deleted once the new one is current (``forget``: the
    older versions still hold what was removed). Returns the new version's folder.
    """
    target = Path(path)
    with model_lock(target):
        manifest = read_manifest(target)
        source = _parts_folder(target, manifest)

        def write(folder: Path) -> dict[str, Any]:
            shutil.copytree(source, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns(MANIFEST))
            fields = {k: v for k, v in rewrite(folder, dict(manifest)).items() if k != "current"}
            (folder / MANIFEST).write_text(json.dumps(fields, ensure_ascii=False, indent=2), encoding="utf-8")
            return fields

        number = publish_version(target, write, had_model=True)
        versions = target / VERSIONS
        for entry in versions.iterdir() if drop_older else ():
            if (n := version_number(entry)) is not None and n != number:
                shutil.rmtree(entry)
    return versions / str(number)


def _remove_legacy_parts(target: Path) -> None:
    """After a format-1 model was replaced: delete its pickles and part files (names it wrote)."""
    for name in _LEGACY_PICKLES:
        for file in target.glob(f"{name}*"):
            file.unlink(missing_ok=True)
    lda = target / "lda"
    if lda.is_dir() and all(f.name.startswith("lda.gensim") for f in lda.iterdir()):
        shutil.rmtree(lda, ignore_errors=True)
    for name in LEGACY_FILES:
        (target / name).unlink(missing_ok=True)


def _write_parts(state: dict[str, Any], folder: Path, manifest: dict[str, Any]) -> None:
    encoder = state["encoder"]
    _write_state(folder / "dictionary", "vocabulary.json", *encoder["dictionary"])
    _write_state(folder / "tfidf", "params.json", *encoder["tfidf"])
    _write_state(folder / "lda", "params.json", *state["lda"])
    if encoder["phrases"] is not None:
        with open(folder / "phrases.json", "w", encoding="utf-8") as f:
            json.dump(encoder["phrases"], f, ensure_ascii=False)
    _write_json(folder / "topics.json", _json_safe(state["topics"].to_dict(orient="records")))
    state["profiles"].to_parquet(folder / "profiles.parquet", index=False)
    if state["documents"] is not None:
        state["documents"].write_parquet(folder / "documents.parquet")
    if state.get("training_bows") is not None:
        state["training_bows"].write_parquet(folder / TRAINING_BOWS)
    if state["segments"] is not None:
        _write_json(folder / "segments.json", state["segments"])
    # The manifest goes last: a version folder with a manifest is complete.
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")


def _write_state(folder: Path, name: str, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """A component's plain data: its settings as ``name`` (JSON) and each array as ``<key>.npy``."""
    folder.mkdir()
    _write_json(folder / name, _json_safe(params))
    for key, array in arrays.items():
        np.save(folder / f"{key}.npy", array, allow_pickle=False)


# -- reading ------------------------------------------------------------------------------------
def model_files(path: str | os.PathLike[str]) -> Path:
    """The folder holding the current version's files of the model at ``path`` (checked)."""
    folder = Path(path)
    return _parts_folder(folder, read_manifest(folder))


def load_model(path: str | os.PathLike[str], build: Callable[[dict[str, Any]], T]) -> T:
    """Read a model saved by :func:`save_model` and ``build`` it (``TopicProfiler.from_state``).

    ``path`` is the model folder (its current version is loaded) or one of its ``versions/<n>``.
    Only plain data is read (see :func:`read_state`); format-1 models (pickles) are refused.
    """
    folder = Path(path)
    manifest = read_manifest(folder)
    try:
        return build(read_state(_parts_folder(folder, manifest), manifest))
    except ModelError:
        raise
    except Exception as e:  # a parquet / JSON / value error means the files are damaged
        raise ModelError(f"{folder}: corrupt model ({type(e).__name__}: {one_line(e)}); refit the model") from e


def read_state(folder: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The plain data of the version in ``folder``: what ``TopicProfiler.to_state()`` gave, with
    ``documents`` the path of the documents' Parquet file (or None); arrays checked for dtype and shape."""
    parts = read_arrays(folder, manifest)
    return {**parts, **read_tables(folder, manifest, n_topics=int(parts["lda"][0]["num_topics"]))}


def read_tables(folder: Path, manifest: dict[str, Any], *, n_topics: int) -> dict[str, Any]:
    """The tables of a model folder: ``topics`` (checked against ``n_topics`` and the manifest's
    labels), ``profiles``, ``documents`` (path or None), ``segments`` (document or None)."""
    topics = pd.DataFrame(read_json(folder / "topics.json"))
    if len(topics) != n_topics or len(manifest["topic_labels"]) != n_topics:
        raise ModelError(f"{folder}: corrupt model (topics.json, manifest and LDA disagree on the topics); refit the model")
    documents, bows = folder / "documents.parquet", folder / TRAINING_BOWS
    return {
        "topics": topics,
        "profiles": pd.read_parquet(folder / "profiles.parquet"),
        "documents": documents if documents.is_file() else None,
        "training_bows": bows if bows.is_file() else None,
        "segments": load_segment_cards(folder) if (folder / SEGMENTS_FILE).is_file() else None,
        "folder": folder,
    }


