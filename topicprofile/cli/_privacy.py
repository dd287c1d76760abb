"""Privacy options shared by ``fit``, ``tag``, ``batch`` and ``update`` (issue 14): scrubbing and pseudonymous ids."""

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
ScrubNamesOpt = Annotated[
    Path | None,
    typer.Option(
        "--scrub-names-model",
        metavar="PATH",
        help="Also replace names of people by <PERSON>, with the spaCy pipeline (named-entity recognizer) "
        "saved in this folder, e.g. en_core_web_sm's; loaded from disk, never downloaded. Needs the privacy "
        "extra: pip install 'topicprofile[privacy]'. A model fitted with it scrubs names when it tags too.",
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


def scrub_names_model(no_scrub: bool, path: Path | None) -> str | None:
    """The ``--scrub-names-model`` folder, absolute (the model reuses it from any directory), with its
    pipeline loaded now: a missing privacy extra or folder fails before any work (ConfigError)."""
    if path is None:
        return None
    if no_scrub:
        raise typer.BadParameter("cannot go with --no-scrub: names are scrubbed on top of the rest",
                                 param_hint="--scrub-names-model")  # fmt: skip
    from topicprofile.privacy.names import name_scrubber

    folder = str(path.expanduser().resolve())
    name_scrubber(folder)
    return folder


def print_privacy_line(privacy: dict[str, object]) -> None:
    """One line of what a run did to personal data: ``scrubbed: 3 e-mail, 1 phone; ids pseudonymous``."""
    counts = privacy.get("scrub_counts") or {}
    if not privacy.get("scrub"):
        line = "scrubbing off (--no-scrub): texts kept as given"
    else:
        found = [f"{n:,} {kind.lower()}" for kind, n in counts.items() if n]  # type: ignore[union-attr]
        line = "scrubbed: " + (", ".join(found) if found else "no personal data found")
        if privacy.get("scrub_names"):
            line += f" (names by {privacy.get('names_pipeline')})"
    if privacy.get("pseudonymized"):
        line += f"; ids pseudonymous (key id {privacy.get('id_key_id')})"
    stdout.print(line, highlight=False, markup=False)
