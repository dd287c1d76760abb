"""A profiles table (``tag`` output, strings or numbers) -> the typed columns of the ``profiles`` table.

The ``tag`` output carries people's strings: ``;``-joined tags, topic ids and keywords, scores as a
JSON object, shares as ``topic_{k}`` columns. Here they become lists, a key list + value list (made
into a ``MAP`` in SQL) and one ``DOUBLE[]`` per customer. Lists, dicts and arrays are accepted as
they are, so a caller holding numbers never goes through text.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from topicprofile import schema
from topicprofile.errors import DataValidationError

logger = logging.getLogger(__name__)

_TOPIC_COLUMN = re.compile(r"topic_(\d+)$")
_FLOATS = ("recency_days", "frequency", "monetary", "avg_order_value")
_INTS = ("n_documents", "n_tokens", "r_score", "f_score", "m_score", "segment_id")
_TEXTS = ("top_interest", "rfm_segment", "segment_name")
_SEP = "\x1f"  # joins the fields of the change key; cannot occur in a label


def _split(value: Any) -> list[str]:
    if type(value) is str:
        return [part for part in value.split(";") if part]
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v) for v in value]
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return []
    return [part for part in str(value).split(";") if part]


def _scores(value: Any, row: int) -> dict[str, float]:
    if type(value) is str and value.startswith("{"):
        try:
            return {str(k): float(v) for k, v in json.loads(value).items()}
        except (ValueError, TypeError, AttributeError):
            pass  # the slow path below names the row
    if isinstance(value, Mapping):
        return {str(k): float(v) for k, v in value.items()}
    if not isinstance(value, str) or not value.strip():
        return {}
    try:
        parsed = json.loads(value)
        return {str(k): float(v) for k, v in parsed.items()}
    except (ValueError, TypeError, AttributeError) as e:
        raise DataValidationError(
            f"profiles row {row}: interest_scores is not a JSON object of label -> score ({value[:60]!r})."
        ) from e


def dedupe_customers(profiles: pd.DataFrame) -> pd.DataFrame:
    """Keep the last row of each customer id (an upsert batch must not name a key twice)."""
    if schema.CUSTOMER_ID not in profiles.columns:
        raise DataValidationError(
            f"profiles table has no {schema.CUSTOMER_ID!r} column (found: {', '.join(map(str, profiles.columns))})."
        )
    ids = profiles[schema.CUSTOMER_ID]
    if ids.isna().any() or (ids.astype(str).str.strip() == "").any():
        raise DataValidationError(
            f"profiles table: {int(ids.isna().sum() + (ids.astype(str).str.strip() == '').sum())} rows have no customer_id."
        )
    dup = ids.astype(str).duplicated(keep="last")
    if dup.any():
        logger.warning(
            "profiles: %d repeated customer ids in one batch; the last row of each is kept", int(dup.sum())
        )
        profiles = profiles.loc[~dup.to_numpy()]
    return profiles


def topic_share_lists(profiles: pd.DataFrame) -> list[list[float]] | None:
    """``topic_0..topic_{k-1}`` columns -> one list per row (None when the table has none)."""
    if "topic_shares" in profiles.columns:
        return [list(map(float, v)) if v is not None else None for v in profiles["topic_shares"]]
    cols = sorted((int(m.group(1)), c) for c in profiles.columns if (m := _TOPIC_COLUMN.match(str(c))))
    if not cols:
        return None
    matrix = profiles[[c for _, c in cols]].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    empty = np.isnan(matrix).all(axis=1)
    lists: list[list[float] | None] = matrix.tolist()
    for i in np.flatnonzero(empty):
        lists[i] = None
    return lists


def _numbers(profiles: pd.DataFrame, column: str, *, integer: bool) -> pd.Series:
    n = len(profiles)
    if column not in profiles.columns:
        return pd.Series([None] * n, dtype="Int64" if integer else "Float64")
    values = pd.to_numeric(profiles[column].replace("", None), errors="coerce")
    return values.round().astype("Int64") if integer else values.astype("Float64")


def _values(profiles: pd.DataFrame, column: str) -> list[Any]:
    """A column as a plain Python list (iterating Arrow-backed pandas strings is slow); Nones when absent."""
    return profiles[column].tolist() if column in profiles.columns else [None] * len(profiles)


def to_rows(profiles: pd.DataFrame, *, model_version: str | None, run_id: int) -> pd.DataFrame:
    """The typed frame an upsert inserts (one row per customer, keys de-duplicated)."""
    profiles = dedupe_customers(profiles).reset_index(drop=True)
    out = pd.DataFrame({schema.CUSTOMER_ID: profiles[schema.CUSTOMER_ID].astype(str).to_numpy()})
    tags = [_split(v) for v in _values(profiles, schema.INTEREST_TAGS)]
    scores = [_scores(v, i + 1) for i, v in enumerate(_values(profiles, schema.INTEREST_SCORES))]
    out["score_keys"] = [list(s) for s in scores]
    out["score_values"] = [list(s.values()) for s in scores]
    out["top_score"] = pd.array([max(s.values()) if s else None for s in scores], dtype="Float64")
    out["interest_tags"] = tags
    out["tag_scores"] = [[s.get(t) for t in tag_list] for tag_list, s in zip(tags, scores)]
    out["interest_topics"] = [[int(k) for k in _split(v)] for v in _values(profiles, "interest_topics")]
    out["topic_shares"] = topic_share_lists(profiles)
    out["keywords"] = [_split(v) for v in _values(profiles, schema.KEYWORDS)]
    for column in _TEXTS:
        values = (
            profiles[column].astype("string").replace("", None)
            if column in profiles.columns
            else pd.Series([None] * len(profiles), dtype="string")
        )
        out[column] = values.to_numpy()
    for column in _FLOATS:
        out[column] = _numbers(profiles, column, integer=False).to_numpy()
    for column in _INTS:
        out[column] = _numbers(profiles, column, integer=True).to_numpy()
    if "last_seen" in profiles.columns:
        out["last_seen"] = (
            pd.to_datetime(profiles["last_seen"], errors="coerce", utc=True).dt.tz_localize(None).to_numpy()
        )
    else:
        out["last_seen"] = pd.Series([pd.NaT] * len(profiles), dtype="datetime64[us]").to_numpy()
    out["model_version"] = model_version
    out["change_key"] = (
        pd.Series([";".join(t) for t in tags]) + _SEP + out["top_interest"].fillna("").astype(str) + _SEP
        + out["rfm_segment"].fillna("").astype(str) + _SEP + out["segment_name"].fillna("").astype(str)
    ).to_numpy()  # fmt: skip
    out["changed_run"] = run_id
    return out
