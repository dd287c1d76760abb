"""Small user-supplied settings files: topic names and word lists."""

from __future__ import annotations

import csv
import json
import os
import tomllib
from pathlib import Path

from topicprofile.errors import ConfigError

__all__ = ["read_labels_file", "read_word_list"]


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
