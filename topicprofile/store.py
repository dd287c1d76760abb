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

A new version is written to ``versions/.staging-*``, synced, renamed to ``versions/<n>`` and only
then published by replacing ``manifest.json``; at every instant MODEL holds a complete model, the
old or the new. Writers hold ``model.lock`` (released by the system when the process dies); the
next writer removes what killed runs left (staging folders, unpublished versions). Nothing in MODEL
that the model did not write is ever deleted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from topicprofile.errors import ModelError
from topicprofile.model_reader import (
    FORMAT_VERSION,
    KIND,
    MANIFEST,
    VERSIONS,
    _one_line,
    _parts_folder,
    _read_json,
    read_arrays,
    read_manifest,
)  # fmt: skip
from topicprofile.segments.saved import SEGMENTS_FILE, load_segment_cards

__all__ = [
    "FORMAT_VERSION",
    "save_model",
    "load_model",
    "model_manifest",
    "read_manifest",
    "read_state",
    "read_tables",
    "model_files",
    "model_lock",
    "atomic_write_text",
    "LEGACY_FILES",
]

LOCK = "model.lock"
#: Versions kept in ``versions/`` (the current one and the ones before it).
KEEP_VERSIONS = 3
_STAGING = ".staging-"
#: What a format-1 model held at its top level (pickled gensim parts and their side files included).
LEGACY_FILES = ("topics.json", "profiles.parquet", "documents.parquet", "segments.json")
_LEGACY_PICKLES = ("dictionary.gensim", "tfidf.gensim", "phrases.gensim")
_VERSIONED = ("topicprofile", "gensim", "spacy", "scikit-learn", "pandas", "numpy")
T = TypeVar("T")


# -- small file helpers ---------------------------------------------------------------------------
def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike[str], text: str, *, durable: bool = False) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and ``os.replace``.

    The file gets the permissions of a normally created file (``0o666`` less the umask); with
    ``durable`` the file and its folder are synced, so the new text survives a power cut.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    for root, _, files in os.walk(folder):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(root))


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1), encoding="utf-8")


# -- lock ---------------------------------------------------------------------------------------
_HELD: dict[str, bool] = {}  # real paths of the models this process holds the lock of -> force


def _flock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: a byte-range lock serves too
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


