"""A profiles table (``tag`` output, strings or numbers) -> the typed ``batch`` table an upsert inserts.

The ``tag`` output carries people's strings: ``;``-joined tags, topic ids and keywords, scores as a
JSON object, shares as ``topic_{k}`` columns. DuckDB turns them into lists, a ``MAP`` and one
``DOUBLE[]`` per customer in one vectorized ``SELECT`` (no Python loop over rows: converting in
Python capped an upsert at ~5,000 rows/s). Columns that already hold lists (``interest_tags``,
``interest_topics``, ``keywords``, ``topic_shares``) are taken as they are.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping

import duckdb
import pandas as pd
import pyarrow as pa

from topicprofile import schema
from topicprofile.errors import DataValidationError

logger = logging.getLogger(__name__)

__all__ = ["dedupe_customers", "stage_batch"]

_TOPIC_COLUMN = re.compile(r"topic_(\d+)$")
_FLOATS = (
    "recency_days",
    "frequency",
    "monetary",
    "avg_order_value",
    "p_alive",
    "expected_orders_90d",
    "clv_12m",
)
_INTS = ("n_documents", "n_tokens", "r_score", "f_score", "m_score", "segment_id")
_TEXTS = ("top_interest", "rfm_segment", "segment_name")
_MAP = "MAP(VARCHAR, DOUBLE)"
_ROW = "_row"  # the 1-based row of the input table, for error messages


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def dedupe_customers(profiles: pd.DataFrame) -> pd.DataFrame:
    """Keep the last row of each customer id (an upsert batch must not name a key twice)."""
    if schema.CUSTOMER_ID not in profiles.columns:
        raise DataValidationError(
            f"profiles table has no {schema.CUSTOMER_ID!r} column (found: {', '.join(map(str, profiles.columns))})."
        )
    ids = profiles[schema.CUSTOMER_ID]
    blank = ids.isna() | (ids.astype(str).str.strip() == "")
    if blank.any():
        raise DataValidationError(f"profiles table: {int(blank.sum())} rows have no customer_id.")
    dup = ids.astype(str).duplicated(keep="last")
    if dup.any():
        logger.warning(
            "profiles: %d repeated customer ids in one batch; the last row of each is kept", int(dup.sum())
        )
        profiles = profiles.loc[~dup.to_numpy()]
    return profiles


def _json(value: object) -> object:
    if isinstance(value, Mapping):
        return json.dumps({str(k): float(v) for k, v in value.items()}, ensure_ascii=False)
    return value


def _arrow(rows: pd.DataFrame) -> pa.Table | pd.DataFrame:
    """An Arrow table when pyarrow can type every column (DuckDB scans it ~10x faster than pandas
    objects); a column of mixed values (text and numbers) leaves the frame to DuckDB's own scan."""
    try:
        return pa.Table.from_pandas(rows, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return rows


def _is_list(types: dict[str, str], column: str) -> bool:
    return types.get(column, "").endswith("[]")


def _list_expr(types: dict[str, str], column: str, element: str) -> str:
    """A ``;``-joined text or a list column -> ``element[]`` (absent or empty -> ``[]``)."""
    if column not in types:
        return f"[]::{element}[]"
    c = _ident(column)
    if _is_list(types, column):
        return f"coalesce(list_transform({c}, lambda x: x::{element}), []::{element}[])"
    parts = f"list_filter(string_split(coalesce({c}::VARCHAR, ''), ';'), lambda x: x <> '')"
    return parts if element == "VARCHAR" else f"list_transform({parts}, lambda x: x::{element})"


def _scores_expr(types: dict[str, str]) -> str:
    if schema.INTEREST_SCORES not in types:
        return f"MAP {{}}::{_MAP}"
    c = _ident(schema.INTEREST_SCORES)
    return (
        f"CASE WHEN trim(coalesce({c}::VARCHAR, '')) = '' THEN MAP {{}}::{_MAP} "
        f"ELSE json_transform({c}::VARCHAR, '\"{_MAP}\"') END"
    )


def _shares_expr(types: dict[str, str]) -> str:
    if "topic_shares" in types:
        return "topic_shares::DOUBLE[]"
    cols = sorted((int(m.group(1)), c) for c in types if (m := _TOPIC_COLUMN.match(c)))
    if not cols:
        return "NULL::DOUBLE[]"
    values = [f"TRY_CAST({_ident(c)} AS DOUBLE)" for _, c in cols]
    return f"CASE WHEN coalesce({', '.join(values)}) IS NULL THEN NULL ELSE [{', '.join(values)}] END"


def _flag_expr(types: dict[str, str], column: str) -> str:
    """A flag column (bool, 0/1, or text such as True/false/yes) -> ``BOOLEAN``; anything else NULL."""
    if column not in types:
        return "NULL::BOOLEAN"
    c = _ident(column)
    return f"TRY_CAST(trim({c}) AS BOOLEAN)" if types[column] == "VARCHAR" else f"TRY_CAST({c} AS BOOLEAN)"


def _check_scores(con: duckdb.DuckDBPyConnection, types: dict[str, str]) -> None:
    """A score cell that is not a JSON object names its row (one line, nothing written)."""
    if schema.INTEREST_SCORES not in types:
        return
    c = f"{_ident(schema.INTEREST_SCORES)}::VARCHAR"
    bad = con.execute(
        f"SELECT {_ROW}, {c} FROM raw WHERE trim(coalesce({c}, '')) <> '' "
        f"AND (NOT json_valid({c}) OR json_type({c}) <> 'OBJECT') ORDER BY {_ROW} LIMIT 1"
    ).fetchall()
    if bad:
        row, value = bad[0]
        raise DataValidationError(
            f"profiles row {row}: interest_scores is not a JSON object of label -> score ({value[:60]!r})."
        )


_SEP = "chr(31)"  # joins the fields of the change key; cannot occur in a label
# The churn flag joins the key only when known: a profile without orders keeps the key schema
# version 1 gave it, so upgrading a database does not mark every customer changed.
_CHANGE_KEY = (
    f"array_to_string(interest_tags, ';') || {_SEP} || coalesce(top_interest, '') || {_SEP} "
    f"|| coalesce(rfm_segment, '') || {_SEP} || coalesce(segment_name, '') "
    f"|| CASE WHEN churn_risk IS NULL THEN '' ELSE {_SEP} || churn_risk::VARCHAR END"
)
# One pass: typed columns, the change key, and what the database holds for the customer now
# (``changed_run`` keeps the old run unless what an audience sees changed).
_BATCH = (
    "CREATE OR REPLACE TEMP TABLE batch AS SELECT n.*, "
    "CASE WHEN p.change_key IS DISTINCT FROM n.change_key THEN n.run ELSE p.changed_run END AS changed_run, "
    "p.customer_id IS NULL AS is_new, p.change_key IS DISTINCT FROM n.change_key AS key_changed "
    "FROM (SELECT *, list_max(map_values(interest_scores)) AS top_score, ?::VARCHAR AS model_version, "
    f"{_CHANGE_KEY} AS change_key, ?::BIGINT AS run, "
    "list_transform(interest_tags, lambda t: interest_scores[t]) AS tag_scores "
    "FROM (SELECT {typed} FROM raw)) n LEFT JOIN profiles p USING (customer_id)"
)


def stage_batch(
    con: duckdb.DuckDBPyConnection, profiles: pd.DataFrame, *, model_version: str | None, run_id: int
) -> int:
    """Create the temporary table ``batch`` (one typed row per customer, keys de-duplicated); its size.

    ``batch`` has the columns of ``profiles`` (``schema.PROFILE_FIELDS``) plus ``tag_scores`` (each
    tag's score, in tag order) for the history, ``is_new`` (not in ``profiles`` yet) and
    ``key_changed`` (what an audience sees changed, or new).
    """
    rows = profiles.assign(**{_ROW: range(1, len(profiles) + 1)})
    rows = dedupe_customers(rows)
    scores = rows.get(schema.INTEREST_SCORES)
    if (
        scores is not None
        and scores.dtype == object
        and any(isinstance(v, Mapping) for v in scores.head(100))
    ):
        # dicts of label -> score (a Python caller): DuckDB would guess a STRUCT per key set
        rows = rows.assign(**{schema.INTEREST_SCORES: [_json(v) for v in scores]})
    if "last_seen" in rows.columns:  # time zones and formats: pandas' parser, once per column
        stamps = pd.to_datetime(rows["last_seen"], errors="coerce", utc=True, format="mixed")
        rows = rows.assign(last_seen=stamps.dt.tz_localize(None))
    con.register("raw", _arrow(rows))
    try:
        types = {str(name): str(kind) for name, kind, *_ in con.execute("DESCRIBE raw").fetchall()}
        _check_scores(con, types)
        texts = {c: f"nullif({_ident(c)}::VARCHAR, '')" if c in types else "NULL::VARCHAR" for c in _TEXTS}
        numbers = {
            c: f"TRY_CAST({_ident(c)} AS DOUBLE)" if c in types else "NULL::DOUBLE" for c in _FLOATS
        } | {
            c: f"round(TRY_CAST({_ident(c)} AS DOUBLE))::INTEGER" if c in types else "NULL::INTEGER"
            for c in _INTS
        }  # fmt: skip
        fields = {
            "customer_id": f"{_ident(schema.CUSTOMER_ID)}::VARCHAR",
            "top_interest": texts["top_interest"],
            "interest_tags": _list_expr(types, schema.INTEREST_TAGS, "VARCHAR"),
            "interest_scores": _scores_expr(types),
            "interest_topics": _list_expr(types, "interest_topics", "INTEGER"),
            "topic_shares": _shares_expr(types),
            "keywords": _list_expr(types, schema.KEYWORDS, "VARCHAR"),
            "rfm_segment": texts["rfm_segment"],
            "segment_name": texts["segment_name"],
            **numbers,
            "last_seen": "last_seen::TIMESTAMP" if "last_seen" in types else "NULL::TIMESTAMP",
            "churn_risk": _flag_expr(types, "churn_risk"),
        }
        typed = ", ".join(f"{expr} AS {name}" for name, expr in fields.items())
        try:
            con.execute(_BATCH.format(typed=typed), [model_version, run_id])
        except duckdb.ConversionException as e:
            raise DataValidationError(
                f"profiles table: a value does not fit its column ({str(e).splitlines()[0]})."
            ) from None
    finally:
        con.unregister("raw")
    return len(rows)
