"""What the workers run. Plain functions of plain data (arrays, Parquet paths, model states), so a
task that dies with its worker is simply run again elsewhere, from the same inputs, to the same result.

A worker process builds a model once (:func:`_model`) and keeps it for the later tasks of the run,
and sets its memory allocator up once for numpy's short-lived arrays (:func:`tune_allocator`).
"""

from __future__ import annotations

import ctypes
import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from topicprofile import schema
from topicprofile.ingest.docstore import DocumentStore
from topicprofile.ingest.documents import update_fingerprint
from topicprofile.ingest.inputs import file_documents
from topicprofile.ingest.load import StreamedLoad
from topicprofile.privacy.minimize import SnippetPicker, snippet_support
from topicprofile.privacy.names import name_scrubber
from topicprofile.privacy.scrub import SCRUB_COUNTS_ATTR
from topicprofile.tag.tagger import CustomerAccumulator
from topicprofile.text.corpus import review_candidates
from topicprofile.text.encoder import TextEncoder, vocabulary_counts
from topicprofile.text.phrases import PhraseDetector
from topicprofile.text.tokenizer import SpacyTokenizer
from topicprofile.text.vectorize import (
    bows_to_csr,
    count_words,
    dictionary_from_state,
    dictionary_to_state,
    document_frequencies,
    to_bows,
)
from topicprofile.topics.lda import LdaTopics
from topicprofile.topics.unlearn import estep_block_counts

__all__ = [
    "MMAP_THRESHOLD",
    "TRIM_THRESHOLD",
    "add",
    "block_sstats",
    "column_names",
    "count_chunk",
    "count_new_chunk",
    "fold_sstats",
    "hold",
    "infer_chunk",
    "load_block",
    "merge_pooled",
    "phrase_counts",
    "pick",
    "piece",
    "project",
    "read_file",
    "read_summary",
    "snippet_candidates",
    "tag_chunk",
    "take_rows",
    "texts_head",
    "tokenize_chunk",
    "tune_allocator",
    "word_counts",
]  # fmt: skip

#: Models built on this worker, by the run's key (a worker serves one run at a time; the few
#: kept bound the memory).
_MODELS: dict[str, tuple[TextEncoder, LdaTopics]] = {}
_KEEP_MODELS = 2
_TOKENIZERS: dict[str, SpacyTokenizer] = {}
_VOCABULARIES: dict[str, tuple[PhraseDetector | None, Any]] = {}
#: glibc's thresholds in a worker (bytes): arrays up to 32 MiB come from the heap, and up to 256 MiB
#: of freed heap stays with the process between tasks.
MMAP_THRESHOLD = 32 * 2**20
TRIM_THRESHOLD = 256 * 2**20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)
_allocator: list[bool] = []  # [whether it was tuned], once per process


def tune_allocator() -> bool:
    """Set glibc's mmap and trim thresholds of this worker process (once; True if they are set).

    Dask starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536``, and setting any threshold turns
    glibc's adaptive mmap threshold off: every array over 128 KiB is then a fresh ``mmap`` whose
    pages fault in zeroed and go back at ``free``. The E-step makes many such arrays per iteration
    (a block of 16,384 documents: ~570,000 page faults and twice the CPU time of the same block in
    an ordinary process; docs/distributed.md). Fixed thresholds large enough for them make the
    worker's E-step cost what it costs in-process. Not glibc (macOS, musl): nothing is changed.
    """
    if not _allocator:
        _allocator.append(
            _mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and _mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
        )
    return _allocator[0]


def _mallopt(param: int, value: int) -> bool:
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process runs on
    except (OSError, AttributeError):
        return False
    return mallopt(param, value) == 1


def hold(value: Any) -> Any:
    """A value kept on the cluster as a task result: recomputed from the task if its worker dies."""
    return value


def add(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """``left + right``: a node of the statistics' reduction tree."""
    return left + right


def load_block(source: str | tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]]) -> sparse.csr_matrix:
    """A block of the training matrix, from an ``.npz`` file (workers sharing the driver's files)
    or from its CSR arrays."""
    if isinstance(source, str):
        return sparse.load_npz(source).tocsr()
    data, indices, indptr, shape = source
    return sparse.csr_matrix((data, indices, indptr), shape=shape)


