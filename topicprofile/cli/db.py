"""``topicprofile db …``: the profile database (add a tag output, load customers, export / import Parquet)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from topicprofile.cli._util import JsonOpt, app, print_json, stdout, user_errors
from topicprofile.errors import ConfigError

db_app = typer.Typer(
    help="The profile database (DuckDB): keep profiles across runs, back it up.", no_args_is_help=True
)
app.add_typer(db_app, name="db")

DbOpt = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="Profile database file (default: profiles.duckdb beside --model-dir).",
        envvar="TOPICPROFILE_DB",
    ),
]
DbModelDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--model-dir",
        "-m",
        help="Model directory (locates the default database).",
        envvar="TOPICPROFILE_MODEL_DIR",
    ),
]


def resolve_db(db: Path | None, model_dir: Path | None) -> Path:
    """``--db``, else ``<model-dir>/../profiles.duckdb``; neither is a bad argument (exit 2)."""
    if db is not None:
        return db
    if model_dir is not None:
        return model_dir.absolute().parent / "profiles.duckdb"
    raise typer.BadParameter(
        "pass --db PATH (or --model-dir, whose parent folder holds profiles.duckdb).", param_hint="--db"
    )


def require_db_extra() -> None:
    """A missing ``db`` extra is one line naming the install command."""
    try:
        import duckdb  # noqa: F401
        import phonenumbers  # noqa: F401
    except ImportError as e:
        raise ConfigError(
            f"the profile database needs the db extra ({e.name} is missing): pip install 'topicprofile[db]'"
        ) from None


def _print(summary: dict[str, Any], json_out: bool, text: str) -> None:
    if json_out:
        print_json(summary)
    else:
        stdout.print(escape(text), highlight=False)


@db_app.command("add")
def add_cli(
    profiles: Annotated[Path, typer.Argument(help="A `tag` output table (CSV, Parquet…).")],
    db: DbOpt = None,
    model_dir: DbModelDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Upsert a `tag` output file into the database (one transaction; the last row of a repeated id wins).

    Example: topicprofile db add out/profiles.csv --db profiles.duckdb --model-dir models/shop
    """
    path = resolve_db(db, model_dir)
    with user_errors():
        require_db_extra()
        from topicprofile.db import write_profiles
        from topicprofile.ingest.files import read_table

        manifest: dict[str, Any] = {}
        if model_dir is not None:
            from topicprofile.store import read_manifest

            manifest = dict(read_manifest(model_dir))
        summary = write_profiles(
            path, read_table(profiles), model_manifest=manifest, inputs={"profiles": profiles.name}
        )
    _print({"db": str(path), **summary}, json_out,
           f"{path}: run {summary['run_id']}: {summary['n_rows']:,} profiles ({summary['n_new']:,} new, {summary['n_changed']:,} changed)")  # fmt: skip


@db_app.command("customers")
def customers_cli(
    customers: Annotated[
        Path,
        typer.Argument(
            help="Customer export: customer_id, email, phone, first_name, last_name[, accepts_email, accepts_sms]."
        ),
    ],
    db: DbOpt = None,
    model_dir: DbModelDirOpt = None,
    region: Annotated[
        str | None,
        typer.Option("--region", help="Country of phone numbers written without +code, e.g. US, DE."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Load customers' identifiers (validated; bad e-mails and phones go to CUSTOMERS.rejects.csv).

    Example: topicprofile db customers customers_export.csv --db profiles.duckdb --region US
    """
    path = resolve_db(db, model_dir)
    with user_errors():
        require_db_extra()
        from topicprofile.db import ProfileDatabase
        from topicprofile.db.identifiers import load_customers
        from topicprofile.ingest.load import rejects_path_for, write_rejects

        identifiers, rejects = load_customers(customers, region=region)
        rejects_file = None
        if len(rejects):
            rejects_file = rejects_path_for(customers.with_name(customers.name))
            write_rejects(rejects, rejects_file)
        with ProfileDatabase(path) as database:
            n = database.upsert_identifiers(identifiers)
    summary = {
        "db": str(path),
        "n_customers": n,
        "n_rejected": len(rejects),
        "rejects_file": str(rejects_file) if rejects_file else None,
    }
    _print(summary, json_out, f"{path}: {n:,} customers' identifiers; {len(rejects):,} values rejected"
           + (f" (see {rejects_file})" if rejects_file else ""))  # fmt: skip


@db_app.command("export")
def export_cli(
    folder: Annotated[Path, typer.Argument(help="Folder for <table>.parquet files and manifest.json.")],
    db: DbOpt = None,
    model_dir: DbModelDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Back up the whole database as Parquet files (the interchange format).

    Example: topicprofile db export backup/2026-12-01 --db profiles.duckdb
    """
    path = resolve_db(db, model_dir)
    with user_errors():
        require_db_extra()
        from topicprofile.db import ProfileDatabase

        with ProfileDatabase(path, read_only=True) as database:
            counts = database.export_parquet(folder)
    _print({"db": str(path), "folder": str(folder), "tables": counts}, json_out,
           f"exported {path} to {folder}: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))  # fmt: skip


@db_app.command("import")
def import_cli(
    folder: Annotated[Path, typer.Argument(help="A folder written by `db export`.")],
    db: DbOpt = None,
    model_dir: DbModelDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Replace the database's tables with a `db export` folder (one transaction).

    Example: topicprofile db import backup/2026-12-01 --db restored.duckdb
    """
    path = resolve_db(db, model_dir)
    with user_errors():
        require_db_extra()
        from topicprofile.db import ProfileDatabase

        with ProfileDatabase(path) as database:
            counts = database.import_parquet(folder)
    _print({"db": str(path), "folder": str(folder), "tables": counts}, json_out,
           f"imported {folder} into {path}: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))  # fmt: skip


@db_app.command("upgrade")
def upgrade_cli(db: DbOpt = None, model_dir: DbModelDirOpt = None, json_out: JsonOpt = False) -> None:
    """Bring a database made by an older topicprofile to this schema, in place (one transaction).

    Any write (`tag --db`, `db add`…) upgrades it too; reading commands need it done first.

    Example: topicprofile db upgrade --db profiles.duckdb
    """
    path = resolve_db(db, model_dir)
    with user_errors():
        require_db_extra()
        from topicprofile.db import ProfileDatabase
        from topicprofile.db.schema import SCHEMA_VERSION

        if not path.is_file():
            raise ConfigError(f"{path}: no profile database here to upgrade.")
        with ProfileDatabase(path) as database:
            old = database.migrated_from
    text = (
        f"{path}: schema version {old} -> {SCHEMA_VERSION}"
        if old is not None
        else f"{path}: already schema version {SCHEMA_VERSION}"
    )
    _print(
        {"db": str(path), "from_version": old or SCHEMA_VERSION, "to_version": SCHEMA_VERSION}, json_out, text
    )
