"""The small readers and formatters every report section uses.

A profiles table may come from a fit, a file or the profile database, so a column may be missing,
nullable or hold text where numbers are expected: the readers here return a full-length Series either
way. The formatters make the few strings people read (percentages, clipped snippets) and keep NaN out
of JSON and templates.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "MAX_SNIPPET",
    "NO_ORDERS",
    "clip",
    "finite",
    "has_orders",
    "numeric_column",
    "pct",
    "text_column",
    "topic_share_matrix",
]

NO_ORDERS = "No orders"
MAX_SNIPPET = 220


def pct(x: float) -> str:
    """A share as a whole percentage; "<1%" rather than a misleading "0%"."""
    return f"{x:.0%}" if x >= 0.01 or x == 0 else "<1%"


def clip(text: str, n: int = MAX_SNIPPET) -> str:
    """``text`` on one line, cut to ``n`` characters with an ellipsis."""
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def finite(x: Any) -> float | None:
    """A finite float or None (JSON and templates never see NaN)."""
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def topic_share_matrix(profiles: pd.DataFrame, n_topics: int) -> np.ndarray:
    """n_customers × n_topics shares from the ``topic_{k}`` columns (missing columns = 0)."""
    out = np.zeros((len(profiles), n_topics))
    for k in range(n_topics):
        column = f"topic_{k}"
        if column in profiles:
            out[:, k] = pd.to_numeric(profiles[column], errors="coerce").fillna(0.0).to_numpy()
    return out


def text_column(profiles: pd.DataFrame, column: str) -> pd.Series:
    """``profiles[column]`` as str, "" where missing (the whole column when absent)."""
    if column not in profiles:
        return pd.Series([""] * len(profiles), index=profiles.index, dtype=object)
    values = profiles[column]
    return values.astype(object).where(values.notna(), "").astype(str)  # nullable dtypes (a database's) too


def numeric_column(profiles: pd.DataFrame, column: str) -> pd.Series:
    """``profiles[column]`` as numbers, NaN where missing or not a number (the whole column when absent)."""
    if column not in profiles:
        return pd.Series(np.nan, index=profiles.index)
    return pd.to_numeric(profiles[column], errors="coerce")


def has_orders(profiles: pd.DataFrame) -> pd.Series:
    """True for the customers with at least one counted order."""
    frequency = numeric_column(profiles, "frequency").fillna(0)
    return frequency > 0
