"""On-disk cache of tokenized corpora, so refitting on the same texts skips tokenization.

An entry is keyed by everything the tokens depend on: a fingerprint of the texts in order, the
tokenizer's settings (:meth:`~topicprofile.text.tokenizer.SpacyTokenizer.get_config`, minus the batch
size, plus the effective stop word set), the versions of topicprofile, spaCy, spacy-lookups-data,
rjieba and a trained pipeline if one is named, a digest of the tokenizer's source (an editable install
keeps its version number while the code changes) and :data:`CACHE_FORMAT_VERSION`.

Format: one Parquet file per entry, ``<key>.parquet``, with a single ``tokens`` column of type
``list<string>``, zstd-compressed and dictionary-encoded (a token is stored once per row group) with
page checksums; the key and document count sit in the file's metadata and are checked on load. Any
Parquet reader (pandas, DuckDB, Spark) can open it. Files are written to a temporary name and
renamed into place, so readers never see a partial file and concurrent writers of one key are safe.
A file that cannot be read, or does not match, is a miss (logged), never an error.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
import sys
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from importlib import metadata
from itertools import chain, islice
from pathlib import Path
from typing import Any

from topicprofile._fs import atomic_path
from topicprofile.text import lang, tokenizer
from topicprofile.text.pool import DEFAULT_CHUNK_SIZE, ProgressCallback, default_workers, tokenize_parallel
from topicprofile.text.tokenizer import SpacyTokenizer

__all__ = [
    "TokenCache",
    "cached_tokenize",
    "default_cache_dir",
    "fingerprint_texts",
    "tokenizer_fingerprint",
    "CACHE_FORMAT_VERSION",
    "CACHE_DIR_ENV",
]

logger = logging.getLogger(__name__)

#: Bump when the stored layout or the meaning of a key changes; older entries then miss.
CACHE_FORMAT_VERSION = 1
#: Environment variable that overrides the cache root (:func:`default_cache_dir`).
CACHE_DIR_ENV = "TOPICPROFILE_CACHE_DIR"

_COLUMN = "tokens"
_META_KEY = b"topicprofile.text.cache"
_SUFFIX = ".parquet"
_ROWS_PER_GROUP = 100_000  # bounds the Arrow memory of a write and of a decode step
_HASH_BLOCK = 8192  # texts per hash update (does not change the digest)
_LENGTH = struct.Struct("<q")
_NOT_TEXT = _LENGTH.pack(-1)  # a missing value (None, NaN): the tokenizer reads them all as ""
# Settings that do not change the tokens (left out of the key so they do not cause misses).
_IRRELEVANT_CONFIG = frozenset({"batch_size"})


def default_cache_dir() -> Path:
    """Root of topicprofile's caches: ``$TOPICPROFILE_CACHE_DIR`` or the user cache directory.

    The user cache directory follows platform conventions (``$XDG_CACHE_HOME/topicprofile``, by
    default ``~/.cache/topicprofile``, on Linux; ``~/Library/Caches/topicprofile`` on macOS;
    ``%LOCALAPPDATA%\\topicprofile\\Cache`` on Windows).
    """
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "topicprofile" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "topicprofile"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "topicprofile"


def fingerprint_texts(texts: Iterable[object]) -> str:
    """Digest of texts in order: SHA-256 over length-prefixed UTF-8, streamed.

    Every text is hashed as its byte length (8 bytes) then its bytes, so no two different
    sequences share an encoding (``["ab", "c"]`` differs from ``["a", "bc"]``, and order counts).
    Missing values (anything not a ``str``) hash alike, as length -1, because the tokenizer reads
    them all as empty text. About 0.7 s per million short reviews; SHA-256 rather than BLAKE2b
    because CPUs with SHA instructions hash 2.4x faster with it.

    Parameters
    ----------
    texts : iterable of str
        Consumed once.

    Returns
    -------
    str
        64 hexadecimal characters.
    """
    digest = hashlib.sha256(b"topicprofile texts v1\0")
    pack = _LENGTH.pack
    iterator = iter(texts)
    # One hash update per block of texts: per-text updates cost a third more.
    while block := list(islice(iterator, _HASH_BLOCK)):
        parts: list[bytes] = []
        append = parts.append
        for text in block:
            if isinstance(text, str):
                # surrogatepass: texts decoded with surrogateescape still hash (and distinctly).
                encoded = text.encode("utf-8", "surrogatepass")
                append(pack(len(encoded)))
                append(encoded)
            else:
                append(_NOT_TEXT)
        digest.update(b"".join(parts))
    return digest.hexdigest()


class TokenCache:
    """Token lists of whole corpora on disk, one Parquet file per (texts, tokenizer) key.

    Parameters
    ----------
    directory : str, path or None
        Where entries live; None uses ``default_cache_dir() / "tokens"``. Created on first write.

    Examples
    --------
    >>>     >>> cache = TokenCache(tempfile.mkdtemp())
    >>> tokenizer, texts = SpacyTokenizer("en"), ["Sturdy trail shoes", "The tent leaks"]
    >>> key = cache.key(texts, tokenizer)
    >>> cache.get(key) is None  # a miss
    True
    >>> _ = cache.put(key, tokenizer.tokenize(texts))
    >>> cache.get(key)
    [['sturdy', 'trail', 'shoe'], ['tent', 'leak']]
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir() / "tokens"

    def __repr__(self) -> str:
        return f"TokenCache({str(self.directory)!r})"

    def key(self, texts: Iterable[object], tokenizer: SpacyTokenizer) -> str:
        """Cache key of ``tokenizer.tokenize(texts)``: 32 hexadecimal characters.

        Reads every text once (see :func:`fingerprint_texts`) and the tokenizer's settings; does not
        build the spaCy pipeline.
        """
        digest = hashlib.blake2b(digest_size=16, person=b"tp-tokens")
        digest.update(tokenizer_fingerprint(tokenizer).encode("ascii"))
        digest.update(fingerprint_texts(texts).encode("ascii"))
        return digest.hexdigest()

    def path(self, key: str) -> Path:
        """File of the entry ``key`` (which may not exist)."""
        if not key or not all(c in "0123456789abcdef" for c in key):
            raise ValueError(f"not a token cache key: {key!r} (expected hexadecimal from TokenCache.key)")
        return self.directory / f"{key}{_SUFFIX}"

    def get(self, key: str) -> list[list[str]] | None:
        """The cached token lists of ``key``, or None on a miss.

        A missing file is a miss; so is an unreadable, truncated or mismatching one, with a warning
        in the log (the next :meth:`put` replaces it).
        """
        docs = self.iter_docs(key)
        if docs is None:
            return None
        try:
            return list(docs)
        except Exception as e:  # noqa: BLE001 - a cache never fails the caller; see the log
            self._warn_unreadable(key, e)
            return None

    def iter_docs(self, key: str) -> Iterator[list[str]] | None:
        """Stream the cached token lists of ``key`` (one row group in memory at a time), or None.

        The file's metadata (format, key, document count) is checked before anything is returned;
        a missing or mismatching entry is None, as in :meth:`get`. Data pages are checked as they
        are read, so a damaged page raises (``OSError`` or ``ValueError``) during iteration: a
        caller that streams should treat that as a miss.
        """
        path = self.path(key)
        try:
            parquet = _open_entry(path, key)
        except FileNotFoundError:
            logger.debug("token cache miss: %s", path)
            return None
        except Exception as e:  # noqa: BLE001 - a cache never fails the caller; see the log
            self._warn_unreadable(key, e)
            return None
        return _iter_entry(parquet)

    def _warn_unreadable(self, key: str, error: Exception) -> None:
        logger.warning("token cache entry %s is unreadable (%s: %s); tokenizing again", self.path(key),
                       type(error).__name__, error)

    def put(self, key: str, tokens: Iterable[Sequence[str]]) -> Path:
        """Store token lists under ``key`` atomically; returns the entry's path.

        Written to a temporary file in the cache directory and renamed into place; on any error the
        temporary file is removed and an existing entry is left as it was.

        Raises
        ------
        OSError
            The directory cannot be created or written (full disk, permissions).
        TypeError, ValueError
            A token is not a string, or not encodable as UTF-8 (a lone surrogate).
        """
        path = self.path(key)
        with atomic_path(path, durable=False) as tmp, open(tmp, "wb") as sink:
            n_docs = _write_entry(sink, key, tokens)
        logger.debug("token cache: stored %d documents in %s", n_docs, path)
        return path

    def clear(self) -> int:
        """Delete every entry (and stray temporary files); returns the number of files removed."""
        if not self.directory.is_dir():
            return 0
        n_removed = 0
        for path in chain(self.directory.glob(f"*{_SUFFIX}"), self.directory.glob(".*.tmp")):
            path.unlink(missing_ok=True)
            n_removed += 1
        return n_removed


