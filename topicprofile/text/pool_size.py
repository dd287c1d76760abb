"""How many tokenizer processes (:mod:`topicprofile.text.pool`): the CPUs this process may use,
less those other processes keep busy, and no more than the input size pays for."""

from __future__ import annotations

import os

__all__ = [
    "MAX_DEFAULT_WORKERS",
    "MIN_TEXTS_PER_WORKER",
    "available_cpus",
    "busy_cpus_elsewhere",
    "default_workers",
]

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
