"""``topicprofile batch``: tag every new or changed export in a folder (for cron)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.markup import escape

from topicprofile.cli._privacy import (
    KeyFileOpt,
    NoScrubOpt,
    PseudonymizeOpt,
    ScrubNamesOpt,
    id_key,
    scrub_names_model,
)
from topicprofile.cli._util import (
    ColumnsOpt,
    DaskOpt,
    DateFormatOpt,
    EncodingOpt,
    JsonOpt,
    ModelDirOpt,
    QuietOpt,
    RawCsvOpt,
    app,
    column_map,
    print_json,
    progress_bar,
    stderr,
    stdout,
    user_errors,
)
from topicprofile.cli.db_options import CustomersOpt, RegionOpt, TagDbOpt


@app.command("batch")
def batch_cli(
    model_dir: ModelDirOpt,
    input_dir: Annotated[
        Path, typer.Option("--input-dir", "-i", help="Folder the review exports are dropped into.")
    ],
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Output folder: profiles.csv, rejects.csv, ledger.json, parts/."),
    ],
    pattern: Annotated[
        str | None,
        typer.Option(
            "--pattern",
            help="Glob of the files to take, e.g. 'reviews_*.csv' or '**/*.jsonl' "
            "(default: *.csv, *.tsv, *.jsonl, *.parquet, also .gz).",
        ),
    ] = None,
    columns: ColumnsOpt = None,
    encoding: EncodingOpt = None,
    date_format: DateFormatOpt = None,
    fmt: Annotated[
        Literal["csv", "parquet"], typer.Option("--format", help="Format of the profiles and parts.")
    ] = "csv",
    raw_csv: RawCsvOpt = False,
    db: TagDbOpt = None,
    customers: CustomersOpt = None,
    region: RegionOpt = None,
    dask: DaskOpt = None,
    json_out: JsonOpt = False,
    no_scrub: NoScrubOpt = False,
    scrub_names: ScrubNamesOpt = None,
    pseudonymize: PseudonymizeOpt = False,
    key_file: KeyFileOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Tag the exports in a folder that are new or changed since the last run; safe to run from cron.

    Profiles go to OUT/profiles.csv, one part per file to OUT/parts/, each file into OUT/ledger.json
    (and with --db into the profile database, each file before its ledger entry).
    A changed file is tagged again and replaces its earlier profiles.
    Exit 1 if another run holds the folder (nothing done) or a file failed (the others are done).

    Example: topicprofile batch --model-dir models/shop --input-dir exports/ --out out/
    """
    column_spec = column_map(columns, option="--columns")
    with user_errors(quiet=quiet or json_out):
        from topicprofile.app.batch import summary_line, tag_folder

        def show(result: dict[str, Any]) -> None:
            if result["status"] == "failed":
                if not json_out:
                    stderr.print(f"[red]{escape(summary_line(result))}[/red]", highlight=False, markup=True)
            elif result["status"] != "done" and not (quiet or json_out):
                stdout.print(escape(summary_line(result, out=out)), highlight=False)

        with progress_bar(quiet=quiet or json_out) as progress:
            summary = tag_folder(
                input_dir,
                model_dir=model_dir,
                out=out,
                pattern=pattern,
                columns=column_spec,
                encoding=encoding,
                date_format=date_format,
                fmt=fmt,
                raw_csv=raw_csv,
                progress=progress,
                on_file=show,
                db=db,
                customers=customers,
                region=region,
                scrub=not no_scrub,
                scrub_names=scrub_names_model(no_scrub, scrub_names),
                id_key=id_key(pseudonymize, key_file),
                dask=dask,
            )
    if json_out:
        print_json(summary)
    elif not quiet:
        stdout.print(escape(_totals_line(summary, pattern=pattern)), highlight=False)
        if summary.get("db"):
            stdout.print(
                escape(f"database {summary['db']['path']}: {summary['db']['n_rows']:,} profiles written"),
                highlight=False,
            )
    if summary["n_failed"]:
        raise typer.Exit(1)


def _totals_line(summary: dict[str, Any], *, pattern: str | None) -> str:
    if not summary["files"]:
        what = f"'{pattern}'" if pattern else "*.csv, *.tsv, *.jsonl or *.parquet"
        return f"no files match {what} in {summary['input_dir']}; nothing to do"
    counts = (
        f"{summary['n_new']:,} new, {summary['n_changed']:,} changed, {summary['n_done']:,} already done, "
        f"{summary['n_failed']:,} failed"
    )
    if summary["profiles"] is None:
        return counts
    return f"{counts}; {summary['n_profile_rows']:,} profile rows in {summary['profiles']}"
