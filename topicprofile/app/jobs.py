"""File-level jobs shared by the CLI, the demo and ``scripts/``: read files, fit or tag, write outputs.

Each function reads the user's files with the loaders (keeping their rejects), calls the
:class:`~topicprofile.TopicProfiler`, writes outputs atomically and returns a summary dict that the
CLI prints as a table or as JSON.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pandas as pd

from topicprofile._fs import atomic_path, check_outputs_apart, check_writable, escape_csv_frame
from topicprofile.config import RunOptions
from topicprofile.errors import DataValidationError
from topicprofile.ingest.docstore import DEFAULT_CHUNK_ROWS, DocumentStore
from topicprofile.ingest.documents import build_documents
from topicprofile.privacy.scrub import scrub_texts  # privacy hook (issue 14)
from topicprofile.ingest.load import (
    LoadResult,
    StreamedLoad,
    load_browsing,
    load_orders,
    load_reviews,
    rejects_path_for,
    write_rejects,
)
from topicprofile.distributed import open_backend
from topicprofile.text.pool import default_workers, prestart
from topicprofile.profiler import ProgressCallback, TopicProfiler

__all__ = [
    "load_inputs",
    "stream_documents",
    "fit_files",
    "tag_files",
    "write_table",
    "write_rejects_csv",
    "round_output",
    "TableWriter",
]

#: Output columns holding money: rounded to cents. Every other float column: to 4 places.
MONEY_COLUMNS = ("monetary", "avg_order_value")
SHARE_DECIMALS = 4


def load_inputs(
    *,
    reviews: str | os.PathLike[str] | None = None,
    browsing: str | os.PathLike[str] | None = None,
    orders: str | os.PathLike[str] | None = None,
    reviews_columns: Mapping[str, str] | None = None,
    browsing_columns: Mapping[str, str] | None = None,
    orders_columns: Mapping[str, str] | None = None,
    encoding: str | None = None,
    date_format: str | None = None,
    max_amount: float | None = None,
) -> dict[str, LoadResult]:
    """Read and clean the given input files; keys are ``"reviews"``, ``"browsing"``, ``"orders"``."""
    if reviews is None and browsing is None and orders is None:
        raise DataValidationError("no input: give --reviews and/or --browsing (and --orders)")
    loaded: dict[str, LoadResult] = {}
    if reviews is not None:
        loaded["reviews"] = load_reviews(reviews, columns=reviews_columns, encoding=encoding, date_format=date_format)
    if browsing is not None:
        loaded["browsing"] = load_browsing(browsing, columns=browsing_columns, encoding=encoding,
                                           date_format=date_format)  # fmt: skip
    if orders is not None:
        loaded["orders"] = load_orders(orders, columns=orders_columns, encoding=encoding, date_format=date_format,
                                       max_amount=max_amount)  # fmt: skip
    return loaded


def stream_documents(
    *,
    reviews: str | os.PathLike[str] | None = None,
    browsing: str | os.PathLike[str] | None = None,
    reviews_columns: Mapping[str, str] | None = None,
    browsing_columns: Mapping[str, str] | None = None,
    encoding: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    date_format: str | None = None,
) -> tuple[DocumentStore, dict[str, StreamedLoad]]:
    """Read reviews and browsing files chunk by chunk into a :class:`DocumentStore` (never whole in memory)."""
    if reviews is None and browsing is None:
        raise DataValidationError("no input: give --reviews and/or --browsing")
    store = DocumentStore(chunk_rows=chunk_rows)
    loads: dict[str, StreamedLoad] = {}
    for kind, path, columns in (("reviews", reviews, reviews_columns), ("browsing", browsing, browsing_columns)):
        if path is None:
            continue
        loads[kind] = StreamedLoad(kind, path, columns=columns, encoding=encoding, chunk_rows=chunk_rows,
                                   date_format=date_format)  # fmt: skip
        for chunk in loads[kind]:
            store.append(build_documents(**{kind: chunk}))
    return store, loads


#: Text inputs from this size on (about 50,000 short reviews) will likely be tokenized by a pool:
#: its fork server is started before reading them (:func:`~topicprofile.text.pool.prestart`).
PRESTART_BYTES = 4_000_000


def _prestart_pool(inputs: Mapping[str, Any], workers: int | None) -> None:
    """Start the tokenizer pool's fork server now, so that its imports (2-3 s) overlap with reading
    and cleaning the input, when a pool is likely: more than one worker asked for, or by default
    on large inputs with a CPU to spare."""
    if workers == 1 or (workers is None and default_workers(10**9) == 1):
        return
    if workers is None:
        size = 0
        for kind in ("reviews", "browsing"):
            try:
                size += os.path.getsize(inputs[kind]) if inputs.get(kind) is not None else 0
            except (OSError, TypeError):
                pass
        if size < PRESTART_BYTES:
            return
    prestart()


def _stream_inputs(
    chunk_rows: int, inputs: Mapping[str, Any], *, as_of: str | None = None
) -> tuple[DocumentStore | None, dict[str, Any]]:
    """Orders loaded whole (one row per order line, they are small), texts streamed into a store."""
    loaded: dict[str, Any] = {}
    if inputs.get("orders") is not None:
        loaded["orders"] = load_orders(
            inputs["orders"], columns=inputs.get("orders_columns"), encoding=inputs.get("encoding"),
            date_format=inputs.get("date_format"), max_amount=inputs.get("max_amount"), as_of=as_of,
        )  # fmt: skip
    store = None
    if inputs.get("reviews") is not None or inputs.get("browsing") is not None or not loaded:
        text_inputs = {k: inputs.get(k) for k in ("reviews", "browsing", "reviews_columns", "browsing_columns",
                                                  "encoding", "date_format")}  # fmt: skip
        store, loads = stream_documents(**text_inputs, chunk_rows=chunk_rows)
        loaded = {**loads, **loaded}
    return store, loaded


def _input_summary(loaded: Mapping[str, LoadResult | StreamedLoad]) -> dict[str, Any]:
    return {
        name: {"file": r.source, "rows": r.n_read, "used": r.n_read - r.n_rejected, "rejected": r.n_rejected}
        for name, r in loaded.items()
    }


def _write_all_rejects(
    loaded: Mapping[str, LoadResult | StreamedLoad], output: Path, *, raw_csv: bool = False
) -> str | None:
    frames = [r.rejects for r in loaded.values() if r.n_rejected]
    if not frames:
        return None
    path = rejects_path_for(output)
    write_rejects_csv(pd.concat(frames, ignore_index=True), path, raw_csv=raw_csv)
    return str(path)


def write_rejects_csv(rejects: pd.DataFrame, path: str | os.PathLike[str], *, raw_csv: bool = False) -> None:
    """:func:`~topicprofile.ingest.load.write_rejects` with the rejected values escaped for spreadsheets
    (:func:`~topicprofile._fs.escape_csv_frame`) unless ``raw_csv``; atomic, umask permissions."""
    rejects = rejects.assign(value=scrub_texts(rejects["value"].tolist())[0])  # privacy hook (issue 14): no PII in rejects
    write_rejects(rejects if raw_csv else escape_csv_frame(rejects), path)


def round_output(table: pd.DataFrame) -> pd.DataFrame:
    """The output table with float noise removed: money columns to cents, other floats (topic
    shares, scores) to 4 places. Applied to CSV and Parquet alike, so both give the same numbers."""
    decimals = {
        name: 2 if name in MONEY_COLUMNS else SHARE_DECIMALS
        for name, dtype in table.dtypes.items()
        if pd.api.types.is_float_dtype(dtype)
    }
    return table.round(decimals) if decimals else table


def _input_paths(inputs: Mapping[str, Any]) -> list[Any]:
    return [inputs.get(kind) for kind in ("reviews", "browsing", "orders")]


def check_output_paths(outputs: Iterable[str | os.PathLike[str]], inputs: Mapping[str, Any]) -> None:
    """Before any work: no output is an input file (same inode) and every output folder is writable."""
    outputs = list(outputs)
    check_outputs_apart(outputs, _input_paths(inputs))
    for folder in {Path(path).parent for path in outputs}:
        check_writable(folder)


def fit_files(
    model_dir: str | os.PathLike[str],
    *,
    profiler: TopicProfiler,
    as_of: str | None = None,
    progress: ProgressCallback | None = None,
    run: RunOptions | None = None,
    **inputs: Any,
) -> dict[str, Any]:
    """Fit ``profiler`` on files and save it to ``model_dir``; rejects go to ``model_dir/rejects.csv``.

    ``inputs`` are :func:`load_inputs` keywords (``reviews=``, ``browsing=``, ``*_columns=``, ``encoding=``,
    ``date_format=``, ``max_amount=``); orders dated after ``as_of`` are rejected. ``run``: how the
    fit runs (workers, chunk size, token cache, and ``dask``: a Dask cluster to train on, an address,
    ``"local[:N]"`` or a ``distributed.Client``; :func:`topicprofile.distributed.open_backend`).
    """
    start = time.perf_counter()
    check_output_paths([Path(model_dir), rejects_path_for(Path(model_dir))], inputs)
    run = profiler.run_options(run)
    with open_backend(run.dask) as backend:  # first: an unreachable scheduler stops the run before any work
        _prestart_pool(inputs, run.workers)
        store, loaded = _stream_inputs(run.chunk_rows, inputs, as_of=as_of)
        if store is None:
            raise DataValidationError("no input: give --reviews and/or --browsing")
        profiler.fit_documents(store, loaded.get("orders"), as_of=as_of, progress=progress, run=run, backend=backend)
    profiler.save(str(model_dir))
    rejects = _write_all_rejects(loaded, Path(model_dir))
    topics = profiler.topics()
    return {
        "model_dir": str(model_dir),
        "inputs": _input_summary(loaded),
        "rejects_file": rejects,
        "n_documents": profiler.n_documents_,
        "n_customers": len(profiler.profiles_),
        "n_tagged": int((profiler.profiles_["top_interest"] != "").sum()),
        "n_terms": len(profiler.dictionary_),
        "coherence": profiler.coherence_,
        "topics": topics[["topic", "label", "prevalence", "c_npmi"]].to_dict(orient="records"),
        "segments": [_segment_summary(card) for card in profiler.segment_cards_],
        "seconds": round(time.perf_counter() - start, 2),
    }


def _segment_summary(card: Mapping[str, Any]) -> dict[str, Any]:
    return {"segment_id": card["segment_id"], "name": card["name"], "size": card["size"]}


def tag_files(
    model_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    as_of: str | None = None,
    progress: ProgressCallback | None = None,
    workers: int | None = None,
    raw_csv: bool = False,
    run: RunOptions | None = None,
    **inputs: Any,
) -> dict[str, Any]:
    """Tag the customers in the input files with a saved model and write one row per customer to ``out``.

    The files are streamed in chunks of ``run.chunk_rows`` documents (``run``: a
    :class:`~topicprofile.config.RunOptions`, default ``RunOptions(workers=workers)``; ``workers``
    tokenizer processes, None: by machine and size). The output is written in blocks of
    ``run.chunk_rows`` customers (:meth:`TopicProfiler.iter_profiles`) and appears whole when done (atomic rename).
    Before any work, an output that is one of the inputs or an unwritable output folder is refused
    (:class:`~topicprofile.errors.ConfigError`). CSV cells that a spreadsheet would run as formulas
    are escaped unless ``raw_csv`` (:func:`~topicprofile._fs.escape_csv_frame`). ``run.dask``: tag
    on a Dask cluster, as for :func:`fit_files`.
    """
    start = time.perf_counter()
    check_output_paths([Path(out), rejects_path_for(Path(out))], inputs)
    TableWriter.check_suffix(out)
    profiler = TopicProfiler.load(str(model_dir))
    run = run if run is not None else RunOptions(workers=workers)
    n_customers, n_tagged = 0, 0
    interests: Counter[str] = Counter()
    segments: Counter[str] = Counter()
    with open_backend(run.dask) as backend:  # first: an unreachable scheduler stops the run before any work
        _prestart_pool(inputs, run.workers)
        store, loaded = _stream_inputs(run.chunk_rows, inputs, as_of=as_of)
        blocks = profiler.iter_profiles(store, loaded.get("orders"), as_of=as_of, progress=progress,
                                        block_rows=run.chunk_rows, run=run, backend=backend)  # fmt: skip
        with TableWriter(out, raw_csv=raw_csv) as writer:
            for block in blocks:
                block = round_output(block)
                writer.write(block)
                tagged = block["top_interest"] != ""
                n_customers, n_tagged = n_customers + len(block), n_tagged + int(tagged.sum())
                interests.update(block.loc[tagged, "top_interest"].tolist())
                if "segment_name" in block:
                    segments.update(block["segment_name"].tolist())
    rejects = _write_all_rejects(loaded, Path(out), raw_csv=raw_csv)
    return {
        "out": str(out),
        "inputs": _input_summary(loaded),
        "rejects_file": rejects,
        "n_customers": n_customers,
        "n_tagged": n_tagged,
        "top_interests": dict(interests.most_common()),
        "segments": dict(segments.most_common()),
        "seconds": round(time.perf_counter() - start, 2),
    }


def write_table(table: pd.DataFrame, path: str | os.PathLike[str], *, raw_csv: bool = False) -> None:
    """Write CSV (UTF-8) or Parquet, by extension, atomically (temporary file + ``os.replace``);
    CSV text cells are escaped for spreadsheets unless ``raw_csv``."""
    with TableWriter(path, raw_csv=raw_csv) as writer:
        writer.write(table)


class TableWriter:
    """Write a table block by block to CSV (UTF-8) or Parquet, chosen by the file's extension.

    Blocks go to a temporary file next to ``path``, which replaces ``path`` when the writer is
    closed (:func:`~topicprofile._fs.atomic_path`: readers see the old file or the whole new one,
    never a part; the file gets the umask's permissions). On an error inside the ``with`` block —
    a full disk included — the temporary file is removed and ``path`` is left as it was.
    Every block must have the columns of the first; a Parquet file takes the first block's
    column types. CSV text cells starting like a formula (``=``, ``+``, ``-``, ``@``, tab, CR) get
    a leading ``'`` unless ``raw_csv``; Parquet is typed data and is written as it is.

    Examples
    --------
    >>> with TableWriter("out/profiles.csv") as writer:  # doctest: +SKIP
    ...     for block in profiler.iter_profiles(store):
    ...         writer.write(block)
    """

    SUFFIXES = (".csv", ".parquet", ".pq")

    def __init__(self, path: str | os.PathLike[str], *, raw_csv: bool = False) -> None:
        self.path = Path(path)
        self.suffix = self.check_suffix(path)
        self.raw_csv = raw_csv
        self._columns: list[str] | None = None
        self._parquet: Any = None
        self._schema: Any = None
        self._tmp: Path | None = None
        self._stack: ExitStack | None = None

    @classmethod
    def check_suffix(cls, path: str | os.PathLike[str]) -> str:
        """The output's suffix; :class:`DataValidationError` unless it is ``.csv`` or ``.parquet``."""
        suffix = Path(path).suffix.lower()
        if suffix not in cls.SUFFIXES:
            raise DataValidationError(f"{Path(path)}: output must end in .csv or .parquet")
        return suffix

    def __enter__(self) -> TableWriter:
        self._stack = ExitStack()
        self._tmp = self._stack.enter_context(atomic_path(self.path))
        return self

    def write(self, block: pd.DataFrame) -> None:
        """Append a block of rows (the first block also sets the header / schema)."""
        if self._tmp is None:
            raise RuntimeError("TableWriter.write() outside its `with` block")
        first = self._columns is None
        if first:
            self._columns = list(block.columns)
        elif list(block.columns) != self._columns:
            raise ValueError(f"{self.path}: a block's columns differ from the first block's")
        if self.suffix == ".csv":
            text = block if self.raw_csv else escape_csv_frame(block)
            with open(self._tmp, "a" if not first else "w", encoding="utf-8", newline="") as fh:
                text.to_csv(fh, index=False, header=first, lineterminator="\r\n")  # RFC 4180: a lone CR is quoted
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        if first:
            table = pa.Table.from_pandas(block, preserve_index=False)
            self._schema = table.schema
            self._parquet = pq.ParquetWriter(str(self._tmp), self._schema)
        else:
            table = pa.Table.from_pandas(block, schema=self._schema, preserve_index=False)
        self._parquet.write_table(table)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool | None:
        assert self._stack is not None
        stack, self._stack, self._tmp = self._stack, None, None
        with stack:  # publishes the file on success, removes the temporary file on any error
            if self._parquet is not None:
                self._parquet.close()
            if exc_type is None and self._columns is None:
                raise ValueError(f"{self.path}: nothing was written")
            if exc_type is not None:
                raise exc
        return None
