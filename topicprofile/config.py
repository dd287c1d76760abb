"""Settings: how a call runs (:class:`RunOptions`), the checked settings of the stages, and small
user-supplied settings files (topic names, word lists).

:class:`RunOptions` say *how* a fit or a tagging run goes (processes, chunk size, token cache,
cluster); results never depend on them, so they are passed to each call and never saved with a
model. :class:`TopicsConfig` and :class:`TagConfig` are the stage settings a
:class:`~topicprofile.TopicProfiler` is made of, checked before any work; their defaults are the
estimator's (``tests/test_profiler.py`` holds them equal).
"""

from __future__ import annotations

import csv
import json
import numbers
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from topicprofile.errors import ConfigError

__all__ = [
    "AGGREGATIONS",
    "DEFAULT_CHUNK_ROWS",
    "DEFAULT_K_VALUES",
    "POOLINGS",
    "TRAINERS",
    "RunOptions",
    "TagConfig",
    "TopicsConfig",
    "read_labels_file",
    "read_word_list",
]

#: Documents per chunk: large enough for spaCy batching and vectorized inference, small enough
#: that a chunk's texts, tokens and bags of words stay in the tens of megabytes.
DEFAULT_CHUNK_ROWS = 50_000
#: The topic counts ``n_topics="auto"`` tries.
DEFAULT_K_VALUES = tuple(range(4, 17, 2))
#: ``trainer`` values: tomotopy's collapsed Gibbs sampling, gensim's variational Bayes, one topic
#: per review drawn from its customer's interests (:mod:`topicprofile.topics.review_mixture`).
TRAINERS = ("gibbs", "vb", "review")
#: ``pooling`` values: LDA trains on each customer's pooled texts, or on the documents.
POOLINGS = ("customer", "document")
#: ``aggregation`` values: how a customer's documents make one topic vector (:mod:`topicprofile.tag.tagger`).
AGGREGATIONS = ("sharpened", "length")


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


@dataclass(frozen=True)
class RunOptions:
    """How a call runs, not what it computes: the same input and seed give the same model and
    profiles whatever these are. Passed to ``fit`` / ``profile`` calls as ``run=``; never stored
    in a model's parameters or manifest.

    Parameters
    ----------
    workers : int or None
        Tokenizer processes (:mod:`topicprofile.text.pool`); None picks by machine and corpus size.
    chunk_rows : int, default 50,000
        Documents per chunk as they stream through every step (and customers per block of a
        tagging run's output); memory does not grow with the corpus.
    cache_dir : str or None
        Folder of the token cache (:mod:`topicprofile.text.cache`); None caches nothing (the CLI
        uses :func:`~topicprofile.text.cache.default_cache_dir`).
    dask : object or None
        A ``distributed.Client`` or scheduler address, see :mod:`topicprofile.distributed`.

    Raises
    ------
    ConfigError
        ``workers`` or ``chunk_rows`` is not a positive integer.
    """

    workers: int | None = None
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    cache_dir: str | None = None
    dask: object | None = None

    def __post_init__(self) -> None:
        if self.workers is not None and (not _is_int(self.workers) or self.workers < 1):
            raise ConfigError(f"workers must be an integer >= 1 (or None: by machine), got {self.workers!r}")
        if not _is_int(self.chunk_rows) or self.chunk_rows < 1:
            raise ConfigError(f"chunk_rows must be an integer >= 1, got {self.chunk_rows!r}")


@dataclass(frozen=True)
class _StageConfig:
    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Any:
        """This stage's settings out of an estimator's ``get_params()`` (other keys ignored)."""
        return cls(**{f.name: params[f.name] for f in fields(cls) if f.name in params})


