"""Input files read on the cluster: one task per file reads, cleans, pseudonymises and scrubs it.

Each file is a partition: a worker runs exactly the local path on it
(:func:`~topicprofile.distributed.tasks.read_file`: :class:`~topicprofile.ingest.load.StreamedLoad`
in chunks of ``chunk_rows`` rows, :func:`~topicprofile.ingest.inputs.file_documents`, the document
store's shards), so the cleaned documents, their shard boundaries and the file's fingerprint part are
the local run's. The driver fetches only each file's summary (rows read, rejects with their file and
row, scrub counts, shard sizes, fingerprint part). The shards stay on the cluster, one future each,
which the tokenizing, counting, tagging and snippet tasks take as their input (:func:`chunk_sources`);
with ``DaskBackend(shares_files=True)`` the workers write them as Parquet into the store's folder
instead (the futures then hold their paths).

The texts never come to the driver: its store receives each shard without its text column
(:func:`~topicprofile.distributed.tasks.project`: customer, channel, date, month, rating), which is
what the steps on the driver read (adding topics up per customer, the forget record); the language
check fetches its bounded sample from the first shards (:func:`text_sample`), and the snippets a
model keeps are picked on the workers (:mod:`.snippets`).
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from topicprofile import schema
from topicprofile.distributed import tasks
from topicprofile.distributed.cluster import DaskBackend
from topicprofile.errors import DataValidationError
from topicprofile.ingest.docstore import DocumentStore
from topicprofile.ingest.inputs import sources_label
from topicprofile.ingest.rejects import Rejector
from topicprofile.privacy.names import NameScrubber
from topicprofile.text.lang import LANG_SAMPLE

__all__ = [
    "ClusterLoad", "chunk_sources", "cluster_read", "held_shards", "hold_chunks", "remote_chunks", "text_sample",
]  # fmt: skip

logger = logging.getLogger(__name__)
#: The attribute of a :class:`DocumentStore` holding its shards' futures on the cluster, in order.
_CHUNKS = "_cluster_chunks"


class ClusterLoad:
    """The summary of one input (its files) read on the cluster: ``source``, ``n_read``,
    ``n_rejected`` and ``rejects``, as :class:`~topicprofile.ingest.inputs.FileSetLoad` has them."""

    def __init__(self, files: Sequence[Path], summaries: list[dict[str, Any]]) -> None:
        self.files = list(files)
        self.source = sources_label(self.files)
        self.n_read = sum(s["n_read"] for s in summaries)
        parts = [s["rejects"] for s in summaries if len(s["rejects"])]
        self.rejects = pd.concat(parts, ignore_index=True) if parts else Rejector(self.source, 0).table()

    @property
    def n_rejected(self) -> int:
        return len(self.rejects)


def cluster_read(
    backend: DaskBackend, store: DocumentStore, kind: str, files: Sequence[Path], *, read: Mapping[str, Any],
    scrub: bool, id_key: bytes | None, names: NameScrubber | None, scrub_counts: Counter[str] | None = None,
) -> ClusterLoad:  # fmt: skip
    """Read ``files`` (one input of ``kind``) on the workers into ``store``, file after file.

    The workers must reach the files at the same paths (a ``LocalCluster``, or shared storage); the
    name scrubber travels as its pipeline folder (``names.model_path``) and ``id_key`` inside the
    tasks. Raises :class:`~topicprofile.errors.DataValidationError` for a file that does not exist
    here, before any task runs; a file's own errors (a bad column, every row rejected) come back as
    the local run raises them."""
    for path in files:
        if not path.is_file():
            raise DataValidationError(f"{path}: {kind} file not found (looked for {path.absolute()}).")
    run_id = uuid.uuid4().hex[:8]
    privacy = {"scrub": scrub, "id_key": id_key, "names": None if names is None else str(names.model_path)}
    results = []
    for i, path in enumerate(files):
        out = None
        if backend.shares_files:
            out = store.directory / f"in-{kind}-{run_id}-{i:06d}"
            out.mkdir()
        results.append(backend.submit(tasks.read_file, kind, str(path.absolute()), dict(read), privacy,
                                      None if out is None else str(out), key=backend.key(f"read-{run_id}", i)))  # fmt: skip
    summaries = []
    chunks = getattr(store, _CHUNKS, [])
    for i, result in enumerate(results):
        summary = backend.result(
            backend.submit(tasks.read_summary, result, key=backend.key(f"summary-{run_id}", i))
        )
        summaries.append(summary)
        if scrub_counts is not None and scrub:
            scrub_counts.update(summary["scrub_counts"])
        pieces = [backend.submit(tasks.piece, result, j, key=backend.key(f"piece-{run_id}-{i}", j))
                  for j in range(len(summary["sizes"]))]  # fmt: skip
        chunks.extend(pieces)
        paths = []  # the shards without their texts, for the driver's steps
        for j, frame in enumerate(backend.ordered(
            lambda j=j, p=p, name=f"project-{run_id}-{i}": backend.submit(tasks.project, p, key=backend.key(name, j))
            for j, p in enumerate(pieces)
        )):  # fmt: skip
            paths.append(store.directory / f"part-{len(store.shard_paths()) + j:06d}.parquet")
            frame.to_parquet(paths[-1], index=False)
        store.add_shards(paths, summary["sizes"], summary["fingerprint"])
    setattr(store, _CHUNKS, chunks)
    _log_rejects(kind, files, summaries)
    return ClusterLoad(files, summaries)


def _log_rejects(kind: str, files: Sequence[Path], summaries: list[dict[str, Any]]) -> None:
    for path, summary in zip(files, summaries, strict=True):
        if len(summary["rejects"]):
            logger.warning("%s: %d of %d rows rejected; see the rejects file", path.name, len(summary["rejects"]),
                           summary["n_read"])  # fmt: skip
        logger.info("%s: read on the cluster, %d %s rows", path.name, summary["n_read"], kind)


def remote_chunks(documents: DocumentStore) -> list[Any] | None:
    """The futures of the shards of ``documents`` the workers read (:func:`cluster_read`), in order;
    None when the store holds its documents itself (texts included)."""
    chunks = getattr(documents, _CHUNKS, None)
    return chunks if chunks is not None and len(chunks) == len(documents.shard_paths()) else None


def chunk_sources(backend: DaskBackend, documents: DocumentStore) -> Iterator[Any]:
    """Each shard of ``documents`` as a task's input: its future when the workers read it
    (:func:`cluster_read`; a frame on the workers, or the path of its Parquet file), else its
    Parquet path when the workers share this machine's files, else the frame."""
    chunks = remote_chunks(documents)
    if chunks is not None:
        return iter(chunks)
    if backend.shares_files:
        return (str(path) for path in documents.shard_paths())
    return documents.chunks()


