"""The ``topicprofile`` command line: one module per command, all on one typer app."""

from topicprofile.cli import demo, evaluate, fit, segments, tag, tag_text, topics  # noqa: F401  (registers commands)
from topicprofile.cli._util import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()
