"""``topicprofile prune``: delete tag history older than the retention period from a profile database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from topicprofile.cli._util import JsonOpt, app, print_json, stdout, user_errors
from topicprofile.cli.db import require_db_extra


@app.command("prune")
def prune_cli(
    db: Annotated[Path, typer.Option("--db", help="Profile database (.duckdb) to prune.")],
    retain_days: Annotated[
        int,
        typer.Option(
            "--retain-days", min=1, help="Keep tag history of the last N days; older rows are deleted."
        ),
    ],
    json_out: JsonOpt = False,
) -> None:
    """Delete tag history older than --retain-days from a profile database (the file is rewritten).

    Example: topicprofile prune --db profiles.duckdb --retain-days 365
    """
    with user_errors(quiet=json_out):
        require_db_extra()
        from topicprofile.app.retention import prune_database

        summary = prune_database(db, retain_days=retain_days)
    if json_out:
        print_json(summary)
        return
    stdout.print(
        f"{escape(summary['db'])}: {summary['n_history_removed']:,} tag history rows before "
        f"{summary['cutoff']} deleted, {summary['n_history_kept']:,} kept",
        highlight=False,
    )
