"""``topicprofile campaign``: treated vs control after a campaign, with intervals and a plain verdict."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from topicprofile.cli._privacy import KeyFileOpt, PseudonymizeOpt, id_key
from topicprofile.cli._util import (
    EncodingOpt,
    JsonOpt,
    OrdersColumnsOpt,
    QuietOpt,
    app,
    column_map,
    print_json,
    stdout,
    user_errors,
)
from topicprofile.cli.db import DbModelDirOpt, DbOpt, require_db_extra, resolve_db


@app.command("campaign")
def campaign_cli(
    orders: Annotated[
        Path, typer.Option("--orders", "-o", help="Orders file covering the time after the send.")
    ],
    audience: Annotated[
        str | None,
        typer.Option("--audience", help="Audience exported with --holdout: its treated and control groups."),
    ] = None,
    treated: Annotated[
        Path | None,
        typer.Option(
            "--treated",
            help="Or: ids of customers who got the campaign (one per line, or a table with customer_id).",
        ),
    ] = None,
    control: Annotated[
        Path | None, typer.Option("--control", help="And ids of the held-out control group (same formats).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Count orders on or after this date (the send date).")
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="Count orders before this date.")] = None,
    orders_columns: OrdersColumnsOpt = None,
    alpha: Annotated[
        float, typer.Option("--alpha", min=0.001, max=0.5, help="Error rate (0.05: 95% intervals).")
    ] = 0.05,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 0,
    encoding: EncodingOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    db: DbOpt = None,
    model_dir: DbModelDirOpt = None,
    pseudonymize: PseudonymizeOpt = False,
    key_file: KeyFileOpt = None,
) -> None:
    """Conversion and revenue per customer, treated vs control, with confidence intervals and p-values.

    The groups come from an audience exported with `--holdout` (--audience NAME, from the profile
    database), or as two files of ids (--treated, --control). When the groups hold pseudonymous ids
    (a database written with --pseudonymize), the orders' ids are hashed with the same key
    (--key-file or $TOPICPROFILE_ID_KEY) so that they join.
    Example: topicprofile campaign --db profiles.duckdb --audience outdoor --orders after.csv --since 2025-03-01
    """
    if audience is None and (treated is None or control is None):
        raise typer.BadParameter(
            "give --audience NAME, or both --treated and --control", param_hint="--audience"
        )
    if audience is not None and (treated is not None or control is not None):
        raise typer.BadParameter(
            "--audience replaces --treated/--control; give one or the other", param_hint="--audience"
        )
    orders_map = column_map(orders_columns, option="--orders-columns")
    db_path = resolve_db(db, model_dir) if audience is not None else None
    with user_errors(quiet=quiet or json_out):
        from topicprofile.app.actions import campaign_files

        key = id_key(pseudonymize, key_file)
        if audience is not None:
            require_db_extra()
            from topicprofile.app.profile_db import database_id_key
            from topicprofile.db.audience import holdout_groups

            key = database_id_key(db_path, key)
            _, treated, control = holdout_groups(db_path, audience)

        report = campaign_files(
            treated, control, orders, since=since, until=until, orders_columns=orders_map,
            encoding=encoding, alpha=alpha, random_state=seed, id_key=key,
        )  # fmt: skip
    if json_out:
        print_json(report)
    elif not quiet:
        print_report(report)


def print_report(report: Mapping[str, Any]) -> None:
    arms = report["arms"]
    stdout.print(
        f"treated {arms['treated']['customers']:,} customers ({arms['treated']['converted']:,} bought), "
        f"control {arms['control']['customers']:,} ({arms['control']['converted']:,} bought)"
        + (f", orders since {report['since']}" if report["since"] else ""),
        highlight=False,
    )
    stdout.print(report["verdict"], highlight=False)
