"""``topicprofile tag``: profile customers in new exports with a saved model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from topicprofile.cli._privacy import (
    KeyFileOpt,
    NoScrubOpt,
    PseudonymizeOpt,
    ScrubNamesOpt,
    id_key,
    print_privacy_line,
    scrub_names_model,
)
from topicprofile.cli._util import (
    AsOfOpt,
    BrowsingColumnsOpt,
    BrowsingOpt,
    ColumnsOpt,
    DaskOpt,
    DateFormatOpt,
    EncodingOpt,
    JsonOpt,
    MaxAmountOpt,
    ModelDirOpt,
    OrdersColumnsOpt,
    OrdersOpt,
    QuietOpt,
    RawCsvOpt,
    ReviewsOpt,
    WorkersOpt,
    app,
    input_files,
    print_json,
    progress_bar,
    user_errors,
)
from topicprofile.cli.db_options import CustomersOpt, RegionOpt, TagDbOpt, print_db_line
from topicprofile.cli.show import print_tag_summary


@app.command("tag")
def tag_cli(
    model_dir: ModelDirOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file: .csv or .parquet.")],
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
    workers: WorkersOpt = None,
    dask: DaskOpt = None,
    raw_csv: RawCsvOpt = False,
    db: TagDbOpt = None,
    customers: CustomersOpt = None,
    region: RegionOpt = None,
    no_scrub: NoScrubOpt = False,
    scrub_names: ScrubNamesOpt = None,
    pseudonymize: PseudonymizeOpt = False,
    key_file: KeyFileOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Tag every customer in the given files; one row per customer.

    With --db the profiles are also upserted into a profile database (DuckDB) for `audience` and `history`.

    Example: topicprofile tag --model-dir models/shop --reviews new_reviews.csv --out profiles.csv
    """
    inputs = input_files(
        reviews=reviews,
        browsing=browsing,
        orders=orders,
        columns=columns,
        browsing_columns=browsing_columns,
        orders_columns=orders_columns,
        encoding=encoding,
        date_format=date_format,
        max_amount=max_amount,
    )
    with user_errors(quiet=quiet or json_out):
        from topicprofile.app.jobs import tag_files
        from topicprofile.config import RunOptions

        with progress_bar(quiet=quiet or json_out) as progress:
            summary = tag_files(
                model_dir,
                out,
                progress=progress,
                as_of=as_of,
                run=RunOptions(workers=workers, dask=dask),
                raw_csv=raw_csv,
                db=db,
                customers=customers,
                region=region,
                scrub=not no_scrub,
                scrub_names=scrub_names_model(no_scrub, scrub_names),
                id_key=id_key(pseudonymize, key_file),
                **inputs,
            )
    if json_out:
        print_json(summary)
    elif not quiet:
        print_tag_summary(summary)
        print_db_line(summary)
        print_privacy_line(summary["privacy"])
