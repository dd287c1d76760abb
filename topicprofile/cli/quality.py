"""``topicprofile quality``: per-topic quality report of a saved model."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from topicprofile.cli._util import JsonOpt, ModelDirOpt, app, print_json, stdout, user_errors


@app.command("quality")
def quality_cli(model_dir: ModelDirOpt, json_out: JsonOpt = False) -> None:
    """Per-topic quality: coherence, prevalence, top terms, near-duplicate and junk flags.

    Example: topicprofile quality --model-dir models/shop
    """
    with user_errors():
        from topicprofile.profiler import TopicProfiler
        from topicprofile.topics.quality import topic_quality

        profiler = TopicProfiler.load(model_dir)
        report = topic_quality(profiler.topics(), stop_words=profiler.tokenizer_.stop_word_set())
    if json_out:
        print_json({"model_dir": str(model_dir), "topics": report.to_dict(orient="records")})
        return
    table = Table(title=escape(f"Topic quality of {model_dir}"), title_justify="left")
    for column in ("#", "label", "share", "c_npmi", "c_v", "flags", "top terms"):
        table.add_column(column)
    for row in report.itertuples(index=False):
        flags = []
        if row.duplicate_of >= 0:
            flags.append(f"near-duplicate of {row.duplicate_of} ({row.overlap:.0%})")
        if row.junk:
            flags.append(f"junk: {row.reason}")
        table.add_row(
            str(row.topic), escape(str(row.label)), f"{row.prevalence:.1%}", f"{row.c_npmi:+.3f}", f"{row.c_v:.3f}",
            escape("; ".join(flags) or "ok"), escape(", ".join(row.top_terms[:8])),
        )  # fmt: skip
    stdout.print(table)
