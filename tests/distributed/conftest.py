"""The real Dask cluster these tests share: a ``distributed.LocalCluster`` of 2 worker processes of
1 thread, started once per session (skipped when the ``dask`` extra is absent)."""

from __future__ import annotations

import os
import signal
import time

import pytest


@pytest.fixture(scope="session")
def cluster():
    distributed = pytest.importorskip(
        "distributed", reason='the dask extra is not installed (pip install "topicprofile[dask]")'
    )
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as local,
        distributed.Client(local) as client,
    ):
        yield local, client


class WorkerKiller:
    """A backend's ``on_pass`` hook that SIGKILLs one worker process at pass (or round) ``at``: one
    busy with that pass's tasks when there is one within 5 s, else the first. :meth:`restarted`
    waits for the nanny to start a new process, so the tests after it get both workers again."""

    def __init__(self, client, at: int = 1) -> None:
        self.client, self.at, self.killed = client, at, []
        self.before: dict[str, int] = client.run(os.getpid)

    def __call__(self, pass_: int) -> None:
        if pass_ != self.at or self.killed:
            return
        deadline, busy = time.monotonic() + 5, []
        while time.monotonic() < deadline:  # until a worker holds this pass's tasks (its blocks too)
            busy = [w for w, keys in self.client.processing().items() if keys]
            if busy:
                break
            time.sleep(0.01)
        victim = busy[0] if busy else next(iter(self.before))
        self.killed.append(self.before[victim])
        os.kill(self.before[victim], signal.SIGKILL)

    def restarted(self, timeout: float = 60) -> bool:
        """Whether a worker was killed and a new process took its place (waiting up to ``timeout`` s)."""
        self.client.wait_for_workers(len(self.before), timeout=timeout)
        return bool(self.killed) and self.killed[0] not in self.client.run(os.getpid).values()


@pytest.fixture()
def worker_killer():
    """:class:`WorkerKiller` (a fixture, so the test files need not import this conftest)."""
    return WorkerKiller
