"""Recommendations in the profile database: a run replaces the rows of the customers it covers.

``recommend --db`` writes here (:func:`write_recommendations`): for each customer the run covers,
their old rows are deleted and the new ones inserted, in one transaction with the run's ``runs``
row; customers the run does not cover keep theirs. The audience filter's ``recommended`` and
Klaviyo's ``topicprofile_recommended`` read the table; ``forget`` and ``prune`` clean it.

Examples
--------
>>> write_recommendations("profiles.duckdb", recs, item_kind="category")  # doctest: +SKIP
{'run_id': 3, 'n_rows': 3800, 'n_customers': 380, 'n_new': 380, 'n_replaced': 0}
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
import pyarrow as pa

from topicprofile import schema
from topicprofile.db import schema as db_schema
from topicprofile.db.database import ProfileDatabase, model_version_of
from topicprofile.errors import ConfigError, DataValidationError

logger = logging.getLogger(__name__)

__all__ = ["write_recommendations"]

_COLUMNS = (schema.CUSTOMER_ID, "rank", "item", "score", "reason")
_INSERT = (
    "INSERT INTO recommendations SELECT customer_id, rank::INTEGER, item, ?, score::DOUBLE, reason, ?, ? "
    "FROM recs_batch"
)
_COUNT = (
    "SELECT count(*), count(*) FILTER (WHERE o.customer_id IS NULL) FROM recs_customers c "
    "LEFT JOIN (SELECT DISTINCT customer_id FROM recommendations) o ON o.customer_id = c.customer_id"
)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)  # the database stores naive UTC times


def _batch(recommendations: pd.DataFrame) -> pd.DataFrame:
    """The table's columns as plain text and numbers (categoricals of ``recommend`` made text)."""
    missing = [c for c in _COLUMNS if c not in recommendations.columns]
    if missing:
        raise DataValidationError(
            f"recommendations: column(s) {', '.join(missing)} missing (found: "
            f"{', '.join(map(str, recommendations.columns))}); pass the table `recommend` writes."
        )
    rows = pd.DataFrame({
        c: recommendations[c].astype("string") if c in (schema.CUSTOMER_ID, "item", "reason")
        else pd.to_numeric(recommendations[c], errors="coerce")
        for c in _COLUMNS
    })  # fmt: skip
    blank = rows[schema.CUSTOMER_ID].isna() | (rows[schema.CUSTOMER_ID].str.strip() == "")
    if blank.any():
        raise DataValidationError(f"recommendations: {int(blank.sum())} rows have no customer_id.")
    repeated = rows.duplicated([schema.CUSTOMER_ID, "rank"])
    if repeated.any():
        first = rows.loc[repeated].iloc[0]
        raise DataValidationError(
            f"recommendations: customer {first[schema.CUSTOMER_ID]!r} has rank {first['rank']} twice; "
            "one row per customer and rank."
        )
    return rows


def write_recommendations(
    db_path: str | os.PathLike[str],
    recommendations: pd.DataFrame,
    *,
    item_kind: str,
    customers: Iterable[str] | None = None,
    model_manifest: Mapping[str, Any] | None = None,
    inputs: Mapping[str, Any] | None = None,
    as_of: dt.datetime | None = None,
) -> dict[str, int]:
    """Replace the recommendations of the customers a ``recommend`` run covered (one transaction).

    Parameters
    ----------
    db_path : path
        The profile database (created when missing; a second writer is one ``ModelError`` line).
    recommendations : DataFrame
        ``recommend``'s long table: ``customer_id``, ``rank``, ``item``, ``score``, ``reason``.
    item_kind : {'product', 'category'}
        What the items are.
    customers : iterable of str, optional
        The customers the run covered (default: those in the table). One without rows now (they
        bought every item) loses their old rows too.
    model_manifest, inputs : mapping, optional
        Recorded in the run's ``runs`` row (model version, input files and fingerprints).
    as_of : datetime, optional
        When the recommendations were made (naive UTC; default now): ``prune --retain-days`` counts from it.

    Returns
    -------
    dict
        ``run_id``, ``n_rows``, ``n_customers`` (covered), ``n_new`` (had none before),
        ``n_replaced`` (had some, now replaced).
    """
    if item_kind not in db_schema.ITEM_KINDS:
        raise ConfigError(f"item_kind {item_kind!r}: use one of {', '.join(db_schema.ITEM_KINDS)}.")
    rows = _batch(recommendations)
    covered = pd.Index(rows[schema.CUSTOMER_ID].unique()).append(
        pd.Index([str(c) for c in customers or ()], dtype="string")
    )
    covered_frame = pd.DataFrame({schema.CUSTOMER_ID: covered.unique().astype("string")})
    version = model_version_of(model_manifest)
    with ProfileDatabase(db_path) as db, db.transaction() as con:
        run_id = db._next_id("runs", "run_id")
        con.register("recs_batch", pa.Table.from_pandas(rows, preserve_index=False))
        con.register("recs_customers", pa.Table.from_pandas(covered_frame, preserve_index=False))
        try:
            n_customers, n_new = con.execute(_COUNT).fetchall()[0]
            con.execute(
                "DELETE FROM recommendations WHERE customer_id IN (SELECT customer_id FROM recs_customers)"
            )
            con.execute(_INSERT, [item_kind, run_id, as_of or _utcnow()])
        finally:
            con.unregister("recs_batch")
            con.unregister("recs_customers")
        con.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, _utcnow(), version, json.dumps(model_manifest or {}, default=str),
             json.dumps({"command": "recommend", **(inputs or {})}, default=str), len(rows), n_new, n_customers - n_new],
        )  # fmt: skip
    logger.info(
        "%s: run %d wrote %d recommendations for %d customers", db.path.name, run_id, len(rows), n_customers
    )
    return {"run_id": run_id, "n_rows": len(rows), "n_customers": int(n_customers), "n_new": int(n_new),
            "n_replaced": int(n_customers - n_new)}  # fmt: skip
