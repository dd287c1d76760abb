"""``topicprofile explain``: the evidence behind one customer's interest tags."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from topicprofile.cli._util import (
    BrowsingColumnsOpt,
    BrowsingOpt,
    ColumnsOpt,
    DateFormatOpt,
    EncodingOpt,
    JsonOpt,
    ModelDirOpt,
    ReviewsOpt,
    app,
    input_files,
    print_json,
    stdout,
    user_errors,
)


@app.command("explain")
def explain_cli(
    model_dir: ModelDirOpt,
    customer: Annotated[str, typer.Option("--customer", "-c", help="The customer id to explain.")],
    reviews: ReviewsOpt = None,
    browsing: BrowsingOpt = None,
    columns: ColumnsOpt = None,
    browsing_columns: BrowsingColumnsOpt = None,
    encoding: EncodingOpt = None,
    date_format: DateFormatOpt = None,
    words: Annotated[int, typer.Option("--words", min=1, help="Words shown per tag.")] = 8,
    snippets: Annotated[int, typer.Option("--snippets", min=0, help="Text snippets shown per tag.")] = 3,
    json_out: JsonOpt = False,
) -> None:
    """Show each of a customer's tags with its score, the words that carried it and the texts behind it.

    The files are needed only for customers the model was not fitted on.

    Example: topicprofile explain --model-dir models/shop --customer C0042
    """
    inputs = input_files(reviews=reviews, browsing=browsing, columns=columns, browsing_columns=browsing_columns,
                         encoding=encoding, date_format=date_format)  # fmt: skip
    with user_errors(quiet=json_out):
        from topicprofile.profiler import TopicProfiler
        from topicprofile.app.jobs import load_inputs

        profiler = TopicProfiler.load(model_dir)
        loaded: dict[str, Any] = {}
        if reviews is not None or browsing is not None:
            loaded = load_inputs(**inputs)
        result = profiler.explain(
            customer, loaded.get("reviews"), loaded.get("browsing"), n_words=words, n_snippets=snippets
        )
    if json_out:
        print_json(result)
        return
    stdout.print(
        f"[bold]{escape(str(result['customer_id']))}[/bold]: {result['n_documents']} texts, {result['n_tokens']} words "
        f"in the vocabulary (from {'the model' if result['source'] == 'model' else 'the given files'})",
        highlight=False,
    )
    if not result["tags"]:
        stdout.print("no interest tag: the text is too thin or no topic passes the threshold")
    for tag in result["tags"]:
        carried = ", ".join(f"{w['word']} {w['share']:.0%}" for w in tag["words"])
        stdout.print(f"\n[bold]{escape(str(tag['label']))}[/bold]  score {tag['score']:.2f}", highlight=False)
        stdout.print(f"  words: {carried}", highlight=False, markup=False)
        for s in tag["snippets"]:
            stdout.print(f"  “{s['text']}”  ({s['channel']}, {s['topic_share']:.0%} this topic)",
                         highlight=False, markup=False)  # fmt: skip
