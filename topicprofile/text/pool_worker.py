"""What runs in a tokenizer pool process (:mod:`topicprofile.text.pool`), and how its results and
errors come back: each process builds its tokenizer once, tokenizes chunks of raw texts and returns
token lists; an error keeps its type (or becomes a RuntimeError that can make the trip) and gets a
note saying where it happened."""

from __future__ import annotations

import os
import pickle
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from topicprofile.text.tokenizer import SpacyTokenizer

__all__ = ["init_worker", "ready_probe", "result", "tokenize_chunk"]


# -- the caller's side ----------------------------------------------------------------------------
def result(future: Future[Any], what: str) -> Any:
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


# -- the pool process's side ----------------------------------------------------------------------
_worker_tokenizer: SpacyTokenizer | None = None
_worker_error: Exception | None = None

# Tokenizing one text per script builds every pipeline the tokenizer uses ("auto": English and
# Chinese) before the worker reports ready, through the public API.
_WARM_UP_TEXTS = ["warm up", "预热"]


def init_worker(cls: type[SpacyTokenizer], config: dict[str, Any]) -> None:
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


def ready_probe() -> int:
    """Probe task: returns (the worker's pid) once its tokenizer is built."""
    if _worker_error is not None:
        raise _worker_error
    return os.getpid()


def tokenize_chunk(texts: list[str]) -> list[list[str]]:
    if _worker_error is not None:
        raise _worker_error
    assert _worker_tokenizer is not None  # set by init_worker
    try:
        tokens = _worker_tokenizer.tokenize(texts)
    except Exception as e:  # noqa: BLE001 - re-raised, as an error that survives the trip back
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
