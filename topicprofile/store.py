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
        documents.parquet      the cleaned texts the model was fitted on, for ``explain``
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
import re
import shutil
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from topicprofile._fs import atomic_write_text
from topicprofile.errors import ModelError
from topicprofile.segments.saved import SEGMENTS_FILE, load_segment_cards
from topicprofile.store_lock import LOCK, model_lock
from topicprofile.store_versions import KIND, MANIFEST, VERSIONS, one_line, publish_version, read_json

__all__ = [
    "FORMAT_VERSION",
    "LEGACY_FILES",
    "LOCK",
    "MANIFEST",
    "atomic_write_text",
    "load_model",
    "model_files",
    "model_lock",
    "model_manifest",
    "read_manifest",
    "read_state",
    "read_tables",
    "save_model",
]

FORMAT_VERSION = 2
_PARTS = (
    "dictionary/vocabulary.json", "dictionary/dfs.npy", "dictionary/cfs.npy",
    "tfidf/params.json", "tfidf/dfs.npy", "tfidf/idfs.npy",
    "lda/params.json", "lda/alpha.npy", "lda/eta.npy", "lda/sstats.npy", "lda/exp_elog_beta.npy",
    "topics.json", "profiles.parquet",
)  # fmt: skip
#: What a format-1 model held at its top level (pickled gensim parts and their side files included).
LEGACY_FILES = ("topics.json", "profiles.parquet", "documents.parquet", "segments.json")
_LEGACY_PICKLES = ("dictionary.gensim", "tfidf.gensim", "phrases.gensim")
_CONVERT = "topicprofile convert-model --trust"
_VERSIONED = ("topicprofile", "gensim", "spacy", "scikit-learn", "pandas", "numpy")
T = TypeVar("T")


# -- small file helpers ---------------------------------------------------------------------------
def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1), encoding="utf-8")


