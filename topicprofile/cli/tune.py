"""``topicprofile tune``: score a range of topic counts on your data and pick one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from topicprofile.cli._util import (
    BrowsingColumnsOpt,
    BrowsingOpt,
    ColumnsOpt,
    DateFormatOpt,
    EncodingOpt,
    JsonOpt,
    NoCacheOpt,
    QuietOpt,
    WorkersOpt,
    ReviewsOpt,
    SeedOpt,
    app,
    cache_dir,
    input_files,
    lang_code,
    print_json,
    progress_bar,
    stdout,
    user_errors,
)


@app.command("tune")
def tune_cli(
    reviews: ReviewsOpt = None,
    browsing: BrowsingOpt = None,
    columns: ColumnsOpt = None,
    browsing_columns: BrowsingColumnsOpt = None,
    encoding: EncodingOpt = None,
    date_format: DateFormatOpt = None,
    k_min: Annotated[int, typer.Option("--k-min", min=2, help="Smallest number of topics to try.")] = 4,
    k_max: Annotated[int, typer.Option("--k-max", min=2, help="Largest number of topics to try.")] = 16,
    step: Annotated[int, typer.Option("--step", min=1, help="Step between the numbers tried.")] = 2,
    lang: Annotated[str, typer.Option("--lang", callback=lang_code, help="Text language: en, zh, auto, ... (spaCy codes).")] = "en",
    seed: SeedOpt = 0,
    model_dir: Annotated[
        Path | None, typer.Option("--model-dir", "-m", help="Also save the model fitted with the chosen k.")
    ] = None,
    workers: WorkersOpt = None,
    no_cache: NoCacheOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Fit k topics for a range of k (5 seeds each), print coherence, diversity and stability, pick k.

    Example: topicprofile tune --reviews corpora/reviews.csv --browsing corpora/browsing.jsonl --k-min 4 --k-max 12
    """
    if k_max < k_min:
        raise typer.BadParameter(f"--k-max {k_max} is below --k-min {k_min}")
    inputs = input_files(reviews=reviews, browsing=browsing, columns=columns, browsing_columns=browsing_columns,
                         encoding=encoding, date_format=date_format)  # fmt: skip
    with user_errors(quiet=quiet or json_out):
        from topicprofile.config import RunOptions
        from topicprofile.profiler import TopicProfiler
        from topicprofile.app.jobs import fit_files, load_inputs

        profiler = TopicProfiler(
            n_topics="auto", lang=lang, random_state=seed, k_values=tuple(range(k_min, k_max + 1, step)),
        )
        run = RunOptions(workers=workers, cache_dir=cache_dir(no_cache))
        with progress_bar(quiet=quiet or json_out) as progress:
            if model_dir is not None:  # saves the model and the rejects file beside it
                fit_files(model_dir, profiler=profiler, progress=progress, run=run, **inputs)
            else:
                loaded = load_inputs(**inputs)
                profiler.fit(loaded.get("reviews"), loaded.get("browsing"), progress=progress, run=run)
    table = profiler.tuning_
    if json_out:
        print_json({"chosen_k": profiler.n_topics_, "table": table.to_dict(orient="records")})
        return
    view = Table(title="Topic counts tried (mean of 5 seeds)", title_justify="left")
    for column in ("k", "c_npmi", "c_v", "diversity", "stability", "seconds"):
        view.add_column(column, justify="right")
    for row in table.itertuples(index=False):
        mark = " ←" if row.k == profiler.n_topics_ else ""
        view.add_row(f"{row.k}{mark}", f"{row.c_npmi:+.3f}", f"{row.c_v:.3f}", f"{row.diversity:.2f}",
                     f"{row.stability:.3f}", f"{row.seconds:.1f}")  # fmt: skip
    stdout.print(view)
    stdout.print(f"chosen: {profiler.n_topics_} topics (the most stable k whose topics are distinct)")