@contextmanager
def model_lock(path: str | os.PathLike[str], *, force: bool = False) -> Iterator[Path]:
    """Hold ``path/model.lock`` while writing a model; check and prepare the folder first.

    Before anything is computed: ``path`` must not be a file; an existing folder must be a
    topicprofile model, empty, or (with ``force``) may hold other files, which are left alone;
    the folder is created if needed and must be writable. Another process writing the same model
    makes this raise at once. Staging folders and unpublished versions of killed runs are removed.
    A folder created here is removed again if no model was published in it. Re-entrant within a
    process (:func:`save_model` inside a ``fit`` that already holds the lock).

    Raises
    ------
    ModelError
        Any of the above is not so; nothing was written.
    """
    target = Path(path)
    key = os.path.realpath(target)
    if key in _HELD:
        if force and not _HELD[key]:
            _check_target(target, force=True)
        yield target
        return
    _check_target(target, force=force)
    created = _make_dirs(target)
    try:
        fd = os.open(target / LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as e:
        _remove_created(target, created)
        raise ModelError(f"{target}: cannot write the model here ({e.strerror}); choose a writable --model-dir") from e
    try:
        try:
            _flock(fd)
        except OSError:
            holder = (target / LOCK).read_text(encoding="utf-8", errors="replace").strip() or "holder unknown"
            raise ModelError(
                f"{target}: another run is writing this model ({holder}); this run did nothing. Run again "
                "when it has finished (its lock ends with it, even if it crashes)."
            ) from None
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%dT%H:%M:%S')}\n".encode())
            _check_writable(target)
            _clean_stale(target)
        except OSError as e:
            if isinstance(e, ModelError):
                raise
            raise ModelError(f"{target}: cannot write the model here ({e.strerror}); choose a writable --model-dir") from e
        _HELD[key] = force
        try:
            yield target
        finally:
            del _HELD[key]
    finally:
        os.close(fd)  # closing releases the lock; the file stays (deleting it would race)
        if created and not (target / MANIFEST).exists():
            _remove_created(target, created)


def _check_target(target: Path, *, force: bool) -> None:
    if target.exists() and not target.is_dir():
        raise ModelError(f"{target}: is a file, not a model directory; choose a folder for --model-dir")
    if not target.is_dir():
        return
    try:
        names = {p.name for p in target.iterdir()}
    except OSError as e:
        raise ModelError(f"{target}: cannot read the folder ({e.strerror}); choose another --model-dir") from e
    if MANIFEST in names:
        if _is_model_manifest(target / MANIFEST):
            return
        raise ModelError(f"{target}: holds a manifest.json that is not a topicprofile model's; choose another --model-dir")
    others = names - {LOCK, VERSIONS}
    if not others:  # empty, or only what an unfinished first fit left
        return
    if not force:
        raise ModelError(
            f"{target}: exists and is not a topicprofile model ({len(others)} other files); choose a new or "
            "empty --model-dir, or pass --force to save the model beside those files (none is changed)"
        )
    if names & {LOCK, VERSIONS}:
        raise ModelError(
            f"{target}: holds its own {' and '.join(sorted(names & {LOCK, VERSIONS}))}, which the model "
            "would write into; choose another --model-dir"
        )


def _is_model_manifest(path: Path) -> bool:
    try:
        manifest = _read_json(path)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(manifest, dict) and manifest.get("kind") == KIND


def _make_dirs(target: Path) -> list[Path]:
    """Create ``target`` and its missing parents; returns the created folders, deepest last."""
    missing = []
    folder = target
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    created = []
    try:
        for folder in reversed(missing):
            folder.mkdir()
            created.append(folder)
    except OSError as e:
        _remove_created(target, created)
        raise ModelError(
            f"{target}: cannot create the model directory ({e.strerror}: {e.filename}); choose a writable --model-dir"
        ) from e
    return created


def _remove_created(target: Path, created: list[Path]) -> None:
    """Undo :func:`_make_dirs` when nothing was published: only what this run made."""
    if not created:
        return
    (target / LOCK).unlink(missing_ok=True)
    versions = target / VERSIONS
    if versions.is_dir():
        shutil.rmtree(versions, ignore_errors=True)
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            return


def _check_writable(target: Path) -> None:
    versions = target / VERSIONS
    versions.mkdir(exist_ok=True)
    fd, probe = tempfile.mkstemp(dir=versions, prefix=_STAGING + "probe-")
    os.close(fd)
    os.unlink(probe)


def _clean_stale(target: Path) -> None:
    """Remove what killed writers left: staging folders, temporary manifests, unpublished versions
    (those newer than the current one; none when the current one is not known)."""
    current = _current_number(target)
    versions = target / VERSIONS
    for entry in versions.iterdir():
        if entry.name.startswith(_STAGING):
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
        elif current is not None and (number := _version_number(entry)) is not None and number > current:
            shutil.rmtree(entry, ignore_errors=True)
    for entry in target.glob(f".{MANIFEST}.*.tmp"):
        entry.unlink(missing_ok=True)


def _version_number(entry: Path) -> int | None:
    """``n`` for a folder ``versions/<n>`` holding a topicprofile manifest, else None."""
    if not entry.name.isdigit() or not _is_model_manifest(entry / MANIFEST):
        return None
    return int(entry.name)


def _current_number(target: Path) -> int | None:
    try:
        current = _read_json(target / MANIFEST).get("current", "")
    except (OSError, ValueError, AttributeError):
        return None
    match = re.fullmatch(rf"{VERSIONS}/(\d+)", current) if isinstance(current, str) else None
    return int(match.group(1)) if match else None


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
        previous = _read_json(target / MANIFEST) if (target / MANIFEST).is_file() else None
        versions = target / VERSIONS
        number = 1 + max([_current_number(target) or 0] + [n for e in versions.iterdir() if (n := _version_number(e))])
        final = versions / str(number)
        staging = Path(tempfile.mkdtemp(dir=versions, prefix=_STAGING))
        try:
            os.chmod(staging, 0o777 & ~_umask())
            manifest = model_manifest(state["manifest"])
            _write_parts(state, staging, manifest)
            _fsync_tree(staging)
            os.rename(staging, final)
            _fsync_dir(versions)
            current = {**manifest, "current": f"{VERSIONS}/{number}"}
            atomic_write_text(target / MANIFEST, json.dumps(current, ensure_ascii=False, indent=2), durable=True)
        except BaseException as e:
            shutil.rmtree(staging, ignore_errors=True)
            if _current_number(target) != number:
                shutil.rmtree(final, ignore_errors=True)
            if isinstance(e, OSError) and not isinstance(e, ModelError):
                kept = "the previous model is unchanged" if previous else "nothing was saved"
                raise ModelError(f"{target}: could not save the model ({e.strerror or _one_line(e)}); {kept}") from e
            raise
        if previous is not None and previous.get("format_version") == 1:
            _remove_legacy_parts(target)
        _prune(versions, keep_from=number)
    return target


def _prune(versions: Path, *, keep_from: int) -> None:
    """Delete our versions but the newest :data:`KEEP_VERSIONS` up to ``keep_from``."""
    numbers = sorted(n for e in versions.iterdir() if (n := _version_number(e)) is not None and n <= keep_from)
    for n in numbers[:-KEEP_VERSIONS]:
        shutil.rmtree(versions / str(n), ignore_errors=True)


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
        raise ModelError(f"{folder}: corrupt model ({type(e).__name__}: {_one_line(e)}); refit the model") from e


def read_state(folder: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The plain data of the version in ``folder``: what ``TopicProfiler.to_state()`` gave, with
    ``documents`` the path of the documents' Parquet file (or None); arrays checked for dtype and shape."""
    parts = read_arrays(folder, manifest)
    return {**parts, **read_tables(folder, manifest, n_topics=int(parts["lda"][0]["num_topics"]))}


def read_tables(folder: Path, manifest: dict[str, Any], *, n_topics: int) -> dict[str, Any]:
    """The tables of a model folder: ``topics`` (checked against ``n_topics`` and the manifest's
    labels), ``profiles``, ``documents`` (path or None), ``segments`` (document or None)."""
    topics = pd.DataFrame(_read_json(folder / "topics.json"))
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


