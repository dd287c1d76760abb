"""``topicprofile history``: a customer's interest tags run by run, from the profile database."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from topicprofile.cli._util import JsonOpt, app, print_json, stdout, user_errors
from topicprofile.cli.db import DbModelDirOpt, DbOpt, require_db_extra, resolve_db


@app.command("history")
def history_cli(
    customer: Annotated[str, typer.Option("--customer", help="Customer id.")],
    db: DbOpt = None,
    model_dir: DbModelDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """A customer's interest tags run by run (interest drift).

    Example: topicprofile history --customer C00017 --db profiles.duckdb
    """
    path = resolve_db(db, model_dir)
    with user_errors():
        require_db_extra()
        from topicprofile.db import ProfileDatabase

        with ProfileDatabase(path, read_only=True) as database:
            table = database.history(customer)
    if json_out:
        print_json({"customer_id": customer, "history": table.astype(str).to_dict(orient="records")})
    elif table.empty:
        stdout.print(escape(f"no tag history for customer {customer!r} in {path}"), highlight=False)
    else:
        stdout.print(escape(table.to_string(index=False)), highlight=False)
