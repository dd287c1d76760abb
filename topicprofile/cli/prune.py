"""``topicprofile prune``: delete what is older than the retention period from a profile database and/or a model."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from topicprofile.cli._util import JsonOpt, app, print_json, stdout, user_errors
from topicprofile.cli.db import require_db_extra
from topicprofile.errors import ConfigError


@app.command("prune")
def prune_cli(
    retain_days: Annotated[
        int,
        typer.Option(
            "--retain-days", min=1, help="Keep what is dated within the last N days; older is deleted."
        ),
    ],
    db: Annotated[
        Path | None,
        typer.Option(
            "--db", help="Profile database (.duckdb): delete older tag history and recommendations."
        ),
    ] = None,
    model_dir: Annotated[
        Path | None,
        typer.Option(
            "--model-dir",
            "-m",
            help="Model folder: drop older stored texts and their bags of words (a new version; refit due).",
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Count the days back from this date (YYYY-MM-DD; default today, UTC)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Delete tag history and recommendations (--db) and model texts (--model-dir) older than --retain-days.

    Example: topicprofile prune --db profiles.duckdb --model-dir models/shop --retain-days 365
    """
    summaries = {}
    with user_errors(quiet=json_out):
        if db is None and model_dir is None:
            raise ConfigError("nothing to prune: give --db and/or --model-dir")
        day = _parse_day(as_of)
        if db is not None:
            require_db_extra()  # the model's side needs no database
            from topicprofile.app.retention import prune_database

            now = None if day is None else dt.datetime.combine(day, dt.time())
            summaries["db"] = prune_database(db, retain_days=retain_days, now=now)
        if model_dir is not None:
            from topicprofile.app.model_retention import prune_model

            summaries["model"] = prune_model(model_dir, retain_days=retain_days, as_of=day)
    if json_out:
        print_json(summaries["db"] if list(summaries) == ["db"] else summaries)
        return
    if "db" in summaries:
        s = summaries["db"]
        stdout.print(
            f"{escape(s['db'])}: {s['n_history_removed']:,} tag history rows and "
            f"{s['n_recommendations_removed']:,} recommendations before {s['cutoff']} deleted, "
            f"{s['n_history_kept']:,} and {s['n_recommendations_kept']:,} kept",
            highlight=False,
        )
    if "model" in summaries:
        s = summaries["model"]
        line = (
            f"{escape(s['model_dir'])}: {s['n_documents_removed']:,} stored texts and "
            f"{s['n_training_rows_removed']:,} training bags of words before {s['cutoff']} dropped, "
            f"{s['n_documents_kept']:,} texts kept ({s['n_documents_undated']:,} undated)"
        )
        if s["refit_due"]:
            line += "; topic statistics updated, refit due (fit --previous)"
        stdout.print(line, highlight=False)


def _parse_day(as_of: str | None) -> dt.date | None:
    if as_of is None:
        return None
    try:
        return dt.date.fromisoformat(as_of)
    except ValueError:
        raise ConfigError(f"--as-of must be a date YYYY-MM-DD, got {as_of!r}") from None
