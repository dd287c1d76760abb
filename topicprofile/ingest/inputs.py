"""An input given as a file, a glob pattern, a folder or a list of them -> its files, and their read.

``--reviews exports/`` or ``--reviews 'exports/2025-*.jsonl.gz'`` read the matching files in sorted
path order as one input: each file's format and encoding are detected on its own, its rows are
numbered and de-duplicated within the file (a reject names its file and row), and the documents are
those of the files one after the other. :class:`FileSetLoad` streams them chunk by chunk, file by
file, like :class:`~topicprofile.ingest.load.StreamedLoad` does for one file.
"""

from __future__ import annotations

import dataclasses
import glob
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pandas as pd

from topicprofile.errors import DataValidationError
from topicprofile.ingest.documents import build_documents
from topicprofile.ingest.load import LoadResult, StreamedLoad
from topicprofile.ingest.rejects import Rejector
from topicprofile.privacy.names import NameScrubber
from topicprofile.privacy.pseudonym import pseudonymize_frame, pseudonymize_rejects

__all__ = [
    "DEFAULT_SUFFIXES", "FileSetLoad", "InputPaths", "file_documents", "has_table_suffix", "input_files",
    "pseudonymized", "sources_label",
]  # fmt: skip

#: What an input may be: a path (file, folder or glob pattern) or a list of them.
InputPaths = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]
#: File types a folder contributes; the text formats may also end in .gz or .bz2.
DEFAULT_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".parquet")
_COMPRESSED = (".gz", ".bz2")
_GLOB_CHARS = frozenset("*?[")


def has_table_suffix(path: Path, suffixes: Sequence[str] = DEFAULT_SUFFIXES) -> bool:
    """Whether ``path`` ends in one of ``suffixes`` (a text format also with .gz/.bz2, not .parquet.gz)."""
    names = [s.lower() for s in path.suffixes]
    if names and names[-1] in _COMPRESSED:
        names.pop()
        if names and names[-1] == ".parquet":
            return False
    return bool(names) and names[-1] in suffixes


def _picked(path: Path) -> bool:
    return path.is_file() and not path.name.startswith((".", "~$"))


def input_files(paths: InputPaths, *, name: str = "input") -> list[Path]:
    """The files of an input, in order: a file as given (checked when read), a folder's table files
    (:data:`DEFAULT_SUFFIXES`, not hidden, not in subfolders) and a glob pattern's files (``**``
    recurses) each sorted by path; a list gives its items' files one after the other.

    Raises
    ------
    DataValidationError
        A folder or pattern without a matching file (``name`` says which input), or an empty list.
    """
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not items:
        raise DataValidationError(f"{name}: no file given")
    files: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if _picked(p) and has_table_suffix(p))
            where = f"folder {path} has no {', '.join(DEFAULT_SUFFIXES)} file"
        elif not path.exists() and _GLOB_CHARS & set(str(item)):
            found = sorted((p for p in map(Path, glob.glob(str(item), recursive=True)) if _picked(p)),
                           key=lambda p: p.as_posix())  # fmt: skip
            where = f"no file matches {str(item)!r}"
        else:
            found, where = [path], ""
        if not found:
            raise DataValidationError(f"{name}: {where}; give a file, a folder of files or a glob pattern.")
        files.extend(found)
    return files


def sources_label(files: Sequence[Path]) -> str:
    """How a set of files is named in summaries: the file name, or the first and how many."""
    if len(files) == 1:
        return files[0].name
    return f"{files[0].name} and {len(files) - 1} more files"


class FileSetLoad:
    """Several input files of one kind read and cleaned in chunks, one file after the other.

    Iterate it (once) for a :class:`LoadResult` per chunk (:class:`StreamedLoad` of each file;
    ``on_file(path)`` is called before each file's first chunk); afterwards ``source``, ``n_read``,
    ``n_rejected`` and ``rejects`` (each reject with its file and row) sum up all files.
    """

    def __init__(
        self, kind: str, files: Sequence[Path], *, columns: str | Mapping[str, str] | None = None,
        encoding: str | None = None, chunk_rows: int = 50_000, date_format: str | None = None,
    ) -> None:  # fmt: skip
        self.loads = [StreamedLoad(kind, path, columns=columns, encoding=encoding, chunk_rows=chunk_rows,
                                   date_format=date_format) for path in files]  # fmt: skip
        self.kind, self.files = kind, list(files)
        self.source = sources_label(self.files)

    def files_chunks(self) -> Iterator[tuple[int, LoadResult]]:
        """``(file index, chunk)`` for every chunk of every file, in order."""
        for i, load in enumerate(self.loads):
            for chunk in load:
                yield i, chunk

    def __iter__(self) -> Iterator[LoadResult]:
        for _, chunk in self.files_chunks():
            yield chunk

    @property
    def n_read(self) -> int:
        return sum(load.n_read for load in self.loads)

    @property
    def rejects(self) -> pd.DataFrame:
        parts = [load.rejects for load in self.loads if load.n_rejected]
        return pd.concat(parts, ignore_index=True) if parts else Rejector(self.source, 0).table()

    @property
    def n_rejected(self) -> int:
        return sum(load.n_rejected for load in self.loads)


def pseudonymized(loaded: LoadResult, id_key: bytes | None) -> LoadResult:
    """``loaded`` with its customer ids (in the data and in rejected id cells) pseudonymised with ``id_key``."""
    if id_key is None:
        return loaded
    return dataclasses.replace(
        loaded,
        data=pseudonymize_frame(loaded.data, id_key),
        rejects=pseudonymize_rejects(loaded.rejects, id_key),
    )


def file_documents(
    chunks: Iterator[LoadResult], kind: str, *, scrub: bool, id_key: bytes | None, names: NameScrubber | None
) -> Iterator[pd.DataFrame]:
    """The documents of each loaded chunk (:func:`~topicprofile.ingest.documents.build_documents`):
    ids pseudonymised with ``id_key``, texts scrubbed unless ``scrub`` is False (names too with
    ``names``; the counts in ``attrs``). The one path from a file's chunks to documents, locally and
    on a cluster's workers."""
    for chunk in chunks:
        yield build_documents(**{kind: pseudonymized(chunk, id_key)}, scrub=scrub, names=names)
