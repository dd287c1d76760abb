"""Tokens, phrases and the dictionary on the cluster: partition counts added up on the driver.

:class:`ClusterVocabulary` tokenizes each chunk (partition) of the documents on a worker, which
keeps the chunk's tokens. Phrases are then learned from each partition's word and word-pair counts
(:meth:`~topicprofile.text.phrases.PhraseDetector.count`) and the dictionary from each partition's
document and collection frequencies (:func:`~topicprofile.text.vectorize.count_words`, after the
phrases). The driver adds the partitions' counts up in partition order: a key's first appearance
in the whole corpus is its first appearance in the first partition that has it, so the sums are the
local run's counts, in the local run's order (word ids included), and the phrases and dictionary
equal the local ones exactly. Only counts travel, never the tokens again.

The one case the sums cannot reproduce is gensim pruning its phrase counts (more than
``max_vocab_size`` distinct words and pairs; it then drops rare keys as it goes, which depends on
the order of the documents): phrases and dictionary are then learned locally, from the tokens.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np

from topicprofile.distributed import tasks
from topicprofile.distributed.cluster import DaskBackend
from topicprofile.distributed.counting import RemoteTokens
from topicprofile.distributed.ingest import chunk_sources
from topicprofile.ingest.docstore import DocumentStore
from topicprofile.text.encoder import TextEncoder
from topicprofile.text.phrases import PhraseDetector
from topicprofile.text.tokenizer import SpacyTokenizer
from topicprofile.text.vectorize import filter_dictionary

__all__ = ["ClusterVocabulary", "merge_word_counts"]

logger = logging.getLogger(__name__)


class ClusterVocabulary:
    """The ``tokenize`` argument (with its ``learn``) of :meth:`TextEncoder.fit_vocabulary` on
    ``backend``'s cluster. Each worker builds the tokenizer once from its config; the tokens of every chunk stay
    on the workers, for :meth:`learn` and then the counting pass (:mod:`.counting`)."""

    def __init__(self, backend: DaskBackend) -> None:
        self.backend = backend
        self._tokens: list[Any] = []  # the futures of each chunk's tokens, in order

    #: The tokens stay on the workers (:class:`~topicprofile.distributed.counting.RemoteTokens`).
    remote = True

    def __call__(self, tokenizer: SpacyTokenizer, documents: DocumentStore) -> RemoteTokens:
        return self.tokenize(tokenizer, documents)

    def tokenize(self, tokenizer: SpacyTokenizer, documents: DocumentStore) -> RemoteTokens:
        """The tokens of each chunk of ``documents``, in order, tokenized and kept on the workers."""
        backend = self.backend
        run_id = uuid.uuid4().hex[:8]
        config = {"key": f"{backend.token}-{run_id}", "config": tokenizer.get_config()}
        held = backend.submit(tasks.hold, config, key=backend.key("tokenizer", run_id))
        sources = chunk_sources(backend, documents)  # paths, the workers' own shards, or the chunks
        self._tokens = [
            backend.submit(tasks.tokenize_chunk, held, source, key=backend.key(f"tokens-{run_id}", i))
            for i, source in enumerate(sources)
        ]
        return RemoteTokens(backend, self._tokens)

    def learn(self, encoder: TextEncoder) -> bool:
        """Set ``encoder``'s phrases and dictionary from the partitions' counts; False (nothing set)
        when the tokens were not made by :meth:`tokenize` (read from the token cache) or gensim
        would have pruned the phrase counts."""
        chunks = self._tokens
        if not chunks:
            return False
        phrases: PhraseDetector | None = None
        if encoder.phrases:
            phrases = self._phrases(chunks)
            if phrases is None:
                return False
        run_id = uuid.uuid4().hex[:8]
        state = None  # the phrases travel once, held on the cluster
        if phrases is not None:
            state = self.backend.submit(
                tasks.hold, phrases.to_state(), key=self.backend.key("phrases", run_id)
            )
        parts = self.backend.ordered(
            (lambda i=i, chunk=chunk: self.backend.submit(
                tasks.word_counts, chunk, state, key=self.backend.key(f"words-{run_id}", i)
            ))
            for i, chunk in enumerate(chunks)
        )  # fmt: skip
        counted = merge_word_counts(parts)
        encoder.phrases_ = phrases
        encoder.dictionary_ = filter_dictionary(
            counted, no_below=encoder.no_below, no_above=encoder.no_above, keep_n=encoder.keep_n
        )
        return True

    def _phrases(self, chunks: list[Any]) -> PhraseDetector | None:
        detector = PhraseDetector()
        settings = {"min_count": detector.min_count, "threshold": detector.threshold,
                    "max_vocab_size": detector.max_vocab_size}  # fmt: skip
        run_id = uuid.uuid4().hex[:8]
        vocab: dict[str, int] = {}
        total = 0
        parts = self.backend.ordered(
            (lambda i=i, chunk=chunk: self.backend.submit(
                tasks.phrase_counts, chunk, settings, key=self.backend.key(f"pairs-{run_id}", i)
            ))
            for i, chunk in enumerate(chunks)
        )  # fmt: skip
        for part, words, pruned in parts:
            for key, count in part.items():  # in the partition's order: new keys keep the corpus's order
                vocab[key] = vocab.get(key, 0) + count
            total += words
            if pruned or len(vocab) > detector.max_vocab_size:
                logger.info(
                    "more than %d words and pairs: phrases are learned on the driver", detector.max_vocab_size
                )
                return None
        return detector.fit_counts(vocab, total)


def merge_word_counts(parts: Iterator[dict[str, Any]]) -> Any:
    """One unfiltered gensim ``Dictionary`` from partitions' :func:`tasks.word_counts`, added up in
    partition order: the same tokens, ids, frequencies and dict orders as counting the corpus whole."""
    from gensim.corpora import Dictionary

    merged = Dictionary(prune_at=None)
    token2id, dfs, cfs = merged.token2id, merged.dfs, merged.cfs
    for part in parts:
        ids = np.empty(len(part["tokens"]), dtype=np.int64)
        for local_id, token in zip(part["ids"], part["tokens"], strict=True):
            ids[local_id] = token2id.setdefault(token, len(token2id))
        for frequencies, pairs in ((dfs, part["dfs"]), (cfs, part["cfs"])):
            for word, count in zip(ids[pairs[:, 0]].tolist(), pairs[:, 1].tolist(), strict=True):
                frequencies[word] = frequencies.get(word, 0) + count
        merged.num_docs += part["num_docs"]
        merged.num_pos += part["num_pos"]
        merged.num_nnz += part["num_nnz"]
    return merged