def block_sstats(counts: sparse.csr_matrix, state: dict[str, Any], first: int, pass_: int) -> np.ndarray:
    """:meth:`LdaTopics.block_sstats` of one block with the pass's broadcast model ``state``."""
    tune_allocator()
    topics = LdaTopics(state["n_topics"], random_state=state["random_state"])
    topics.alpha_, topics.exp_elog_beta_ = state["alpha"], state["exp_elog_beta"]
    topics.train_iterations_, topics.train_threshold_ = state["iterations"], state["threshold"]
    return topics.block_sstats(counts, first=first, pass_=pass_)


def _model(model: dict[str, Any]) -> tuple[TextEncoder, LdaTopics]:
    built = _MODELS.get(model["key"])
    if built is None:
        encoder = TextEncoder.from_state(model["encoder"])
        built = (encoder, LdaTopics.from_state(*model["lda"], encoder.dictionary_))
        while len(_MODELS) >= _KEEP_MODELS:
            _MODELS.pop(next(iter(_MODELS)))
        _MODELS[model["key"]] = built
    return built


def tag_chunk(
    model: dict[str, Any], source: str | pd.DataFrame
) -> tuple[pd.DataFrame, sparse.csr_matrix, np.ndarray]:
    """One chunk of documents (a Parquet shard's path, or the frame) -> its customer and channel
    columns, word counts (``n_docs × n_terms``) and topic distributions (``n_docs × n_topics``)."""
    tune_allocator()
    encoder, topics = _model(model)
    frame = pd.read_parquet(source) if isinstance(source, str) else source
    ((_, counts),) = encoder.iter_counts([frame], n_docs=len(frame), workers=1)
    return frame[[schema.CUSTOMER_ID, schema.CHANNEL]], counts, topics.transform_counts(counts)


def count_new_chunk(model: dict[str, Any], source: str | pd.DataFrame) -> tuple[sparse.csr_matrix, int, int]:
    """One chunk of new documents (a Parquet shard's path, or the frame) as ``update`` counts them for
    its fold: the word counts (``n_docs × n_terms``, the fitted vocabulary), the tokens the vocabulary
    does not know and all tokens (after phrases); ``model`` as for :func:`tag_chunk`."""
    tune_allocator()
    encoder, _ = _model(model)
    frame = pd.read_parquet(source, columns=[schema.TEXT]) if isinstance(source, str) else source
    tokens = encoder.tokens(frame[schema.TEXT].tolist())
    known = encoder.dictionary_.token2id
    flat = [t for doc in tokens for t in doc]
    counts = bows_to_csr(to_bows(encoder.dictionary_, tokens), len(encoder.dictionary_))
    return counts, sum(t not in known for t in flat), len(flat)


def fold_sstats(counts: sparse.csr_matrix, state: dict[str, Any]) -> np.ndarray:
    """:func:`~topicprofile.topics.unlearn.estep_block_counts` of one block of the rows ``update`` folds
    in, against the round's broadcast topics (``state``: ``alpha``, ``exp_elog_beta``, ``random_state``,
    ``iterations``, ``threshold``)."""
    tune_allocator()
    return estep_block_counts(counts, **state)


def tokenize_chunk(tokenizer: dict[str, Any], source: str | pd.DataFrame) -> list[list[str]]:
    """The tokens of one chunk's texts (a Parquet shard's path, or the frame), by the fit's tokenizer
    (``{"key", "config"}``: built once per worker from its config)."""
    tune_allocator()
    built = _TOKENIZERS.get(tokenizer["key"])
    if built is None:
        _TOKENIZERS.clear()
        built = _TOKENIZERS[tokenizer["key"]] = SpacyTokenizer.from_config(tokenizer["config"])
    frame = pd.read_parquet(source, columns=[schema.TEXT]) if isinstance(source, str) else source
    return built.tokenize(frame[schema.TEXT].tolist())


def infer_chunk(state: dict[str, Any], counts: sparse.csr_matrix) -> np.ndarray:
    """Topic distributions (``n_docs × n_topics``) of a count matrix, by the fitted topics' inference
    (``state``: what :meth:`LdaTopics.transform_counts` uses)."""
    tune_allocator()
    topics = LdaTopics(
        state["n_topics"], random_state=state["random_state"], infer_iterations=state["infer_iterations"],
        gamma_threshold=state["gamma_threshold"],
    )  # fmt: skip
    topics.alpha_, topics.exp_elog_beta_ = state["alpha"], state["exp_elog_beta"]
    return topics.transform_counts(counts)


def phrase_counts(tokens: list[list[str]], detector: dict[str, Any]) -> tuple[dict[str, int], int, bool]:
    """:meth:`PhraseDetector.count` of one partition's tokens (``detector``: its settings)."""
    return PhraseDetector(**detector).count(tokens)


