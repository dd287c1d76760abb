"""``topicprofile forget``: remove customers from the model, the profile database, batch output and token cache."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from topicprofile.cli._util import JsonOpt, app, cache_dir, print_json, stdout, user_errors
from topicprofile.cli.db import require_db_extra
from topicprofile.errors import ConfigError


@app.command("forget")
def forget_cli(
    customer_ids: Annotated[
        list[str] | None, typer.Argument(help="Customer ids to erase.", show_default=False)
    ] = None,
    customer: Annotated[
        list[str] | None, typer.Option("--customer", "-c", help="A customer id to erase (repeatable).")
    ] = None,
    model_dir: Annotated[
        Path | None,
        typer.Option(
            "--model-dir", "-m", help="Model folder to erase them from.", envvar="TOPICPROFILE_MODEL_DIR"
        ),
    ] = None,
    db: Annotated[
        Path | None, typer.Option("--db", help="Profile database (.duckdb) to erase them from.")
    ] = None,
    batch_out: Annotated[
        Path | None, typer.Option("--batch-out", help="A batch output folder to erase them from.")
    ] = None,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file", help="The id key of pseudonymous outputs: erase them by your original ids."
        ),
    ] = None,
    log: Annotated[
        Path | None, typer.Option("--log", help="Erasure log (default: MODEL/erasure_log.jsonl).")
    ] = None,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache", help="Leave the token cache alone (default: delete entries with their texts)."
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Erase customers everywhere given: texts, profiles, tag history, identifiers, batch rows, cached tokens.

    The model gets a new version without them (older versions are deleted): their training documents'
    expected word counts are subtracted from its topic statistics, and it is marked "refit due";
    each erasure is logged with a hash of the id, never the id. An id found nowhere and never erased
    exits 1 and changes nothing. Example: topicprofile forget C00042 --model-dir models/shop --db profiles.duckdb
    """
    ids = [*(customer_ids or []), *(customer or [])]
    with user_errors(quiet=json_out):
        if not ids:
            raise ConfigError(
                "give the customer ids to erase, e.g. topicprofile forget C00042 --model-dir models/shop"
            )
        require_db_extra()  # the database parts of forget are imported with it
        from topicprofile.app.forget import forget_customers
        from topicprofile.privacy.pseudonym import load_id_key

        summary = forget_customers(
            ids,
            model_dir=model_dir,
            db=db,
            batch_out=batch_out,
            cache_dir=cache_dir(no_cache) if model_dir is not None else None,
            id_key=load_id_key(key_file) if key_file is not None else None,
            log=log,
        )
    if json_out:
        print_json(summary)
        return
    for given, erased in zip(ids, summary["customers"], strict=True):
        removed = ", ".join(f"{n:,} {where}" for where, n in erased["removed"].items() if n)
        what = (
            f"erased ({removed or 'nothing left to remove'})"
            if erased["status"] == "erased"
            else (f"already erased on {erased['erased_at']}")
        )
        stdout.print(f"{escape(given)}: {escape(what)}", highlight=False)
    stats = summary.get("model_statistics")
    if stats:
        note = (
            f"subtracted {stats['n_training_documents_removed']:,} training document(s) "
            f"({stats['tokens_subtracted']:,.1f} expected word counts); the model is marked refit due"
            if stats["subtracted"]
            else f"not subtracted: {stats['reason']}"
        )
        stdout.print(f"topic statistics: {escape(note)}", highlight=False)
    stdout.print(f"logged in {escape(summary['log'])}", highlight=False)
