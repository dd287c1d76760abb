"""Retention (issue 14): delete what is older than ``retain_days`` from a profile database and a model.

:func:`prune_database` deletes the tag history rows of a profile database older than ``retain_days``
(``tag_history.as_of``: when the tags were seen) and the recommendations made before then
(``recommendations.as_of``: when ``recommend --db`` made them), and rewrites the file, so that the
deleted rows' bytes do not stay in freed pages. Current profiles are not history and stay;
``forget`` removes a whole customer.

The model's side (stored texts and training bags of words) is
:mod:`topicprofile.app.model_retention`.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import Any

import duckdb

from topicprofile.app.model_retention import check_retain_days
from topicprofile.db.database import ProfileDatabase
from topicprofile.errors import DataValidationError

__all__ = ["database_report", "prune_database", "rewrite_database"]


def prune_database(
    db: str | os.PathLike[str], *, retain_days: int, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Delete tag history and recommendations older than ``retain_days`` days from the profile database ``db``.

    Returns
    -------
    dict
        ``db``, ``retain_days``, ``cutoff`` (ISO time, UTC), ``n_history_removed``, ``n_history_kept``,
        ``n_recommendations_removed``, ``n_recommendations_kept``.

    Raises
    ------
    ConfigError
        ``retain_days`` is below 1.
    DataValidationError
        ``db`` does not exist.
    """
    check_retain_days(retain_days)
    path = Path(db)
    if not path.is_file():
        raise DataValidationError(f"{path}: profile database not found")
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)  # the database stores naive UTC times
    cutoff = now - dt.timedelta(days=retain_days)
    with ProfileDatabase(path) as database, database.transaction() as con:
        counts = {}
        for table, name in (("tag_history", "history"), ("recommendations", "recommendations")):
            removed = con.execute(f"DELETE FROM {table} WHERE as_of < ?", [cutoff]).fetchall()
            counts[f"n_{name}_removed"] = int(removed[0][0]) if removed else 0
            counts[f"n_{name}_kept"] = int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])
    if counts["n_history_removed"] or counts["n_recommendations_removed"]:
        rewrite_database(path)
    return {
        "db": str(path),
        "retain_days": retain_days,
        "cutoff": cutoff.isoformat(timespec="seconds"),
        **counts,
    }


def rewrite_database(path: Path) -> None:
    """Copy the database into a fresh file and put it in place: a DELETE only frees pages, whose
    old bytes stay in the file until they are reused."""
    fd, fresh = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    os.unlink(fresh)  # DuckDB creates the file itself
    try:
        con = duckdb.connect(":memory:")
        try:
            con.execute("ATTACH ? AS old_db (READ_ONLY)", [str(path)])
            con.execute("ATTACH ? AS new_db", [fresh])
            con.execute("COPY FROM DATABASE old_db TO new_db")
            con.execute("DETACH new_db")
            con.execute("DETACH old_db")
        finally:
            con.close()
        os.replace(fresh, path)
    finally:
        for leftover in (Path(fresh), Path(fresh + ".wal")):
            leftover.unlink(missing_ok=True)


def database_report(db: str | Path) -> list[dict[str, Any]]:
    """Where a profile database keeps personal data: per table, its columns, rows and customers."""
    holds = {
        "profiles": "one row per customer: interest tags, scores, keywords from their texts, RFM, segment",
        "tag_history": "each customer's tags every time they changed",
        "identifiers": "e-mail, phone, names and consent flags from the shop's customer export",
        "recommendations": "each customer's current recommended items with score and reason (recommend --db)",
        "audience_holdouts": "the treated and control customers of each audience exported with --holdout",
    }
    with ProfileDatabase(db, read_only=True) as database:
        out = []
        for table, what in holds.items():
            columns = [r[0] for r in database.con.execute(f"DESCRIBE {table}").fetchall()]
            rows, customers = database.con.execute(
                f"SELECT count(*), count(DISTINCT customer_id) FROM {table}"
            ).fetchall()[0]
            out.append({"path": f"{db}:{table}", "holds": what, "rows": int(rows), "n_customers": int(customers),
                        "columns": columns})  # fmt: skip
    return out
