"""Batch tagging: tag every new or changed review export in a folder once, safely from cron.

A shop drops an export a day into a folder; :func:`tag_folder` tags each file it has not seen
with a saved model and keeps everything in one output folder::

    out/
      profiles.csv                        every processed file's profiles: ``source`` (the input
                                          file), then the columns of ``topicprofile tag``
      rejects.csv                         every processed file's rejected rows, with reasons
      ledger.json                         one entry per processed file (see below)
      parts/<file>.<sha12>.csv            one input file's profiles, as ``tag`` writes them
      parts/<file>.<sha12>.rejects.csv    its rejected rows (only when there are some)
      batch.lock                          held by the running batch (``flock``)

A ledger entry records the file's name (relative to the input folder), size, sha256, mtime,
rows read, used and rejected, customers written, its part and rejects files and when it was
finished. A file whose name and sha256 are in the ledger is skipped; a file whose content changed
is tagged again and its new part replaces the old one; a file that fails (missing column, all rows
rejected...) is reported, left out of the ledger and tried again on the next run. Files that
disappear from the input folder keep their profiles: the output is a history, not a mirror.

Crash safety. The ledger is the commit point, and every step before it is idempotent:

1. hash the file (before reading it, so a file still being written is seen as changed next time);
2. tag it and write its part and rejects part, each atomically (temporary file, ``fsync``,
   ``os.replace``), under a name fixed by the file's name and content hash;
3. with ``--db``, upsert its profiles into the profile database (one transaction; writing the
   same rows again changes nothing but the runs table);
4. replace ``ledger.json`` atomically with the new entry;

and after all files, rebuild ``profiles.csv`` / ``rejects.csv`` from the parts the ledger names,
then delete parts the ledger does not name. A crash before step 4 leaves at most a part nobody
reads (and database rows the next run writes again, identically); the next run tags the file again and writes the same bytes under the same name (or, if
the file changed meanwhile, the end-of-run sweep deletes the stray part). A crash
after step 4 but before the views are rebuilt is repaired by the next run, which rebuilds views
older than the ledger. So a run after a crash gives exactly the output of a run without one.

Two runs on one output folder never work at once: the second finds ``batch.lock`` locked and
raises :class:`~topicprofile.errors.TopicProfileError` without touching anything. The lock is an
``flock`` on an open file, so the system releases it when a run dies; there is no stale lock file
to delete. All parts of one folder come from one model and one format; the ledger records both
and a run with another model (refitted or relabelled) asks for a new output folder.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from topicprofile._fs import check_outputs_apart, check_writable
from topicprofile.app.batch_ledger import (
    check_compatible,
    check_out_folder,
    file_facts,
    model_fingerprint,
    parts_exist,
    read_ledger,
    write_ledger,
)
from topicprofile.app.batch_lock import batch_lock
from topicprofile.app.batch_views import LEDGER, PARTS, read_part, refresh_views, sweep, unescaped
from topicprofile.app.jobs import stream_documents
from topicprofile.app.privacy import model_id_key, scrub_settings
from topicprofile.app.profile_db import (
    DbSink,
    load_identifiers,
    pseudonymous_identifiers,
    stored_behavior,
    with_churn,
)
from topicprofile.app.tables import write_rejects_csv, write_table
from topicprofile.distributed import DaskBackend, open_backend
from topicprofile.errors import ClusterError, ConfigError, DataValidationError, TopicProfileError
from topicprofile.ingest.inputs import has_table_suffix
from topicprofile.ingest.load import load_reviews, rejects_path_for
from topicprofile.privacy.names import name_scrubber
from topicprofile.privacy.pseudonym import pseudonymize_frame, pseudonymize_rejects
from topicprofile.profiler import ProgressCallback, TopicProfiler
from topicprofile.schema import CUSTOMER_ID, SOURCE
from topicprofile.store import read_manifest

__all__ = ["DEFAULT_SUFFIXES", "batch_lock", "find_inputs", "summary_line", "tag_folder"]

logger = logging.getLogger(__name__)

CUSTOMERS_REJECTS = "customers.rejects.csv"
FORMATS = ("csv", "parquet")
#: File types picked up without ``pattern``; the text formats may also end in .gz or .bz2.
DEFAULT_SUFFIXES = (".csv", ".tsv", ".jsonl", ".parquet")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

FileCallback = Callable[[dict[str, Any]], None]


# -- discovery ----------------------------------------------------------------------------------
def find_inputs(
    input_dir: str | os.PathLike[str],
    *,
    pattern: str | None = None,
    exclude: str | os.PathLike[str] | None = None,
) -> list[Path]:
    """The export files in ``input_dir``, sorted by name.

    ``pattern`` is a glob relative to ``input_dir`` (``"reviews_*.csv"``, ``"**/*.jsonl"``); without
    it, the files ending in one of `DEFAULT_SUFFIXES` (optionally .gz/.bz2, not .parquet.gz).
    Hidden files (``.name``), spreadsheet lock files (``~$name``) and anything under ``exclude``
    (the output folder) are never picked.
    """
    folder = Path(input_dir)
    if not folder.is_dir():
        raise DataValidationError(f"{folder}: input folder not found (looked for {folder.absolute()}).")
    skip = Path(exclude).resolve() if exclude is not None else None
    found = folder.glob(pattern) if pattern else (p for p in folder.iterdir() if _has_default_suffix(p))
    paths = []
    for path in found:
        if not path.is_file() or path.name.startswith((".", "~$")):
            continue
        if skip is not None and path.resolve().is_relative_to(skip):
            continue
        paths.append(path)
    return sorted(paths, key=lambda p: p.relative_to(folder).as_posix())


def _has_default_suffix(path: Path) -> bool:
    return has_table_suffix(path, DEFAULT_SUFFIXES)


# -- the run ------------------------------------------------------------------------------------
def tag_folder(
    input_dir: str | os.PathLike[str],
    *,
    model_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    pattern: str | None = None,
    columns: str | Mapping[str, str] | None = None,
    encoding: str | None = None,
    fmt: str = "csv",
    raw_csv: bool = False,
    progress: ProgressCallback | None = None,
    date_format: str | None = None,
    on_file: FileCallback | None = None,
    db: str | os.PathLike[str] | None = None,
    customers: str | os.PathLike[str] | None = None,
    region: str | None = None,
    scrub: bool = True,
    id_key: bytes | None = None,
    dask: Any = None,
    scrub_names: str | None = None,
) -> dict[str, Any]:
    """Tag the review exports in ``input_dir`` not tagged yet and add their profiles to ``out``.

    Parameters
    ----------
    input_dir : path
        Folder the exports are dropped into (reviews files, see `load_reviews`).
    model_dir : path
        A model saved by ``topicprofile fit``.
    out : path
        Output folder (layout in the module docstring); created if needed.
    pattern : str, optional
        Glob of the files to take, relative to ``input_dir``; default see `find_inputs`.
    columns, encoding, date_format
        As for `load_reviews`, for every file.
    fmt : {"csv", "parquet"}
        Format of the parts and of ``profiles.<fmt>``.
    raw_csv : bool
        Write CSV cells as they are; by default text that a spreadsheet would run as a formula
        gets a leading ``'`` (:func:`~topicprofile._fs.escape_csv_frame`). Recorded in the
        ledger: one output folder is either escaped or raw.
    progress : callable, optional
        ``progress("files", done, total)`` after each file.
    on_file : callable, optional
        Called with each file's summary as soon as it is known.
    db : path, optional
        Also upsert each file's profiles into this profile database, after its part is written
        and before its ledger entry (a crash in between tags the file again next run and writes
        the same rows: nothing lost, nothing twice). Files the ledger has as done but not in
        this database are added from their parts.
    customers, region
        A customer export whose validated identifiers go into ``db`` (rejects to
        ``out/customers.rejects.csv``); ``region`` for phones without ``+code``.
    scrub, id_key
        Scrub personal data from the texts (default); pseudonymise customer ids with this key
        (required, the model's own, for a model fitted on pseudonymous ids: see ``model_id_key``).
    scrub_names : path or None
        Folder of a spaCy pipeline with NER to replace names of people (None: the model's own; see ``scrub_settings``).
    dask : str, distributed.Client or None
        Tag on a Dask cluster (:func:`topicprofile.distributed.open_backend`); the parts are the same.

    Returns
    -------
    dict
        ``files``: one summary per matched file, by name, with ``file``, ``status`` (``new``,
        ``changed``, ``done`` = skipped, ``failed``), ``n_read``, ``n_used``, ``n_rejected``,
        ``n_customers``, ``part``, ``rejects_file``, ``finished_at``, ``seconds`` (and ``error`` when
        failed); ``n_new``, ``n_changed``, ``n_done``, ``n_failed``; ``profiles`` and ``rejects_file``
        (the combined views, None when empty), ``n_profile_rows``, ``ledger``, ``seconds``.

    Raises
    ------
    TopicProfileError
        Another run holds the lock (nothing is done).
    ConfigError
        ``out`` holds output of another model, format or CSV escaping, is not a batch output
        folder, is not writable, or holds a file that is one of the inputs (a hard link).
    DataValidationError, ModelError
        The input folder or the model is missing. A bad *file* does not raise: it is ``failed``.

    Examples
    --------
    >>> summary = tag_folder("exports/", model_dir="models/shop", out="out/")  # doctest: +SKIP
    >>> [f["status"] for f in summary["files"]]  # doctest: +SKIP
    ['done', 'done', 'new']
    """
    start = time.perf_counter()
    out = Path(out)
    if fmt not in FORMATS:
        raise ConfigError(f"unknown output format {fmt!r}; use one of: {', '.join(FORMATS)}")
    check_out_folder(out)
    manifest = read_manifest(model_dir)  # wrong folders fail before anything is created
    if customers is not None and db is None:
        raise ConfigError("--customers loads identifiers into the profile database: pass --db PATH too")
    paths = find_inputs(input_dir, pattern=pattern, exclude=out)  # a file dropped later waits a run
    check_writable(out)
    if out.is_dir():  # an input hard-linked into the output folder would be overwritten
        check_outputs_apart((p for p in out.rglob("*") if p.is_file()), paths)
    report = progress or (lambda step, done, total: None)
    with batch_lock(out), open_backend(dask) as backend:
        profiler = TopicProfiler.load(str(model_dir))
        profiler.set_params(**scrub_settings(profiler.get_params(), scrub=scrub, scrub_names=scrub_names))
        name_scrubber(profiler.scrub_names)  # a missing privacy extra stops the run, not each file
        id_key = model_id_key(profiler.privacy_, id_key)
        ledger = read_ledger(out)
        check_compatible(ledger, out, model=model_fingerprint(model_dir), fmt=fmt, raw_csv=raw_csv)
        sink = None if db is None else DbSink(db, manifest)
        if customers is not None and sink is not None:
            identifiers, rejected = pseudonymous_identifiers(
                *load_identifiers(customers, region=region), id_key
            )
            if len(rejected):
                write_rejects_csv(rejected, out / CUSTOMERS_REJECTS, raw_csv=raw_csv)
            else:
                (out / CUSTOMERS_REJECTS).unlink(missing_ok=True)
            sink.write_identifiers(identifiers)
        files: list[dict[str, Any]] = []
        report("files", 0, len(paths))
        for i, path in enumerate(paths, 1):
            name = path.relative_to(input_dir).as_posix()
            result = _tag_file(path, name, ledger, profiler, out, sink, id_key=id_key, backend=backend, columns=columns, encoding=encoding,
                               date_format=date_format)  # fmt: skip
            files.append(result)
            if on_file is not None:
                on_file(result)
            report("files", i, len(paths))
        changed = any(f["status"] in ("new", "changed") for f in files)
        views = refresh_views(out, ledger, fmt=fmt, changed=changed, raw_csv=raw_csv)
        sweep(out, ledger)
    counts = {f"n_{s}": sum(f["status"] == s for f in files) for s in ("new", "changed", "done", "failed")}
    if sink is not None:
        views["db"] = {"path": str(sink.path), "n_rows": sink.n_rows}
    return {"input_dir": str(input_dir), "out": str(out), "files": files, **counts, **views,
            "ledger": str(out / LEDGER), "seconds": round(time.perf_counter() - start, 2)}  # fmt: skip


def _profile_file(
    path: Path, profiler: TopicProfiler, *, id_key: bytes | None, backend: DaskBackend | None, db: Path | None = None,
    columns: Mapping[str, str] | None = None, encoding: str | None = None, date_format: str | None = None,
) -> tuple[pd.DataFrame, Any]:  # fmt: skip
    """One file's profiles and its load (``n_read``, ``n_rejected``, ``rejects``; ids pseudonymised
    with ``id_key`` before anything is written, issue 14): read whole here, or with ``backend`` read,
    cleaned, scrubbed and tagged on the workers (one partition; only the text-less columns, counts and
    topics reach this machine, docs/distributed.md). With the profile database ``db``, the customers
    keep the RFM, churn and value columns it holds for them (a batch has no orders)."""
    if backend is None:
        loaded = load_reviews(path, columns=columns, encoding=encoding, date_format=date_format)
        if id_key is not None:
            loaded = dataclasses.replace(loaded, data=pseudonymize_frame(loaded.data, id_key),
                                         rejects=pseudonymize_rejects(loaded.rejects, id_key))  # fmt: skip
        rfm, churn = (None, None) if db is None else stored_behavior(db, loaded.data[CUSTOMER_ID].unique())
        return with_churn(profiler.profile(loaded, rfm=rfm), churn), loaded
    names = name_scrubber(profiler.scrub_names) if profiler.scrub else None
    store, loads = stream_documents(reviews=path, reviews_columns=columns, encoding=encoding, date_format=date_format,
                                    chunk_rows=profiler.run_options().chunk_rows, scrub=profiler.scrub, id_key=id_key,
                                    names=names, backend=backend)  # fmt: skip
    loaded = loads["reviews"]
    if id_key is not None:
        loaded.rejects = pseudonymize_rejects(loaded.rejects, id_key)
    rfm, churn = (None, None) if db is None else stored_behavior(db, sorted(set(store.iter_column(CUSTOMER_ID))))
    (table,) = profiler.iter_profiles(store, block_rows=None, backend=backend, rfm=rfm)
    return with_churn(table, churn), loaded


def _tag_file(
    path: Path, name: str, ledger: dict[str, Any], profiler: TopicProfiler, out: Path, sink: DbSink | None, *,
    id_key: bytes | None = None, backend: DaskBackend | None = None, **load: Any,
) -> dict[str, Any]:  # fmt: skip
    """Tag one file unless the ledger has it; commit its entry; return its summary."""
    start = time.perf_counter()
    facts = file_facts(path)  # hashed before reading: a file still growing is 'changed' next run
    entries = ledger["files"]
    done = entries.get(name)
    if done is not None and done["sha256"] == facts["sha256"] and parts_exist(out, done):
        if sink is not None and done.get("db") != sink.key:  # tagged before --db (or for another file)
            sink.write(unescaped(read_part(out / done["part"]), ledger), name, facts)
            entries[name] = {**done, "db": sink.key}
            write_ledger(out, ledger)
        return {**entries[name], "status": "done", "seconds": 0.0}
    status = "new" if done is None or done["sha256"] == facts["sha256"] else "changed"
    try:
        db = None if sink is None else sink.path
        profiles, loaded = _profile_file(path, profiler, id_key=id_key, backend=backend, db=db, **load)
    except ClusterError:
        raise  # the cluster, not this file: stop the run (the ledger keeps what is done)
    except TopicProfileError as e:
        logger.info("%s: failed: %s", name, e)
        return {"file": name, "status": "failed", "error": str(e), "seconds": _since(start)}
    part = Path(PARTS) / f"{_UNSAFE.sub('_', name)}.{facts['sha256'][:12]}.{ledger['format']}"
    raw_csv = ledger.get("csv") == "raw"
    write_table(profiles, out / part, raw_csv=raw_csv)
    rejects_file = rejects_path_for(part) if loaded.n_rejected else None
    if rejects_file is not None:
        rejects = loaded.rejects.assign(**{SOURCE: name})  # the name relative to the input folder
        write_rejects_csv(rejects, out / rejects_file, raw_csv=raw_csv)
    if sink is not None:  # after the part, before the ledger's commit point
        sink.write(profiles, name, facts)
    entry = {
        "file": name, **facts,
        "n_read": loaded.n_read, "n_used": loaded.n_read - loaded.n_rejected, "n_rejected": loaded.n_rejected,
        "n_customers": len(profiles), "part": part.as_posix(),
        "rejects_file": None if rejects_file is None else rejects_file.as_posix(), "finished_at": _now(),
        **({} if sink is None else {"db": sink.key}),
    }  # fmt: skip
    entries[name] = entry
    write_ledger(out, ledger)  # the commit point
    logger.info("%s: %s, %d customers -> %s", name, status, len(profiles), part)
    return {**entry, "status": status, "seconds": _since(start)}


# -- small helpers ------------------------------------------------------------------------------
def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _since(start: float) -> float:
    return round(time.perf_counter() - start, 2)


def summary_line(result: Mapping[str, Any], *, out: str | os.PathLike[str] | None = None) -> str:
    """One line for a file summary of `tag_folder` (what the CLI and ``scripts/batch_tag.py`` print).

    ``reviews_2026-11-20.csv: 1,204 rows, 1,190 used, 14 rejected, 873 customers → out/parts/...``
    """
    name, status = result["file"], result["status"]
    if status == "failed":
        return f"{name}: failed: {result['error']}"
    if status == "done":
        return f"{name}: already done ({result['finished_at']})"
    part = Path(out) / result["part"] if out is not None else result["part"]
    line = (
        f"{name}: {result['n_read']:,} rows, {result['n_used']:,} used, {result['n_rejected']:,} rejected, "
        f"{result['n_customers']:,} customers → {part}"
    )
    return line + (" (changed: replaces its earlier profiles)" if status == "changed" else "")
