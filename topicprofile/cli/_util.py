"""What every command shares: the typer app, option types, error -> exit code, progress, output."""

from __future__ import annotations

import errno
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from topicprofile.errors import TopicProfileError

# The CLI starts in a fraction of a second: nothing here (or at the top of a command module)
# imports pandas, numpy, gensim, spaCy or scikit-learn; commands import what they use when run.

app = typer.Typer(
    name="topicprofile",
    help="Turn customers' reviews, browsing and orders into interest profiles.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)

# -- shared options -----------------------------------------------------------------------------
ModelDirOpt = Annotated[
    Path,
    typer.Option(
        "--model-dir", "-m", help="Model directory.", envvar="TOPICPROFILE_MODEL_DIR", show_default=False
    ),
]
ReviewsOpt = Annotated[
    Path | None,
    typer.Option(
        "--reviews", "-r",
        help="Reviews: a file (CSV, TSV, JSONL, JSON, Parquet; .gz ok), a folder of them or a glob "
        "('exports/*.csv'), read in path order.",
    ),
]  # fmt: skip
BrowsingOpt = Annotated[
    Path | None, typer.Option("--browsing", "-b", help="Browsing events: a file, folder or glob (same formats).")
]
ColumnsOpt = Annotated[
    str | None,
    typer.Option(
        "--columns", help="Map reviews columns: standard=yours, e.g. 'text=review_body,customer_id=user_id'."
    ),
]
BrowsingColumnsOpt = Annotated[
    str | None, typer.Option("--browsing-columns", help="Map browsing columns, e.g. 'url=page_url'.")
]
OrdersOpt = Annotated[
    Path | None,
    typer.Option("--orders", help="Orders file (customer_id, order_id, timestamp, amount[, status]): adds RFM + segments."),
]
OrdersColumnsOpt = Annotated[
    str | None, typer.Option("--orders-columns", help="Map orders columns, e.g. 'timestamp=order_date'.")
]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="Date recency is counted to (default: the latest order date).")
]


def _date_format(value: str | None) -> str | None:
    from topicprofile.ingest.dates import check_date_format

    try:
        check_date_format(value)
    except TopicProfileError as e:
        raise typer.BadParameter(str(e)) from None
    return value


def lang_code(value: str) -> str:
    """``--lang`` callback: an unknown language code is a bad argument (exit 2) listing the valid ones."""
    from topicprofile.text.lang import check_lang

    try:
        check_lang(value)
    except TopicProfileError as e:
        raise typer.BadParameter(str(e)) from None
    return value


def _positive(value: float | None) -> float | None:
    if value is not None and not value > 0:
        raise typer.BadParameter(f"must be a positive amount, got {value}")
    return value


DateFormatOpt = Annotated[
    str | None,
    typer.Option(
        "--date-format", callback=_date_format,
        help="strftime format of the timestamp columns, e.g. '%d/%m/%Y' (default: ISO; 03/04/2025 read "
        "day- or month-first as the file's other dates show, refused when nothing tells).",
    ),
]  # fmt: skip
MaxAmountOpt = Annotated[
    float | None,
    typer.Option("--max-amount", callback=_positive, help="Reject order lines with a larger amount (typos such as 1e9)."),
]
EncodingOpt = Annotated[
    str | None,
    typer.Option("--encoding", help="Input encoding (default: detect UTF-8, UTF-8 BOM, GB18030/GBK)."),
]
LangOpt = Annotated[
    str, typer.Option("--lang", callback=lang_code, help="Text language: en, zh, ... (spaCy codes).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON summary.")]
RawCsvOpt = Annotated[
    bool,
    typer.Option(
        "--raw-csv",
        help="Write CSV cells as they are (by default text starting with = + - @ tab or CR gets a "
        "leading ' so spreadsheets do not run it as a formula).",
    ),
]
def _unit_share(value: float) -> float:
    if not 0 < value <= 1:
        raise typer.BadParameter(f"{value:g} is not a share in (0, 1], e.g. 0.2")
    return value


