"""``topicprofile campaign``: treated vs control after a campaign, with intervals and a plain verdict."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from topicprofile.cli._util import EncodingOpt, JsonOpt, OrdersColumnsOpt, QuietOpt, app, column_map, print_json, stdout, user_errors


@app.command("campaign")
def campaign_cli(
    treated: Annotated[Path, typer.Option("--treated", help="Ids of customers who got the campaign (one per line, or a table with customer_id).")],
    control: Annotated[Path, typer.Option("--control", help="Ids of the held-out control group (same formats).")],
    orders: Annotated[Path, typer.Option("--orders", "-o", help="Orders file covering the time after the send.")],
    since: Annotated[str | None, typer.Option("--since", help="Count orders on or after this date (the send date).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Count orders before this date.")] = None,
    orders_columns: OrdersColumnsOpt = None,
    alpha: Annotated[float, typer.Option("--alpha", min=0.001, max=0.5, help="Error rate (0.05: 95% intervals).")] = 0.05,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 0,
    encoding: EncodingOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Conversion and revenue per customer, treated vs control, with confidence intervals and p-values.

    The control group comes as a file of ids for now (`audience --holdout` is not built yet).
    Example: topicprofile campaign --treated treated.txt --control control.txt --orders after.csv --since 2025-03-01
    """
    orders_map = column_map(orders_columns, option="--orders-columns")
    with user_errors(quiet=quiet or json_out):
        from topicprofile.actions.jobs import campaign_files

        report = campaign_files(
            treated, control, orders, since=since, until=until, orders_columns=orders_map,
            encoding=encoding, alpha=alpha, random_state=seed,
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
