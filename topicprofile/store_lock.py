"""The model folder's lock, and the checks and clean-up before a run writes a model.

``MODEL/model.lock`` is held (``flock``) by the fit, label or convert-model writing the model and
released by the system when the process ends, even by a crash. Before anything is computed the
folder is checked (a model, empty, or with ``force`` other files left alone), created if needed
and tested for writing; what killed writers left (staging folders, unpublished versions) is
removed. Nothing in MODEL that the model did not write is ever deleted.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from topicprofile.errors import ModelError
from topicprofile.store_versions import (
    MANIFEST,
    STAGING,
    VERSIONS,
    current_number,
    is_model_manifest,
    remove_version,
    version_number,
)

__all__ = ["LOCK", "model_lock"]

LOCK = "model.lock"
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
        raise ModelError(
            f"{target}: cannot write the model here ({e.strerror}); choose a writable --model-dir"
        ) from e
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
            os.write(
                fd,
                f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%dT%H:%M:%S')}\n".encode(),
            )
            _check_writable(target)
            _clean_stale(target)
        except OSError as e:
            if isinstance(e, ModelError):
                raise
            raise ModelError(
                f"{target}: cannot write the model here ({e.strerror}); choose a writable --model-dir"
            ) from e
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
        raise ModelError(
            f"{target}: cannot read the folder ({e.strerror}); choose another --model-dir"
        ) from e
    if MANIFEST in names:
        if is_model_manifest(target / MANIFEST):
            return
        raise ModelError(
            f"{target}: holds a manifest.json that is not a topicprofile model's; choose another --model-dir"
        )
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
    fd, probe = tempfile.mkstemp(dir=versions, prefix=STAGING + "probe-")
    os.close(fd)
    os.unlink(probe)


def _clean_stale(target: Path) -> None:
    """Remove what killed writers left: staging folders (incl. versions being deleted), temporary
    manifests, unpublished versions (those newer than the current one; none when the current one is
    not known) and numbered folders without a model manifest (a delete killed before its rename)."""
    current = current_number(target)
    versions = target / VERSIONS
    for entry in versions.iterdir():
        if entry.name.startswith(STAGING):
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
        elif not entry.name.isdigit() or not entry.is_dir() or int(entry.name) == current:
            continue
        elif (number := version_number(entry)) is None or (current is not None and number > current):
            remove_version(entry)
    for entry in target.glob(f".{MANIFEST}.*.tmp"):
        entry.unlink(missing_ok=True)
