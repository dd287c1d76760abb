"""On-disk cache of tokenized corpora, so refitting on the same texts skips tokenization.

An entry is keyed by everything the tokens depend on (:mod:`topicprofile.text.cache_key`: the texts
in order, the tokenizer's settings, library versions and source, :data:`CACHE_FORMAT_VERSION`).

Format: one Parquet file per entry, ``<key>.parquet``, holding the token lists
(:mod:`topicprofile.text.cache_entry`). Files are written to a temporary name and
renamed into place, so readers never see a partial file and concurrent writers of one key are safe.
A file that cannot be read, or does not match, is a miss (logged), never an error.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from pathlib import Path

from topicprofile._fs import atomic_path
from topicprofile.text.cache_entry import iter_entry, open_entry, write_entry
from topicprofile.text.cache_key import CACHE_FORMAT_VERSION, fingerprint_texts, tokenizer_fingerprint
from topicprofile.text.pool import DEFAULT_CHUNK_SIZE, ProgressCallback, tokenize_parallel
from topicprofile.text.pool_size import default_workers
from topicprofile.text.tokenizer import SpacyTokenizer

__all__ = [
    "CACHE_DIR_ENV",
    "CACHE_FORMAT_VERSION",
    "TokenCache",
    "cached_tokenize",
    "default_cache_dir",
    "fingerprint_texts",
    "tokenizer_fingerprint",
]

logger = logging.getLogger(__name__)

#: Environment variable that overrides the cache root (:func:`default_cache_dir`).
CACHE_DIR_ENV = "TOPICPROFILE_CACHE_DIR"

_SUFFIX = ".parquet"


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
            parquet = open_entry(path, key)
        except FileNotFoundError:
            logger.debug("token cache miss: %s", path)
            return None
        except Exception as e:  # noqa: BLE001 - a cache never fails the caller; see the log
            self._warn_unreadable(key, e)
            return None
        return iter_entry(parquet)

    def _warn_unreadable(self, key: str, error: Exception) -> None:
        logger.warning(
            "token cache entry %s is unreadable (%s: %s); tokenizing again",
            self.path(key),
            type(error).__name__,
            error,
        )

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
            n_docs = write_entry(sink, key, tokens)
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
            logger.warning(
                "could not store tokens in the cache %s (%s); continuing without it", cache.directory, e
            )
    return tokens
