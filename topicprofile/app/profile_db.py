"""What ``tag --db`` and ``batch --db`` do with the profile database: open it early, write a run.

The database itself is :mod:`topicprofile.db` (DuckDB, loaded on first use); this module holds
the steps the file-level jobs share, so that both write profiles and identifiers the same way.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from topicprofile import db as profile_db
from topicprofile import schema
from topicprofile.app.privacy import model_id_key
from topicprofile.app.tables import round_output
from topicprofile.db.identifiers import load_customers
from topicprofile.db.schema import CHURN_FIELDS
from topicprofile.errors import ConfigError
from topicprofile.ingest.load import rejects_path_for
from topicprofile.privacy.pseudonym import pseudonymize_frame, pseudonymize_rejects
from topicprofile.store import read_manifest

__all__ = [
    "DbSink",
    "check_database",
    "customers_rejects_path",
    "database_id_key",
    "load_identifiers",
    "prepare_db",
    "pseudonymous_identifiers",
    "stored_behavior",
    "with_churn",
    "write_run",
]


def check_database(path: str | os.PathLike[str]) -> None:
    """Open the database for writing and close it: another writer fails before any work."""
    profile_db.check_database(path)


def prepare_db(
    db: str | os.PathLike[str] | None, customers: str | os.PathLike[str] | None, *, region: str | None
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Before a run's work: ``customers`` needs ``db``; ``db`` opens for writing (a second writer
    fails now, not after the tagging); the customer export is read and validated.

    Returns the identifiers and the rejected values (both None without ``customers``).
    """
    if customers is not None and db is None:
        raise ConfigError("--customers loads identifiers into the profile database: pass --db PATH too")
    if db is None:
        return None, None
    check_database(db)
    if customers is None:
        return None, None
    return load_identifiers(customers, region=region)


