"""``topicprofile recommend``: top-N items per customer (CF + interests + popularity), or their offline evaluation."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.markup import escape
from rich.table import Table

from topicprofile.cli._privacy import KeyFileOpt, PseudonymizeOpt, id_key
from topicprofile.cli._util import (
    BrowsingColumnsOpt,
    BrowsingOpt,
    ColumnsOpt,
    EncodingOpt,
    JsonOpt,
    OrdersColumnsOpt,
    QuietOpt,
    ReviewsOpt,
    app,
    column_map,
    print_json,
    stdout,
    user_errors,
)
from topicprofile.cli.db_options import RecommendDbOpt

CollaborativeFilter = Literal["auto", "als", "cosine", "bm25", "tfidf"]


@app.command("recommend")
def recommend_cli(
    orders: Annotated[
        Path, typer.Option("--orders", "-o", help="Orders file with a 'product' or 'category' column.")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="Output file: .csv or .parquet (long: one row per item).")
    ] = None,
    model_dir: Annotated[
        Path | None,
        typer.Option(
            "--model-dir",
            "-m",
            help="Fitted model: turns --reviews/--browsing into interests.",
            envvar="TOPICPROFILE_MODEL_DIR",
            show_default=False,
        ),
    ] = None,
    reviews: ReviewsOpt = None,
    browsing: BrowsingOpt = None,
    columns: ColumnsOpt = None,
    browsing_columns: BrowsingColumnsOpt = None,
    orders_columns: OrdersColumnsOpt = None,
    item_column: Annotated[
        str | None,
        typer.Option(
            "--item-column", help="Orders column naming the item (default: product, else category)."
        ),
    ] = None,
    top: Annotated[
        int, typer.Option("--top", "-n", min=1, help="Items per customer (and k of the evaluation).")
    ] = 10,
    exclude_days: Annotated[
        int,
        typer.Option(
            "--exclude-days", min=0, help="Never recommend items bought this many days before the end."
        ),
    ] = 90,
    evaluate: Annotated[
        bool, typer.Option("--evaluate", help="Compare popularity, CF, content and hybrid instead.")
    ] = False,
    cutoff: Annotated[
        str | None, typer.Option("--cutoff", help="With --evaluate: train before, test after (YYYY-MM-DD).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (ALS factors).")] = 0,
    cf: Annotated[
        CollaborativeFilter,
        typer.Option(
            "--cf",
            help="Collaborative filter: ALS matrix factorisation, or item-item neighbours by cosine, BM25 or "
            "TF-IDF weights; auto picks the best on held-out orders.",
        ),
    ] = "auto",
    db: RecommendDbOpt = None,
    encoding: EncodingOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    pseudonymize: PseudonymizeOpt = False,
    key_file: KeyFileOpt = None,
) -> None:
    """Recommend items each customer has not bought recently, with a score and a one-line reason.

    With --pseudonymize (or a model fitted on pseudonymous ids, whose key it then needs) every
    customer id is hashed with the shop's key first, so the output joins the profiles and holds no raw id.

    Example: topicprofile recommend --model-dir models/shop --orders corpora/orders.csv --orders-columns timestamp=order_date --reviews corpora/reviews.csv --top 3 --out recs.csv --db profiles.duckdb
    """
    if evaluate and cutoff is None:
        raise typer.BadParameter("--evaluate needs --cutoff DATE", param_hint="--cutoff")
    if not evaluate and out is None and db is None:
        raise typer.BadParameter(
            "give --out FILE and/or --db PATH (or --evaluate --cutoff DATE)", param_hint="--out"
        )
    if evaluate and db is not None:
        raise typer.BadParameter("--evaluate makes no recommendations to store", param_hint="--db")
    maps = {
        "reviews_columns": column_map(columns, option="--columns"),
        "browsing_columns": column_map(browsing_columns, option="--browsing-columns"),
        "orders_columns": column_map(orders_columns, option="--orders-columns"),
    }
    with user_errors(quiet=quiet or json_out):
        from topicprofile.app.actions import recommend_files

        result = recommend_files(
            orders, None if evaluate else out, model_dir=model_dir, reviews=reviews, browsing=browsing,
            encoding=encoding, item_column=item_column, top=top, exclusion_days=exclude_days,
            evaluate_cutoff=cutoff if evaluate else None, random_state=seed, db=db, cf=cf,
            id_key=id_key(pseudonymize, key_file), **maps,
        )  # fmt: skip
    if json_out:
        print_json(result)
    elif not quiet:
        print_evaluation(result) if evaluate else print_summary(result)


def print_summary(result: Mapping[str, Any]) -> None:
    weights = ", ".join(f"{k} {v:.2f}" for k, v in result["weights"].items())
    cf = " ".join(str(v) for v in result["cf"].values())
    stdout.print(
        escape(
            f"{result['n_rows']:,} recommendations for {result['n_customers']:,} customers "
            f"({result['n_items']:,} items; CF {cf}; blend {weights}; as of {result['as_of']})"
            + (f" → {result['out']}" if result["out"] else "")
        ),
        highlight=False,
    )
    if result.get("db"):
        db = result["db"]
        stdout.print(escape(f"database {db['path']}: run {db['run_id']}, recommendations of {db['n_customers']:,} "
                            f"customers stored ({db['n_new']:,} new, {db['n_replaced']:,} replaced)"), highlight=False)  # fmt: skip


def print_evaluation(result: Mapping[str, Any]) -> None:
    stdout.print(
        f"cutoff {result['cutoff']}: {result['n_customers']:,} customers bought a new item after it "
        f"({result['n_cold']:,} without earlier orders, {result['n_with_text']:,} with text); "
        f"{result['n_items']:,} items"
    )
    table = Table(title=f"top {result['k']}", title_justify="left")
    for name in (
        "model",
        f"hit-rate@{result['k']}",
        f"recall@{result['k']}",
        f"NDCG@{result['k']}",
        "coverage",
    ):
        table.add_column(name, justify="left" if name == "model" else "right")
    for row in result["rows"]:
        table.add_row(
            row["model"],
            f"{row['hit_rate']:.3f}",
            f"{row['recall']:.3f}",
            f"{row['ndcg']:.3f}",
            f"{row['coverage']:.0%}",
        )
    stdout.print(table)
    weights = ", ".join(f"{k} {v:.2f}" for k, v in result["weights"].items())
    stdout.print(f"hybrid blend (chosen before the cutoff): {weights}; {result['seconds']:.1f} s")
