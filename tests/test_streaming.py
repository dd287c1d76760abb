"""Streaming fit: documents pass through every step in chunks; results equal the in-memory computation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from topicprofile import TopicProfiler
from topicprofile.corpus import CsrCorpus, DocumentStore
from topicprofile.documents import build_documents, fingerprint
from topicprofile.topics import LdaTopics
from topicprofile.vectorize import bows_to_csr, build_dictionary, pool_bows, to_bows
from topicprofile.workflows import load_inputs

CORPORA = Path(__file__).resolve().parents[1] / "corpora"


@pytest.fixture(scope="module")
def shop():
    loaded = load_inputs(reviews=CORPORA / "reviews.csv", browsing=CORPORA / "browsing.jsonl")
    return loaded["reviews"], loaded["browsing"]


@pytest.fixture(scope="module")
def one_chunk(shop):
    return TopicProfiler(n_topics=6, random_state=0, chunk_rows=10**6).fit(*shop)


@pytest.fixture(scope="module")
def many_chunks(shop):
    return TopicProfiler(n_topics=6, random_state=0, chunk_rows=777).fit(*shop)


def test_streamed_fit_equals_one_chunk(one_chunk, many_chunks) -> None:
    assert many_chunks.documents_ is not None and len(many_chunks.documents_._shards()) > 5
    assert many_chunks.dictionary_.token2id == one_chunk.dictionary_.token2id
    np.testing.assert_array_equal(many_chunks.topics_.topic_word_, one_chunk.topics_.topic_word_)
    assert many_chunks.topic_labels_ == one_chunk.topic_labels_
    assert many_chunks.coherence_ == one_chunk.coherence_
    pd.testing.assert_frame_equal(many_chunks.profiles_, one_chunk.profiles_)
    assert many_chunks.input_fingerprint_ == one_chunk.input_fingerprint_


def test_streamed_fit_equals_in_memory_computation(shop, many_chunks) -> None:
    """Dictionary and topics equal what the whole corpus in memory gives (the pre-streaming path)."""
    docs = build_documents(*shop)
    tokens = many_chunks.tokenizer_.tokenize(docs["text"].tolist())
    tokens = many_chunks.phrases_.transform(tokens)
    dictionary = build_dictionary(tokens)
    assert dictionary.token2id == many_chunks.dictionary_.token2id
    assert dictionary.dfs == many_chunks.dictionary_.dfs
    bows = to_bows(dictionary, tokens)
    pooled = pool_bows(bows, docs["customer_id"].tolist())
    in_memory = LdaTopics(6, random_state=0).fit(pooled, dictionary)
    np.testing.assert_array_equal(in_memory.topic_word_, many_chunks.topics_.topic_word_)
    assert many_chunks.input_fingerprint_ == fingerprint(docs)


def test_streamed_profile_equals_one_chunk(shop, one_chunk) -> None:
    whole = one_chunk.profile(*shop)
    one_chunk.set_params(chunk_rows=500)
    try:
        chunked = one_chunk.profile(*shop)
    finally:
        one_chunk.set_params(chunk_rows=10**6)
    pd.testing.assert_frame_equal(whole, chunked)
    pd.testing.assert_frame_equal(whole, one_chunk.profiles_)  # fit/transform parity holds too


def test_document_store_roundtrip_and_customer_lookup(tmp_path) -> None:
    docs = pd.DataFrame({"customer_id": ["a", "b", "a", "c"], "channel": ["reviews"] * 4,
                         "text": ["one", "two", "three", "four"]})  # fmt: skip
    store = DocumentStore.from_frame(docs, chunk_rows=3)
    assert store.n_docs == 4 and len(store._shards()) == 2
    assert store.fingerprint == fingerprint(docs)
    pd.testing.assert_frame_equal(pd.concat(store.chunks(), ignore_index=True), docs)
    assert store.customer("a")["text"].tolist() == ["one", "three"]
    store.write_parquet(tmp_path / "docs.parquet")
    reopened = DocumentStore.open(tmp_path / "docs.parquet")
    assert reopened.n_docs == 4 and reopened.customer("a")["text"].tolist() == ["one", "three"]


def test_csr_corpus_streams_the_non_empty_rows() -> None:
    bows = [[(0, 2), (3, 1)], [], [(1, 1)]]
    corpus = CsrCorpus(bows_to_csr(bows, 4))
    assert len(corpus) == 2
    assert list(corpus) == [[(0, 2.0), (3, 1.0)], [(1, 1.0)]]
    assert list(corpus) == list(corpus)  # re-iterable: gensim reads it once per pass