def _read_array(path: Path, dtype: str, *shapes: tuple[int | None, ...]) -> np.ndarray:
    """An ``.npy`` array of exactly ``dtype`` and one of ``shapes`` (None: any length); never unpickles."""
    with open(path, "rb") as f:
        array = np.lib.format.read_array(f, allow_pickle=False)
    fits = [
        array.ndim == len(shape) and all(want is None or got == want for got, want in zip(array.shape, shape))
        for shape in shapes
    ]
    if array.dtype != np.dtype(dtype) or not any(fits):
        wanted = " or ".join("(" + ", ".join("n" if n is None else str(n) for n in shape) + ")" for shape in shapes)
        raise ModelError(
            f"{path}: corrupt model part: {array.dtype} array of shape {array.shape}, expected {dtype} "
            f"{wanted}; refit the model"
        )
    return array


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
def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a model's manifest (a model folder or one of its ``versions/<n>``).

    Raises
    ------
    ModelError
        Missing, not a model, corrupt, of a newer format, or of format 1 (pickles: refused, with
        the command that converts it).
    """
    folder = Path(path)
    if not folder.exists():
        raise ModelError(f"{folder}: model directory not found; fit one with `topicprofile fit`")
    if not folder.is_dir():
        raise ModelError(f"{folder}: is a file, not a model directory; give the model's folder as --model-dir")
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise ModelError(f"{folder}: not a topicprofile model (manifest.json missing)")
    try:
        manifest = read_json(manifest_path)
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelError(f"{manifest_path}: corrupt manifest ({one_line(e)}); refit the model") from e
    version = manifest.get("format_version") if isinstance(manifest, dict) else None
    if not isinstance(version, int) or manifest.get("kind") != KIND:
        raise ModelError(f"{manifest_path}: corrupt manifest (no format_version or kind); refit the model")
    if version > FORMAT_VERSION:
        made_by = manifest.get("versions", {}).get("topicprofile", "a newer version")
        raise ModelError(
            f"{folder}: model format {version} was written by topicprofile {made_by}; this "
            f"topicprofile reads format {FORMAT_VERSION} — upgrade topicprofile"
        )
    if version == 1:
        raise ModelError(
            f"{folder}: model of format 1, whose parts are pickles that can run code when loaded, so it is "
            f"not loaded; if you made it or trust it, convert it once with: {_CONVERT} {folder}"
        )
    if version < FORMAT_VERSION:
        raise ModelError(f"{folder}: model format {version} is no longer supported; refit the model")
    parts = _parts_folder(folder, manifest)
    missing = [p for p in _PARTS if not (parts / p).is_file()]
    if missing:
        raise ModelError(f"{folder}: corrupt model, missing {', '.join(missing)}; refit the model")
    return manifest


def _parts_folder(folder: Path, manifest: dict[str, Any]) -> Path:
    current = manifest.get("current")
    if current is None:
        return folder
    if not isinstance(current, str) or not re.fullmatch(rf"{VERSIONS}/\d+", current):
        raise ModelError(f"{folder / MANIFEST}: corrupt manifest (current {current!r}); refit the model")
    if not (folder / current).is_dir():
        raise ModelError(f"{folder}: corrupt model, its current version {current} is missing; refit the model")
    return folder / current


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
    vocabulary = read_json(folder / "dictionary" / "vocabulary.json")
    n_terms = _check_vocabulary(folder / "dictionary", vocabulary)
    pairs = {}
    for name in ("dfs", "cfs"):
        pairs[name] = _read_array(folder / "dictionary" / f"{name}.npy", "int64", (None, 2))
        if pairs[name].size and (pairs[name][:, 0].min() < 0 or pairs[name][:, 0].max() >= n_terms):
            raise ModelError(f"{folder / 'dictionary' / name}.npy: term ids out of range; refit the model")
    dfs = _read_array(folder / "tfidf" / "dfs.npy", "int64", (None, 2))
    tfidf = {"dfs": dfs, "idfs": _read_array(folder / "tfidf" / "idfs.npy", "float64", (dfs.shape[0],))}
    phrases = folder / "phrases.json"
    encoder = {
        "tokenizer": manifest["tokenizer"],
        "phrases": read_json(phrases) if phrases.is_file() else None,
        "dictionary": (vocabulary, pairs),
        "tfidf": (read_json(folder / "tfidf" / "params.json"), tfidf),
    }
    lda = _read_lda(folder / "lda", n_terms)
    return {"manifest": manifest, "encoder": encoder, "lda": lda, **read_tables(folder, manifest, n_topics=int(lda[0]["num_topics"]))}


def read_tables(folder: Path, manifest: dict[str, Any], *, n_topics: int) -> dict[str, Any]:
    """The tables of a model folder: ``topics`` (checked against ``n_topics`` and the manifest's
    labels), ``profiles``, ``documents`` (path or None), ``segments`` (document or None)."""
    topics = pd.DataFrame(read_json(folder / "topics.json"))
    if len(topics) != n_topics or len(manifest["topic_labels"]) != n_topics:
        raise ModelError(f"{folder}: corrupt model (topics.json, manifest and LDA disagree on the topics); refit the model")
    documents = folder / "documents.parquet"
    return {
        "topics": topics,
        "profiles": pd.read_parquet(folder / "profiles.parquet"),
        "documents": documents if documents.is_file() else None,
        "segments": load_segment_cards(folder) if (folder / SEGMENTS_FILE).is_file() else None,
        "folder": folder,
    }


def _check_vocabulary(folder: Path, vocabulary: dict[str, Any]) -> int:
    tokens, ids = vocabulary["tokens"], vocabulary["ids"]
    n_terms = len(tokens)
    if (
        not all(isinstance(t, str) for t in tokens) or len(set(tokens)) != n_terms
        or sorted(ids) != list(range(n_terms)) or not all(type(i) is int for i in ids)
    ):  # fmt: skip
        raise ModelError(f"{folder / 'vocabulary.json'}: corrupt vocabulary (tokens and ids do not match); refit the model")
    return n_terms


def _read_lda(folder: Path, n_terms: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    params = read_json(folder / "params.json")
    k = int(params["num_topics"])
    arrays = {
        "alpha": _read_array(folder / "alpha.npy", "float64", (k,)),
        "eta": _read_array(folder / "eta.npy", "float64", (n_terms,), (k, n_terms)),
        "sstats": _read_array(folder / "sstats.npy", "float64", (k, n_terms)),
        "exp_elog_beta": _read_array(folder / "exp_elog_beta.npy", "float64", (k, n_terms)),
    }
    return params, arrays
