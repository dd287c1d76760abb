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
format 1 (gensim pickles) is refused; ``topicprofile convert-model --trust`` converts one.

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
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from topicprofile.errors import ModelError

__all__ = [
    "FORMAT_VERSION",
    "save_model",
    "load_model",
    "read_manifest",
    "model_files",
    "model_lock",
    "convert_model",
    "atomic_write_text",
]

FORMAT_VERSION = 2
KIND = "topicprofile.TopicProfiler"
MANIFEST = "manifest.json"
VERSIONS = "versions"
LOCK = "model.lock"
#: Versions kept in ``versions/`` (the current one and the ones before it).
KEEP_VERSIONS = 3
_STAGING = ".staging-"
_PARTS = (
    "dictionary/vocabulary.json", "dictionary/dfs.npy", "dictionary/cfs.npy",
    "tfidf/params.json", "tfidf/dfs.npy", "tfidf/idfs.npy",
    "lda/params.json", "lda/alpha.npy", "lda/eta.npy", "lda/sstats.npy", "lda/exp_elog_beta.npy",
    "topics.json", "profiles.parquet",
)  # fmt: skip
#: What a format-1 model held at its top level (pickled gensim parts and their side files included).
_LEGACY_FILES = ("topics.json", "profiles.parquet", "documents.parquet", "segments.json")
_LEGACY_PICKLES = ("dictionary.gensim", "tfidf.gensim", "phrases.gensim")
_CONVERT = "topicprofile convert-model --trust"
_VERSIONED = ("topicprofile", "gensim", "spacy", "scikit-learn", "pandas", "numpy")


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


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1), encoding="utf-8")


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


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


def _manifest(profiler: Any) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "kind": KIND,
        "versions": _package_versions(),
        "params": _json_safe(profiler.get_params()),
        "n_segments": len(profiler.segment_cards_),
        "tokenizer": profiler.tokenizer_.get_config(),
        "lda": _json_safe(
            {k: ("seeded by the taxonomy" if hasattr(v, "shape") else v) for k, v in profiler.topics_.resolved_params().items()}
        ),
        "input": {"fingerprint": profiler.input_fingerprint_, "n_documents": profiler.n_documents_},
        "n_customers": int(len(profiler.profiles_)),
        "n_terms": len(profiler.dictionary_),
        "coherence": profiler.coherence_,
        "n_topics": profiler.n_topics_,
        "tuning": None if profiler.tuning_ is None else _json_safe(profiler.tuning_.to_dict(orient="records")),
        "topic_labels": list(profiler.topic_labels_),
    }


