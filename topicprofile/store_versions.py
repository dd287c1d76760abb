"""A model folder's versions: ``versions/<n>/`` written aside, then published by replacing ``manifest.json``.

A new version is written to ``versions/.staging-*``, synced, renamed to ``versions/<n>`` and only
then published by replacing the top-level ``manifest.json`` (which names it as ``"current"``); at
every instant the folder holds a complete model, the old or the new. The newest
:data:`KEEP_VERSIONS` are kept. :mod:`topicprofile.store` decides what a version holds;
:mod:`topicprofile.store_lock` makes sure one writer at a time does this.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from topicprofile._fs import apply_umask, atomic_write_text, fsync_folder
from topicprofile.errors import ModelError

__all__ = [
    "KEEP_VERSIONS",
    "KIND",
    "MANIFEST",
    "STAGING",
    "VERSIONS",
    "current_number",
    "is_model_manifest",
    "one_line",
    "publish_version",
    "read_json",
    "remove_version",
    "version_number",
]

KIND = "topicprofile.TopicProfiler"
MANIFEST = "manifest.json"
VERSIONS = "versions"
#: Versions kept in ``versions/`` (the current one and the ones before it).
KEEP_VERSIONS = 3
#: Prefix of the folders (and probe files) a writer is still filling; removed when found stale.
STAGING = ".staging-"


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def is_model_manifest(path: Path) -> bool:
    """Whether ``path`` is a JSON manifest of a topicprofile model (of any format)."""
    try:
        manifest = read_json(path)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(manifest, dict) and manifest.get("kind") == KIND


def version_number(entry: Path) -> int | None:
    """``n`` for a folder ``versions/<n>`` holding a topicprofile manifest, else None."""
    if not entry.name.isdigit() or not is_model_manifest(entry / MANIFEST):
        return None
    return int(entry.name)


def remove_version(folder: Path) -> None:
    """Delete a version folder so that a kill midway leaves no half-deleted ``versions/<n>``.

    The folder is first renamed to a staging name (one atomic step), which the next writer removes
    as stale if this process dies while deleting it.
    """
    doomed = folder.with_name(f"{STAGING}old-{folder.name}-{os.getpid()}")
    try:
        os.rename(folder, doomed)
    except FileNotFoundError:
        return
    shutil.rmtree(doomed, ignore_errors=True)


def current_number(target: Path) -> int | None:
    """The number of the version the model at ``target`` publishes, or None when not known."""
    try:
        current = read_json(target / MANIFEST).get("current", "")
    except (OSError, ValueError, AttributeError):
        return None
    match = re.fullmatch(rf"{VERSIONS}/(\d+)", current) if isinstance(current, str) else None
    return int(match.group(1)) if match else None


def publish_version(target: Path, write: Callable[[Path], dict[str, Any]], *, had_model: bool) -> int:
    """Write a new version with ``write(folder)`` (which returns the manifest it wrote) and publish it.

    Call it holding the model's lock. Returns the new version's number. On any error the staging
    folder and an unpublished version are removed and the published model is unchanged; an
    ``OSError`` (disk full...) becomes a one-line :class:`ModelError` (``had_model``: whether there
    was a model to keep).
    """
    versions = target / VERSIONS
    number = 1 + max(
        [current_number(target) or 0] + [int(e.name) for e in versions.iterdir() if e.name.isdigit()]
    )
    final = versions / str(number)
    staging = Path(tempfile.mkdtemp(dir=versions, prefix=STAGING))
    try:
        apply_umask(staging, is_dir=True)
        manifest = write(staging)
        _fsync_tree(staging)
        os.rename(staging, final)
        fsync_folder(versions)
        current = {**manifest, "current": f"{VERSIONS}/{number}"}
        atomic_write_text(target / MANIFEST, json.dumps(current, ensure_ascii=False, indent=2), durable=True)
    except BaseException as e:
        shutil.rmtree(staging, ignore_errors=True)
        if current_number(target) != number:
            remove_version(final)
        if isinstance(e, OSError) and not isinstance(e, ModelError):
            kept = "the previous model is unchanged" if had_model else "nothing was saved"
            raise ModelError(
                f"{target}: could not save the model ({e.strerror or one_line(e)}); {kept}"
            ) from e
        raise
    _prune(versions, keep_from=number)
    return number


def _prune(versions: Path, *, keep_from: int) -> None:
    """Delete our versions but the newest :data:`KEEP_VERSIONS` up to ``keep_from``."""
    numbers = sorted(n for e in versions.iterdir() if (n := version_number(e)) is not None and n <= keep_from)
    for n in numbers[:-KEEP_VERSIONS]:
        remove_version(versions / str(n))


def _fsync_tree(folder: Path) -> None:
    for root, _, files in os.walk(folder):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_folder(root)
