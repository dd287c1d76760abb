"""``topicprofile privacy-report``: where a model directory keeps personal data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from topicprofile.cli._util import JsonOpt, ModelDirOpt, app, print_json, stdout, user_errors
from topicprofile.cli.db import require_db_extra
from topicprofile.errors import DataValidationError


def _print_report(report: dict[str, Any]) -> None:
    settings = report["settings"]
    stdout.print(f"model {escape(report['model_dir'])} (current: {escape(report['current'])}, versions kept: "
                 f"{', '.join(report['versions'])})")  # fmt: skip
    stdout.print(f"customers {report['n_customers']}, texts {report['n_texts']}; scrubbing: "
                 f"{escape(str(settings['scrub']))}{_names(settings)}; pseudonymous ids: {escape(str(settings['pseudonymized']))}")  # fmt: skip
    table = Table(title="Personal data kept", title_justify="left")
    for column in ("file", "holds", "rows", "customers", "ids pseudonymous", "placeholders"):
        table.add_column(column, no_wrap=column == "file")
    for entry in report["files"] + report.get("database", []) + report["outside"]:
        placeholders = ", ".join(f"{k} {v}" for k, v in entry.get("placeholders", {}).items())
        table.add_row(
            escape(entry["path"]),
            escape(entry["holds"]),
            str(entry.get("rows", "")),
            str(entry.get("n_customers", "")),
            {True: "yes", False: "no"}.get(entry.get("ids_pseudonymous"), ""),
            escape(placeholders),
        )
    stdout.print(table)
    log = report["erasure_log"]
    stdout.print(f"erasure log {escape(log['path'])}: {log['n_entries']} customer(s) erased; "
                 f"refit due: {'yes' if settings.get('refit_due') else 'no'}")  # fmt: skip


@app.command("privacy-report")
def privacy_report_cli(
    model_dir: ModelDirOpt,
    db: Annotated[Path | None, typer.Option("--db", help="Profile database (.duckdb) to list too.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """List every place a model directory keeps personal data, with counts and privacy settings.

    Example: topicprofile privacy-report --model-dir models/shop --json
    """
    with user_errors():
        from topicprofile.app.privacy_report import privacy_report

        report = privacy_report(model_dir)
        if db is not None:
            if not db.is_file():
                raise DataValidationError(f"{db}: profile database not found")
            require_db_extra()
            from topicprofile.app.retention import database_report

            report["database"] = database_report(db)
    if json_out:
        print_json(report)
    else:
        _print_report(report)


def _names(settings: dict[str, object]) -> str:
    names = settings.get("scrub_names")
    return f" (names too, by {escape(str(names))})" if names else ""