def word_counts(tokens: list[list[str]], phrases: dict[str, Any] | None) -> dict[str, Any]:
    """The unfiltered dictionary (:func:`~topicprofile.text.vectorize.count_words`) of one partition's
    tokens after phrases (``phrases``: the learned :meth:`PhraseDetector.to_state`, or None), as
    plain data: its tokens in id order, ``dfs`` and ``cfs`` as (id, count) pairs in their own
    order, and the document, position and non-zero totals."""
    if phrases is not None:
        tokens = PhraseDetector.from_state(phrases).transform(tokens)
    counted = count_words(tokens)
    vocabulary, arrays = dictionary_to_state(counted)
    return {**vocabulary, **arrays}


def read_file(
    kind: str, path: str, read: dict[str, Any], privacy: dict[str, Any], out: str | None
) -> dict[str, Any]:
    """One input file read, cleaned, pseudonymised and scrubbed as the driver would
    (:func:`~topicprofile.ingest.inputs.file_documents`), cut into the document store's shards
    (:meth:`DocumentStore.pieces`). ``read``: the reader's settings (``columns``, ``encoding``,
    ``chunk_rows``, ``date_format``); ``privacy``: ``scrub``, ``id_key`` and ``names`` (the spaCy
    pipeline folder of the name scrubber, built once per worker, or None). With ``out`` (a folder
    every worker and the driver share) the shards are written there as Parquet and named by path;
    otherwise they stay in this result, on the worker.

    Returns ``{"summary": {...}, "pieces": [...]}``: the summary (:func:`read_summary`) is what the
    driver fetches; the pieces are picked one by one by later tasks (:func:`piece`)."""
    tune_allocator()
    names = name_scrubber(privacy["names"]) if privacy["scrub"] and privacy["names"] else None
    load = StreamedLoad(kind, path, **read)
    digest, counts = hashlib.sha256(), Counter[str]()
    pieces: list[Any] = []
    sizes: list[int] = []
    for docs in file_documents(
        iter(load), kind, scrub=privacy["scrub"], id_key=privacy["id_key"], names=names
    ):
        counts.update(docs.attrs.get(SCRUB_COUNTS_ATTR, {}))
        for part in DocumentStore.pieces(docs, read["chunk_rows"]):
            update_fingerprint(digest, part)
            sizes.append(len(part))
            if out is not None:
                target = Path(out) / f"{kind}-{len(pieces):06d}.parquet"
                part.to_parquet(target, index=False)
            pieces.append(part if out is None else str(target))
    summary = {
        "n_read": load.n_read, "rejects": load.rejects, "scrub_counts": dict(counts), "sizes": sizes,
        "fingerprint": digest.hexdigest(),
    }  # fmt: skip
    return {"summary": summary, "pieces": pieces}


def read_summary(result: dict[str, Any]) -> dict[str, Any]:
    """What the driver fetches of :func:`read_file`'s result: rows read, rejects (file and row),
    scrub counts, the shards' sizes and the file's fingerprint part."""
    return result["summary"]


def piece(result: dict[str, Any], index: int) -> pd.DataFrame | str:
    """Shard ``index`` of :func:`read_file`'s result (a frame kept on the cluster, or its Parquet path)."""
    return result["pieces"][index]


