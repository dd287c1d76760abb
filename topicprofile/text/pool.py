"""Parallel tokenization: large chunks of raw text to worker processes, token lists back, in order.

spaCy's own ``nlp.pipe(n_process=...)`` sends every ``Doc`` back to the parent and is much slower than
one process for our cheap blank pipelines (see ``NOTES.md``). Here each pool process builds its
:class:`~topicprofile.text.tokenizer.SpacyTokenizer` once, from :meth:`~SpacyTokenizer.get_config` (of the
caller's class), receives thousands of raw texts per task and returns only token lists. Results come
back in input order and equal ``tokenizer.tokenize(texts)`` for any number of workers and any chunk
size, because every text is tokenized on its own.

Work sharing: the calling process is one of the ``workers``; it feeds a pool of ``workers - 1``
processes, collects their results and tokenizes a chunk itself whenever the pool has enough queued.
It starts tokenizing at once, while a background thread starts the pool, and sends chunks to the pool
only after a pool process reports ready. So the pool's start-up (seconds the first time) costs no wall
time, a small input never waits for it, and on two cores two workers mean two busy processes, not
three. A pool process re-learns the vocabulary (spaCy caches per process), so it spends about 10% more
CPU per text than a warmed-up caller.

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
import math
import multiprocessing
import os
import pickle
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import islice
from typing import Any

from topicprofile.text.tokenizer import SpacyTokenizer

__all__ = [
    "tokenize_parallel",
    "iter_tokenize_parallel",
    "default_workers",
    "busy_cpus_elsewhere",
    "prestart",
    "DEFAULT_CHUNK_SIZE",
    "MIN_TEXTS_PER_WORKER",
    "START_METHOD",
]

logger = logging.getLogger(__name__)

#: Texts per task. Large enough that a task is ~0.1 s of work for short reviews (so pickling and
#: queueing overhead is noise), small enough that the last tasks balance across workers.
DEFAULT_CHUNK_SIZE = 2000

#: Texts per extra worker below which a pool costs more than it saves. Measured with
#: ``scripts/measure_tokenize.py`` on short reviews: one process tokenizes ~9k texts/s; the first
#: pool of a process is ready after ~2.5 s and costs 3-4 CPU-seconds (fork server imports,
#: pipeline build), later pools ~0.5 s and 0.3 CPU-s. The pool only takes over texts left after
#: it is ready, so below ~50k texts it saves under a second for several seconds of CPU.
MIN_TEXTS_PER_WORKER = 50_000

#: Upper bound of :func:`default_workers`: each pool process holds its own pipeline (200-260 MB
#: resident, part of it shared with the fork server), and the caller, which feeds the pool and
#: unpickles every result, has less time left to tokenize as the pool grows.
MAX_DEFAULT_WORKERS = 4

#: The multiprocessing start method of the pool (see the module docstring).
START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"

#: Called as ``progress("tokenize", n_done, n_total_or_None)``, the shape of the profiler's callback.
ProgressCallback = Callable[[str, int, "int | None"], None]

# The calling process is one of the workers (tests turn this off to send every chunk to the pool).
_CALLER_TOKENIZES = True

# Chunks queued per pool process: keeps it busy while this process tokenizes a chunk of its own.
_AHEAD_PER_WORKER = 2
# Chunks done or in flight but not yet yielded, per worker: bounds memory when the input streams
# and the pool falls behind.
_MAX_AHEAD_PER_WORKER = 8


def available_cpus() -> int:
    """CPUs this process may run on (respects affinity masks and container CPU sets)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def busy_cpus_elsewhere() -> int:
    """CPUs other processes keep busy, from the 1-minute load average (0 where it is unknown).

    The load average counts this process too when it has been working (reading and cleaning the
    input comes before tokenizing), so one runnable process is taken to be this one.
    """
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not on Unix
        return 0
    return max(0, round(load - 1.0))


