"""One batch run at a time per output folder (:mod:`topicprofile.app.batch`, and ``forget``, which
edits the same folder): an OS file lock on ``out/batch.lock``, released when the process ends."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from topicprofile.errors import TopicProfileError

__all__ = ["LOCK", "batch_lock"]

LOCK = "batch.lock"


@contextmanager
def batch_lock(out: str | os.PathLike[str]) -> Iterator[None]:
    """Hold ``out/batch.lock`` for the duration; raise TopicProfileError if another run holds it."""
    path = Path(out) / LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            _lock(fd)
        except OSError:
            holder = path.read_text(encoding="utf-8", errors="replace").strip() or "holder unknown"
            raise TopicProfileError(
                f"{Path(out)}: another batch run is working on this folder ({holder}); this run did "
                "nothing. Run again when it has finished (its lock ends with it, even if it crashes)."
            ) from None
        os.ftruncate(fd, 0)
        since = datetime.now(UTC).isoformat(timespec="seconds")
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()} since {since}\n".encode())
        yield
    finally:
        os.close(fd)  # closing releases the lock; the file stays (deleting it would race)


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # Windows (no cron): a byte-range lock serves too
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
