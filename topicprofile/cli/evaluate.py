"""``topicprofile evaluate``: temporal holdout, RFM-only vs RFM + topics at predicting later purchases."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from topicprofile.cli._util import (
    BrowsingColumnsOpt,
    BrowsingOpt,
    ColumnsOpt,
    DateFormatOpt,
    EncodingOpt,
    JsonOpt,
    LangOpt,
    MaxAmountOpt,
    OrdersColumnsOpt,
    QuietOpt,
    ReviewsOpt,
    SeedOpt,
    TopicCountOpt,
    app,
    input_files,
    print_json,
    progress_bar,
    stdout,
    user_errors,
)

_MODEL_NAMES = {"logistic": "logistic", "gradient_boosting": "boosting"}


@app.command("evaluate")
def evaluate_cli(
    orders: Annotated[Path, typer.Option("--orders", "-o", help="Orders file (same formats as reviews).")],
    cutoff: Annotated[
        str, typer.Option("--cutoff", help="Features before this date, labels after: YYYY-MM-DD.")
    ],
    reviews: ReviewsOpt = None,
    browsing: BrowsingOpt = None,
    columns: ColumnsOpt = None,
    browsing_columns: BrowsingColumnsOpt = None,
    orders_columns: OrdersColumnsOpt = None,
    category_column: Annotated[
        str,
        typer.Option("--category-column", help="Orders column with a line's category (used when present)."),
    ] = "category",
    horizon: Annotated[
        int | None,
        typer.Option("--horizon", min=1, help="Only orders this many days after the cutoff count."),
    ] = None,
    topics: TopicCountOpt = 12,
    lang: LangOpt = "en",
    seed: SeedOpt = 0,
    cv: Annotated[int, typer.Option("--cv", min=2, help="Cross-validation folds.")] = 5,
    encoding: EncodingOpt = None,
    date_format: DateFormatOpt = None,
    max_amount: MaxAmountOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Compare RFM-only and RFM+topics at predicting who orders (and which category) after a cutoff.

    Example: topicprofile evaluate --reviews corpora/reviews.csv --orders corpora/orders.csv --orders-columns timestamp=order_date --cutoff 2025-01-01
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
        from topicprofile.app.evaluate import evaluate_files

        with progress_bar(quiet=quiet or json_out) as progress:
            result = evaluate_files(
                cutoff=cutoff,
                **inputs,
                category_column=category_column,
                horizon_days=horizon,
                n_topics=topics,
                random_state=seed,
                profiler_params={"lang": lang},
                cv=cv,
                progress=progress,
            )
    if json_out:
        print_json(result)
    elif not quiet:
        print_evaluation(result)


def print_evaluation(result: Mapping[str, Any]) -> None:
    """The comparison table (one row per target and model), then the segments line."""
    stdout.print(
        f"cutoff {result['cutoff']}: {result['n_customers']:,} customers known before it "
        f"({result['n_with_text']:,} with text, {result['n_with_orders']:,} with orders); "
        f"{result['n_positive']:,} ordered after it (base rate {result['base_rate']:.1%}); "
        f"{result['cv_folds']}-fold cross-validation"
    )
    with_topics = any(r["features"] == "rfm+topics" for r in result["results"])
    title = "RFM only → RFM + topics (out-of-fold)" if with_topics else "RFM only (out-of-fold)"
    table = Table(title=title, title_justify="left")
    for name, justify in (("label", "left"), ("model", "left"), ("buyers", "right"), ("ROC-AUC", "right"),
                          ("PR-AUC", "right"), ("lift@10%", "right")):  # fmt: skip
        table.add_column(name, justify=justify, no_wrap=name != "label")  # type: ignore[arg-type]
    rows: dict[tuple[str, str], dict[str, Mapping[str, Any]]] = {}
    for r in result["results"]:
        rows.setdefault((r["target"].removeprefix("category: "), r["model"]), {})[r["features"]] = r
    for m in result.get("macro", []):
        rows.setdefault(("categories, mean", m["model"]), {})[m["features"]] = {**m, "n_positive": None}
    for (target, model), by_features in rows.items():
        first = next(iter(by_features.values()))
        cells = [
            escape(target),
            _MODEL_NAMES.get(model, model),
            "" if first["n_positive"] is None else f"{first['n_positive']:,}",
        ]
        for key, fmt in (("roc_auc", "{:.3f}"), ("pr_auc", "{:.3f}"), ("top_decile_lift", "{:.2f}")):
            values = [by_features[f][key] for f in ("rfm", "rfm+topics") if f in by_features]
            cells.append("→".join(fmt.format(v) for v in values))
        table.add_row(*cells)
    stdout.print(table)
    if not with_topics:
        stdout.print(
            "no text before the cutoff: RFM only (give --reviews / --browsing to compare with topics)"
        )
    seg = result["segments"]
    sizes = ", ".join(f"{escape(s['name'])} {s['size']:,}" for s in seg["sizes"])
    stdout.print(f"segments: {seg['n_segments']}, silhouette {seg['silhouette']:.3f}; {sizes}")
    stdout.print(f"{result['seconds']:.1f} s")