def cached_tokenize(
    texts: Iterable[str],
    tokenizer: SpacyTokenizer,
    cache: TokenCache | None,
    *,
    workers: int | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: ProgressCallback | None = None,
) -> list[list[str]]:
    """``tokenizer.tokenize(texts)``, from ``cache`` when it has the entry, else tokenized and stored.

    Parameters
    ----------
    texts : iterable of str
        Read twice (fingerprint, then tokenization on a miss); a one-shot iterator is first
        copied to a list.
    tokenizer : SpacyTokenizer
    cache : TokenCache or None
        None tokenizes without caching.
    workers : int or None
        Tokenizer processes on a miss (:func:`~topicprofile.text.pool.tokenize_parallel`); None
        uses :func:`~topicprofile.text.pool.default_workers` for the number of texts.
    chunk_size, progress
        As in :func:`~topicprofile.text.pool.tokenize_parallel`. A hit reports once, all done.

    Returns
    -------
    list of list of str
        One token list per text, in input order.

    Notes
    -----
    A failure to store the entry (full disk, read-only directory, tokens Parquet cannot hold) is
    logged as a warning and the tokens are returned anyway.
    """
    if isinstance(texts, str):
        raise TypeError("texts must be an iterable of texts, not one str (wrap it in a list)")
    if iter(texts) is texts:  # a one-shot iterator: keep the texts for the second pass
        texts = list(texts)
    n_texts = len(texts)  # type: ignore[arg-type]
    if workers is None:
        workers = default_workers(n_texts)
    key = cache.key(texts, tokenizer) if cache is not None else None
    if cache is not None and key is not None:
        tokens = cache.get(key)
        if tokens is not None and len(tokens) == n_texts:
            logger.info("token cache hit: %d documents from %s", n_texts, cache.path(key))
            if progress is not None:
                progress("tokenize", n_texts, n_texts)
            return tokens
    tokens = tokenize_parallel(tokenizer, texts, workers=workers, chunk_size=chunk_size, progress=progress)
    if cache is not None and key is not None:
        try:
            cache.put(key, tokens)
        except (OSError, ValueError, TypeError) as e:
            logger.warning("could not store tokens in the cache %s (%s); continuing without it",
                           cache.directory, e)
    return tokens


