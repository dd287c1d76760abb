"""``topicprofile demo``: fit on the bundled sample shop and show what comes out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from topicprofile.cli._util import (
    JsonOpt,
    QuietOpt,
    RawCsvOpt,
    SeedOpt,
    TopicCountOpt,
    app,
    print_json,
    progress_bar,
    stdout,
    user_errors,
)
from topicprofile.cli.segments import print_segment_cards
from topicprofile.cli.show import print_fit_summary, print_profiles


@app.command("demo")
def demo_cli(
    model_dir: Annotated[Path, typer.Option("--model-dir", "-m", help="Where to save the model.")] = Path(
        "models/demo"
    ),
    out: Annotated[Path, typer.Option("--out", "-o", help="Profiles output (.csv or .parquet).")] = Path(
        "out/demo_profiles.csv"
    ),
    topics: TopicCountOpt = 8,
    seed: SeedOpt = 0,
    raw_csv: RawCsvOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Fit on the sample shop in corpora/, print topics and a few customers, write profiles.

    Example: topicprofile demo --model-dir models/demo --out out/demo_profiles.csv
    """
    with user_errors(quiet=quiet or json_out):
        import pandas as pd

        from topicprofile.profiler import TopicProfiler
        from topicprofile.segments.saved import load_segment_cards
        from topicprofile.store import model_files
        from topicprofile.app.sample import planted_recovery, sample_dir
        from topicprofile.app.jobs import fit_files, tag_files

        corpora = sample_dir()
        inputs = {
            "reviews": corpora / "reviews.csv",
            "browsing": corpora / "browsing.jsonl",
            "orders": corpora / "orders.csv",
            "orders_columns": {"timestamp": "order_date"},
        }
        with progress_bar(quiet=quiet or json_out) as progress:
            fitted = fit_files(
                model_dir, profiler=TopicProfiler(n_topics=topics, random_state=seed), progress=progress, **inputs
            )
            tagged = tag_files(model_dir, out, progress=progress, raw_csv=raw_csv, **inputs)
        profiles = pd.read_csv(out, dtype=str, keep_default_na=False)
        recovery = planted_recovery(profiles, pd.read_csv(corpora / "truth.csv", dtype=str))
        report = _demo_report(model_dir, out.parent / "demo_report.html", corpora)
    if json_out:
        print_json({"fit": fitted, "tag": tagged, "planted_interest_recovery": recovery, "report": report})
        return
    if quiet:
        return
    print_fit_summary(fitted)
    print_profiles(profiles[profiles["top_interest"] != ""], title="A few customers")
    document = load_segment_cards(model_files(model_dir))
    print_segment_cards({**document, "model_dir": str(model_dir)})
    stdout.print(
        f"planted interest recovered for {recovery['accuracy']:.0%} of {recovery['n_customers']} sample "
        f"customers ({recovery['coverage']:.0%} tagged); profiles written to {escape(str(out))}"
    )
    if report is not None:
        stdout.print(f"report written to {escape(report)} (open it in a browser; it works offline)")
    else:
        stdout.print('for an HTML report of this shop: pip install "topicprofile[report]" and run the demo again')
    stdout.print(
        f'next: topicprofile tag-text --model-dir {escape(str(model_dir))} "great grip on wet rocks, comfy boots"'
    )


def _demo_report(model_dir: Path, path: Path, corpora: Path) -> str | None:
    """The demo's HTML report, or None when the ``report`` extra (jinja2, altair, vl-convert) is not installed."""
    try:
        from topicprofile.report import write_report
    except ModuleNotFoundError as e:
        if e.name in {"jinja2", "altair", "vl_convert"}:
            return None
        raise
    from topicprofile.ingest.load import load_orders
    from topicprofile.profiler import TopicProfiler

    orders = load_orders(corpora / "orders.csv", columns={"timestamp": "order_date"}).data
    return str(write_report(TopicProfiler.load(str(model_dir)), path, orders=orders)["path"])
