"""The profile database's side of privacy (issue 14): retention, and what it holds.

:func:`prune_database` deletes the tag history rows of a profile database older than ``retain_days``
(``tag_history.as_of``: when the tags were seen) and rewrites the file, so that the deleted rows'
bytes do not stay in freed pages. Current profiles are not history and stay; ``forget`` removes a
whole customer. Model documents carry no dates yet, so a model's texts are pruned by refitting on
recent input (``--keep-texts`` limits what a model keeps).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from topicprofile.app.forget import rewrite_database
from topicprofile.db.database import ProfileDatabase
from topicprofile.errors import ConfigError, DataValidationError

__all__ = ["database_report", "prune_database"]


def prune_database(
    db: str | os.PathLike[str], *, retain_days: int, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Delete tag history older than ``retain_days`` days from the profile database ``db``.

    Returns
    -------
    dict
        ``db``, ``retain_days``, ``cutoff`` (ISO time, UTC), ``n_history_removed``, ``n_history_kept``.

    Raises
    ------
    ConfigError
        ``retain_days`` is below 1.
    DataValidationError
        ``db`` does not exist.
    """
    if isinstance(retain_days, bool) or not isinstance(retain_days, int) or retain_days < 1:
        raise ConfigError(f"--retain-days must be a whole number of days >= 1, got {retain_days!r}")
    path = Path(db)
    if not path.is_file():
        raise DataValidationError(f"{path}: profile database not found")
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)  # the database stores naive UTC times
    cutoff = now - dt.timedelta(days=retain_days)
    with ProfileDatabase(path) as database, database.transaction() as con:
        removed = con.execute("DELETE FROM tag_history WHERE as_of < ?", [cutoff]).fetchall()
        kept = con.execute("SELECT count(*) FROM tag_history").fetchall()
    n_removed = int(removed[0][0]) if removed else 0
    if n_removed:
        rewrite_database(path)
    return {"db": str(path), "retain_days": retain_days, "cutoff": cutoff.isoformat(timespec="seconds"),
            "n_history_removed": n_removed, "n_history_kept": int(kept[0][0])}  # fmt: skip


def database_report(db: str | Path) -> list[dict[str, Any]]:
    """Where a profile database keeps personal data: per table, its columns, rows and customers."""
    holds = {
        "profiles": "one row per customer: interest tags, scores, keywords from their texts, RFM, segment",
        "tag_history": "each customer's tags every time they changed",
        "identifiers": "e-mail, phone, names and consent flags from the shop's customer export",
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
