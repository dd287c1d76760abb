"""Starting the tokenizer pool (:mod:`topicprofile.text.pool`): its start method, the fork server
and what it imports, and a background thread that starts the pool's processes while the caller
tokenizes.

Start method: ``forkserver`` where the platform has it (Linux), else ``spawn``. ``fork`` starts
workers fastest, but it copies a parent that may be running threads (the CLI's progress-bar refresh
thread, BLAS/OpenMP pools, a notebook kernel's threads); a lock held by one of those threads at fork
time stays locked forever in the child. Python 3.12+ warns about it and 3.14 dropped it as the
default. The fork server is a fresh single-threaded process that imports spaCy and topicprofile once
(:data:`_FORKSERVER_PRELOAD`; about 2 CPU-seconds, hidden by the caller's own work); each pool process
is forked from it and is ready after building its pipeline (about 0.3 s for English, plus 0.15 s to
load rjieba's dictionary for Chinese). As with ``spawn``, a script that tokenizes in parallel must
guard its top-level code with ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from topicprofile.text.pool_worker import ready_probe, result

__all__ = ["START_METHOD", "PoolStarter", "check_start", "pool_context", "prestart"]

logger = logging.getLogger("topicprofile.text.pool")  # the pool's log, whose part this is

#: The multiprocessing start method of the pool (see the module docstring).
START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def prestart(start_method: str | None = None) -> None:
    """Start the fork server now, in the background, so its imports overlap with other work.

    Call it before loading and cleaning data when a parallel tokenization will follow: the first
    pool of the process then starts in under a second instead of 2-3 s. Returns at once; does
    nothing unless the start method is ``forkserver``.
    """
    context = pool_context(start_method)
    if context.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def check_start(starter: PoolStarter, n_done: int) -> tuple[bool, bool]:
    """(ready, failed) of the pool; a pool that cannot start is logged, not raised: no chunk has
    been sent to it yet, so this process can carry on alone."""
    try:
        ready = starter.ready()
    except (BrokenProcessPool, OSError) as e:
        logger.warning(
            "could not start tokenizer worker processes (%s); tokenizing in this process only",
            str(e).splitlines()[0],
        )
        return False, True
    if ready:
        logger.debug("pool ready after %d texts tokenized in this process", n_done)
    return ready, False


class PoolStarter(threading.Thread):
    """Starts the pool's processes in the background, one readiness probe each.

    ``ProcessPoolExecutor.submit`` starts a process and waits for it; the first time, that means
    waiting for the fork server to import spaCy and topicprofile (1-3 s), time in which the caller
    tokenizes instead. If the caller finishes first, this thread shuts the pool down once the
    start-up returns, so the caller never waits for it. Not a daemon: an interpreter that exits
    meanwhile waits for it, because a process still starting needs the pool's semaphores, which
    exit removes.
    """

    def __init__(self, executor: ProcessPoolExecutor, n_processes: int) -> None:
        super().__init__(name="topicprofile-pool-starter")
        self.executor = executor
        self.n_processes = n_processes
        self.probes: list[Future[int]] = []
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._submitted = self._abandoned = False

    def run(self) -> None:
        try:
            for _ in range(self.n_processes):
                if self._abandoned:
                    break
                self.probes.append(self.executor.submit(ready_probe))
        except BaseException as e:  # noqa: BLE001 - raised in the caller by ready()
            self.error = e
        finally:
            with self._lock:
                self._submitted = True
                if self._abandoned:
                    self.executor.shutdown(wait=False, cancel_futures=True)

    def ready(self) -> bool:
        """True once a pool process has built its tokenizer; raises if starting or building failed."""
        if self.error is not None:
            raise self.error
        for probe in list(self.probes):
            if probe.done():
                result(probe, "while building its tokenizer")
                return True
        return False

    def shut_down_when_started(self) -> bool:
        """If still starting, leave the shutdown to this thread and return True."""
        with self._lock:
            if self._submitted:
                return False
            self._abandoned = True
            return True


# Imported once by the fork server, so workers forked from it start without them (spaCy alone takes
# 1-2 s to import, and tokenizer.py imports it lazily). Missing optional ones are skipped.
_FORKSERVER_PRELOAD = [
    "__main__",  # multiprocessing's default
    "topicprofile.text.pool",  # and all it imports: the tokenizer, the pool process's side
    "spacy",
    "spacy.lang.en",
    "spacy.lang.zh",
    "spacy.pipeline",
    "spacy_lookups_data",
    "rjieba",
]
_preload_set = False


def pool_context(start_method: str | None) -> multiprocessing.context.BaseContext:
    global _preload_set
    method = start_method or START_METHOD
    context = multiprocessing.get_context(method)
    if method == "forkserver" and not _preload_set:
        # Only takes effect if the server is not running yet (it is started by the first pool).
        context.set_forkserver_preload(_FORKSERVER_PRELOAD)
        _preload_set = True
    return context
