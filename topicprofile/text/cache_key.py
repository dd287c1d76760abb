"""The token cache's key: everything the tokens depend on, as a digest (:mod:`topicprofile.text.cache`).

A key covers a fingerprint of the texts in order (:func:`fingerprint_texts`) and the tokenizer's
(:func:`tokenizer_fingerprint`): its settings (:meth:`~topicprofile.text.tokenizer.SpacyTokenizer.get_config`,
minus the batch size, plus the effective stop word set), the versions of topicprofile, spaCy,
spacy-lookups-data, rjieba and a trained pipeline if one is named, a digest of the tokenizer's
source (an editable install keeps its version number while the code changes) and
:data:`CACHE_FORMAT_VERSION`.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterable
from functools import lru_cache
from importlib import metadata
from itertools import islice
from pathlib import Path

from topicprofile.text import lang, lexicon, tokenizer, word_filter, zh_segmenter
from topicprofile.text.tokenizer import SpacyTokenizer

__all__ = ["CACHE_FORMAT_VERSION", "fingerprint_texts", "tokenizer_fingerprint"]

#: Bump when the stored layout or the meaning of a key changes; older entries then miss.
CACHE_FORMAT_VERSION = 1

_HASH_BLOCK = 8192  # texts per hash update (does not change the digest)
_LENGTH = struct.Struct("<q")
_NOT_TEXT = _LENGTH.pack(-1)  # a missing value (None, NaN): the tokenizer reads them all as ""
# Settings that do not change the tokens (left out of the key so they do not cause misses).
_IRRELEVANT_CONFIG = frozenset({"batch_size"})


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
    for module in (tokenizer, lexicon, word_filter, zh_segmenter, lang):
        try:
            digest.update(Path(module.__file__ or "").read_bytes())
        except OSError:  # e.g. run from a zip: the versions above still apply
            digest.update(module.__name__.encode())
    digest.update(json.dumps(lexicon.LEMMA_OVERRIDES, sort_keys=True).encode())  # data files, not code
    return digest.hexdigest()