def _frame(source: str | pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """A shard (its Parquet path, or the frame itself), with ``columns`` only when given."""
    if isinstance(source, str):
        return pd.read_parquet(source, columns=columns)
    return source if columns is None else source[columns]


def project(source: str | pd.DataFrame) -> pd.DataFrame:
    """A shard without its texts: every other column (customer, channel, date, month, rating), the
    part of the documents the driver keeps (docs/distributed.md)."""
    if isinstance(source, str):
        import pyarrow.parquet as pq

        names = pq.read_schema(source).names
        return pd.read_parquet(source, columns=[c for c in names if c != schema.TEXT])
    return source.drop(columns=[schema.TEXT])


def column_names(source: str | pd.DataFrame) -> list[str]:
    """A shard's columns, in order (its Parquet schema's, or the frame's)."""
    if isinstance(source, str):
        import pyarrow.parquet as pq

        return list(pq.read_schema(source).names)
    return list(source.columns)


def texts_head(source: str | pd.DataFrame, n: int) -> list[str]:
    """The first ``n`` texts of a shard (the fit's language check reads a bounded sample)."""
    return _frame(source, [schema.TEXT])[schema.TEXT].iloc[:n].tolist()


def snippet_candidates(
    held: dict[str, Any], source: str | pd.DataFrame, counts: sparse.csr_matrix, start: int
) -> dict[tuple[str, int], list[tuple[float, int]]]:
    """One shard's best documents per customer and tag topic (:class:`~topicprofile.privacy.minimize.SnippetPicker`),
    as ``(support, -position)`` with positions in the whole corpus (the shard starts at ``start``);
    ``held``: ``topics`` (:func:`infer_chunk`'s state), ``tags``, ``weights`` (channel weights), ``n``."""
    tune_allocator()
    docs = _frame(source, [schema.CUSTOMER_ID, schema.CHANNEL])
    picker = SnippetPicker(held["tags"], n=held["n"], start=start, rows=False)
    support = snippet_support(docs, counts, held["weights"], lambda c: infer_chunk(held["topics"], c))
    picker.add(docs, docs[schema.CUSTOMER_ID].tolist(), support)
    return picker.candidates()


def take_rows(source: str | pd.DataFrame, positions: list[int] | None) -> list[dict[str, Any]] | pd.DataFrame:
    """The rows at ``positions`` of a shard, each as a dict (the snippets the driver keeps), or
    with ``positions`` None the whole shard (``keep_texts="all"``)."""
    docs = _frame(source)
    return docs if positions is None else [docs.iloc[i].to_dict() for i in positions]


def pick(result: dict[str, Any], name: str) -> Any:
    """One item of a task's result dict, as its own result (the rest may then be released)."""
    return result[name]


def count_chunk(
    tokens: list[list[str]], source: str | pd.DataFrame, vocabulary: dict[str, Any], positions: np.ndarray,
    min_example_words: int | None,
) -> dict[str, Any]:  # fmt: skip
    """The fit's counting of one chunk (:func:`~topicprofile.tag.aggregate.count_corpus`), on a worker:
    ``counts`` (its documents' word counts, kept here), ``pooled`` (its customers' ids, sorted, and
    their summed counts) and ``summary`` for the driver: documents, documents with words, the tokens
    of its documents at ``positions`` (the coherence sample), the reviews that may become quotes,
    and the document frequencies for TF-IDF. ``vocabulary``: the learned phrases and dictionary
    (``{"key", "phrases", "dictionary"}``, rebuilt once per worker)."""
    tune_allocator()
    built = _VOCABULARIES.get(vocabulary["key"])
    if built is None:
        _VOCABULARIES.clear()
        phrases = None if vocabulary["phrases"] is None else PhraseDetector.from_state(vocabulary["phrases"])
        built = _VOCABULARIES[vocabulary["key"]] = (phrases, dictionary_from_state(*vocabulary["dictionary"]))
    docs = pd.read_parquet(source) if isinstance(source, str) else source
    chunk, counts = vocabulary_counts(tokens, phrases=built[0], dictionary=built[1])
    accumulator = CustomerAccumulator(1, {}, "length")  # as count_corpus: word counts only
    accumulator.add(docs[schema.CUSTOMER_ID].tolist(), docs[schema.CHANNEL].tolist(),
                    np.zeros(len(docs), dtype=np.int64), counts=counts)  # fmt: skip
    pooled = accumulator.result()
    dfs, nnz = document_frequencies(counts)
    summary = {
        "n_docs": len(docs), "n_nonempty": int((np.diff(counts.indptr) > 0).sum()),
        "sample_tokens": [chunk[i] for i in positions], "candidates": review_candidates(docs, min_example_words),
        "dfs": dfs, "num_nnz": nnz,
    }  # fmt: skip
    return {"counts": counts, "pooled": (pooled.customer_ids, pooled.counts), "summary": summary}


def merge_pooled(
    left: tuple[np.ndarray, sparse.csr_matrix], right: tuple[np.ndarray, sparse.csr_matrix]
) -> tuple[np.ndarray, sparse.csr_matrix]:
    """Two chunks' pooled counts as one: customers sorted by id (as the local accumulator sorts them),
    a customer in both gets the sum of its rows. Whole numbers, so the order of the sums does not matter."""
    ids = np.array(sorted(set(left[0]) | set(right[0])), dtype=object)
    row_of = {customer: i for i, customer in enumerate(ids)}
    merged = None
    for customers, counts in (left, right):
        rows = np.fromiter((row_of[c] for c in customers), dtype=np.int64, count=len(customers))
        lift = sparse.csr_matrix(
            (np.ones(len(rows), dtype=np.int32), (rows, np.arange(len(rows)))), shape=(len(ids), len(rows))
        )
        part = (lift @ counts).tocsr()
        merged = part if merged is None else (merged + part).tocsr()
    merged.sort_indices()
    return ids, merged
