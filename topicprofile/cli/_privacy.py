"""Privacy options shared by ``fit``, ``tag`` and ``batch`` (issue 14): scrubbing and pseudonymous ids."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from topicprofile.cli._util import stdout

NoScrubOpt = Annotated[
    bool,
    typer.Option(
        "--no-scrub",
        help="Keep e-mail addresses, phone numbers, card numbers... in the texts (scrubbed by default; "
        "recorded in the model's manifest).",
    ),
]
PseudonymizeOpt = Annotated[
    bool,
    typer.Option(
        "--pseudonymize",
        help="Replace customer ids by HMAC-SHA256(key, id) in everything written; the key comes from "
        "--key-file or $TOPICPROFILE_ID_KEY and is never stored.",
    ),
]
KeyFileOpt = Annotated[
    Path | None,
    typer.Option("--key-file", help="File holding the shop's id key (implies --pseudonymize)."),
]


def id_key(pseudonymize: bool, key_file: Path | None) -> bytes | None:
    """The id key asked for on the command line, or None (a ConfigError when it is missing or weak)."""
    from topicprofile.privacy.pseudonym import load_id_key

    if not pseudonymize and key_file is None:
        return None
    return load_id_key(key_file)


def print_privacy_line(privacy: dict[str, object]) -> None:
    """One line of what a run did to personal data: ``scrubbed: 3 e-mail, 1 phone; ids pseudonymous``."""
    counts = privacy.get("scrub_counts") or {}
    if not privacy.get("scrub"):
        line = "scrubbing off (--no-scrub): texts kept as given"
    else:
        found = [f"{n:,} {kind.lower()}" for kind, n in counts.items() if n]  # type: ignore[union-attr]
        line = "scrubbed: " + (", ".join(found) if found else "no personal data found")
    if privacy.get("pseudonymized"):
        line += f"; ids pseudonymous (key id {privacy.get('id_key_id')})"
    stdout.print(line, highlight=False, markup=False)
