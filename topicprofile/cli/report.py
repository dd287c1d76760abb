"""``topicprofile report``: one offline HTML page of topics, interests, value and segments."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

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
    column_map,
    print_json,
    stdout,
    user_errors,
)


def _unit(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise typer.BadParameter(f"must be in [0, 1], got {value}")
    return value


def _day(value: str | None) -> str | None:
    if value is None:
        return None
    from topicprofile.errors import ConfigError
    from topicprofile.ingest.dates import as_day

    try:
        as_day(value, what="cutoff")
    except ConfigError as e:
        raise typer.BadParameter(str(e)) from None
    return value


@app.command("report")
def report_cli(
    model_dir: ModelDirOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")] = Path("report.html"),
    profiles: Annotated[
        Path | None, typer.Option("--profiles", "-p", help="Profiles table from `tag` (.csv/.parquet); default: the fit's.")
    ] = None,
    db: Annotated[
        Path | None, typer.Option("--db", help="Profile database (`topicprofile db add`) to report on instead of a profiles file.")
    ] = None,
    orders: OrdersOpt = None,
    orders_columns: OrdersColumnsOpt = None,
    as_of: AsOfOpt = None,
    cutoff: Annotated[
        str | None,
        typer.Option("--cutoff", callback=_day, help="YYYY-MM-DD: does text predict who orders after it? (a holdout, as "
                     "`evaluate`; needs --orders and --reviews/--browsing); also marked on the time chart."),
    ] = None,
    reviews: ReviewsOpt = None,
    browsing: BrowsingOpt = None,
    columns: ColumnsOpt = None,
    browsing_columns: BrowsingColumnsOpt = None,
    evaluation: Annotated[
        Path | None, typer.Option("--evaluation", help="JSON written by `topicprofile evaluate --json` (instead of --cutoff).")
    ] = None,
    lam: Annotated[
        float, typer.Option("--lambda", callback=_unit, help="LDAvis relevance λ for the topic words (1 = frequent, 0 = distinctive).")
    ] = 0.6,
    encoding: EncodingOpt = None,
    date_format: DateFormatOpt = None,
    max_amount: MaxAmountOpt = None,
    open_page: Annotated[bool, typer.Option("--open", help="Open the report in the default browser.")] = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write a self-contained HTML report (works offline: inline SVG charts, no network).

    Example: topicprofile report --model-dir models/shop --orders orders.csv --out report.html --open

    Profiles come from the fit, --profiles (a `tag` output) or --db (the profile database).
    """
    orders_map = column_map(orders_columns, option="--orders-columns")
    reviews_map = column_map(columns, option="--columns")
    browsing_map = column_map(browsing_columns, option="--browsing-columns")
    if profiles is not None and db is not None:
        raise typer.BadParameter("give --profiles or --db, not both", param_hint="--db")
    if cutoff is not None:
        if evaluation is not None:
            raise typer.BadParameter("give --cutoff or --evaluation, not both", param_hint="--cutoff")
        if orders is None or (reviews is None and browsing is None):
            raise typer.BadParameter("--cutoff needs --orders and --reviews or --browsing", param_hint="--cutoff")
    with user_errors(quiet=quiet or json_out):
        import json

        from topicprofile._fs import check_writable
        from topicprofile.errors import DataValidationError
        from topicprofile.ingest.files import read_table
        from topicprofile.ingest.load import load_orders
        from topicprofile.profiler import TopicProfiler
        from topicprofile.report import write_report
        from topicprofile.app.report_sources import db_profiles, fit_rejects, holdout_evaluation
        from topicprofile.store import read_manifest

        check_writable(out.parent)
        profiler = TopicProfiler.load(str(model_dir))
        table = read_table(profiles, encoding=encoding) if profiles is not None else None
        if table is not None and "customer_id" not in table:
            raise DataValidationError(f"{profiles}: no customer_id column; is it a `topicprofile tag` output?")
        facts = fit_rejects(model_dir)
        if table is not None:
            facts["profiles file"] = f"{profiles.name}: {len(table):,} rows"  # type: ignore[union-attr]
        if db is not None:
            table, db_facts = db_profiles(db, n_topics=profiler.n_topics_)
            facts |= db_facts
        order_table = None
        if orders is not None:
            loaded = load_orders(orders, columns=orders_map, encoding=encoding, date_format=date_format,
                                 max_amount=max_amount)  # fmt: skip
            order_table = loaded.data
            facts["orders file"] = f"{loaded.source}: {loaded.n_read:,} rows, {loaded.n_rejected:,} rejected"
        result = None
        if cutoff is not None:
            result = holdout_evaluation(
                profiler, cutoff=cutoff, orders=orders, reviews=reviews, browsing=browsing,  # type: ignore[arg-type]
                options={"reviews_columns": reviews_map, "browsing_columns": browsing_map, "orders_columns": orders_map,
                         "encoding": encoding, "date_format": date_format, "max_amount": max_amount},
            )  # fmt: skip
        elif evaluation is not None:
            try:
                result = json.loads(evaluation.read_text(encoding="utf-8"))
            except json.JSONDecodeError as e:
                raise DataValidationError(f"{evaluation}: not JSON ({e.msg} at line {e.lineno})") from None
        out.parent.mkdir(parents=True, exist_ok=True)
        summary = write_report(profiler, out, profiles=table, orders=order_table, as_of=as_of, evaluation=result,
                               manifest=read_manifest(model_dir), lam=lam, facts=facts, cutoff=cutoff)  # fmt: skip
    if open_page:
        import webbrowser

        webbrowser.open(out.resolve().as_uri())
    if json_out:
        print_json(summary)
    elif not quiet:
        stdout.print(f"report written to {escape(str(out))} ({summary['bytes'] / 1e6:.2f} MB, "
                     f"{len(summary['charts'])} charts)")  # fmt: skip