def save_model(profiler: Any, path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Save a fitted :class:`~topicprofile.TopicProfiler` as a new version of the model at ``path``.

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
            manifest = _manifest(profiler)
            _write_parts(profiler, staging, manifest)
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
    for name in _LEGACY_FILES:
        (target / name).unlink(missing_ok=True)


def _write_parts(profiler: Any, folder: Path, manifest: dict[str, Any]) -> None:
    _write_dictionary(profiler.dictionary_, folder / "dictionary")
    _write_tfidf(profiler.keywords_.tfidf_, folder / "tfidf")
    (folder / "lda").mkdir()
    params, arrays = profiler.topics_.to_state()
    _write_json(folder / "lda" / "params.json", _json_safe(params))
    for name, array in arrays.items():
        np.save(folder / "lda" / f"{name}.npy", array, allow_pickle=False)
    if profiler.phrases_ is not None:
        profiler.phrases_.save(folder / "phrases.json")
    topics = profiler.topic_info_.drop(columns=["label"]).to_dict(orient="records")
    _write_json(folder / "topics.json", _json_safe(topics))
    profiler.profiles_.to_parquet(folder / "profiles.parquet", index=False)
    if getattr(profiler, "documents_", None) is not None:
        profiler.documents_.write_parquet(folder / "documents.parquet")
    if getattr(profiler, "segmenter_", None) is not None:
        from topicprofile.segments.cluster import write_segments

        write_segments(folder, fuser=profiler.fuser_, segmenter=profiler.segmenter_, cards=profiler.segment_cards_)
    # The manifest goes last: a version folder with a manifest is complete.
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")


def _pairs(mapping: dict[int, int]) -> np.ndarray:
    return np.array(list(mapping.items()), dtype=np.int64).reshape(-1, 2)


def _write_dictionary(dictionary: Any, folder: Path) -> None:
    folder.mkdir()
    vocabulary = {
        "num_docs": int(dictionary.num_docs),
        "num_pos": int(dictionary.num_pos),
        "num_nnz": int(dictionary.num_nnz),
        "tokens": list(dictionary.token2id),
        "ids": [int(i) for i in dictionary.token2id.values()],
    }
    _write_json(folder / "vocabulary.json", vocabulary)
    np.save(folder / "dfs.npy", _pairs(dictionary.dfs), allow_pickle=False)
    np.save(folder / "cfs.npy", _pairs(dictionary.cfs), allow_pickle=False)


def _write_tfidf(tfidf: Any, folder: Path) -> None:
    from gensim import matutils
    from gensim.models.tfidfmodel import df2idf
    from gensim.utils import identity

    # gensim swaps normalize=True/False for the function it stands for on first use
    normalize = {id(matutils.unitvec): True, id(identity): False}.get(id(tfidf.normalize), tfidf.normalize)
    if tfidf.smartirs is not None or tfidf.wlocal is not identity or tfidf.wglobal is not df2idf or not isinstance(normalize, bool):
        raise ValueError("only a TfidfModel with gensim's default weighting can be saved as data")
    if list(tfidf.idfs) != list(tfidf.dfs):
        raise ValueError("TfidfModel idfs and dfs hold different terms")
    folder.mkdir()
    params = {"normalize": normalize, "pivot": tfidf.pivot, "slope": tfidf.slope,
              "num_docs": int(tfidf.num_docs), "num_nnz": int(tfidf.num_nnz)}  # fmt: skip
    _write_json(folder / "params.json", params)
    np.save(folder / "dfs.npy", _pairs(tfidf.dfs), allow_pickle=False)
    np.save(folder / "idfs.npy", np.array(list(tfidf.idfs.values()), dtype=np.float64), allow_pickle=False)


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
        manifest = _read_json(manifest_path)
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelError(f"{manifest_path}: corrupt manifest ({_one_line(e)}); refit the model") from e
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


def load_model(path: str | os.PathLike[str]) -> Any:
    """Load a model saved by :func:`save_model` into a fitted :class:`~topicprofile.TopicProfiler`.

    ``path`` is the model folder (its current version is loaded) or one of its ``versions/<n>``.
    Only plain data is read; format-1 models (pickles) are refused.
    """
    folder = Path(path)
    manifest = read_manifest(folder)
    try:
        return _build_profiler(_parts_folder(folder, manifest), manifest)
    except ModelError:
        raise
    except Exception as e:  # a parquet / JSON / value error means the files are damaged
        raise ModelError(f"{folder}: corrupt model ({type(e).__name__}: {_one_line(e)}); refit the model") from e


def _read_dictionary(folder: Path) -> Any:
    from gensim.corpora import Dictionary

    vocabulary = _read_json(folder / "vocabulary.json")
    tokens, ids = vocabulary["tokens"], vocabulary["ids"]
    n_terms = len(tokens)
    if (
        not all(isinstance(t, str) for t in tokens) or len(set(tokens)) != n_terms
        or sorted(ids) != list(range(n_terms)) or not all(type(i) is int for i in ids)
    ):  # fmt: skip
        raise ModelError(f"{folder / 'vocabulary.json'}: corrupt vocabulary (tokens and ids do not match); refit the model")
    dictionary = Dictionary()
    dictionary.token2id = dict(zip(tokens, ids, strict=True))
    for name in ("dfs", "cfs"):
        pairs = _read_array(folder / f"{name}.npy", "int64", (None, 2))
        if pairs.size and (pairs[:, 0].min() < 0 or pairs[:, 0].max() >= n_terms):
            raise ModelError(f"{folder / name}.npy: term ids out of range; refit the model")
        setattr(dictionary, name, dict(zip(pairs[:, 0].tolist(), pairs[:, 1].tolist(), strict=True)))
    dictionary.num_docs = int(vocabulary["num_docs"])
    dictionary.num_pos = int(vocabulary["num_pos"])
    dictionary.num_nnz = int(vocabulary["num_nnz"])
    return dictionary


def _read_tfidf(folder: Path, dictionary: Any) -> Any:
    from gensim.models import TfidfModel

    params = _read_json(folder / "params.json")
    dfs = _read_array(folder / "dfs.npy", "int64", (None, 2))
    idfs = _read_array(folder / "idfs.npy", "float64", (dfs.shape[0],))
    # no corpus, no dictionary: gensim leaves the statistics to be set, as here
    tfidf = TfidfModel(id2word=dictionary, normalize=bool(params["normalize"]), pivot=params["pivot"],
                       slope=float(params["slope"]))  # fmt: skip
    tfidf.num_docs, tfidf.num_nnz = int(params["num_docs"]), int(params["num_nnz"])
    term_ids = dfs[:, 0].tolist()
    tfidf.dfs = dict(zip(term_ids, dfs[:, 1].tolist(), strict=True))
    tfidf.idfs = dict(zip(term_ids, idfs.tolist(), strict=True))
    return tfidf


def _read_lda(folder: Path, dictionary: Any) -> Any:
    from topicprofile.topics import LdaTopics

    params = _read_json(folder / "params.json")
    k, n_terms = int(params["num_topics"]), len(dictionary)
    arrays = {
        "alpha": _read_array(folder / "alpha.npy", "float64", (k,)),
        "eta": _read_array(folder / "eta.npy", "float64", (n_terms,), (k, n_terms)),
        "sstats": _read_array(folder / "sstats.npy", "float64", (k, n_terms)),
        "exp_elog_beta": _read_array(folder / "exp_elog_beta.npy", "float64", (k, n_terms)),
    }
    return LdaTopics.from_state(params, arrays, dictionary)


def _profiler_from_manifest(manifest: dict[str, Any]) -> tuple[Any, Any]:
    from topicprofile.profiler import TopicProfiler
    from topicprofile.text.tokenizer import SpacyTokenizer

    params = dict(manifest["params"])
    if params.get("k_values") is not None:
        params["k_values"] = tuple(params["k_values"])
    if params.get("segment_k_range") is not None:
        params["segment_k_range"] = tuple(params["segment_k_range"])
    if params.get("topic_labels"):
        params["topic_labels"] = {int(k): v for k, v in params["topic_labels"].items()}
    return TopicProfiler(**params), SpacyTokenizer.from_config(manifest["tokenizer"])


def _build_profiler(folder: Path, manifest: dict[str, Any]) -> Any:
    from topicprofile.text.phrases import PhraseDetector

    profiler, tokenizer = _profiler_from_manifest(manifest)
    dictionary = _read_dictionary(folder / "dictionary")
    tfidf = _read_tfidf(folder / "tfidf", dictionary)
    topics = _read_lda(folder / "lda", dictionary)
    phrases = PhraseDetector.load(folder / "phrases.json") if (folder / "phrases.json").is_file() else None
    return _assemble(profiler, folder, manifest, tokenizer=tokenizer, dictionary=dictionary, tfidf=tfidf,
                     topics=topics, phrases=phrases)  # fmt: skip


def _assemble(profiler: Any, folder: Path, manifest: dict[str, Any], **parts: Any) -> Any:
    """Set a profiler's fitted state from its parts and the tables of ``folder``."""
    from topicprofile.text.corpus import DocumentStore
    from topicprofile.text.encoder import TextEncoder
    from topicprofile.text.vectorize import TfidfKeywords

    keywords = TfidfKeywords()
    keywords.tfidf_ = parts["tfidf"]
    keywords.dictionary_ = parts["dictionary"]
    profiler.encoder_ = TextEncoder.from_parts(
        parts["tokenizer"], phrases=parts["phrases"], dictionary=parts["dictionary"], keywords=keywords
    )
    profiler.topics_ = parts["topics"]
    profiler.n_topics_ = profiler.topics_.n_topics
    tuning = manifest.get("tuning")
    profiler.tuning_ = pd.DataFrame(tuning) if tuning else None
    profiler.topic_info_ = pd.DataFrame(_read_json(folder / "topics.json"))
    if len(profiler.topic_info_) != profiler.n_topics_ or len(manifest["topic_labels"]) != profiler.n_topics_:
        raise ModelError(f"{folder}: corrupt model (topics.json, manifest and LDA disagree on the topics); refit the model")
    profiler.auto_labels_ = profiler.topic_info_["auto_label"].tolist()
    profiler.coherence_ = manifest["coherence"]
    profiler.n_documents_ = manifest["input"]["n_documents"]
    profiler.input_fingerprint_ = manifest["input"]["fingerprint"]
    profiler.profiles_ = pd.read_parquet(folder / "profiles.parquet")
    documents = folder / "documents.parquet"
    profiler.documents_ = DocumentStore.open(documents) if documents.is_file() else None
    profiler.fuser_, profiler.segmenter_, profiler.segment_cards_ = None, None, []
    if (folder / "segments.json").is_file():
        from topicprofile.segments.cluster import load_segments

        profiler.fuser_, profiler.segmenter_, profiler.segment_cards_ = load_segments(folder)
    # profiles.parquet and segments.json were written with these labels: no relabelling needed
    profiler.topic_labels_ = list(manifest["topic_labels"])
    profiler.topic_info_["label"] = profiler.topic_labels_
    return profiler


# -- format 1 (pickles): converted only when the user vouches for the model -------------------------
def convert_model(path: str | os.PathLike[str], *, trust: bool) -> bool:
    """Rewrite a format-1 model (gensim pickles) at ``path`` in the current format, in place.

    Loading pickles runs whatever code they hold, so this reads them only with ``trust=True``:
    pass it only for a model you made or vouch for. The converted model gives the same output; the
    pickles are deleted once the new version is published. Returns False when the model already
    has the current format (nothing done).

    Raises
    ------
    ModelError
        ``trust`` is False, or ``path`` is not a format-1 or current model.
    """
    folder = Path(path)
    if not trust:
        raise ModelError(
            f"{folder}: converting reads the model's pickles, which can run any code; pass --trust only "
            "for a model you made or vouch for"
        )
    with model_lock(folder):
        manifest = _legacy_manifest(folder)
        if manifest is None:
            read_manifest(folder)  # current format: checks it, nothing to do
            return False
        try:
            profiler = _build_legacy_profiler(folder, manifest)
        except ModelError:
            raise
        except Exception as e:
            raise ModelError(f"{folder}: corrupt format-1 model ({type(e).__name__}: {_one_line(e)}); refit it") from e
        save_model(profiler, folder)
    return True


def _legacy_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of a format-1 model at ``folder``, None for a current one; ModelError otherwise."""
    try:
        read_manifest(folder)
        return None
    except ModelError as e:
        if "model of format 1" not in str(e):
            raise
    manifest = _read_json(folder / MANIFEST)
    missing = [p for p in ("dictionary.gensim", "tfidf.gensim", "lda/lda.gensim", *_LEGACY_FILES[:2]) if not (folder / p).is_file()]
    if missing:
        raise ModelError(f"{folder}: corrupt format-1 model, missing {', '.join(missing)}; refit it")
    return manifest


def _build_legacy_profiler(folder: Path, manifest: dict[str, Any]) -> Any:
    import logging

    from gensim.corpora import Dictionary
    from gensim.models import LdaModel, TfidfModel
    from gensim.models.phrases import FrozenPhrases

    from topicprofile.text.phrases import PhraseDetector
    from topicprofile.topics import LdaTopics

    profiler, tokenizer = _profiler_from_manifest(manifest)
    dictionary = Dictionary.load(str(folder / "dictionary.gensim"))
    tfidf = TfidfModel.load(str(folder / "tfidf.gensim"))
    lda = LdaModel.load(str(folder / "lda" / "lda.gensim"))
    phrases = None
    if (folder / "phrases.gensim").is_file():
        phrases = PhraseDetector()
        phrases_logger = logging.getLogger("gensim.models.phrases")  # a frozen model warns of no corpus_word_count
        level = phrases_logger.level
        phrases_logger.setLevel(logging.ERROR)
        try:
            phrases.phrases_ = FrozenPhrases.load(str(folder / "phrases.gensim"))
        finally:
            phrases_logger.setLevel(level)
        phrases.min_count, phrases.threshold = phrases.phrases_.min_count, phrases.phrases_.threshold
    topics = LdaTopics.from_gensim(lda, random_state=profiler.random_state)
    return _assemble(profiler, folder, manifest, tokenizer=tokenizer, dictionary=dictionary, tfidf=tfidf,
                     topics=topics, phrases=phrases)  # fmt: skip

