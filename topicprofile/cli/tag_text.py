"""``topicprofile tag-text``: interest tags of free text with a saved model."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from topicprofile.cli._privacy import ScrubNamesOpt, scrub_names_model
from topicprofile.cli._util import JsonOpt, ModelDirOpt, app, print_json, user_errors
from topicprofile.cli.show import print_text_tags
from topicprofile.errors import DataValidationError


def _read_texts(texts: list[str] | None, input_file: Path | None) -> list[str]:
    items = list(texts or [])
    if input_file is not None:
        if str(input_file) == "-":
            items.extend(line.rstrip("\n") for line in sys.stdin)
        else:
            try:
                items.extend(input_file.read_text(encoding="utf-8-sig").splitlines())
            except FileNotFoundError:
                raise DataValidationError(f"{input_file}: file not found") from None
            except UnicodeDecodeError as e:
                raise DataValidationError(f"{input_file}: not UTF-8 text ({e})") from None
    items = [t for t in items if t.strip()]
    if not items:
        raise DataValidationError("no text given: pass TEXT arguments or --input FILE (one text per line)")
    return items


@app.command("tag-text")
def tag_text_cli(
    model_dir: ModelDirOpt,
    texts: Annotated[list[str] | None, typer.Argument(help="Texts to tag.", show_default=False)] = None,
    input_file: Annotated[
        Path | None, typer.Option("--input", "-i", help="File with one text per line ('-' for stdin).")
    ] = None,
    scrub_names: ScrubNamesOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Tag free text with a saved model.

    Example: topicprofile tag-text --model-dir models/shop "Love these trail shoes, great grip on wet rocks"
    """
    with user_errors():
        # only what tagging needs (no pandas, gensim or scikit-learn): the same tags as TopicProfiler.tag_text
        from topicprofile.model_reader import load_text_tagger, read_manifest

        items = _read_texts(texts, input_file)
        names = scrub_names_model(False, scrub_names)
        params = read_manifest(model_dir).get("params", {})
        if names is not None or (params.get("scrub_names") and params.get("scrub", True)):
            # a model that scrubs names tags texts scrubbed as it was fitted: Presidio, via the whole profiler
            from topicprofile.profiler import TopicProfiler

            profiler = TopicProfiler.load(str(model_dir))
            profiler.set_params(scrub=True, scrub_names=names or params["scrub_names"])
            results = profiler.tag_text(items)
        else:
            results = load_text_tagger(model_dir).tag_text(items)
    if json_out:
        print_json([{"text": t, **r} for t, r in zip(items, results, strict=True)])
    else:
        print_text_tags(items, results)
