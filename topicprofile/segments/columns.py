"""The column checks and topic columns the segments stage shares (fusion, the joined table, cards)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from topicprofile.errors import DataValidationError

__all__ = ["TOPIC_PREFIX", "require_columns", "topic_columns"]

TOPIC_PREFIX = "topic_"


def topic_columns(frame: pd.DataFrame) -> list[str]:
    """The ``topic_0 … topic_{K-1}`` columns of ``frame``, in topic order."""
    columns = [
        c
        for c in frame.columns
        if isinstance(c, str) and c.startswith(TOPIC_PREFIX) and c[len(TOPIC_PREFIX) :].isdigit()
    ]
    return sorted(columns, key=lambda c: int(c[len(TOPIC_PREFIX) :]))


def require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """``frame`` must be a DataFrame holding ``columns``; else one DataValidationError naming what is missing."""
    if not isinstance(frame, pd.DataFrame):
        raise DataValidationError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}.")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns)) or "no columns"
        raise DataValidationError(
            f"{what}: required column {', '.join(map(repr, missing))} is missing (found: {found})."
        )
