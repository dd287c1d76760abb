"""``topicprofile fit``: learn topics from a shop's exports and save the model."""

from __future__ import annotations

from enum import Enum
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
    LangOpt,
    MaxAmountOpt,
    ModelDirOpt,
    NoCacheOpt,
    OrdersColumnsOpt,
    OrdersOpt,
    QuietOpt,
    ReviewsOpt,
    SeedOpt,
    ThresholdOpt,
    TopicsOpt,
    WorkersOpt,
    app,
    cache_dir,
    input_files,
    print_json,
    progress_bar,
    stdout,
    topic_count,
    user_errors,
)
from topicprofile.cli.show import print_fit_summary


class KeepTexts(str, Enum):
    snippets = "snippets"
    all = "all"
    none = "none"


class Trainer(str, Enum):
    vb = "vb"
    gibbs = "gibbs"
    review = "review"


@app.command("fit")
def fit_cli(
    model_dir: ModelDirOpt,
    reviews: ReviewsOpt = None,
    browsing: BrowsingOpt = None,
    orders: OrdersOpt = None,
    topics: TopicsOpt = None,
    lang: LangOpt = "en",
    seed: SeedOpt = 0,
    columns: ColumnsOpt = None,
    browsing_columns: BrowsingColumnsOpt = None,
    orders_columns: OrdersColumnsOpt = None,
    as_of: AsOfOpt = None,
    encoding: EncodingOpt = None,
    date_format: DateFormatOpt = None,
    max_amount: MaxAmountOpt = None,
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
    passes: Annotated[int | None, typer.Option("--passes", min=1, help="LDA passes (default: tuned).")] = None,
    iterations: Annotated[
        int | None,
        typer.Option("--iterations", min=1, help="LDA iterations per document (vb) or Gibbs sweeps (gibbs, review)."),
    ] = None,
    trainer: Annotated[
        Trainer | None,
        typer.Option(
            "--trainer",
            help="LDA trainer: tomotopy's collapsed Gibbs (default), variational Bayes (vb; the default and "
            "the only one with --dask) or review (one topic per review from its customer's interests; "
            "docs/quality.md).",
            show_default=False,
        ),
    ] = None,
    threshold: ThresholdOpt = 0.2,
    max_tags: Annotated[int, typer.Option("--max-tags", min=1, help="At most this many tags per customer.")] = 3,
    segments: Annotated[
        int | None, typer.Option("--segments", min=2, help="Number of customer segments (default: by silhouette).")
    ] = None,
    text_weight: Annotated[float, typer.Option("--text-weight", min=0, help="Weight of topics in segments.")] = 1.0,
    behavior_weight: Annotated[
        float, typer.Option("--behavior-weight", min=0, help="Weight of RFM in segments.")
    ] = 1.0,
    force: Annotated[
        bool,
        typer.Option("--force", help="Save the model into an existing folder that holds other files (left alone)."),
    ] = False,
    workers: WorkersOpt = None,
    dask: DaskOpt = None,
    no_cache: NoCacheOpt = False,
    previous: Annotated[
        Path | None,
        typer.Option(
            "--previous",
            help="The model this fit replaces (often --model-dir itself): matched topics keep their ids "
            "and user labels, so tag ids in a profile database stay stable.",
        ),
    ] = None,
    no_scrub: NoScrubOpt = False,
    scrub_names: ScrubNamesOpt = None,
    keep_texts: Annotated[
        KeepTexts,
        typer.Option(
            "--keep-texts",
            help="Texts the model keeps for explain: only the evidence it shows (snippets), all, or none.",
        ),
    ] = KeepTexts.snippets,
    pseudonymize: PseudonymizeOpt = False,
    key_file: KeyFileOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Fit topics on reviews and/or browsing and save the model.

    The model is saved as a new version in --model-dir (older versions kept, the folder's other
    files never touched). Example: topicprofile fit --reviews corpora/reviews.csv --browsing corpora/browsing.jsonl --model-dir models/shop
    """
    n_topics = topic_count(topics) if topics is not None else None
    # on a cluster the default trainer is vb (Gibbs sampling is sequential); asking for gibbs there is an error
    gibbs_on_dask = dask is not None and trainer in (Trainer.gibbs, Trainer.review)
    trainer = trainer or (Trainer.vb if dask is not None else Trainer.gibbs)
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
    from topicprofile.store import model_lock

    with user_errors(quiet=quiet or json_out):
        if gibbs_on_dask:
            from topicprofile.errors import ConfigError

            raise ConfigError(
                f"--trainer {trainer.value} cannot run on a Dask cluster (its sampler is sequential); use --trainer vb "
                "(the default with --dask), which trains the same model there as on one machine"
            )
    with user_errors(quiet=quiet or json_out), model_lock(model_dir, force=force):
        # the lock first: a folder that cannot take the model, or another fit of it, stops this run
        # before any work (and a folder made here goes again if the fit fails)
        from topicprofile.app.jobs import fit_files
        from topicprofile.config import RunOptions, read_labels_file, read_word_list
        from topicprofile.profiler import TopicProfiler
        from topicprofile.text.lexicon import DEFAULT_DOMAIN_STOP_WORDS
        from topicprofile.topics.seeding import load_taxonomy

        names_model = scrub_names_model(no_scrub, scrub_names)
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
            trainer=trainer.value,
            tag_threshold=threshold,
            max_tags=max_tags,
            topic_labels=read_labels_file(labels) if labels else None,
            taxonomy=load_taxonomy(taxonomy) if taxonomy else None,
            n_segments=segments,
            text_weight=text_weight,
            behavior_weight=behavior_weight,
            scrub=not no_scrub,
            scrub_names=names_model,
            keep_texts=keep_texts.value,
        )
        key = id_key(pseudonymize, key_file)
        with progress_bar(quiet=quiet or json_out) as progress:
            summary = fit_files(
                model_dir,
                profiler=profiler,
                progress=progress,
                as_of=as_of,
                run=RunOptions(workers=workers, cache_dir=cache_dir(no_cache), dask=dask),
                previous=previous,
                id_key=key,
                **inputs,
            )
    if json_out:
        print_json(summary)
    elif not quiet:
        print_fit_summary(summary)
        if summary.get("topic_changes"):
            from rich.markup import escape

            changes = summary["topic_changes"]
            counts = ", ".join(f"{len(changes[k])} {k}" for k in ("kept", "renamed", "new", "retired", "split", "merged"))
            stdout.print(escape(f"topic ids follow {previous}: {counts}"), highlight=False)
        print_privacy_line(summary["privacy"])
