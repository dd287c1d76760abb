"""The Dask cluster the stages hand their heavy steps to: ``--dask tcp://host:8786`` or ``--dask local[:N]``.

:class:`DaskBackend` wraps a ``distributed.Client``. It is the only place that talks to Dask (imported
when a backend is made, never at ``import topicprofile``), and it turns Dask's connection and worker
failures into one-line :class:`~topicprofile.errors.ClusterError`\\ s. What runs on the cluster and
how its results are combined so that they equal the local run's is in :mod:`.lda` (training) and
:mod:`.tagging` (tagging); the functions the workers run are in :mod:`.tasks`.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Self

from topicprofile.errors import ClusterError, ConfigError

__all__ = ["CONNECT_TIMEOUT", "DaskBackend", "open_backend", "parse_dask_address"]

#: Seconds to wait for a scheduler before giving up.
CONNECT_TIMEOUT = 10
_LOCAL = re.compile(r"local(?::(\d+))?")


def parse_dask_address(value: str) -> tuple[str | None, int | None]:
    """``--dask`` value -> ``(scheduler address, None)`` or, for ``local[:N]``, ``(None, N or None)``.

    Raises
    ------
    ConfigError
        An empty value, or ``local:N`` with N not a positive number.
    """
    value = value.strip()
    if not value:
        raise ConfigError("--dask needs a scheduler address (tcp://host:8786) or local[:N]")
    if value == "local" or value.startswith("local:"):
        match = _LOCAL.fullmatch(value)
        if match is None or (match.group(1) is not None and int(match.group(1)) < 1):
            raise ConfigError(f"--dask {value!r}: use local or local:N with N >= 1 workers")
        return None, None if match.group(1) is None else int(match.group(1))
    return value, None


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


class DaskBackend:
    """A connection to a Dask cluster.

    Parameters
    ----------
    client : distributed.Client
    shares_files : bool, default False
        The workers read this machine's files (a ``LocalCluster``, or shared storage at the same
        paths): documents are then read by the workers from their Parquet shards and training
        blocks from ``.npz`` files, instead of travelling inside the tasks.

    Use :meth:`connect` (or ``with DaskBackend.connect(...) as backend``); a backend made from a
    client the caller owns leaves that client open.
    """

    def __init__(self, client: Any, *, shares_files: bool = False) -> None:
        self.client = client
        self.shares_files = shares_files
        self.token = uuid.uuid4().hex[:12]
        #: ``on_pass(pass_)`` is called once a training pass's tasks are submitted (progress, tests).
        self.on_pass: Callable[[int], None] | None = None
        self._owned: list[Any] = []

    @classmethod
    def connect(cls, address: str) -> DaskBackend:
        """Connect to ``address`` (``tcp://host:8786``) or start ``local[:N]``: N worker processes of
        one thread each on this machine (default: one per CPU).

        Raises
        ------
        ClusterError
            The scheduler cannot be reached within :data:`CONNECT_TIMEOUT` seconds.
        ConfigError
            A malformed ``--dask`` value, or the ``dask`` extra is not installed.
        """
        scheduler, n_workers = parse_dask_address(address)
        try:
            from distributed import Client, LocalCluster
        except ImportError as e:
            raise ConfigError('--dask needs the dask extra: pip install "topicprofile[dask]"') from e
        if scheduler is None:
            # Worker processes tune their allocator themselves (tasks.tune_allocator).
            cluster = LocalCluster(
                n_workers=n_workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                dashboard_address=":0", silence_logs=logging.ERROR,
            )  # fmt: skip
            backend = cls(Client(cluster), shares_files=True)
            backend._owned = [backend.client, cluster]
            return backend
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as e:
            raise ClusterError(
                f"cannot reach the Dask scheduler at {scheduler!r} ({_one_line(e)}); start one with "
                "`dask scheduler` and `dask worker ADDRESS`, or use --dask local"
            ) from e
        backend = cls(client)
        backend._owned = [client]
        return backend

    def close(self) -> None:
        """Close the client and the local cluster this backend started (a given client stays open)."""
        for owned in self._owned:
            owned.close()
        self._owned = []

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def n_workers(self) -> int:
        return len(self.client.nthreads())

    def key(self, *parts: Any) -> str:
        """A task key unique to this backend (Dask keys name results; reruns must not collide)."""
        return "-".join(["topicprofile", self.token, *map(str, parts)])

    def submit(self, func: Callable[..., Any], *args: Any, key: str) -> Any:
        """``client.submit`` of a pure task under ``key``; connection failures (and a client closed
        because its scheduler went away) become ClusterError."""
        from distributed.client import ClosedClientError

        try:
            return self.client.submit(func, *args, key=key, pure=False)
        except (OSError, TimeoutError, ClosedClientError) as e:
            raise ClusterError(f"the Dask cluster failed while running ({_one_line(e)})") from e

    def result(self, future: Any) -> Any:
        """The value of ``future``. A task that failed on too many workers, or a lost scheduler, is a
        ClusterError; an error of the task's own code is raised as it is."""
        from distributed import CancelledError
        from distributed.scheduler import KilledWorker

        try:
            return future.result()
        except (KilledWorker, CancelledError, OSError, TimeoutError) as e:
            if isinstance(e, OSError) and not _is_comm_error(e):
                raise
            raise ClusterError(f"the Dask cluster failed while running ({_one_line(e)})") from e

    def ordered(self, make: Iterator[Callable[[], Any]], *, window: int | None = None) -> Iterator[Any]:
        """Submit the tasks ``make`` yields (each a call returning a future), at most ``window`` ahead of
        the one being read (default: 2 per worker), and yield their results in submission order."""
        window = window or 2 * max(1, self.n_workers)
        pending: list[Any] = []
        for submit in make:
            pending.append(submit())
            if len(pending) >= window:
                yield self.result(pending.pop(0))
        while pending:
            yield self.result(pending.pop(0))


def _is_comm_error(error: OSError) -> bool:
    from distributed.comm.core import CommClosedError

    return isinstance(error, (CommClosedError, ConnectionError, TimeoutError))


@contextmanager
def open_backend(dask: Any) -> Iterator[DaskBackend | None]:
    """The backend for a run's ``dask`` setting, closed at the end if opened here.

    ``None`` (run locally), a ``--dask`` string (:meth:`DaskBackend.connect`), a
    ``distributed.Client`` (left open; its workers share this machine's files when it is a
    ``LocalCluster``'s) or a :class:`DaskBackend`.
    """
    if dask is None or isinstance(dask, DaskBackend):
        yield dask
        return
    if isinstance(dask, str):
        with DaskBackend.connect(dask) as backend:
            yield backend
        return
    from distributed import LocalCluster

    yield DaskBackend(dask, shares_files=isinstance(getattr(dask, "cluster", None), LocalCluster))