@dataclass(frozen=True)
class TopicsConfig(_StageConfig):
    """The topic stage's settings (see :class:`~topicprofile.TopicProfiler` for each)."""

    n_topics: int | str | None = None
    trainer: str = "gibbs"
    pooling: str = "customer"
    passes: int | None = None
    iterations: int | None = None
    update_every: int | None = None
    alpha: Any = None
    eta: Any = None
    k_values: Sequence[int] = DEFAULT_K_VALUES
    taxonomy: Mapping[str, Sequence[str]] | None = None

    def check(self) -> None:
        """Raise :class:`ConfigError` naming the first setting out of range."""
        if self.n_topics not in ("auto", None) and (not _is_int(self.n_topics) or self.n_topics < 2):
            raise ConfigError(f"n_topics must be an integer >= 2 or 'auto', got {self.n_topics!r}")
        if self.pooling not in POOLINGS:
            raise ConfigError(f"pooling must be 'customer' or 'document', got {self.pooling!r}")
        for name in ("passes", "iterations"):
            value = getattr(self, name)
            if value is not None and (not _is_int(value) or value < 1):
                raise ConfigError(
                    f"{name} must be an integer >= 1 (or None for the tuned default), got {value!r}"
                )
        if self.trainer not in TRAINERS:
            raise ConfigError(f"trainer must be 'vb', 'gibbs' or 'review', got {self.trainer!r}")


@dataclass(frozen=True)
class TagConfig(_StageConfig):
    """The tagging stage's checked settings (see :class:`~topicprofile.tag.tagger.InterestTagger`)."""

    tag_threshold: float = 0.2
    max_tags: int = 3
    anchor_threshold: float = 0.5
    aggregation: str = "sharpened"

    def check(self) -> None:
        """Raise :class:`ConfigError` naming the first setting out of range."""
        if not 0.0 <= self.anchor_threshold <= 1.0:
            raise ConfigError(f"anchor_threshold must be within [0, 1], got {self.anchor_threshold!r}")
        if not 0.0 <= self.tag_threshold <= 1.0:
            raise ConfigError(f"tag_threshold must be within [0, 1], got {self.tag_threshold!r}")
        if self.aggregation not in AGGREGATIONS:
            raise ConfigError(f"aggregation must be 'sharpened' or 'length', got {self.aggregation!r}")
        if self.max_tags < 1:
            raise ConfigError(f"max_tags must be >= 1, got {self.max_tags!r}")


def read_labels_file(path: str | os.PathLike[str]) -> dict[int, str]:
    """Read topic names: topic id (0-based) -> name.

    Accepted forms::

        # labels.toml (a [labels] table, or top-level keys)
        [labels]
        0 = "Outdoor & hiking"
        3 = "Coffee"

        # labels.json
        {"0": "Outdoor & hiking", "3": "Coffee"}

        # labels.csv (header: topic,label)
        topic,label
        0,Outdoor & hiking

    Raises
    ------
    ConfigError
        Unreadable file, unknown format, or a key that is not a topic number.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: labels file not found")
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8-sig")
        if suffix == ".toml":
            data = tomllib.loads(text)
            raw = data.get("labels", data)
        elif suffix == ".json":
            raw = json.loads(text)
        elif suffix == ".csv":
            raw = {row["topic"]: row["label"] for row in csv.DictReader(text.splitlines())}
        else:
            raise ConfigError(f"{path}: labels file must be .toml, .json or .csv")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, KeyError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read labels ({type(e).__name__}: {e})") from e
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of topic id to name")
    labels: dict[int, str] = {}
    for key, value in raw.items():
        try:
            labels[int(str(key).strip())] = str(value).strip()
        except ValueError as e:
            raise ConfigError(f"{path}: topic id {key!r} is not a number (topics are 0, 1, 2, ...)") from e
    return labels


def read_word_list(path: str | os.PathLike[str]) -> list[str]:
    """Words from a text file, one per line; blank lines and ``#`` comments ignored."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: word list not found")
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: word list must be UTF-8 ({e})") from e
    return [w.strip().lower() for w in lines if w.strip() and not w.lstrip().startswith("#")]
