"""Options that write into the profile database, shared by ``tag``, ``batch``, ``update`` and ``recommend``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from topicprofile.cli._util import stdout

TagDbOpt = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="Also upsert the profiles into this profile database (DuckDB file, created if missing).",
    ),
]
RecommendDbOpt = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="Also store the recommendations in this profile database (DuckDB file, created if missing): "
        "this run's customers get theirs replaced, the others keep theirs.",
    ),
]
CustomersOpt = Annotated[
    Path | None,
    typer.Option(
        "--customers",
        help="Shop's customer export (customer_id, email, phone, first_name, last_name[, accepts_email, "
        "accepts_sms]): identifiers loaded into --db; bad e-mails and phones to rejects.",
    ),
]
RegionOpt = Annotated[
    str | None,
    typer.Option("--region", help="Country of --customers phone numbers written without +code, e.g. US, DE."),
]


def print_db_line(summary: dict[str, Any]) -> None:
    """One line for a run's database write (nothing when the run had no --db)."""
    db = summary.get("db")
    if not db:
        return
    line = (
        f"database {db['path']}: run {db['run_id']}, {db['n_rows']:,} profiles "
        f"({db['n_new']:,} new, {db['n_changed']:,} changed)"
    )
    if "n_identifiers" in db:
        line += f", {db['n_identifiers']:,} customers' identifiers"
    if summary.get("customers_rejects_file"):
        line += f"; rejected identifiers in {summary['customers_rejects_file']}"
    stdout.print(escape(line), highlight=False)
