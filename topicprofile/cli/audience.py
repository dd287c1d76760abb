"""``topicprofile audience``: customers matching a filter, written for Shopify, Klaviyo, Meta, Google or as CSV/Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from topicprofile.cli._util import JsonOpt, app, print_json, stdout, user_errors
from topicprofile.cli.db import DbModelDirOpt, DbOpt, require_db_extra, resolve_db

_DESTINATIONS = ("csv", "parquet", "shopify", "klaviyo", "meta", "google")


def _destination(value: str) -> str:
    if value not in _DESTINATIONS:
        raise typer.BadParameter(f"use one of {', '.join(_DESTINATIONS)}, not {value!r}")
    return value


def _min_score(value: float | None) -> float | None:
    if value is not None and not 0 <= value <= 1:
        raise typer.BadParameter(f"must be between 0 and 1, got {value}")
    return value


def _holdout(value: str | None) -> float | None:
    """'10%' or '0.1' -> 0.1."""
    if value is None:
        return None
    text = value.strip()
    try:
        fraction = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise typer.BadParameter(f"use a share like 10% or 0.1, not {value!r}") from None
    if not 0 < fraction < 1:
        raise typer.BadParameter(f"must be between 0% and 100% (exclusive), got {value!r}")
    return fraction


@app.command("audience")
def audience_cli(
    to: Annotated[
        str,
        typer.Option("--to", callback=_destination, help="csv, parquet, shopify, klaviyo, meta or google."),
    ] = "csv",
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output file (Shopify: split into .partN files above 1 MB)."),
    ] = None,
    where: Annotated[
        str | None,
        typer.Option(
            "--where",
            help="Filter, e.g. \"interest = 'Outdoor' and rfm_segment in ('At Risk', 'Can''t Lose')\".",
        ),
    ] = None,
    min_score: Annotated[
        float | None,
        typer.Option(
            "--min-score",
            callback=_min_score,
            help="Each named interest (or the top one) scores at least this.",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Only customers whose tags or segment changed since an export: 'last' (this audience's last) or an export id.",
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name", help="Audience name (what --since last looks up; default: destination + filter)."
        ),
    ] = None,
    columns: Annotated[
        str | None, typer.Option("--columns", help="csv/parquet: comma-separated profile columns.")
    ] = None,
    list_exports: Annotated[bool, typer.Option("--list", help="List the recorded exports and stop.")] = False,
    require_consent: Annotated[
        bool,
        typer.Option(
            "--require-consent",
            help="klaviyo/meta/google: also leave out identifiers without a consent flag (a refused "
            "channel is always left out).",
        ),
    ] = False,
    holdout: Annotated[
        str | None,
        typer.Option(
            "--holdout",
            help="Keep a random control group out of the file (e.g. 10%), stratified by segment; "
            "recorded for `topicprofile campaign --audience NAME`.",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the --holdout draw.")] = 0,
    db: DbOpt = None,
    model_dir: DbModelDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Write the customers matching --where for a marketing tool, and record the export.

    Filter language: comparisons = != < <= > >=, in (...), not in (...), and, or, not, parentheses;
    'text' (double a quote inside) or numbers; columns interest, score, top_interest, rfm_segment,
    segment_name, segment_id, recency_days, frequency, monetary, avg_order_value, r_score, f_score,
    m_score, n_documents, last_seen, accepts_email, accepts_sms.

    Example: topicprofile audience --db profiles.duckdb --where "interest = 'Outdoor' and rfm_segment = 'At Risk'" --min-score 0.3 --to klaviyo --out outdoor.csv
    """
    fraction = _holdout(holdout)
    path = resolve_db(db, model_dir)
    if not list_exports and out is None:
        raise typer.BadParameter("pass --out FILE", param_hint="--out")
    with user_errors():
        require_db_extra()
        from topicprofile.db import audience

        if list_exports:
            table = audience.list_exports(path)
            if json_out:
                print_json({"exports": table.astype(str).to_dict(orient="records")})
            else:
                stdout.print(escape(table.to_string(index=False)), highlight=False)
            return
        summary = audience.export_audience(
            path, to=to, out=out, where=where, min_score=min_score, since=since, name=name,
            columns=tuple(c.strip() for c in columns.split(",") if c.strip()) if columns else None,
            require_consent=require_consent,
            **({"holdout": fraction, "seed": seed} if fraction is not None else {}),
        )  # fmt: skip
    if json_out:
        print_json(summary)
        return
    skipped = "; ".join(f"{n:,} {reason}" for reason, n in summary["skipped"].items())
    stdout.print(
        escape(f"export {summary['export_id']}: {summary['n_rows']:,} customers to {', '.join(summary['files'])}"
               + (f"; left out {skipped}" if skipped else "")),
        highlight=False,
    )  # fmt: skip
    if "holdout" in summary:
        held = summary["holdout"]
        stdout.print(
            escape(f"control group: {held['n_control']:,} customers held out ({held['fraction']:.0%}, seed {held['seed']}) "
                   f"-> {held['file']}; evaluate with: topicprofile campaign --audience {summary['name']!r} --orders AFTER.csv"),
            highlight=False,
        )  # fmt: skip
