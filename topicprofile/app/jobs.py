"""File-level jobs shared by the CLI, the demo and ``scripts/``: read files, fit or tag, write outputs.

Each function reads the user's files with the loaders (keeping their rejects), calls the
:class:`~topicprofile.TopicProfiler`, writes outputs atomically and returns a summary dict that the
CLI prints as a table or as JSON.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from topicprofile._fs import check_outputs_apart, check_writable
from topicprofile.actions.clv import clv_columns
from topicprofile.app.privacy import model_id_key, privacy_summary, pseudonymized, scrub_settings
from topicprofile.app.profile_db import (
    customers_rejects_path,
    prepare_db,
    pseudonymous_identifiers,
    stored_behavior,
    with_churn,
    write_run,
)
from topicprofile.app.tables import TableWriter, round_output, write_rejects_csv, write_table
from topicprofile.config import RunOptions
from topicprofile.distributed import DaskBackend, open_backend
from topicprofile.distributed.ingest import cluster_read
from topicprofile.errors import DataValidationError
from topicprofile.ingest.docstore import DEFAULT_CHUNK_ROWS, DocumentStore
from topicprofile.ingest.inputs import FileSetLoad, InputPaths, file_documents, input_files
from topicprofile.ingest.load import (
    LoadResult,
    StreamedLoad,
    load_browsing,
    load_orders,
    load_reviews,
    rejects_path_for,
)
from topicprofile.privacy.names import NameScrubber, name_scrubber
from topicprofile.privacy.pseudonym import pseudonymize_rejects
from topicprofile.privacy.scrub import SCRUB_COUNTS_ATTR  # privacy (#14)
from topicprofile.profiler import ProgressCallback, TopicProfiler
from topicprofile.text.pool_size import default_workers
from topicprofile.text.pool_start import prestart

__all__ = [
    "TableWriter",
    "churn_columns",
    "fit_files",
    "load_inputs",
    "round_output",
    "stream_documents",
    "tag_files",
    "write_rejects_csv",
    "write_table",
]


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
    reviews: InputPaths | None = None,
    browsing: InputPaths | None = None,
    reviews_columns: Mapping[str, str] | None = None,
    browsing_columns: Mapping[str, str] | None = None,
    encoding: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    date_format: str | None = None,
    scrub: bool = True,
    id_key: bytes | None = None,
    scrub_counts: Counter[str] | None = None,
    names: NameScrubber | None = None,
    backend: DaskBackend | None = None,
) -> tuple[DocumentStore, dict[str, Any]]:
    """Read reviews and browsing files chunk by chunk into a :class:`DocumentStore` (never whole in memory);
    texts scrubbed unless ``scrub`` is False (counts added to ``scrub_counts``; names of people too with
    ``names``, :func:`~topicprofile.privacy.names.name_scrubber`), ids pseudonymised with ``id_key``.

    ``reviews`` and ``browsing`` are each a file, a folder, a glob pattern or a list of them
    (:func:`~topicprofile.ingest.inputs.input_files`), read file after file. With ``backend`` the
    workers read, clean and scrub the files, one task per file (:func:`~topicprofile.distributed.ingest.cluster_read`)."""
    if reviews is None and browsing is None:
        raise DataValidationError("no input: give --reviews and/or --browsing")
    store = DocumentStore(chunk_rows=chunk_rows)
    loads: dict[str, Any] = {}
    for kind, path, columns in (("reviews", reviews, reviews_columns), ("browsing", browsing, browsing_columns)):
        if path is None:
            continue
        files = input_files(path, name=kind)
        read = {"columns": columns, "encoding": encoding, "chunk_rows": chunk_rows, "date_format": date_format}
        if backend is not None:
            loads[kind] = cluster_read(backend, store, kind, files, read=read, scrub=scrub, id_key=id_key,
                                       names=names, scrub_counts=scrub_counts)  # fmt: skip
            continue
        loads[kind] = FileSetLoad(kind, files, **read)
        for load in loads[kind].loads:
            store.new_part()  # the fingerprint's parts: one per input file
            for docs in file_documents(iter(load), kind, scrub=scrub, id_key=id_key, names=names):
                if scrub_counts is not None and scrub:
                    scrub_counts.update(docs.attrs[SCRUB_COUNTS_ATTR])
                store.append(docs)
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
    chunk_rows: int, inputs: Mapping[str, Any], *, as_of: str | None = None, scrub: bool = True,
    id_key: bytes | None = None, scrub_counts: Counter[str] | None = None, names: NameScrubber | None = None,
    backend: DaskBackend | None = None,
) -> tuple[DocumentStore | None, dict[str, Any]]:
    """Orders loaded whole (one row per order line, they are small), texts streamed into a store."""
    loaded: dict[str, Any] = {}
    if inputs.get("orders") is not None:
        loaded["orders"] = pseudonymized(load_orders(
            inputs["orders"], columns=inputs.get("orders_columns"), encoding=inputs.get("encoding"),
            date_format=inputs.get("date_format"), max_amount=inputs.get("max_amount"), as_of=as_of,
        ), id_key)  # fmt: skip
    store = None
    if inputs.get("reviews") is not None or inputs.get("browsing") is not None or not loaded:
        text_inputs = {k: inputs.get(k) for k in ("reviews", "browsing", "reviews_columns", "browsing_columns",
                                                  "encoding", "date_format")}  # fmt: skip
        store, loads = stream_documents(**text_inputs, chunk_rows=chunk_rows, scrub=scrub, id_key=id_key,
                                        scrub_counts=scrub_counts, names=names, backend=backend)  # fmt: skip
        loaded = {**loads, **loaded}
    return store, loaded


def _input_summary(loaded: Mapping[str, LoadResult | StreamedLoad]) -> dict[str, Any]:
    return {
        name: {"file": r.source, "rows": r.n_read, "used": r.n_read - r.n_rejected, "rejected": r.n_rejected}
        for name, r in loaded.items()
    }


def _write_all_rejects(
    loaded: Mapping[str, LoadResult | StreamedLoad], output: Path, *, raw_csv: bool = False, id_key: bytes | None = None
) -> str | None:
    frames = [r.rejects if id_key is None else pseudonymize_rejects(r.rejects, id_key)
              for r in loaded.values() if r.n_rejected]  # fmt: skip
    if not frames:
        return None
    path = rejects_path_for(output)
    write_rejects_csv(pd.concat(frames, ignore_index=True), path, raw_csv=raw_csv)
    return str(path)


def _input_paths(inputs: Mapping[str, Any]) -> list[Any]:
    """Every input file (a folder's or a pattern's files too; one that matches nothing fails later)."""
    paths: list[Any] = []
    for kind in ("reviews", "browsing", "orders"):
        try:
            paths += input_files(inputs[kind]) if inputs.get(kind) is not None else []
        except DataValidationError:
            pass
    return paths


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
    previous: str | os.PathLike[str] | None = None,
    id_key: bytes | None = None,
    **inputs: Any,
) -> dict[str, Any]:
    """Fit ``profiler`` on files and save it to ``model_dir``; rejects go to ``model_dir/rejects.csv``.

    With ``previous`` (a saved model, often ``model_dir``) matched topics keep its ids and user labels;
    ``topic_changes`` in the summary and the manifest (:mod:`topicprofile.topics.matching`).
    ``inputs`` are :func:`load_inputs` keywords (``reviews=``, ``browsing=``, ``*_columns=``, ``encoding=``,
    ``date_format=``, ``max_amount=``); orders dated after ``as_of`` are rejected. ``run``: how the
    fit runs (workers, chunk size, token cache, and ``dask``: a Dask cluster to train on, an address,
    ``"local[:N]"`` or a ``distributed.Client``; :class:`~topicprofile.config.RunOptions`,
    :func:`topicprofile.distributed.open_backend`). Texts are scrubbed as
    ``profiler.scrub`` says; with ``id_key`` every id is pseudonymised before anything is stored (never the key).
    """
    start = time.perf_counter()
    check_output_paths([Path(model_dir), rejects_path_for(Path(model_dir))], inputs)
    run = profiler.run_options(run)
    with open_backend(run.dask) as backend:  # first: an unreachable scheduler stops the run before any work
        _prestart_pool(inputs, run.workers)
        before = None if previous is None else TopicProfiler.load(str(previous))  # a bad folder fails first
        counts: Counter[str] = Counter()
        names = name_scrubber(profiler.scrub_names) if profiler.scrub else None
        store, loaded = _stream_inputs(run.chunk_rows, inputs, as_of=as_of, scrub=profiler.scrub, id_key=id_key,
                                       scrub_counts=counts, names=names, backend=backend)  # fmt: skip
        if store is None:
            raise DataValidationError("no input: give --reviews and/or --browsing")
        privacy = privacy_summary(profiler.scrub, counts, id_key, scrub_names=profiler.scrub_names)
        profiler.fit_documents(store, loaded.get("orders"), as_of=as_of, progress=progress, run=run, previous=before,
                               privacy=privacy, backend=backend)  # fmt: skip
    profiler.save(str(model_dir))
    rejects = _write_all_rejects(loaded, Path(model_dir), id_key=id_key)
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
        "topic_changes": profiler.topic_changes_,
        "privacy": privacy,
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
    db: str | os.PathLike[str] | None = None,
    customers: str | os.PathLike[str] | None = None,
    region: str | None = None,
    scrub: bool = True,
    scrub_names: str | None = None,
    id_key: bytes | None = None,
    **inputs: Any,
) -> dict[str, Any]:
    """Tag the customers in the input files with a saved model and write one row per customer to ``out``.

    The files are streamed in chunks of ``run.chunk_rows`` documents (``run``: a
    :class:`~topicprofile.config.RunOptions`, default ``RunOptions(workers=workers)``; ``workers``
    tokenizer processes, None: by machine and size). The output is written in blocks of
    ``run.chunk_rows`` customers (:meth:`TopicProfiler.iter_profiles`) and appears whole when done (atomic rename).
    Before any work, an output that is one of the inputs or an unwritable output folder is refused
    (:class:`~topicprofile.errors.ConfigError`). CSV cells that a spreadsheet would run as formulas
    are escaped unless ``raw_csv`` (:func:`~topicprofile._fs.escape_csv_frame`).

    With ``db`` the profiles (and the ``customers`` export's identifiers) are also upserted into
    that profile database before ``out`` is published (:func:`~topicprofile.app.profile_db.write_run`).

    Texts are scrubbed unless ``scrub`` is False, names of people with the spaCy pipeline in ``scrub_names``
    (None: the model's own, :func:`~topicprofile.app.privacy.scrub_settings`); ids pseudonymised with ``id_key`` (a pseudonymous model
    needs its own: ``model_id_key``).

    ``run.dask``: tag on a Dask cluster, as for :func:`fit_files`.
    """
    start = time.perf_counter()
    customers_rejects = customers_rejects_path(out) if customers is not None else None
    check_output_paths([p for p in (Path(out), rejects_path_for(Path(out)), customers_rejects) if p], inputs)
    TableWriter.check_suffix(out)
    identifiers, rejected = prepare_db(db, customers, region=region)
    profiler = TopicProfiler.load(str(model_dir))
    profiler.set_params(**scrub_settings(profiler.get_params(), scrub=scrub, scrub_names=scrub_names))
    id_key = model_id_key(profiler.privacy_, id_key)
    identifiers, rejected = pseudonymous_identifiers(identifiers, rejected, id_key)
    if rejected is not None and customers_rejects is not None:
        customers_rejects.unlink(missing_ok=True)  # an old run's would describe another file
        if len(rejected):
            write_rejects_csv(rejected, customers_rejects, raw_csv=raw_csv)
    run = run if run is not None else RunOptions(workers=workers)
    n_customers, n_tagged = 0, 0
    interests: Counter[str] = Counter()
    segments: Counter[str] = Counter()
    with open_backend(run.dask) as backend:  # first: an unreachable scheduler stops the run before any work
        _prestart_pool(inputs, run.workers)
        counts: Counter[str] = Counter()
        store, loaded = _stream_inputs(run.chunk_rows, inputs, as_of=as_of, scrub=scrub, id_key=id_key,
                                       scrub_counts=counts, names=name_scrubber(profiler.scrub_names),
                                       backend=backend)  # fmt: skip
        orders = loaded.get("orders")
        rfm, clv = None, churn_columns(orders, as_of)
        if db is not None and orders is None and store is not None:  # they keep what the database knows of
            rfm, clv = stored_behavior(db, sorted(set(store.iter_column("customer_id"))))  # their orders
        blocks = profiler.iter_profiles(store, orders, as_of=as_of, progress=progress, block_rows=run.chunk_rows,
                                        run=run, backend=backend, rfm=rfm)  # fmt: skip
        kept: list[pd.DataFrame] = []  # for the database: the numbers, before CSV escaping
        with TableWriter(out, raw_csv=raw_csv) as writer:
            for block in blocks:
                block = with_churn(block, clv)
                writer.write(block)
                kept += [block] if db is not None else []
                tagged = block["top_interest"] != ""
                n_customers, n_tagged = n_customers + len(block), n_tagged + int(tagged.sum())
                interests.update(block.loc[tagged, "top_interest"].tolist())
                if "segment_name" in block:
                    segments.update(block["segment_name"].tolist())
            # inside the writer: a failed upsert leaves the old output file too
            extra = write_run(db, kept, model_dir=model_dir, inputs=_input_summary(loaded), identifiers=identifiers,
                              customers_rejects=customers_rejects)  # fmt: skip
    rejects = _write_all_rejects(loaded, Path(out), raw_csv=raw_csv, id_key=id_key)
    return {
        "out": str(out),
        "inputs": _input_summary(loaded),
        "rejects_file": rejects,
        "n_customers": n_customers,
        "n_tagged": n_tagged,
        "top_interests": dict(interests.most_common()),
        "segments": dict(segments.most_common()),
        **extra,
        "privacy": privacy_summary(scrub, counts, id_key, scrub_names=profiler.scrub_names),
        "seconds": round(time.perf_counter() - start, 2),
    }


def churn_columns(orders: Any, as_of: str | None) -> pd.DataFrame | None:
    """Churn and lifetime-value columns (BG/NBD + Gamma-Gamma) when orders are given, else None.

    Orders too thin for the models (no repeat buyers) leave the columns out with a warning."""
    if orders is None:
        return None
    try:
        return clv_columns(getattr(orders, "data", orders), as_of=as_of)
    except DataValidationError as e:
        logging.getLogger(__name__).warning("no p_alive / clv_12m columns: %s", e)
        return None