def default_workers(n_texts: int | None = None) -> int:
    """A sensible number of tokenizer processes for this machine, its load and the input size.

    Parameters
    ----------
    n_texts : int or None
        Number of texts to tokenize, if known.

    Returns
    -------
    int
        ``min(available CPUs, MAX_DEFAULT_WORKERS)``, less the CPUs other processes keep busy
        (:func:`busy_cpus_elsewhere`: on two cores with another job running, two workers were
        slower than one, docs/benchmarks.md), reduced so each worker beyond the first gets at
        least :data:`MIN_TEXTS_PER_WORKER` texts; 1 (in-process, no pool) for small inputs.
        The tokens are the same for any number of workers.
    """
    workers = max(1, min(available_cpus() - busy_cpus_elsewhere(), MAX_DEFAULT_WORKERS))
    if n_texts is not None:
        workers = min(workers, 1 + n_texts // MIN_TEXTS_PER_WORKER)
    return max(1, workers)


def prestart(start_method: str | None = None) -> None:
    """Start the fork server now, in the background, so its imports overlap with other work.

    Call it before loading and cleaning data when a parallel tokenization will follow: the first
    pool of the process then starts in under a second instead of 2-3 s. Returns at once; does
    nothing unless the start method is ``forkserver``.
    """
    context = _context(start_method)
    if context.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def tokenize_parallel(
    tokenizer: SpacyTokenizer,
    texts: Iterable[str],
    *,
    workers: int,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: ProgressCallback | None = None,
    start_method: str | None = None,
) -> list[list[str]]:
    """Tokenize many texts in ``workers`` processes; the same result as ``tokenizer.tokenize(texts)``.

    Parameters
    ----------
    tokenizer : SpacyTokenizer
        Used as is in this process; its class and settings (:meth:`~SpacyTokenizer.get_config`) go
        to every pool process, which builds its own copy once with ``from_config``.
    texts : iterable of str
        Texts in order (a list, a pandas Series, a generator); missing values tokenize to ``[]``.
    workers : int
        Number of processes that tokenize, this one included: ``workers - 1`` are started as a
        pool. 1 tokenizes in this process without a pool. See :func:`default_workers`.
    chunk_size : int, default DEFAULT_CHUNK_SIZE
        Texts per task. Smaller when the input is known to be small, so every worker gets work.
    progress : callable or None
        Called as ``progress("tokenize", n_done, n_total)`` after each chunk (``n_total`` is None for
        input without a length).
    start_method : str or None
        Multiprocessing start method; None uses :data:`START_METHOD`.

    Returns
    -------
    list of list of str
        One token list per text, in input order.

    Raises
    ------
    Exception
        Whatever the tokenizer raised, with its original type (e.g.
        :class:`~topicprofile.errors.ConfigError` for an unknown language). Raised in a pool
        process, it carries a note naming the texts of the failed chunk (``__notes__``) and the
        process's traceback as ``__cause__``; one that cannot be pickled becomes a RuntimeError
        with its type and message.
    ValueError
        ``workers`` or ``chunk_size`` is below 1.
    TypeError
        ``texts`` is a single str.
    concurrent.futures.process.BrokenProcessPool
        A pool process died while tokenizing (killed by the operating system, for example when
        out of memory). A pool that cannot start at all is not an error: this process then
        tokenizes everything, with a warning in the log.

    Examples
    --------
    >>> tok = SpacyTokenizer("en")
    >>> tokenize_parallel(tok, ["Sturdy trail shoes", "The tent leaks"], workers=1)
    [['sturdy', 'trail', 'shoe'], ['tent', 'leak']]
    """
    return list(
        iter_tokenize_parallel(
            tokenizer, texts, workers=workers, chunk_size=chunk_size, progress=progress,
            start_method=start_method,
        )
    )


def iter_tokenize_parallel(
    tokenizer: SpacyTokenizer,
    texts: Iterable[str],
    *,
    workers: int,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: ProgressCallback | None = None,
    start_method: str | None = None,
) -> Iterator[list[str]]:
    """Yield one token list per text, in input order; see :func:`tokenize_parallel`.

    Input is read lazily and at most ``8 * workers`` chunks are held (queued, being tokenized or
    waiting for an earlier chunk), so a generator of texts streams through in bounded memory.
    Arguments are checked at the call; closing the iterator early shuts the pool down.
    """
    if isinstance(texts, str):
        raise TypeError("texts must be an iterable of texts, not one str (wrap it in a list)")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    total = len(texts) if hasattr(texts, "__len__") else None  # type: ignore[arg-type]
    if total is not None and workers > 1:
        # Small input: split it evenly rather than leave workers idle; never more workers than chunks.
        chunk_size = max(1, min(chunk_size, math.ceil(total / workers)))
        workers = max(1, min(workers, math.ceil(total / chunk_size)))
    report = progress or _no_progress
    if workers == 1:
        return _iter_serial(tokenizer, texts, chunk_size, total, report)
    return _iter_pool(tokenizer, texts, workers, chunk_size, total, report, start_method)


def _no_progress(stage: str, done: int, total: int | None) -> None:
    pass


def _chunks(texts: Iterable[str], size: int) -> Iterator[list[str]]:
    it = iter(texts)
    while chunk := list(islice(it, size)):
        yield chunk


def _iter_serial(
    tokenizer: SpacyTokenizer, texts: Iterable[str], chunk_size: int, total: int | None,
    report: ProgressCallback,
) -> Iterator[list[str]]:
    report("tokenize", 0, total)
    done = 0
    for chunk in _chunks(texts, chunk_size):
        tokens = tokenizer.tokenize(chunk)
        done += len(tokens)
        yield from tokens
        report("tokenize", done, total)


def _iter_pool(
    tokenizer: SpacyTokenizer, texts: Iterable[str], workers: int, chunk_size: int,
    total: int | None, report: ProgressCallback, start_method: str | None,
) -> Iterator[list[str]]:
    """This process feeds a pool of ``workers - 1`` processes and tokenizes a chunk itself whenever
    the pool has enough queued; until a pool process is ready, it tokenizes everything."""
    caller_works = _CALLER_TOKENIZES
    n_pool = workers - 1 if caller_works else workers
    context = _context(start_method)
    executor = ProcessPoolExecutor(
        max_workers=n_pool, mp_context=context, initializer=_init_worker,
        initargs=(type(tokenizer), tokenizer.get_config()),
    )
    starter = _PoolStarter(executor, n_pool)
    starter.start()
    chunks = _Chunks(texts, chunk_size, limit=workers * _MAX_AHEAD_PER_WORKER)
    ready, failed, done = not caller_works, False, 0  # pool-only: queue chunks before it is up
    logger.info(
        "tokenizing %s texts in %d pool processes (%s start)%s, %d texts per task",
        "streamed" if total is None else total, n_pool, context.get_start_method(),
        " and this one" if caller_works else "", chunk_size,
    )
    try:
        report("tokenize", 0, total)
        while True:
            if not (ready or failed):
                ready, failed = _check_start(starter, chunks.n_taken)
            while ready and chunks.in_pool() < n_pool * _AHEAD_PER_WORKER:
                if not chunks.add(lambda chunk: executor.submit(_tokenize_chunk, chunk)):
                    break
            while (tokens := chunks.pop(wait=False)) is not None:  # whatever is done, in order
                done += len(tokens)
                yield from tokens
                report("tokenize", done, total)
            if caller_works and chunks.add(tokenizer.tokenize):
                continue
            if not chunks.pending:
                break
            tokens = chunks.pop(wait=True)  # nothing to do here: wait for the oldest chunk
            done += len(tokens)
            yield from tokens
            report("tokenize", done, total)
    finally:
        # After an error or an early close, do not wait for busy or still-starting workers; they
        # exit on their own once their current task is done.
        if not starter.shut_down_when_started():
            executor.shutdown(wait=chunks.exhausted and not chunks.pending and ready, cancel_futures=True)


def _check_start(starter: _PoolStarter, n_done: int) -> tuple[bool, bool]:
    """(ready, failed) of the pool; a pool that cannot start is logged, not raised: no chunk has
    been sent to it yet, so this process can carry on alone."""
    try:
        ready = starter.ready()
    except (BrokenProcessPool, OSError) as e:
        logger.warning("could not start tokenizer worker processes (%s); tokenizing in this process "
                       "only", str(e).splitlines()[0])
        return False, True
    if ready:
        logger.debug("pool ready after %d texts tokenized in this process", n_done)
    return ready, False


class _Chunks:
    """The input cut into chunks, each kept with its tokens, or the pool's future of them, until it
    is yielded in input order; at most ``limit`` at a time (bounds memory for streamed input)."""

    def __init__(self, texts: Iterable[str], size: int, *, limit: int) -> None:
        self._source = _chunks(texts, size)
        self.limit = limit
        self.pending: deque[tuple[int, int, Any]] = deque()  # (first text, n texts, tokens | Future)
        self.n_taken = 0
        self.exhausted = False

    def add(self, work: Callable[[list[str]], Any]) -> bool:
        """Take the next chunk and start ``work`` on it; False when there is none or no room."""
        if self.exhausted or len(self.pending) >= self.limit:
            return False
        chunk = next(self._source, None)
        if chunk is None:
            self.exhausted = True
            return False
        self.pending.append((self.n_taken, len(chunk), work(chunk)))
        self.n_taken += len(chunk)
        return True

    def in_pool(self) -> int:
        return sum(1 for _, _, item in self.pending if isinstance(item, Future) and not item.done())

    def pop(self, *, wait: bool) -> list[list[str]] | None:
        """Tokens of the oldest chunk; None if there is none, or it is not done and not ``wait``."""
        if not self.pending:
            return None
        start, n, item = self.pending[0]
        if isinstance(item, Future):
            if not (wait or item.done()):
                return None
            item = _result(item, f"on texts {start}..{start + n - 1}")
        self.pending.popleft()
        return item


class _PoolStarter(threading.Thread):
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
                self.probes.append(self.executor.submit(_ready))
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
                _result(probe, "while building its tokenizer")
                return True
        return False

    def shut_down_when_started(self) -> bool:
        """If still starting, leave the shutdown to this thread and return True."""
        with self._lock:
            if self._submitted:
                return False
            self._abandoned = True
            return True


def _result(future: Future[Any], what: str) -> Any:
    """The future's result; an error keeps its type and gets a note saying where it happened."""
    try:
        return future.result()
    except BrokenProcessPool as e:
        e.add_note(
            f"a tokenizer worker process died or could not start ({what}). It may have been killed "
            "by the operating system (out of memory?): retry with fewer workers or a smaller "
            "chunk_size. With the 'forkserver' or 'spawn' start method, a script that starts "
            "workers must guard its top-level code with `if __name__ == '__main__':`."
        )
        raise
    except Exception as e:
        e.add_note(f"raised in a tokenizer worker process ({what})")
        raise


# Imported once by the fork server, so workers forked from it start without them (spaCy alone takes
# 1-2 s to import, and tokenizer.py imports it lazily). Missing optional ones are skipped.
_FORKSERVER_PRELOAD = [
    "__main__",  # multiprocessing's default
    __name__,
    "spacy",
    "spacy.lang.en",
    "spacy.lang.zh",
    "spacy.pipeline",
    "spacy_lookups_data",
    "rjieba",
]
_preload_set = False


def _context(start_method: str | None) -> multiprocessing.context.BaseContext:
    global _preload_set
    method = start_method or START_METHOD
    context = multiprocessing.get_context(method)
    if method == "forkserver" and not _preload_set:
        # Only takes effect if the server is not running yet (it is started by the first pool).
        context.set_forkserver_preload(_FORKSERVER_PRELOAD)
        _preload_set = True
    return context


# -- worker side ---------------------------------------------------------------------------------
_worker_tokenizer: SpacyTokenizer | None = None
_worker_error: Exception | None = None

# Tokenizing one text per script builds every pipeline the tokenizer uses ("auto": English and
# Chinese) before the worker reports ready, through the public API.
_WARM_UP_TEXTS = ["warm up", "预热"]


def _init_worker(cls: type[SpacyTokenizer], config: dict[str, Any]) -> None:
    """Build the worker's tokenizer once (of the caller's class, so a subclass behaves the same in
    workers). An error is kept and raised by every task, because an exception in a pool
    initializer only surfaces as an uninformative ``BrokenProcessPool``."""
    global _worker_tokenizer, _worker_error
    try:
        tokenizer = cls.from_config(config)
        tokenizer.tokenize(_WARM_UP_TEXTS)
    except Exception as e:  # noqa: BLE001 - re-raised, with its type, by the tasks
        _worker_error = _picklable(e)
    else:
        _worker_tokenizer = tokenizer


def _ready() -> int:
    """Probe task: returns (the worker's pid) once its tokenizer is built."""
    if _worker_error is not None:
        raise _worker_error
    return os.getpid()


def _tokenize_chunk(texts: list[str]) -> list[list[str]]:
    if _worker_error is not None:
        raise _worker_error
    assert _worker_tokenizer is not None  # set by _init_worker
    try:
        tokens = _worker_tokenizer.tokenize(texts)
    except Exception as e:
        raise _picklable(e) from None
    return _share_strings(tokens)


def _share_strings(tokens: list[list[str]]) -> list[list[str]]:
    """Make equal tokens one object: pickle then writes each distinct token once per chunk (a third
    smaller, and faster to unpickle in the parent, which is the serial part), and the parent keeps
    shared strings instead of one copy per occurrence."""
    seen: dict[str, str] = {}
    get = seen.setdefault
    return [[get(t, t) for t in doc] for doc in tokens]


def _picklable(error: Exception) -> Exception:
    """The error itself if it survives the trip to the parent, else a RuntimeError with its text
    (an exception whose constructor takes unusual arguments cannot be unpickled, and that would
    break the whole pool instead of reporting the error)."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:  # noqa: BLE001
        return RuntimeError(f"{type(error).__module__}.{type(error).__qualname__}: {error}")
    return error
