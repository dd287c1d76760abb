"""``topicprofile update``: fold new texts and orders into the model and customers' profiles, without a refit."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from topicprofile.cli._privacy import KeyFileOpt, PseudonymizeOpt, ScrubNamesOpt, id_key, scrub_names_model
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
    ReviewsOpt,
    app,
    input_files,
    print_json,
    progress_bar,
    stdout,
    user_errors,
)
from topicprofile.cli.db_options import CustomersOpt, RegionOpt, print_db_line


class Fold(str, Enum):
    add = "add"
    online = "online"
    none = "none"


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
    fold: Annotated[
        Fold,
        typer.Option(
            "--fold",
            help="How the new texts join the topics: add their expected word counts (add), gensim's online "
            "step (online, moves the topics more) or not at all (none). See docs/update.md.",
        ),
    ] = Fold.add,
    fold_passes: Annotated[
        int, typer.Option("--fold-passes", min=1, help="Rounds of --fold add over the new texts.")
    ] = 1,
    scrub_names: ScrubNamesOpt = None,
    pseudonymize: PseudonymizeOpt = False,
    key_file: KeyFileOpt = None,
    dask: DaskOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Fold new texts into the topics and refresh the profiles of their customers (no refit).

    The topics keep their ids and labels; only the new files' customers' rows change in --db; the
    folded topics and the new texts go into a new model version (the old one stays loadable).
    Says when new words call for a refit. A model fitted on pseudonymous ids needs its key (--key-file
    or $TOPICPROFILE_ID_KEY): the new files' ids are hashed with it before anything is stored.

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
        date_format=date_format,
        max_amount=max_amount,
    )
    with user_errors(quiet=quiet or json_out):
        from topicprofile.app.update import update_files
        from topicprofile.config import RunOptions

        with progress_bar(quiet=quiet or json_out) as progress:
            summary = update_files(
                model_dir,
                db=db,
                customers=customers,
                region=region,
                as_of=as_of,
                fold=fold.value,
                fold_passes=fold_passes,
                progress=progress,
                scrub_names=scrub_names_model(False, scrub_names),
                id_key=id_key(pseudonymize, key_file),
                run=RunOptions(dask=dask),
                **inputs,
            )
    if json_out:
        print_json(summary)
        return
    if quiet:
        return
    folded = summary["fold"]
    topics = (
        "topics unchanged"
        if not folded or folded["method"] == "none"
        else f"topics folded ({folded['method']}, moved {folded['moved']:.3f}; ids and labels kept)"
    )
    stdout.print(
        escape(
            f"{summary['n_customers']:,} customers re-profiled from {summary['n_new_documents']:,} new documents; "
            f"the model now keeps {summary['n_documents']:,} documents ({topics})"
        ),
        highlight=False,
    )
    print_db_line(summary)
    oov = f"{summary['n_oov']:,} of {summary['n_tokens']:,} new tokens ({summary['oov_share']:.0%}) are not in the vocabulary"
    if summary["refit_due"]:
        oov += f"; a refit is due: topicprofile fit ... --model-dir {model_dir} --previous {model_dir}"
    stdout.print(escape(oov), highlight=False)