def held_shards(
    backend: DaskBackend, documents: DocumentStore
) -> tuple[list[str], Iterator[pd.DataFrame]] | None:
    """The whole shards (texts included) of a store the workers read (:func:`cluster_read`), for a
    step that must keep every text on this machine (``update`` saving its new documents): the
    columns of their concatenation, in order of appearance, and the shards fetched one at a time in
    order. None when the store holds its documents itself."""
    chunks = remote_chunks(documents)
    if chunks is None:
        return None
    run_id = uuid.uuid4().hex[:8]
    futures = [backend.submit(tasks.column_names, source, key=backend.key(f"columns-{run_id}", i))
               for i, source in enumerate(chunks)]  # fmt: skip
    names = [backend.result(future) for future in futures]
    columns = list(dict.fromkeys(name for shard in names for name in shard))
    frames = backend.ordered(
        lambda i=i, source=source: backend.submit(tasks.take_rows, source, None, key=backend.key(f"shard-{run_id}", i))
        for i, source in enumerate(chunks)
    )  # fmt: skip
    return columns, frames


def text_sample(backend: DaskBackend | None, documents: DocumentStore, n: int = LANG_SAMPLE) -> Iterable[str]:
    """The first ``n`` texts of ``documents`` (the fit's language check): fetched from the first
    shards on the workers when they hold the texts, else read from the store."""
    chunks = None if backend is None else remote_chunks(documents)
    if chunks is None:
        return documents.iter_column(schema.TEXT)
    texts: list[str] = []
    run_id = uuid.uuid4().hex[:8]
    for i, chunk in enumerate(chunks):
        if len(texts) >= n:
            break
        texts += backend.result(backend.submit(tasks.texts_head, chunk, n - len(texts),
                                               key=backend.key(f"texts-{run_id}", i)))  # fmt: skip
    return texts


def hold_chunks(backend: DaskBackend, store: DocumentStore, *, tail: DocumentStore) -> None:
    """Let the tasks over ``store``, whose last shards are ``tail``'s (added with
    :meth:`DocumentStore.add_shards`), take those where the workers hold them since they read them
    (:func:`cluster_read`: the frames, or with shared files the Parquet files the workers wrote; the
    store's own shards of them hold no texts) instead of sending them again. ``store``'s other shards
    are sent once, to be held there too, or with shared files read by the workers from their files."""
    held = getattr(tail, _CHUNKS, None)
    paths = store.shard_paths()
    if held is None or len(held) != len(tail.shard_paths()) or len(held) > len(paths):
        return
    run_id = uuid.uuid4().hex[:8]
    head = [
        str(path) if backend.shares_files
        else backend.submit(tasks.hold, pd.read_parquet(path), key=backend.key(f"held-{run_id}", i))
        for i, path in enumerate(paths[: len(paths) - len(held)])
    ]  # fmt: skip
    setattr(store, _CHUNKS, [*head, *held])
