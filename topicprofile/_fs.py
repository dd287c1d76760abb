"""The one atomic file writer, and what every output file shares: permissions, CSV safety, no clobbering.

- :func:`atomic_path`: write to a temporary file beside the target, ``fsync`` it, give it the
  permissions a plain ``open`` would (:func:`apply_umask`), ``os.replace`` it onto the target and
  ``fsync`` the folder. Readers see the old file or the whole new one; on any error (disk full...)
  the temporary file is removed and the old file is left as it was.
- :func:`atomic_write_text` / :func:`atomic_write_bytes`: the same for a whole text or byte
  string in one call (manifests, ledgers, JSON cards, cache entries).
- :func:`sha256_file` / :func:`sha256_bytes`: the one content fingerprint (hex SHA-256) used for
  input files, manifests and ledgers.
- :func:`escape_csv_frame`: the OWASP CSV-injection rule for every CSV the project writes: a text
  cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading ``'`` so a
  spreadsheet shows it as text instead of running it as a formula. Numbers stay numbers.
- :func:`check_outputs_apart`: refuse an output that is one of the inputs (same inode, also
  through symlinks and hard links) before anything is written.
- :func:`check_writable`: find a read-only output folder before the work, not after it.

Only the standard library and pandas (inside :func:`escape_csv_frame`) are used, so the CLI can
import this module without slowing its start.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from topicprofile.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "atomic_path",
    "atomic_write_text",
    "atomic_write_bytes",
    "sha256_file",
    "sha256_bytes",
    "apply_umask",
    "current_umask",
    "fsync_folder",
    "escape_csv_cell",
    "escape_csv_frame",
    "check_outputs_apart",
    "check_writable",
    "CSV_TRIGGERS",
]

#: First characters a spreadsheet treats as the start of a formula (OWASP "CSV Injection").
CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# A plain number ("-1", "+3.5", "-2e-05") is not a formula: a spreadsheet reads it as a number.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


# -- permissions --------------------------------------------------------------------------------
def current_umask() -> int:
    """The process umask (read by setting it and setting it back at once)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def apply_umask(path: str | os.PathLike[str], *, is_dir: bool = False) -> None:
    """Give ``path`` the mode ``open``/``mkdir`` would have: 0o666 (files) or 0o777 (folders) less the umask.

    ``tempfile.mkstemp`` creates files 0600 and ``tempfile.mkdtemp`` folders 0700, so an output or a
    model published by renaming one would be unreadable to a cron job under another user; call this
    on the temporary file or folder before it is renamed into place.
    """
    os.chmod(path, (0o777 if is_dir else 0o666) & ~current_umask())


def fsync_folder(folder: str | os.PathLike[str]) -> None:
    """``fsync`` a folder so a rename inside it is on disk (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # Windows: folders cannot be opened; os.replace is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- the atomic writer --------------------------------------------------------------------------
@contextmanager
def atomic_path(path: str | os.PathLike[str], *, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block ends without error it replaces ``path``.

    Write the new content to the yielded path (any library, any number of writes). On success the
    file is flushed to disk (``durable``), given umask permissions and renamed onto ``path``
    (``os.replace``), then the folder is synced. On any exception — ``OSError`` from a full disk
    included — the temporary file is removed, ``path`` keeps its old content and the exception
    propagates.

    Examples
    --------
    >>> with atomic_path("out/profiles.csv") as tmp:  # doctest: +SKIP
    ...     table.to_csv(tmp, index=False)
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if durable:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        apply_umask(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    if durable:
        fsync_folder(target.parent)


def atomic_write_text(path: str | os.PathLike[str], text: str, *, durable: bool = False) -> None:
    """Write ``text`` (UTF-8, text mode) to ``path`` through :func:`atomic_path`.

    ``durable`` also syncs the file and its folder, so the new text survives a power cut.
    """
    with atomic_path(path, durable=durable) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, durable: bool = False) -> None:
    """Write ``data`` to ``path`` through :func:`atomic_path` (see :func:`atomic_write_text`)."""
    with atomic_path(path, durable=durable) as tmp:
        tmp.write_bytes(data)


# -- fingerprints -------------------------------------------------------------------------------
_HASH_CHUNK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's content, read in 1 MiB blocks (any size, constant memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# -- CSV safety ---------------------------------------------------------------------------------
def escape_csv_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula.

    Non-text values and plain numbers written as text (``"-1"``) are returned unchanged; so is
    text already escaped (it starts with ``'``), which makes escaping idempotent.
    """
    if isinstance(value, str) and value.startswith(CSV_TRIGGERS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def escape_csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names are escaped with :func:`escape_csv_cell`.

    Only text columns (object / string dtype) are touched: numeric columns (``recency_days = -1``)
    stay numbers. Returns ``frame`` itself when nothing needs escaping.
    """
    import pandas as pd

    changed: dict[str, pd.Series] = {}
    for name in frame.columns:
        column = frame[name]
        if not (column.dtype == object or isinstance(column.dtype, pd.StringDtype)):
            continue
        text = column.astype("string")
        risky = text.str.startswith(CSV_TRIGGERS, na=False) & ~text.str.fullmatch(_NUMBER.pattern, na=False)
        if bool(risky.any()):
            changed[name] = column.mask(risky, "'" + text[risky].astype(object))
    columns = [escape_csv_cell(c) for c in frame.columns]
    if not changed and columns == list(frame.columns):
        return frame
    out = frame.assign(**changed) if changed else frame.copy()
    out.columns = columns
    return out


# -- refusing before work -----------------------------------------------------------------------
def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()  # follows symlinks: a link to the input is the input
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def check_outputs_apart(
    outputs: Iterable[str | os.PathLike[str] | None], inputs: Iterable[str | os.PathLike[str] | None]
) -> None:
    """Raise :class:`ConfigError` when an output file is one of the input files.

    Files are compared by device and inode (``os.path.samefile``), so a symlink, a hard link or
    another spelling of the input's path is caught; outputs that do not exist yet cannot clash.
    """
    seen = {}
    for path in inputs:
        if path is not None and (key := _identity(Path(path))) is not None:
            seen[key] = Path(path)
    for path in outputs:
        if path is None:
            continue
        key = _identity(Path(path))
        if key is not None and key in seen:
            raise ConfigError(
                f"{path}: is the input file {seen[key]}; writing there would destroy it. "
                "Choose another output path."
            )


def check_writable(folder: str | os.PathLike[str]) -> None:
    """Raise :class:`ConfigError` unless files can be created in ``folder`` (or its nearest existing parent).

    Tried by creating and removing a temporary file, which also catches read-only mounts and
    access-control lists that permission bits do not show.
    """
    folder = Path(folder)
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise ConfigError(f"{probe}: is a file, not a folder; choose another output path")
    try:
        fd, name = tempfile.mkstemp(dir=probe, prefix=".topicprofile-probe-", suffix=".tmp")
    except OSError as e:
        reason = e.strerror or str(e)
        raise ConfigError(f"{folder}: cannot write there ({reason}); choose another output path") from None
    os.close(fd)
    os.unlink(name)
