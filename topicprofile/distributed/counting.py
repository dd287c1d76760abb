"""The fit's counting pass on the cluster: tokens and each document's word counts stay on the workers.

After the vocabulary is learned (:mod:`.vocabulary`), each chunk (partition) is counted where its
tokens are (:func:`~topicprofile.distributed.tasks.count_chunk`: the same
:func:`~topicprofile.text.encoder.vocabulary_counts` and
:class:`~topicprofile.tag.tagger.CustomerAccumulator` as :func:`~topicprofile.tag.aggregate.count_corpus`).
The driver receives per chunk only what it adds up in chunk order: its document and non-empty
counts, its share of the coherence sample (drawn over the documents' positions in the whole corpus,
so it does not depend on the partitioning), its reviews that may become quotes
(:func:`~topicprofile.text.corpus.review_candidates`) and its document frequencies for TF-IDF
(first-appearance order, like gensim's pass). The customers' pooled counts are merged pairwise on the
workers in a fixed tree (:func:`~topicprofile.distributed.tasks.merge_pooled`; whole numbers, exact)
and only the root, the training matrix, reaches the driver. Every result equals the local run's bit
for bit (tests/distributed/test_counting.py).

What still comes to the driver: each chunk's count matrix, once, when the steps after training read
them (the customers' topic sums, the training bows for ``forget``, document pooling's training
matrix): :meth:`ClusterCountedCorpus.matrices`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from topicprofile.distributed import tasks
from topicprofile.distributed.cluster import DaskBackend
from topicprofile.distributed.ingest import chunk_sources
from topicprofile.distributed.lda import tree
from topicprofile.ingest.docstore import DocumentStore
from topicprofile.text.corpus import CountedCorpus
from topicprofile.text.encoder import TextEncoder
from topicprofile.text.vectorize import TfidfKeywords, dictionary_to_state

__all__ = ["ClusterCountedCorpus", "RemoteTokens"]


class RemoteTokens:
    """The tokens of each chunk, held on the workers (futures in chunk order): what
    :meth:`TextEncoder.fit_vocabulary` returns for a cluster, in place of
    :class:`~topicprofile.text.corpus.TokenShards`. :meth:`count_corpus` counts them where they are;
    :meth:`chunks` brings them to the driver (only when phrases must be learned there)."""

    def __init__(self, backend: DaskBackend, futures: list[Any]) -> None:
        self.backend = backend
        self.futures = futures

    def chunks(self) -> Iterator[list[list[str]]]:
        yield from self.backend.ordered(lambda future=future: future for future in self.futures)

    def iter_docs(self) -> Iterator[list[str]]:
        for chunk in self.chunks():
            yield from chunk

    def count_corpus(
        self, store: DocumentStore, encoder: TextEncoder, *, report: Any, seed: int, min_example_words: int | None
    ) -> ClusterCountedCorpus:  # fmt: skip
        """:func:`~topicprofile.tag.aggregate.count_corpus` on the workers; the tokens are released after."""
        backend, run_id = self.backend, uuid.uuid4().hex[:8]
        corpus = ClusterCountedCorpus(backend, store, store.directory / "counts", seed=seed,
                                      min_example_words=min_example_words)  # fmt: skip
        phrases = None if encoder.phrases_ is None else encoder.phrases_.to_state()
        vocabulary = {"key": f"{backend.token}-{run_id}", "phrases": phrases,
                      "dictionary": dictionary_to_state(encoder.dictionary_)}  # fmt: skip
        held = backend.submit(tasks.hold, vocabulary, key=backend.key("vocabulary", run_id))
        sizes = store.chunk_sizes()
        starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        parts = zip(self.futures, chunk_sources(backend, store), starts[:-1], sizes, strict=True)
        results = [
            backend.submit(
                tasks.count_chunk,
                tokens,
                source,
                held,
                corpus.positions(int(start), size),
                min_example_words,
                key=backend.key(f"count-{run_id}", i),
            )
            for i, (tokens, source, start, size) in enumerate(parts)
        ]
        report("count", 0, store.n_docs)
        pooled = []
        for i, result in enumerate(results):
            summary = backend.result(
                backend.submit(tasks.pick, result, "summary", key=backend.key(f"counted-{run_id}", i))
            )
            corpus.add_summary(
                summary, backend.submit(tasks.pick, result, "counts", key=backend.key(f"counts-{run_id}", i))
            )
            pooled.append(
                backend.submit(tasks.pick, result, "pooled", key=backend.key(f"pooled-{run_id}", i))
            )
            report("count", corpus.n_docs, store.n_docs)
        if pooled:
            _, corpus.pooled = backend.result(
                tree(backend, pooled, f"pooled-{run_id}", task=tasks.merge_pooled)
            )
        self.futures = []  # the tokens are not needed any more
        return corpus


class ClusterCountedCorpus(CountedCorpus):
    """A :class:`~topicprofile.text.corpus.CountedCorpus` whose count matrices stay on the workers
    (one future per chunk) and whose TF-IDF comes from the chunks' document frequencies."""

    def __init__(self, backend: DaskBackend, store: DocumentStore, directory: str | Path, *, seed: int,
                 min_example_words: int | None) -> None:  # fmt: skip
        super().__init__(store, directory, seed=seed, min_example_words=min_example_words)
        self.backend = backend
        self.counts: list[Any] = []  # futures of each chunk's counts, in order
        self._dfs: dict[int, int] = {}
        self._num_nnz = 0

    def positions(self, start: int, n_docs: int) -> np.ndarray:
        """The coherence sample's documents among ``n_docs`` from position ``start`` of the corpus."""
        return np.flatnonzero(self._sampled[start : start + n_docs])

    def add_summary(self, summary: dict[str, Any], counts: Any) -> None:
        """Add a chunk's :func:`~topicprofile.distributed.tasks.count_chunk` summary, in chunk order."""
        self.add_counted(
            summary["n_docs"], summary["n_nonempty"], summary["sample_tokens"], summary["candidates"]
        )
        self.counts.append(counts)
        dfs = self._dfs
        for term, frequency in summary["dfs"].tolist():  # new terms keep the corpus's first-appearance order
            dfs[term] = dfs.get(term, 0) + frequency
        self._num_nnz += summary["num_nnz"]

    def fit_keywords(self, encoder: TextEncoder) -> None:
        encoder.keywords_ = TfidfKeywords.from_frequencies(
            self._dfs, num_docs=self.n_docs, num_nnz=self._num_nnz, dictionary=encoder.dictionary_
        )

    def matrices(self) -> Iterator[sparse.csr_matrix]:
        """Each chunk's count matrix in order: fetched from the workers the first time (and kept in
        this corpus's folder, as the local pass keeps them), read from there after."""
        if len(self._paths) == len(self.counts):
            yield from super().matrices()
            return
        self._paths = []
        for counts in self.backend.ordered(lambda future=future: future for future in self.counts):
            path = self.directory / f"counts-{len(self._paths):06d}.npz"
            sparse.save_npz(path, counts, compressed=False)
            self._paths.append(path)
            yield counts
