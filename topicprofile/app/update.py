"""``update``: fold new texts and orders of customers into the model and their profiles without a refit.

The new texts are folded into the topics (:mod:`topicprofile.topics.fold`): their expected
topic-word counts against the current topics are added to the model's sufficient statistics, so
the topics learn from them while staying the same topics (same vocabulary, same ids, same
labels); ``fold="none"`` keeps the topics as fitted. Then the customers named in the new files are
profiled again on all their texts — those the model keeps (``documents.parquet``, from the fit and
earlier updates) plus the new ones — and only their rows in the profile database are replaced;
every other customer's row is left as it is (docs/update.md measures how many of them the folded
topics would tag differently: under 5%). The folded topics and the new texts go into a new model
version; the old version stays loadable.

New words the vocabulary does not know are counted: when their share of the new tokens passes
``refit_share``, the summary says a refit is due (``fit --previous``, so that tag ids stay).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from scipy import sparse

from topicprofile import schema
from topicprofile.app.jobs import churn_columns, load_inputs, stream_documents
from topicprofile.app.privacy import model_id_key, pseudonymized
from topicprofile.app.profile_db import (
    customers_rejects_path,
    prepare_db,
    pseudonymous_identifiers,
    stored_behavior,
    with_churn,
    write_run,
)
from topicprofile.app.tables import write_rejects_csv
from topicprofile.config import RunOptions
from topicprofile.distributed import DaskBackend, open_backend
from topicprofile.distributed.fold import cluster_fold_counts, cluster_fold_estep, stack_counts
from topicprofile.distributed.ingest import held_shards, hold_chunks
from topicprofile.errors import ConfigError, DataValidationError
from topicprofile.ingest.load import rejects_path_for
from topicprofile.privacy.names import name_scrubber
from topicprofile.profiler import ProgressCallback, TopicProfiler
from topicprofile.text.corpus import DocumentStore
from topicprofile.text.vectorize import bows_to_csr, to_bows
from topicprofile.topics.fold import (
    DEFAULT_FOLD,
    DEFAULT_FOLD_PASSES,
    FOLD_METHODS,
    fold_documents,
    pool_rows,
)

__all__ = ["DEFAULT_REFIT_SHARE", "fold_counts", "out_of_vocabulary", "update_files"]

#: Share of the new texts' tokens outside the vocabulary from which ``update`` advises a refit.
DEFAULT_REFIT_SHARE = 0.2


def out_of_vocabulary(profiler: TopicProfiler, texts: list[str] | None = None, *,
                      tokens: list[list[str]] | None = None) -> tuple[int, int]:  # fmt: skip
    """(tokens the model's vocabulary does not know, all tokens) of ``texts`` (or their ``tokens``), after phrases."""
    known = profiler.dictionary_.token2id
    flat = [t for doc in (profiler.encoder_.tokens(texts or []) if tokens is None else tokens) for t in doc]
    return sum(t not in known for t in flat), len(flat)


def fold_counts(profiler: TopicProfiler, docs: pd.DataFrame, tokens: list[list[str]]) -> sparse.csr_matrix:
    """The count matrix the new documents are folded in as: one row per document, or per customer
    (sorted) for a model fitted on pooled customers (``pooling="customer"``), as the fit trained."""
    return _fold_rows(
        profiler, docs, bows_to_csr(to_bows(profiler.dictionary_, tokens), len(profiler.dictionary_))
    )


def _fold_rows(profiler: TopicProfiler, docs: pd.DataFrame, per_text: sparse.csr_matrix) -> sparse.csr_matrix:
    return pool_rows(per_text, docs[schema.CUSTOMER_ID]) if profiler.pooling == "customer" else per_text


def _count_new(
    profiler: TopicProfiler, new_store: DocumentStore | None, backend: DaskBackend | None
) -> tuple[sparse.csr_matrix | None, int, int]:
    """The new documents' word counts (one row per document), tokens outside the vocabulary and all
    tokens: tokenized and counted here, or shard by shard on the workers that hold the shards (only
    counts come back)."""
    if new_store is None or not new_store.n_docs:
        return None, 0, 0
    if backend is None:
        tokens = profiler.encoder_.tokens(list(new_store.iter_column(schema.TEXT)))
        n_oov, n_tokens = out_of_vocabulary(profiler, tokens=tokens)
        return bows_to_csr(to_bows(profiler.dictionary_, tokens), len(profiler.dictionary_)), n_oov, n_tokens
    parts = list(cluster_fold_counts(backend, new_store, encoder=profiler.encoder_, topics=profiler.topics_))
    counts = stack_counts([part[0] for part in parts], len(profiler.dictionary_))
    return counts, sum(part[1] for part in parts), sum(part[2] for part in parts)


def _kept_chunks(store: DocumentStore | None, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The model's kept documents (``documents.parquet``) in batches of ``chunk_rows`` rows, in order,
    never the whole file in memory."""
    import pyarrow.parquet as pq

    for path in [] if store is None else store.shard_paths():
        for batch in pq.ParquetFile(str(path)).iter_batches(batch_size=chunk_rows):
            yield batch.to_pandas()


def _documents_of(
    store: DocumentStore | None, customers: set[str], chunk_rows: int
) -> Iterator[pd.DataFrame]:
    for chunk in _kept_chunks(store, chunk_rows):
        yield chunk[chunk[schema.CUSTOMER_ID].isin(customers)]


def _new_keys(store: DocumentStore) -> pd.DataFrame:
    """The new documents' customer ids (and days, when given), read column by column from their
    shards: what the affected customers, the fold's pooling and ``forget``'s record need, never the texts."""
    import pyarrow.parquet as pq

    frames = []
    for path in store.shard_paths():
        names = pq.read_schema(str(path)).names
        frames.append(
            pd.read_parquet(path, columns=[c for c in (schema.CUSTOMER_ID, schema.DATE) if c in names])
        )
    return pd.concat(frames, ignore_index=True)


def _profiled(
    profiler: TopicProfiler, new_store: DocumentStore | None, affected: set[str], backend: DaskBackend | None
) -> DocumentStore | None:
    """The affected customers' documents to profile: their kept ones (the model's ``documents.parquet``),
    then the new ones: on a cluster the workers' shards, read from the files they wrote (shared files)
    or taken where they hold them (:func:`~topicprofile.distributed.ingest.hold_chunks`); the new
    texts are not read here for this."""
    chunk_rows = profiler.run_options().chunk_rows
    store = DocumentStore(chunk_rows=chunk_rows)
    for chunk in _documents_of(profiler.documents_, affected, chunk_rows):
        store.append(chunk)
    if new_store is not None and new_store.n_docs:
        if backend is not None:  # the workers' shards: their files, or the frames they hold
            store.add_shards(new_store.shard_paths(), new_store.chunk_sizes(), new_store.fingerprint)
            hold_chunks(backend, store, tail=new_store)
        else:
            for chunk in new_store.chunks():
                store.append(chunk)
    return store if store.n_docs else None


def update_files(
    model_dir: str | os.PathLike[str],
    *,
    db: str | os.PathLike[str],
    customers: str | os.PathLike[str] | None = None,
    region: str | None = None,
    as_of: str | None = None,
    refit_share: float = DEFAULT_REFIT_SHARE,
    fold: str = DEFAULT_FOLD,
    fold_passes: int = DEFAULT_FOLD_PASSES,
    progress: ProgressCallback | None = None,
    scrub_names: str | None = None,
    id_key: bytes | None = None,
    run: RunOptions | None = None,
    **inputs: Any,
) -> dict[str, Any]:
    """Re-profile the customers of new files with the saved model and upsert them into ``db``.

    ``inputs`` are ``reviews=``, ``browsing=``, ``orders=`` and their ``*_columns=``, ``encoding=``,
    ``date_format=``, ``max_amount=`` (as for :func:`~topicprofile.app.jobs.tag_files`). Orders are
    read whole (a shop's order export); their customers are re-profiled too. Rejected rows go to
    ``<model_dir>/update.rejects.csv``. ``fold``/``fold_passes``: how the new texts are folded into
    the topics (:func:`~topicprofile.topics.fold.fold_documents`; ``"none"``: topics as fitted).
    Returns counts, the database run, the new model version's ``n_documents``, ``n_oov`` /
    ``n_tokens``, ``refit_due`` and ``fold`` (what the fold did). Names of people in the new texts are
    scrubbed with the spaCy pipeline in ``scrub_names`` (None: the model's own, if it has one).
    Customer ids are pseudonymised with ``id_key`` before anything is stored; a model fitted on
    pseudonymous ids needs its own key (:func:`~topicprofile.app.privacy.model_id_key`: from
    ``$TOPICPROFILE_ID_KEY`` when not given).

    ``run.dask``: run on a Dask cluster (:func:`topicprofile.distributed.open_backend`): the new texts
    are tokenized and counted on the workers, the fold's E-step runs there block by block
    (:mod:`topicprofile.distributed.fold`), and the affected customers are profiled there as
    ``tag_files`` does. The results are those of the local update, bit for bit.
    """
    start = time.perf_counter()
    if fold not in FOLD_METHODS or not isinstance(fold_passes, int) or fold_passes < 1:
        raise ConfigError(f"update: --fold must be one of {', '.join(FOLD_METHODS)} and --fold-passes an integer "
                          f">= 1; got {fold!r} and {fold_passes!r}")  # fmt: skip
    dask = None if run is None else run.dask
    with open_backend(dask) as backend:  # first: an unreachable scheduler stops the update before any work
        return _update(model_dir, db=db, customers=customers, region=region, as_of=as_of, refit_share=refit_share,
                       fold=fold, fold_passes=fold_passes, progress=progress, scrub_names=scrub_names,
                       id_key=id_key, backend=backend, start=start, **inputs)  # fmt: skip


def _update(
    model_dir: str | os.PathLike[str], *, db: str | os.PathLike[str], customers: str | os.PathLike[str] | None,
    region: str | None, as_of: str | None, refit_share: float, fold: str, fold_passes: int,
    progress: ProgressCallback | None, scrub_names: str | None, id_key: bytes | None, backend: DaskBackend | None,
    start: float, **inputs: Any,
) -> dict[str, Any]:  # fmt: skip
    identifiers, rejected = prepare_db(db, customers, region=region)
    profiler = TopicProfiler.load(str(model_dir))
    id_key = model_id_key(profiler.privacy_, id_key)
    identifiers, rejected = pseudonymous_identifiers(identifiers, rejected, id_key)
    text_inputs = {k: inputs.get(k) for k in ("reviews", "browsing", "reviews_columns", "browsing_columns",
                                              "encoding", "date_format")}  # fmt: skip
    new_store, loaded = (None, {})
    if inputs.get("reviews") is not None or inputs.get("browsing") is not None:
        names = name_scrubber(scrub_names or profiler.scrub_names)
        new_store, loaded = stream_documents(
            **text_inputs,
            chunk_rows=profiler.run_options().chunk_rows,
            names=names,
            id_key=id_key,
            backend=backend,
        )
    orders = None
    if inputs.get("orders") is not None:
        loaded |= load_inputs(orders=inputs["orders"], orders_columns=inputs.get("orders_columns"),
                              encoding=inputs.get("encoding"), date_format=inputs.get("date_format"),
                              max_amount=inputs.get("max_amount"))  # fmt: skip
        orders = loaded["orders"] = pseudonymized(loaded["orders"], id_key)
    new_keys = _new_keys(new_store) if new_store is not None and new_store.n_docs else None
    affected = set() if new_keys is None else set(new_keys[schema.CUSTOMER_ID])
    if orders is not None:
        affected |= set(orders.data[schema.CUSTOMER_ID].astype(str))
    if not affected:
        raise DataValidationError(
            "update: the new files name no customer (give --reviews, --browsing or --orders)"
        )
    per_text, n_oov, n_tokens = _count_new(profiler, new_store, backend)
    folded = None  # the new texts join the topics before anyone is profiled with them
    if new_keys is not None and per_text is not None:
        folded = fold_documents(
            profiler.topics_,
            _fold_rows(profiler, new_keys, per_text),
            method=fold,
            passes=fold_passes,
            estep=None if backend is None else cluster_fold_estep(backend),
        ).to_dict()
        if fold != "none" and profiler.training_bows_ is not None:  # what forget subtracts again (issue 14)
            profiler.training_bows_ = profiler.training_bows_.appended(new_keys, per_text)
    texts = _profiled(profiler, new_store, affected, backend)
    # without new orders, the customers keep what the database knows of their orders (not "no orders yet")
    rfm, churn = (None, None) if orders is not None else stored_behavior(db, sorted(affected))
    (table,) = profiler.iter_profiles(
        texts, orders, as_of=as_of, progress=progress, block_rows=None, backend=backend, rfm=rfm
    )
    table = with_churn(table, churn_columns(orders, as_of) if orders is not None else churn)
    rejects_file = _write_rejects(loaded, rejected, model_dir, customers)
    summary = write_run(db, [table], model_dir=model_dir, inputs=_inputs(loaded), identifiers=identifiers)
    n_documents = (
        _save_version(profiler, new_store, model_dir, backend)
        if new_keys is not None
        else profiler.n_documents_
    )
    share = n_oov / n_tokens if n_tokens else 0.0
    return {
        "model_dir": str(model_dir), "n_customers": len(table), "n_new_documents": 0 if new_keys is None else len(new_keys),
        "n_documents": n_documents, "n_oov": n_oov, "n_tokens": n_tokens, "oov_share": round(share, 4),
        "refit_due": share > refit_share, "fold": folded, "rejects_file": rejects_file, **summary,
        "seconds": round(time.perf_counter() - start, 2),
    }  # fmt: skip


def _inputs(loaded: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: {"file": r.source, "rows": r.n_read, "rejected": r.n_rejected} for name, r in loaded.items()
    }


def _write_rejects(
    loaded: Mapping[str, Any], rejected: pd.DataFrame | None, model_dir: str | os.PathLike[str],
    customers: str | os.PathLike[str] | None,
) -> str | None:  # fmt: skip
    frames = [r.rejects for r in loaded.values() if r.n_rejected]
    path = rejects_path_for(Path(model_dir) / "update.csv")
    if frames:
        write_rejects_csv(pd.concat(frames, ignore_index=True), path)
    if rejected is not None and len(rejected):
        write_rejects_csv(rejected, customers_rejects_path(Path(model_dir) / "update.csv"))
    return str(path) if frames else None


def _save_version(
    profiler: TopicProfiler,
    new_store: DocumentStore,
    model_dir: str | os.PathLike[str],
    backend: DaskBackend | None,
) -> int:
    """A new version with the folded topics; returns the number of documents the model has seen.

    The texts kept follow the model's ``keep_texts`` (:mod:`topicprofile.privacy.minimize`): with
    ``"all"`` the new texts join the old ones, reaching this machine here (the model's folder is on
    its disk) streamed shard by shard and cut again into shards of ``chunk_rows`` as if the new
    documents were one table (:func:`_rechunked`), so that ``documents.parquet`` (a row group per
    shard) is the same file however the input was partitioned. With ``"snippets"`` the kept texts
    stay the fit's evidence for the fit's profiles (which ``update`` does not change: its profiles go
    to the database) and with ``"none"`` there are none: no new text is kept."""
    if profiler.keep_texts != "all":
        profiler.n_documents_ += new_store.n_docs
        profiler.save(str(model_dir))
        return profiler.n_documents_
    chunk_rows = profiler.run_options().chunk_rows
    store = DocumentStore(chunk_rows=chunk_rows)
    kept = [] if profiler.documents_ is None else profiler.documents_.shard_paths()
    for chunk in _rechunked(_kept_chunks(profiler.documents_, chunk_rows), _columns(kept), chunk_rows):
        store.append(chunk)  # the saved fields, dates included
    held = None if backend is None else held_shards(backend, new_store)  # the workers hold the texts
    columns, chunks = held or (_columns(new_store.shard_paths()), new_store.chunks())
    for chunk in _rechunked(chunks, columns, chunk_rows):
        store.append(chunk)
    profiler.documents_ = store
    profiler.n_documents_ = store.n_docs
    profiler.save(str(model_dir))
    return store.n_docs


def _columns(paths: list[Path]) -> list[str]:
    """The columns of all these Parquet files, in order of appearance (as one concatenated table has them)."""
    import pyarrow.parquet as pq

    return list(dict.fromkeys(name for path in paths for name in pq.read_schema(str(path)).names))


def _rechunked(chunks: Iterable[pd.DataFrame], columns: list[str], chunk_rows: int) -> Iterator[pd.DataFrame]:
    """``chunks`` in pieces of ``chunk_rows`` rows (the last one shorter), with ``columns`` (a column a
    chunk lacks is missing there, as in one concatenated table): what appending them as one table
    stores; at most one piece and one chunk in memory."""
    buffer: list[pd.DataFrame] = []
    held = 0
    for chunk in chunks:
        buffer.append(chunk.reindex(columns=columns))
        held += len(chunk)
        while held >= chunk_rows:
            frame = pd.concat(buffer, ignore_index=True)
            yield frame.iloc[:chunk_rows]
            buffer, held = [frame.iloc[chunk_rows:]], held - chunk_rows
    if held:
        yield pd.concat(buffer, ignore_index=True)
