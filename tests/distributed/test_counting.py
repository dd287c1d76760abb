"""The fit's counting pass on a real Dask cluster (``distributed.LocalCluster``, 2 worker processes of
1 thread): every count, the pooled training matrix, TF-IDF, the coherence sample and the quoted
reviews equal the local ``count_corpus`` bit for bit, with no token on the driver."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

distributed = pytest.importorskip(
    "distributed", reason='the dask extra is not installed (pip install "topicprofile[dask]")'
)

from topicprofile.distributed import DaskBackend, cluster_tokenize
from topicprofile.distributed.counting import ClusterCountedCorpus, RemoteTokens
from topicprofile.ingest.docstore import DocumentStore
from topicprofile.ingest.documents import build_documents
from topicprofile.tag.aggregate import count_corpus
from topicprofile.text import corpus as corpus_module
from topicprofile.text.corpus import GOOD_RATING, CountedCorpus, TokenShards
from topicprofile.text.encoder import TextEncoder, make_tokenizer
from topicprofile.text.quotes import count_words, quote_rank

CHUNK_ROWS = 70
MIN_WORDS = 5


@pytest.fixture(scope="module")
def store(shared_data: Path) -> DocumentStore:
    """420 real rated Amazon reviews of 150 customers, in 6 chunks; every customer in several."""
    frame = pd.read_csv(shared_data / "en_amazon_reviews_4cats.csv.bz2", dtype=str, nrows=3000)
    sample = frame.sample(420, random_state=2).reset_index(drop=True)
    reviews = pd.DataFrame({"customer_id": [f"c{(i * 7) % 150:03d}" for i in range(420)], "text": sample["text"],
                            "rating": sample["rating"]})  # fmt: skip
    return DocumentStore.from_frame(build_documents(reviews, None), chunk_rows=CHUNK_ROWS)


def _count(store: DocumentStore, tokenize, monkeypatch) -> tuple[TextEncoder, CountedCorpus, object]:
    monkeypatch.setattr(corpus_module, "COHERENCE_DOCS", 100)  # a sample of 100 of the 420 documents
    encoder = TextEncoder(make_tokenizer("en"), phrases=True)
    tokens = encoder.fit_vocabulary(store, report=lambda *_: None, workers=1, tokenize=tokenize)
    corpus = count_corpus(store, tokens, encoder, report=lambda *_: None, seed=5, min_example_words=MIN_WORDS)
    corpus.fit_keywords(encoder)
    return encoder, corpus, tokens


@pytest.mark.slow
@pytest.mark.parametrize("shares_files", [True, False], ids=["worker-reads-files", "data-in-tasks"])
def test_counting_on_the_cluster_equals_the_local_pass(
    store: DocumentStore, cluster, monkeypatch: pytest.MonkeyPatch, shares_files: bool
) -> None:
    backend = DaskBackend(cluster[1], shares_files=shares_files)
    here_encoder, here, _ = _count(store, None, monkeypatch)
    with monkeypatch.context() as patch:  # no token reaches the driver's token shards
        patch.setattr(TokenShards, "append", lambda *_: pytest.fail("tokens written on the driver"))
        there_encoder, there, tokens = _count(store, cluster_tokenize(backend), monkeypatch)
    assert isinstance(tokens, RemoteTokens) and isinstance(there, ClusterCountedCorpus)
    assert tokens.futures == []  # released after counting
    assert (there.n_docs, there.n_nonempty) == (here.n_docs, here.n_nonempty) == (420, here.n_nonempty)
    assert len(here.sample_tokens) == 100 and there.sample_tokens == here.sample_tokens
    pd.testing.assert_frame_equal(there.first_reviews, here.first_reviews)
    assert len(here.first_reviews) > 100
    for name in ("data", "indices", "indptr"):  # the training matrix
        assert np.array_equal(getattr(there.pooled, name), getattr(here.pooled, name)), name
    assert there.pooled.dtype == here.pooled.dtype and there.pooled.shape == here.pooled.shape == (
        150,
        here.pooled.shape[1],
    )
    for mine, theirs in zip(here.matrices(), there.matrices(), strict=True):
        assert (mine != theirs).nnz == 0 and np.array_equal(mine.indices, theirs.indices)
    with monkeypatch.context() as patch:  # each chunk's counts come to the driver once
        patch.setattr(backend, "ordered", lambda *_a, **_k: pytest.fail("counts fetched twice"))
        assert np.array_equal(there.doc_matrix().toarray(), here.doc_matrix().toarray())
    local, remote = here_encoder.keywords_.to_state(), there_encoder.keywords_.to_state()
    assert remote[0] == local[0]
    for name in local[1]:  # TF-IDF: frequencies in gensim's order, and the weights
        assert np.array_equal(remote[1][name], local[1][name]), name


def _sequential_quotes(docs: pd.DataFrame) -> dict[str, tuple[str, float]]:
    """The quote rule as it ran before chunks were merged: every review in order, one state."""
    kept: dict[str, tuple[str, float, tuple]] = {}
    settled: set[str] = set()
    for customer, text, rating in zip(
        docs["customer_id"], docs["text"], pd.to_numeric(docs["rating"], errors="coerce"), strict=True
    ):
        if customer in settled or count_words(text) < MIN_WORDS:
            continue
        rank = quote_rank(text, rating)
        if customer not in kept or rank > kept[customer][2]:
            kept[customer] = (" ".join(text.split())[:400], float(rating), rank)
            if rank[0] and rank[1] and not rating < GOOD_RATING:
                settled.add(customer)
    return {c: (v[0], v[1]) for c, v in kept.items()}


@pytest.mark.parametrize("chunk_rows", [1, 3, 1000])
def test_counting_quotes_merged_by_chunk_equal_the_sequential_rule(chunk_rows: int, tmp_path: Path) -> None:
    """Unrated reviews settle a customer only when they are kept: chunk-wise candidates must not lose that."""
    texts = ["fine shoes for the long trail walk", "bad bad terrible broken awful return refund",
             "great soft shoes for the trail every day", "nice warm jacket for the cold winter days"]  # fmt: skip
    rows = [("a", texts[0], "3"), ("a", texts[3], "nan"), ("a", texts[2], "5"), ("b", texts[1], "5"),
            ("b", texts[3], "nan"), ("b", texts[2], "4"), ("c", texts[3], "nan"), ("c", texts[2], "5"),
            ("a", texts[0], "4")]  # fmt: skip
    docs = pd.DataFrame(rows, columns=["customer_id", "text", "rating"]).assign(channel="reviews")
    store = DocumentStore.from_frame(docs.assign(month="", date=""), chunk_rows=chunk_rows)
    corpus = CountedCorpus(store, tmp_path / "counts", seed=0, min_example_words=MIN_WORDS)
    for chunk in store.chunks():
        corpus.add(chunk, sparse.csr_matrix((len(chunk), 1)), [[]] * len(chunk))
    got = {c: (t, r) for c, t, r in corpus.first_reviews.itertuples(index=False)}
    expected = _sequential_quotes(docs)
    assert got.keys() == expected.keys() and list(got) == list(expected)
    for customer, (text, rating) in expected.items():
        assert got[customer][0] == text
        assert got[customer][1] == rating or (math.isnan(rating) and math.isnan(got[customer][1]))
