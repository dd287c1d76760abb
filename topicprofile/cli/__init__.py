"""The ``topicprofile`` command line: one module per command, all on one typer app."""

from topicprofile.cli import (  # noqa: F401  (registers the commands)
    audience,
    batch,
    campaign,
    convert_model,
    db,
    demo,
    evaluate,
    explain,
    fit,
    forget,
    history,
    quality,
    privacy_report,
    prune,
    recommend,
    reidentify,
    report,
    segments,
    tag,
    tag_text,
    topics,
    tune,
    update,
)
from topicprofile.cli._util import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()