def pseudonymous_identifiers(
    identifiers: pd.DataFrame | None, rejected: pd.DataFrame | None, id_key: bytes | None
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The customer export's identifiers and rejected values with their customer ids pseudonymised with
    ``id_key`` (unchanged without one), so that they join the run's pseudonymous profiles and the
    database keeps no raw id."""
    if id_key is None:
        return identifiers, rejected
    return (
        None if identifiers is None else pseudonymize_frame(identifiers, id_key),
        None if rejected is None else pseudonymize_rejects(rejected, id_key),
    )


def customers_rejects_path(out: str | os.PathLike[str]) -> Path:
    """Where a customer export's rejected values go: ``out/profiles.csv`` -> ``out/profiles.customers.rejects.csv``."""
    path = rejects_path_for(Path(out))
    return path.with_name(path.name.replace("rejects.csv", "customers.rejects.csv"))


def load_identifiers(
    customers: str | os.PathLike[str], *, region: str | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The customer export's validated identifiers and its rejected values (e-mails, phones, ids)."""
    return load_customers(customers, region=region)


def write_run(
    db: str | os.PathLike[str] | None, blocks: Sequence[pd.DataFrame], *, model_dir: str | os.PathLike[str],
    inputs: Mapping[str, Any], identifiers: pd.DataFrame | None = None, customers_rejects: Path | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Upsert one ``tag`` run's profile blocks (and identifiers) into ``db``: one transaction, one run.

    Returns the summary's additions: ``db`` (path, ``run_id``, ``n_rows``, ``n_new``, ``n_changed``,
    ``n_identifiers``) and ``customers_rejects_file`` when written; nothing without ``db``.
    """
    if db is None:
        return {}
    table = pd.concat(blocks, ignore_index=True) if blocks else pd.DataFrame({"customer_id": []})
    summary = profile_db.write_profiles(
        db, table, model_manifest=read_manifest(model_dir), inputs=inputs, identifiers=identifiers
    )
    extra: dict[str, Any] = {"db": {"path": str(db), **summary}}
    if customers_rejects is not None and customers_rejects.exists():
        extra["customers_rejects_file"] = str(customers_rejects)
    return extra


class DbSink:
    """The profile database a batch writes each file's profiles into (``batch --db``).

    Opened (and closed) once at the start, so that a second writer fails before any file is
    tagged; each :meth:`write` is then its own transaction.
    """

    def __init__(self, path: str | os.PathLike[str], manifest: Mapping[str, Any]) -> None:
        profile_db.check_database(path)
        self.path, self.manifest = Path(path), manifest
        self.key = str(self.path.absolute())  # recorded in the ledger per file
        self.n_rows = 0

    def write(self, profiles: pd.DataFrame, name: str, facts: Mapping[str, Any]) -> None:
        summary = profile_db.write_profiles(
            self.path, profiles, model_manifest=self.manifest, inputs={name: dict(facts)}
        )
        self.n_rows += summary["n_rows"]

    def write_identifiers(self, identifiers: pd.DataFrame) -> int:
        return profile_db.write_identifiers(self.path, identifiers)


def database_id_key(db_path: str | os.PathLike[str], id_key: bytes | None) -> bytes | None:
    """The id key for ids read from a profile database: ``id_key``, or — when the database's newest
    run with a model was written with pseudonymous ids — that model's key
    (:func:`~topicprofile.app.privacy.model_id_key`: from ``$TOPICPROFILE_ID_KEY`` when not given, and
    it must be the one the ids were made with).

    Raises
    ------
    ConfigError
        The database's ids are pseudonymous and no key, or another key, is given.
    """
    with profile_db.ProfileDatabase(db_path, read_only=True) as db:
        rows = db.con.execute(
            "SELECT model_manifest FROM runs WHERE model_manifest IS NOT NULL AND model_manifest <> '{}' "
            "ORDER BY run_id DESC LIMIT 1"
        ).fetchall()
    manifest = json.loads(rows[0][0]) if rows else {}
    return model_id_key(manifest.get("privacy") or {}, id_key)


#: The scored RFM columns a profile keeps (the output contract's, without the fused segment) and their types.
_RFM_COLUMNS = {
    c: {"monetary": "float64", "avg_order_value": "float64", "rfm_segment": object}.get(c, "int64")
    for c in schema.BEHAVIOR_PROFILE_COLUMNS
    if c not in (schema.SEGMENT_ID, schema.SEGMENT_NAME)
}


def stored_behavior(
    db: str | os.PathLike[str], customers: Sequence[str]
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """What the database knows of ``customers``' orders: their scored RFM table (as
    :func:`~topicprofile.behavior.compute_rfm` made it, index ``customer_id``) and their churn and value
    columns (index ``customer_id``), each None when no customer has any. A run without orders (``update
    --reviews``) profiles with these instead of treating its customers as if they had never ordered."""
    churn = list(CHURN_FIELDS)
    with profile_db.ProfileDatabase(db, read_only=True) as database:
        rows = database.con.execute(
            f"SELECT customer_id, {', '.join([*_RFM_COLUMNS, *churn])} FROM profiles "
            "WHERE list_contains(?, customer_id) AND (frequency > 0 OR p_alive IS NOT NULL) ORDER BY customer_id",
            [sorted(map(str, customers))],
        ).df().set_index("customer_id")  # fmt: skip
    rfm = rows.loc[rows["frequency"] > 0, list(_RFM_COLUMNS)].dropna().astype(_RFM_COLUMNS)
    values = rows[churn].dropna(subset=["p_alive"])
    return (rfm if len(rfm) else None), (values if len(values) else None)


def with_churn(table: pd.DataFrame, churn: pd.DataFrame | None) -> pd.DataFrame:
    """A profile table rounded for output, with the churn and value columns of ``churn`` (index
    ``customer_id``: :func:`stored_behavior`'s, or :func:`~topicprofile.actions.clv.clv_columns`') joined on."""
    return round_output(table if churn is None else table.join(churn, on="customer_id"))