# -- key -------------------------------------------------------------------------------------------
def tokenizer_fingerprint(tokenizer: SpacyTokenizer) -> str:
    """Digest of everything besides the texts that the tokens depend on."""
    config = {k: v for k, v in tokenizer.get_config().items() if k not in _IRRELEVANT_CONFIG}
    stops = sorted(tokenizer.stop_word_set())  # the shipped domain lists change between versions
    facts = {
        "format": CACHE_FORMAT_VERSION,
        "config": config,
        "stop_words": hashlib.blake2b("\n".join(stops).encode("utf-8"), digest_size=16).hexdigest(),
        "versions": _library_versions(),
        "model": _model_version(config.get("spacy_model")),
        "code": _code_digest(),
    }
    blob = json.dumps(facts, sort_keys=True, ensure_ascii=True, default=str)
    return hashlib.blake2b(blob.encode("ascii"), digest_size=16).hexdigest()


@lru_cache(maxsize=1)
def _library_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for dist in ("topicprofile", "spacy", "spacy-lookups-data", "rjieba"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return versions


def _model_version(name: str | None) -> str | None:
    """Version of a trained spaCy pipeline: its package's, or its directory's meta.json."""
    if not name:
        return None
    try:
        return metadata.version(name)
    except (metadata.PackageNotFoundError, ValueError):
        pass
    meta = Path(name) / "meta.json"
    try:
        return str(json.loads(meta.read_text(encoding="utf-8")).get("version"))
    except (OSError, ValueError):
        return None


@lru_cache(maxsize=1)
def _code_digest() -> str:
    """Digest of the modules that decide what a token is."""
    digest = hashlib.blake2b(digest_size=16)
    for module in (tokenizer, lang):
        try:
            digest.update(Path(module.__file__ or "").read_bytes())
        except OSError:  # e.g. run from a zip: the versions above still apply
            digest.update(module.__name__.encode())
    digest.update(json.dumps(tokenizer.LEMMA_OVERRIDES, sort_keys=True).encode())  # data files, not code
    return digest.hexdigest()


# -- file format -----------------------------------------------------------------------------------
def _write_entry(sink: Any, key: str, tokens: Iterable[Sequence[str]]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    list_type = pa.list_(pa.string())
    schema = pa.schema([pa.field(_COLUMN, list_type)])
    n_docs = 0
    iterator = iter(tokens)
    with pq.ParquetWriter(
        sink, schema, compression="zstd", use_dictionary=True, write_page_checksum=True
    ) as writer:
        while group := list(islice(iterator, _ROWS_PER_GROUP)):
            try:
                array = pa.array(group, type=list_type)
            except (pa.ArrowTypeError, pa.ArrowInvalid) as e:
                raise TypeError(
                    f"token cache: documents {n_docs}..{n_docs + len(group) - 1} are not lists of "
                    f"strings ({e})"
                ) from e
            writer.write_table(pa.table({_COLUMN: array}))
            n_docs += len(group)
        # The count is known only now: it goes into the footer's key-value metadata.
        meta = {"format": CACHE_FORMAT_VERSION, "key": key, "n_docs": n_docs}
        writer.add_key_value_metadata({_META_KEY: json.dumps(meta).encode("ascii")})
    return n_docs


def _open_entry(path: Path, key: str) -> Any:
    """The entry's ParquetFile, after checking its metadata against ``key``."""
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(
        path, read_dictionary=[f"{_COLUMN}.list.element"], page_checksum_verification=True
    )
    try:
        raw = (parquet.metadata.metadata or {}).get(_META_KEY)
        meta = json.loads(raw) if raw else {}
        if meta.get("format") != CACHE_FORMAT_VERSION or meta.get("key") != key:
            raise ValueError(f"metadata {meta!r} does not match format {CACHE_FORMAT_VERSION}, key {key}")
        if parquet.metadata.num_rows != meta.get("n_docs") or parquet.schema_arrow.names != [_COLUMN]:
            raise ValueError(f"{parquet.metadata.num_rows} rows of {parquet.schema_arrow.names}, "
                             f"metadata says {meta.get('n_docs')} documents")
    except BaseException:
        parquet.close()
        raise
    return parquet


def _iter_entry(parquet: Any) -> Iterator[list[str]]:
    with parquet:
        n_docs = 0
        for group in range(parquet.num_row_groups):
            for chunk in parquet.read_row_group(group, columns=[_COLUMN]).column(_COLUMN).chunks:
                for doc in _decode_lists(chunk):
                    n_docs += 1
                    yield doc
        if n_docs != parquet.metadata.num_rows:
            raise ValueError(f"decoded {n_docs} documents, the file says {parquet.metadata.num_rows}")


def _decode_lists(chunk: Any) -> Iterator[list[str]]:
    """Python lists from an Arrow ``list<dictionary<string>>`` (or ``list<string>``) array.

    Indexing a NumPy object array of the dictionary turns token ids into shared str objects in one
    vectorized step; this is about twice as fast as ``to_pylist`` and keeps one object per distinct
    token per row group.
    """
    import numpy as np
    import pyarrow as pa

    if chunk.null_count:
        raise ValueError(f"{chunk.null_count} null documents")
    offsets = chunk.offsets.to_numpy().tolist()  # positions in ``values``, even for a slice
    values = chunk.values
    if isinstance(values, pa.DictionaryArray):
        if values.indices.null_count:
            raise ValueError("null tokens")
        vocabulary = np.array(values.dictionary.to_pylist(), dtype=object)
        words = vocabulary[values.indices.to_numpy()].tolist()
    else:
        if values.null_count:
            raise ValueError("null tokens")
        words = values.to_pylist()
    return (words[a:b] for a, b in zip(offsets[:-1], offsets[1:]))