ThresholdOpt = Annotated[
    float,
    typer.Option("--threshold", callback=_unit_share, help="Minimum topic share for a tag, in (0, 1]."),
]
#: gensim and numpy take seeds 0 <= seed < 2**32.
SEED_MAX = 2**32 - 1
SeedOpt = Annotated[
    int, typer.Option("--seed", min=0, max=SEED_MAX, help="Random seed (same input + seed = same result).")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or tables.")]


# -- errors and warnings ------------------------------------------------------------------------
class _WarningLine(logging.Handler):
    """Library and gensim warnings as one yellow line each on stderr, each line once per command
    (``demo`` reads the sample's files for fitting and again for tagging: one warning, not two)."""

    def __init__(self, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self._seen: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message in self._seen:
            return
        self._seen.add(message)
        stderr.print(f"[yellow]warning:[/yellow] {escape(message)}", highlight=False)


def error_line(message: object) -> None:
    """Print ``error: message`` in red on stderr; the message is the user's text, never markup."""
    stderr.print(f"[red]error:[/red] {escape(str(message))}", highlight=False)


def _os_error_message(e: OSError) -> str:
    """``path: reason`` of an OS error (disk full, permission denied...), with what to do when known."""
    where = e.filename if e.filename is not None else ""
    reason = e.strerror or str(e)
    if e.errno == errno.ENOSPC:
        reason += "; nothing was replaced: free space and run again"
    return f"{where}: {reason}" if where else reason


@contextmanager
def user_errors(*, quiet: bool = False) -> Iterator[None]:
    """Turn a library error into one red line on stderr and exit code 1 (no traceback).

    Warnings logged meanwhile (rejected rows, unknown seed words...) print as one line each,
    or not at all with ``quiet``.
    """
    handler: logging.Handler = logging.NullHandler() if quiet else _WarningLine(logging.WARNING)
    loggers = [logging.getLogger("topicprofile"), logging.getLogger("gensim")]
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = False
    try:
        yield
    except TopicProfileError as e:
        error_line(e)
        raise typer.Exit(1) from None
    except OSError as e:  # the system refused a read or write (disk full, permissions): one line
        error_line(_os_error_message(e))
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        stderr.print("[red]interrupted[/red]")
        raise typer.Exit(130) from None
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
            logger.propagate = True


# -- progress -----------------------------------------------------------------------------------
@contextmanager
def progress_bar(*, quiet: bool) -> Iterator[Callable[[str, int, int | None], None]]:
    """A ``progress(step, done, total)`` callback drawing rich bars on stderr.

    Silent under ``--quiet`` or when stderr is not a terminal (cron, pipes, CI).
    """
    if quiet or not stderr.is_terminal:
        yield lambda step, done, total: None
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    bars = Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<12}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
    )
    tasks: dict[str, Any] = {}

    def update(step: str, done: int, total: int | None) -> None:
        if step not in tasks:
            for other in tasks.values():  # a new step means the earlier ones are finished
                task = bars.tasks[other]
                bars.update(other, completed=task.total or 1, total=task.total or 1)
            tasks[step] = bars.add_task(step, total=total)
        bars.update(tasks[step], completed=done, total=total)

    with bars:
        yield update


# -- output -------------------------------------------------------------------------------------
def print_json(payload: Any) -> None:
    """Print ``payload`` as JSON on stdout (no colour, no wrapping)."""
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()


def column_map(spec: str | None, *, option: str) -> dict[str, str]:
    """Parse a ``--columns`` value; a malformed one is a bad argument (exit 2)."""
    from topicprofile.ingest.load import parse_column_map

    try:
        return parse_column_map(spec)
    except TopicProfileError as e:
        raise typer.BadParameter(str(e), param_hint=option) from None


def input_files(
    *,
    reviews: Path | None,
    browsing: Path | None,
    columns: str | None,
    browsing_columns: str | None,
    encoding: str | None,
    date_format: str | None,
    orders: Path | None = None,
    orders_columns: str | None = None,
    max_amount: float | None = None,
) -> dict[str, Any]:
    """A command's file options as keywords of ``app.jobs.load_inputs`` (column maps parsed here)."""
    return {
        "reviews": reviews,
        "browsing": browsing,
        "orders": orders,
        "reviews_columns": column_map(columns, option="--columns"),
        "browsing_columns": column_map(browsing_columns, option="--browsing-columns"),
        "orders_columns": column_map(orders_columns, option="--orders-columns"),
        "encoding": encoding,
        "date_format": date_format,
        "max_amount": max_amount,
    }


def topic_count(value: str) -> int | str:
    """Parse ``--topics``: an integer >= 2 or ``auto`` (anything else is a bad argument, exit 2)."""
    if value.strip().lower() == "auto":
        return "auto"
    try:
        k = int(value)
    except ValueError:
        raise typer.BadParameter(
            f"expected a number of topics or 'auto', got {value!r}", param_hint="--topics"
        ) from None
    if k < 2:
        raise typer.BadParameter(f"need at least 2 topics, got {k}", param_hint="--topics")
    return k


TopicsOpt = Annotated[
    str | None,
    typer.Option(
        "--topics", "-k",
        help="Number of topics, or 'auto' to choose it (see `topicprofile tune`). "
        "Default: 12, or with --taxonomy one per interest.",
    ),
]
#: ``--topics`` of the commands that take a fixed number (no 'auto'); each sets its default.
TopicCountOpt = Annotated[int, typer.Option("--topics", "-k", min=2, help="Number of topics.")]


WorkersOpt = Annotated[
    int | None,
    typer.Option("--workers", "-w", min=1, help="Tokenizer processes (default: by machine and input size)."),
]


def _dask_address(value: str | None) -> str | None:
    """``--dask`` callback: a malformed ``local:N`` is a bad argument (exit 2)."""
    if value is None:
        return None
    from topicprofile.distributed.cluster import parse_dask_address

    try:
        parse_dask_address(value)
    except TopicProfileError as e:
        raise typer.BadParameter(str(e)) from None
    return value


DaskOpt = Annotated[
    str | None,
    typer.Option(
        "--dask", callback=_dask_address, metavar="ADDRESS|local[:N]",
        help="Run on a Dask cluster: a scheduler address (tcp://host:8786) or local[:N] worker processes "
        '(pip install "topicprofile[dask]"; docs/distributed.md). Same results as without.',
    ),
]
NoCacheOpt = Annotated[
    bool,
    typer.Option("--no-cache", help="Do not read or write the token cache ($TOPICPROFILE_CACHE_DIR or ~/.cache/topicprofile)."),
]


def cache_dir(no_cache: bool) -> str | None:
    """The token cache folder of a CLI run (None with ``--no-cache``)."""
    from topicprofile.text.cache import default_cache_dir

    return None if no_cache else str(default_cache_dir())
