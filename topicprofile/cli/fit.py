"""``topicprofile fit``: learn topics from a shop's exports and save the model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from topicprofile.cli._util import (
    AsOfOpt,
    OrdersColumnsOpt,
    OrdersOpt,
    BrowsingColumnsOpt,
    BrowsingOpt,
    ColumnsOpt,
    EncodingOpt,
    JsonOpt,
    ModelDirOpt,
    QuietOpt,
    ReviewsOpt,
    NoCacheOpt,
    SeedOpt,
    ThresholdOpt,
    TopicsOpt,
    WorkersOpt,
    app,
    cache_dir,
    input_files,
    topic_count,
    print_json,
    progress_bar,
    user_errors,
)
from topicprofile.cli.show import print_fit_summary


@app.command("fit")
def fit_cli(
    model_dir: ModelDirOpt,
    reviews: ReviewsOpt = None,
    browsing: BrowsingOpt = None,
    orders: OrdersOpt = None,
    topics: TopicsOpt = "12",
    lang: Annotated[str, typer.Option("--lang", help="Text language: en, zh, ...")] = "en",
    seed: SeedOpt = 0,
    columns: ColumnsOpt = None,
    browsing_columns: BrowsingColumnsOpt = None,
    orders_columns: OrdersColumnsOpt = None,
    as_of: AsOfOpt = None,
    encoding: EncodingOpt = None,
    spacy_model: Annotated[
        str | None, typer.Option("--spacy-model", help="Installed trained spaCy pipeline to use.")
    ] = None,
    stop_words: Annotated[
        Path | None, typer.Option("--stop-words", help="File of extra stop words, one per line.")
    ] = None,
    labels: Annotated[
        Path | None, typer.Option("--labels", help="Topic names file (TOML/JSON/CSV: topic id -> name).")
    ] = None,
    no_below: Annotated[
        int | None,
        typer.Option("--no-below", min=1, help="Keep words in at least this many documents (default: 0.3%, >= 3)."),
    ] = None,
    taxonomy: Annotated[
        Path | None,
        typer.Option("--taxonomy", help="Your interests and seed words (TOML/YAML [interests] table) to guide topics."),
    ] = None,
    passes: Annotated[int | None, typer.Option("--passes", help="LDA passes (default: tuned).")] = None,
    iterations: Annotated[int | None, typer.Option("--iterations", help="LDA iterations per document.")] = None,
    threshold: ThresholdOpt = 0.2,
    max_tags: Annotated[int, typer.Option("--max-tags", min=1, help="At most this many tags per customer.")] = 3,
    segments: Annotated[
        int | None, typer.Option("--segments", min=2, help="Number of customer segments (default: by silhouette).")
    ] = None,
    text_weight: Annotated[float, typer.Option("--text-weight", min=0, help="Weight of topics in segments.")] = 1.0,
    behavior_weight: Annotated[
        float, typer.Option("--behavior-weight", min=0, help="Weight of RFM in segments.")
    ] = 1.0,
    workers: WorkersOpt = None,
    no_cache: NoCacheOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Fit topics on reviews and/or browsing and save the model.

    Example: topicprofile fit --reviews corpora/reviews.csv --browsing corpora/browsing.jsonl --model-dir models/shop
    """
    n_topics = topic_count(topics)
    inputs = input_files(
        reviews=reviews,
        browsing=browsing,
        orders=orders,
        columns=columns,
        browsing_columns=browsing_columns,
        orders_columns=orders_columns,
        encoding=encoding,
    )
    with user_errors(quiet=quiet or json_out):
        from topicprofile.config import read_labels_file, read_word_list
        from topicprofile.profiler import TopicProfiler
        from topicprofile.taxonomy import load_taxonomy
        from topicprofile.tokenizer import DEFAULT_DOMAIN_STOP_WORDS
        from topicprofile.workflows import fit_files

        extra = None
        if stop_words is not None:
            extra = sorted(DEFAULT_DOMAIN_STOP_WORDS.get(lang, frozenset()) | set(read_word_list(stop_words)))
        profiler = TopicProfiler(
            n_topics=n_topics,
            lang=lang,
            random_state=seed,
            spacy_model=spacy_model,
            stop_words=extra,
            no_below=no_below,
            passes=passes,
            iterations=iterations,
            tag_threshold=threshold,
            max_tags=max_tags,
            topic_labels=read_labels_file(labels) if labels else None,
            taxonomy=load_taxonomy(taxonomy) if taxonomy else None,
            n_segments=segments,
            text_weight=text_weight,
            behavior_weight=behavior_weight,
            workers=workers,
            cache_dir=cache_dir(no_cache),
        )
        with progress_bar(quiet=quiet or json_out) as progress:
            summary = fit_files(
                model_dir,
                profiler=profiler,
                progress=progress,
                as_of=as_of,
                **inputs,
            )
    if json_out:
        print_json(summary)
    elif not quiet:
        print_fit_summary(summary)
