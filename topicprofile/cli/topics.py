"""``topicprofile topics`` and ``topicprofile label``: show and rename a model's topics."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from topicprofile.cli._util import JsonOpt, ModelDirOpt, app, print_json, stdout, user_errors
from topicprofile.cli.show import print_topics


@app.command("topics")
def topics_cli(model_dir: ModelDirOpt, json_out: JsonOpt = False) -> None:
    """Show a saved model's topics: label, share, coherence and top terms.

    Example: topicprofile topics --model-dir models/shop --json
    """
    with user_errors():
        from topicprofile.profiler import TopicProfiler

        profiler = TopicProfiler.load(model_dir)
        topics = profiler.topics()
    records = topics[["topic", "label", "auto_label", "prevalence", "c_npmi", "c_v", "top_terms", "relevant_terms"]]
    if json_out:
        print_json({"coherence": profiler.coherence_, "topics": records.to_dict(orient="records")})
    else:
        print_topics(records.to_dict(orient="records"), title=f"Topics of {model_dir}")
        c = profiler.coherence_
        stdout.print(f"coherence c_npmi {c['c_npmi']:+.3f}, c_v {c['c_v']:.3f}, diversity {c['diversity']:.2f}")


@app.command("label")
def label_cli(
    model_dir: ModelDirOpt,
    labels: Annotated[Path, typer.Argument(help="Topic names file: TOML, JSON or CSV (topic id -> name).")],
    json_out: JsonOpt = False,
) -> None:
    """Rename topics of a saved model; tags use the new names from then on.

    Example: topicprofile label --model-dir models/shop labels.toml   (labels.toml: [labels] 0 = "Outdoor")
    """
    with user_errors():
        from topicprofile.config import read_labels_file
        from topicprofile.profiler import TopicProfiler
        from topicprofile.store import model_lock, read_manifest

        read_manifest(model_dir)  # a missing or refused model fails before the lock is taken
        names_read = read_labels_file(labels)
        with model_lock(model_dir):  # no fit may publish between this load and the save
            profiler = TopicProfiler.load(model_dir)
            names = {k: v for k, v in enumerate(profiler.topic_labels_) if v != profiler.auto_labels_[k]}
            names.update(names_read)
            profiler.set_topic_labels(names)
            profiler.save(str(model_dir))  # a new version; the folder's other files are left alone
    if json_out:
        print_json({"model_dir": str(model_dir), "labels": profiler.topic_labels_})
    else:
        stdout.print(escape(f"renamed topics of {model_dir}: " + "; ".join(profiler.topic_labels_)), highlight=False)
