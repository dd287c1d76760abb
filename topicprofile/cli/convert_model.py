"""``topicprofile convert-model``: rewrite a format-1 model (gensim pickles) as plain data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from topicprofile.cli._util import JsonOpt, app, print_json, stderr, stdout, user_errors


@app.command("convert-model")
def convert_model_cli(
    model_dir: Annotated[
        Path, typer.Argument(metavar="MODEL_DIR", help="The format-1 model directory to convert in place.", show_default=False)
    ],
    trust: Annotated[
        bool,
        typer.Option("--trust", help="Read the model's pickles: they can run any code, so only for a model you made or vouch for."),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Convert a model saved by an older topicprofile (pickles) to the current format (plain data).

    Loading a pickle runs whatever code it holds; models of the current format hold none. Without
    --trust nothing is read. Example: topicprofile convert-model --trust models/shop
    """
    if not trust:
        stderr.print(
            f"[red]error:[/red] converting {model_dir} reads its pickles, which can run any code; pass --trust "
            "only for a model you made or vouch for",
            highlight=False, markup=True,
        )  # fmt: skip
        raise typer.Exit(2)
    with user_errors():
        from topicprofile.store_legacy import convert_model

        converted = convert_model(model_dir, trust=True)
    if json_out:
        print_json({"model_dir": str(model_dir), "converted": converted})
    elif converted:
        stdout.print(f"converted {model_dir} to the current model format (no pickles left)", highlight=False)
    else:
        stdout.print(f"{model_dir} already has the current model format; nothing to do", highlight=False)
