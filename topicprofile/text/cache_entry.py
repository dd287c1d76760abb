"""A token cache entry's file format: one Parquet file of token lists, written and read back
(:mod:`topicprofile.text.cache` names the files and decides hits and misses).

One ``tokens`` column of type ``list<string>``, zstd-compressed and dictionary-encoded (a token is
stored once per row group) with page checksums; the key and document count sit in the file's
metadata and are checked on load. Any Parquet reader (pandas, DuckDB, Spark) can open it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice, pairwise
from pathlib import Path
from typing import Any

from topicprofile.text.cache_key import CACHE_FORMAT_VERSION

__all__ = ["iter_entry", "open_entry", "write_entry"]

_COLUMN = "tokens"
_META_KEY = b"topicprofile.text.cache"  # named after the cache module, where the format began: keep it
_ROWS_PER_GROUP = 100_000  # bounds the Arrow memory of a write and of a decode step


def write_entry(sink: Any, key: str, tokens: Iterable[Sequence[str]]) -> int:
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


def open_entry(path: Path, key: str) -> Any:
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
            raise ValueError(
                f"{parquet.metadata.num_rows} rows of {parquet.schema_arrow.names}, "
                f"metadata says {meta.get('n_docs')} documents"
            )
    except BaseException:
        parquet.close()
        raise
    return parquet


def iter_entry(parquet: Any) -> Iterator[list[str]]:
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
    return (words[a:b] for a, b in pairwise(offsets))
