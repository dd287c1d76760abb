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

Start method, fork server and the background start: :mod:`topicprofile.text.pool_start`; what runs
in a pool process: :mod:`topicprofile.text.pool_worker`; how many processes:
:mod:`topicprofile.text.pool_size`.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from typing import Any

from topicprofile.text.pool_size import (
    MAX_DEFAULT_WORKERS,
    MIN_TEXTS_PER_WORKER,
    available_cpus,
    busy_cpus_elsewhere,
    default_workers,
)
from topicprofile.text.pool_start import START_METHOD, PoolStarter, check_start, pool_context, prestart
from topicprofile.text.pool_worker import init_worker, result, tokenize_chunk
from topicprofile.text.tokenizer import SpacyTokenizer

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAX_DEFAULT_WORKERS",
    "MIN_TEXTS_PER_WORKER",
    "START_METHOD",
    "available_cpus",
    "busy_cpus_elsewhere",
    "default_workers",
    "iter_tokenize_parallel",
    "prestart",
    "tokenize_parallel",
]

logger = logging.getLogger(__name__)

#: Texts per task. Large enough that a task is ~0.1 s of work for short reviews (so pickling and
#: queueing overhead is noise), small enough that the last tasks balance across workers.
DEFAULT_CHUNK_SIZE = 2000


#: Called as ``progress("tokenize", n_done, n_total_or_None)``, the shape of the profiler's callback.
ProgressCallback = Callable[[str, int, "int | None"], None]

# The calling process is one of the workers (tests turn this off to send every chunk to the pool).
_CALLER_TOKENIZES = True

# Chunks queued per pool process: keeps it busy while this process tokenizes a chunk of its own.
_AHEAD_PER_WORKER = 2
# Chunks done or in flight but not yet yielded, per worker: bounds memory when the input streams
# and the pool falls behind.
_MAX_AHEAD_PER_WORKER = 8


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
            tokenizer,
            texts,
            workers=workers,
            chunk_size=chunk_size,
            progress=progress,
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
    tokenizer: SpacyTokenizer,
    texts: Iterable[str],
    chunk_size: int,
    total: int | None,
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
    tokenizer: SpacyTokenizer,
    texts: Iterable[str],
    workers: int,
    chunk_size: int,
    total: int | None,
    report: ProgressCallback,
    start_method: str | None,
) -> Iterator[list[str]]:
    """This process feeds a pool of ``workers - 1`` processes and tokenizes a chunk itself whenever
    the pool has enough queued; until a pool process is ready, it tokenizes everything."""
    caller_works = _CALLER_TOKENIZES
    n_pool = workers - 1 if caller_works else workers
    context = pool_context(start_method)
    executor = ProcessPoolExecutor(
        max_workers=n_pool,
        mp_context=context,
        initializer=init_worker,
        initargs=(type(tokenizer), tokenizer.get_config()),
    )
    starter = PoolStarter(executor, n_pool)
    starter.start()
    chunks = _Chunks(texts, chunk_size, limit=workers * _MAX_AHEAD_PER_WORKER)
    ready, failed, done = not caller_works, False, 0  # pool-only: queue chunks before it is up
    logger.info(
        "tokenizing %s texts in %d pool processes (%s start)%s, %d texts per task",
        "streamed" if total is None else total,
        n_pool,
        context.get_start_method(),
        " and this one" if caller_works else "",
        chunk_size,
    )
    try:
        report("tokenize", 0, total)
        while True:
            if not (ready or failed):
                ready, failed = check_start(starter, chunks.n_taken)
            while ready and chunks.in_pool() < n_pool * _AHEAD_PER_WORKER:
                if not chunks.add(lambda chunk: executor.submit(tokenize_chunk, chunk)):
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
            item = result(item, f"on texts {start}..{start + n - 1}")
        self.pending.popleft()
        return item
