"""``topicprofile update``: fold new texts and orders into known customers' profiles, without a refit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from topicprofile.cli._privacy import ScrubNamesOpt, scrub_names_model
from topicprofile.cli._util import (
    AsOfOpt,
    BrowsingColumnsOpt,
    BrowsingOpt,
    ColumnsOpt,
    DateFormatOpt,
    EncodingOpt,
    JsonOpt,
    MaxAmountOpt,
    ModelDirOpt,
    OrdersColumnsOpt,
    OrdersOpt,
    QuietOpt,
    ReviewsOpt,
    app,
    input_files,
    print_json,
    progress_bar,
    stdout,
    user_errors,
)
from topicprofile.cli.db_options import CustomersOpt, RegionOpt, print_db_line


@app.command("update")
def update_cli(
    model_dir: ModelDirOpt,
    db: Annotated[Path, typer.Option("--db", help="The profile database whose customers' rows to refresh.")],
    reviews: ReviewsOpt = None,
    browsing: BrowsingOpt = None,
    orders: OrdersOpt = None,
    columns: ColumnsOpt = None,
    browsing_columns: BrowsingColumnsOpt = None,
    orders_columns: OrdersColumnsOpt = None,
    as_of: AsOfOpt = None,
    encoding: EncodingOpt = None,
    date_format: DateFormatOpt = None,
    max_amount: MaxAmountOpt = None,
    customers: CustomersOpt = None,
    region: RegionOpt = None,
    scrub_names: ScrubNamesOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Refresh the profiles of the customers in new files with the saved topics (no refit).

    Only those customers' rows change in --db; the new texts join the model's documents in a new
    model version (the old one stays loadable). Says when new words call for a refit.

    Example: topicprofile update --model-dir models/shop --reviews reviews_2026-12-01.csv --db profiles.duckdb
    """
    inputs = input_files(
        reviews=reviews,
        browsing=browsing,
        orders=orders,
        columns=columns,
        browsing_columns=browsing_columns,
        orders_columns=orders_columns,
        encoding=encoding,
    ) | {"date_format": date_format, "max_amount": max_amount}
    with user_errors(quiet=quiet or json_out):
        from topicprofile.app.update import update_files

        with progress_bar(quiet=quiet or json_out) as progress:
            summary = update_files(
                model_dir, db=db, customers=customers, region=region, as_of=as_of, progress=progress,
                scrub_names=scrub_names_model(False, scrub_names), **inputs,
            )  # fmt: skip
    if json_out:
        print_json(summary)
        return
    if quiet:
        return
    stdout.print(
        escape(
            f"{summary['n_customers']:,} customers re-profiled from {summary['n_new_documents']:,} new documents; "
            f"the model now keeps {summary['n_documents']:,} documents (topics unchanged)"
        ),
        highlight=False,
    )
    print_db_line(summary)
    oov = f"{summary['n_oov']:,} of {summary['n_tokens']:,} new tokens ({summary['oov_share']:.0%}) are not in the vocabulary"
    if summary["refit_due"]:
        oov += f"; a refit is due: topicprofile fit ... --model-dir {model_dir} --previous {model_dir}"
    stdout.print(escape(oov), highlight=False)
