"""ProfileDatabase: one DuckDB file that keeps customers' profiles, tag history, identifiers and runs.

DuckDB lets one process write a file at a time; a second writer gets one line naming the file.
Every write is one transaction: an upsert batch is wholly in the file or not at all, so a crash
between (or inside) batches leaves the state of the last finished batch.

Examples
--------
>>> with ProfileDatabase("profiles.duckdb") as db:  # doctest: +SKIP
...     db.upsert_profiles(table, model_manifest=manifest, inputs={"reviews.csv": {...}})
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

import duckdb
import pandas as pd

from topicprofile._fs import atomic_path
from topicprofile.db import schema as db_schema
from topicprofile.db.convert import stage_batch
from topicprofile.errors import DataValidationError, ModelError

logger = logging.getLogger(__name__)

_FIELDS = ", ".join(("customer_id", *db_schema.PROFILE_FIELDS))
# Replace = delete the batch's keys and insert its rows, inside the batch's transaction. Same
# result as INSERT … ON CONFLICT DO UPDATE, which DuckDB 2.0.1 runs ~50x slower on conflicting
# rows (28 s against 0.5 s for 50,000 customers; scripts/bench_db.py).
_REPLACE = (
    "DELETE FROM profiles WHERE customer_id IN (SELECT customer_id FROM batch WHERE NOT is_new)",
    f"INSERT INTO profiles ({_FIELDS}) SELECT {_FIELDS} FROM batch",
    "DROP TABLE batch",
)
_HISTORY = (
    "INSERT INTO tag_history SELECT customer_id, ?, unnest(interest_topics), unnest(interest_tags), "
    "unnest(tag_scores), model_version, ? FROM batch WHERE key_changed"
)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def model_version_of(model_manifest: Mapping[str, Any] | None) -> str | None:
    """A short id of a model: its manifest's ``model_version`` / ``fingerprint``, else a hash of the manifest."""
    if not model_manifest:
        return None
    for key in ("model_version", "version_id", "fingerprint"):
        if model_manifest.get(key):
            return str(model_manifest[key])
    text = json.dumps(model_manifest, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def connect(path: str | os.PathLike[str], *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file; a lock held by another process or an unreadable file is one ``ModelError`` line."""
    path = Path(path)
    if read_only and not path.exists():
        raise ModelError(
            f"{path}: no profile database here; write one first with `tag --db` or `batch --db`."
        )
    try:
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as e:
        if "lock" in str(e).lower():
            raise ModelError(
                f"{path}: the profile database is in use by another process (DuckDB allows one writer per file); "
                "wait for it to finish or pass another --db."
            ) from None
        raise ModelError(f"{path}: cannot open the profile database ({str(e).splitlines()[0]}).") from None
    except duckdb.Error as e:
        raise ModelError(
            f"{path}: not a profile database this DuckDB {duckdb.__version__} can open ({str(e).splitlines()[0]})."
        ) from None


class ProfileDatabase:
    """The profile database file at ``path`` (created with its tables when missing).

    Parameters
    ----------
    path : path
        The ``.duckdb`` file.
    read_only : bool
        Open for reading (audiences, exports); the file must exist.

    Raises
    ------
    ModelError
        Another process holds the file's write lock, or the file is not a profile database.
    """

    def __init__(self, path: str | os.PathLike[str], *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.con = connect(self.path, read_only=read_only)
        #: The schema version the file had when opened (None: a new file); a writable open of an
        #: older one upgrades it in place (``migrated_from`` then names the old version).
        self.migrated_from: int | None = None
        try:
            if read_only:
                self._check_version(self._stored_version())
            else:
                self._create_or_migrate()
        except BaseException:
            self.close()
            raise

    def _stored_version(self) -> int | None:
        # no failing statement to catch: inside a transaction, DuckDB would abort the transaction
        has_meta = self.con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'main' AND table_name = 'meta'"
        ).fetchall()[0][0]
        if not has_meta:
            return None
        rows = self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
        try:
            return int(rows[0][0]) if rows else None
        except ValueError:
            return None

    def _create_or_migrate(self) -> None:
        """Create the tables of a new file, or bring an older file to this schema (one transaction:
        an interrupted upgrade leaves the old file as it was)."""
        with self.transaction() as con:
            version = self._stored_version()
            if version is not None:
                self._check_newer(version)
            for old in range(version or db_schema.SCHEMA_VERSION, db_schema.SCHEMA_VERSION):
                for statement in db_schema.MIGRATIONS[old]:
                    con.execute(statement)
            for statement in db_schema.DDL:
                con.execute(statement)
            con.execute(
                "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [str(db_schema.SCHEMA_VERSION)],
            )
        if version is not None and version < db_schema.SCHEMA_VERSION:
            self.migrated_from = version
            logger.info("%s: profile database upgraded from schema version %d to %d",
                        self.path.name, version, db_schema.SCHEMA_VERSION)  # fmt: skip

    def _check_newer(self, version: int) -> None:
        if version > db_schema.SCHEMA_VERSION or version < min(db_schema.MIGRATIONS):
            raise ModelError(
                f"{self.path}: a profile database of schema version {version}; this topicprofile reads "
                f"versions {min(db_schema.MIGRATIONS)} to {db_schema.SCHEMA_VERSION} (a newer topicprofile wrote it?)."
            )

    def _check_version(self, version: int | None) -> None:
        """A read-only open needs the current schema: an older file is one line naming the upgrade."""
        if version is None:
            raise ModelError(f"{self.path}: not a topicprofile profile database (no schema version).")
        self._check_newer(version)
        if version < db_schema.SCHEMA_VERSION:
            raise ModelError(
                f"{self.path}: a profile database of schema version {version}, made by an older topicprofile; "
                f"upgrade it in place once with `topicprofile db upgrade --db {self.path}` (any write, "
                "such as `tag --db`, upgrades it too)."
            )

    # -- life cycle -----------------------------------------------------------------------------
    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """``BEGIN`` … ``COMMIT``; any exception rolls the whole block back and propagates."""
        self.con.begin()
        try:
            yield self.con
        except BaseException:
            self.con.rollback()
            raise
        self.con.commit()

    def _next_id(self, table: str, column: str) -> int:
        return int(self.con.execute(f"SELECT coalesce(max({column}), 0) + 1 FROM {table}").fetchall()[0][0])

    # -- writes ---------------------------------------------------------------------------------
    def upsert_profiles(
        self,
        profiles: pd.DataFrame,
        *,
        model_manifest: Mapping[str, Any] | None = None,
        inputs: Mapping[str, Any] | None = None,
        as_of: dt.datetime | None = None,
    ) -> dict[str, int]:
        """Insert or replace each customer's row (one transaction; repeated ids: the last row wins).

        Customers whose tags, top interest, RFM segment, segment name or churn flag changed get
        tag-history rows and ``changed_run`` = this run; writing the same table twice changes nothing but
        adds a row to ``runs``. Returns ``run_id``, ``n_rows``, ``n_new``, ``n_changed``.
        """
        with self.transaction() as con:
            run_id = self._next_id("runs", "run_id")
            n_rows = stage_batch(con, profiles, model_version=model_version_of(model_manifest), run_id=run_id)
            n_new, n_changed = con.execute(
                "SELECT count(*) FILTER (is_new), count(*) FILTER (key_changed) FROM batch"
            ).fetchall()[0]
            con.execute(_HISTORY, [run_id, as_of or _utcnow()])
            for statement in _REPLACE:
                con.execute(statement)
            con.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [run_id, _utcnow(), model_version_of(model_manifest), json.dumps(model_manifest or {}, default=str),
                 json.dumps(inputs or {}, default=str), n_rows, n_new, n_changed - n_new],
            )  # fmt: skip
        logger.info(
            "%s: run %d wrote %d profiles (%d new, %d changed)",
            self.path.name,
            run_id,
            n_rows,
            n_new,
            n_changed - n_new,
        )
        return {
            "run_id": run_id,
            "n_rows": n_rows,
            "n_new": int(n_new),
            "n_changed": int(n_changed - n_new),
        }

    def upsert_identifiers(self, identifiers: pd.DataFrame) -> int:
        """Insert or replace customers' identifiers (columns of ``schema.IDENTIFIER_FIELDS``; one transaction)."""
        fields = ("customer_id", *db_schema.IDENTIFIER_FIELDS)
        frame = identifiers.loc[~identifiers["customer_id"].duplicated(keep="last"), list(fields)].copy()
        frame["updated_at"] = _utcnow()
        with self.transaction() as con:
            con.register("ids_batch", frame)
            try:
                con.execute(
                    f"INSERT INTO identifiers SELECT {', '.join((*fields, 'updated_at'))} FROM ids_batch "
                    "ON CONFLICT (customer_id) DO UPDATE SET "
                    + ", ".join(f"{f} = excluded.{f}" for f in (*db_schema.IDENTIFIER_FIELDS, "updated_at"))
                )
            finally:
                con.unregister("ids_batch")
        return len(frame)

    # -- reads ----------------------------------------------------------------------------------
    def profiles(self) -> pd.DataFrame:
        """Every profile row, ordered by customer id."""
        return self.con.execute("SELECT * FROM profiles ORDER BY customer_id").df()

    def history(self, customer_id: str) -> pd.DataFrame:
        """A customer's tag history, oldest run first."""
        return self.con.execute(
            "SELECT h.run_id, r.started_at, h.as_of, h.topic_id, h.label, h.score, h.model_version "
            "FROM tag_history h LEFT JOIN runs r USING (run_id) WHERE h.customer_id = ? ORDER BY h.run_id, h.score DESC",
            [str(customer_id)],
        ).df()

    def counts(self) -> dict[str, int]:
        """Rows per table."""
        return {
            t: int(self.con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]) for t in db_schema.TABLES
        }

    def last_run(self) -> int:
        return self._next_id("runs", "run_id") - 1

    # -- backup / interchange -------------------------------------------------------------------
    def export_parquet(self, folder: str | os.PathLike[str]) -> dict[str, int]:
        """Write each table to ``folder/<table>.parquet`` (atomic files) and ``manifest.json``; returns row counts."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        counts = self.counts()
        for table in db_schema.TABLES:
            with atomic_path(folder / f"{table}.parquet") as tmp:
                literal = str(tmp).replace("'", "''")  # a file path of ours, not user text for a query
                self.con.execute(f"COPY (SELECT * FROM {table}) TO '{literal}' (FORMAT parquet)")
        manifest = {
            "format": "topicprofile-profiles",
            "schema_version": db_schema.SCHEMA_VERSION,
            "tables": counts,
        }
        with atomic_path(folder / "manifest.json") as tmp:
            tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        return counts

    def import_parquet(self, folder: str | os.PathLike[str]) -> dict[str, int]:
        """Replace every table with ``folder``'s Parquet files (one transaction); returns row counts.

        An export of an older schema version imports too: columns are matched by name (those it
        lacks are NULL) and tables it predates are left empty.
        """
        folder = Path(folder)
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise DataValidationError(
                f"{folder}: no readable manifest.json of a `db export` ({e})."
            ) from None
        version = manifest.get("schema_version")
        if (
            manifest.get("format") != "topicprofile-profiles"
            or not isinstance(version, int)
            or not min(db_schema.MIGRATIONS) <= version <= db_schema.SCHEMA_VERSION
        ):
            raise DataValidationError(
                f"{folder}/manifest.json: not a profile database export of schema version "
                f"{min(db_schema.MIGRATIONS)} to {db_schema.SCHEMA_VERSION}."
            )
        tables = [t for t in db_schema.TABLES if db_schema.TABLE_SINCE.get(t, 1) <= version]
        missing = [t for t in tables if not (folder / f"{t}.parquet").is_file()]
        if missing:
            raise DataValidationError(f"{folder}: missing {', '.join(t + '.parquet' for t in missing)}.")
        with self.transaction() as con:
            for table in db_schema.TABLES:
                con.execute(f"DELETE FROM {table}")
                if table in tables:
                    con.execute(
                        f"INSERT INTO {table} BY NAME SELECT * FROM read_parquet(?)",
                        [str(folder / f"{table}.parquet")],
                    )
            con.execute(  # the export's meta row names its own version; the tables are this one's now
                "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [str(db_schema.SCHEMA_VERSION)],
            )
        return self.counts()


def check_database(path: str | os.PathLike[str]) -> None:
    """Open ``path`` for writing and close it: another writer, or a file that is not a profile
    database, fails with one line before a ``tag --db`` / ``batch --db`` does any work."""
    ProfileDatabase(path).close()


def write_identifiers(path: str | os.PathLike[str], identifiers: pd.DataFrame) -> int:
    """Upsert validated identifiers (:func:`~topicprofile.db.identifiers.clean_customers`) into ``path``."""
    with ProfileDatabase(path) as db:
        return db.upsert_identifiers(identifiers)


def write_profiles(
    db_path: str | os.PathLike[str],
    profiles: pd.DataFrame,
    *,
    model_manifest: Mapping[str, Any] | None = None,
    inputs: Mapping[str, Any] | None = None,
    identifiers: pd.DataFrame | None = None,
) -> dict[str, int]:
    """Upsert a ``tag``/``batch`` output table (and optional validated identifiers) into ``db_path``.

    The call the CLI makes after ``tag --db`` / each ``batch --db`` chunk: opens the file (one
    clear error when another process writes it), writes one transaction per table, closes.
    """
    with ProfileDatabase(db_path) as db:
        summary = db.upsert_profiles(profiles, model_manifest=model_manifest, inputs=inputs)
        if identifiers is not None:
            summary["n_identifiers"] = db.upsert_identifiers(identifiers)
        return summary
