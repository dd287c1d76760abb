"""Streaming fit: documents pass through every step in chunks; results equal the in-memory computation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from topicprofile import RunOptions, TopicProfiler
from topicprofile.ingest.docstore import DocumentStore
from topicprofile.text.corpus import CsrCorpus
from topicprofile.ingest.documents import build_documents, fingerprint
from topicprofile.topics import LdaTopics
from topicprofile.text.vectorize import bows_to_csr, build_dictionary, pool_bows, to_bows
from topicprofile.app.jobs import load_inputs

CORPORA = Path(__file__).resolve().parents[2] / "corpora"


@pytest.fixture(scope="module")
def shop():
    loaded = load_inputs(reviews=CORPORA / "reviews.csv", browsing=CORPORA / "browsing.jsonl")
    return loaded["reviews"], loaded["browsing"]


@pytest.fixture(scope="module")
def one_chunk(shop):
    return TopicProfiler(n_topics=6, random_state=0).fit(*shop, run=RunOptions(chunk_rows=10**6))


@pytest.fixture(scope="module")
def many_chunks(shop):
    return TopicProfiler(n_topics=6, random_state=0, keep_texts="all").fit(*shop, run=RunOptions(chunk_rows=777))


@pytest.mark.slow
def test_streamed_fit_equals_one_chunk(one_chunk, many_chunks) -> None:
    assert many_chunks.documents_ is not None and len(many_chunks.documents_._shards()) > 5
    assert many_chunks.dictionary_.token2id == one_chunk.dictionary_.token2id
    np.testing.assert_array_equal(many_chunks.topics_.topic_word_, one_chunk.topics_.topic_word_)
    assert many_chunks.topic_labels_ == one_chunk.topic_labels_
    assert many_chunks.coherence_ == one_chunk.coherence_
    pd.testing.assert_frame_equal(many_chunks.profiles_, one_chunk.profiles_)
    assert many_chunks.input_fingerprint_ == one_chunk.input_fingerprint_


@pytest.mark.slow
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
    in_memory = LdaTopics(6, random_state=0, trainer="gibbs").fit(pooled, dictionary)  # the default trainer
    np.testing.assert_array_equal(in_memory.topic_word_, many_chunks.topics_.topic_word_)
    assert many_chunks.input_fingerprint_ == fingerprint(docs)


@pytest.mark.slow
def test_streamed_profile_equals_one_chunk(shop, one_chunk) -> None:
    whole = one_chunk.profile(*shop)
    chunked = one_chunk.profile(*shop, run=RunOptions(chunk_rows=500))
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


# -- reading files in chunks ------------------------------------------------------------------
@pytest.mark.parametrize("name", ["reviews.csv", "browsing.jsonl", "orders.csv"])
def test_iter_read_table_chunks_equal_the_whole_file(name: str, tmp_path) -> None:
    from topicprofile.ingest.files import iter_read_table, read_table

    whole = read_table(CORPORA / name)
    pd.testing.assert_frame_equal(pd.concat(iter_read_table(CORPORA / name, chunk_rows=97), ignore_index=True), whole)
    gz = tmp_path / f"{name}.gz"
    gz.write_bytes(__import__("gzip").compress((CORPORA / name).read_bytes()))
    pd.testing.assert_frame_equal(pd.concat(iter_read_table(gz, chunk_rows=500), ignore_index=True), whole)
    pq = tmp_path / "t.parquet"
    whole.to_parquet(pq, index=False)
    pd.testing.assert_frame_equal(pd.concat(iter_read_table(pq, chunk_rows=500), ignore_index=True), whole)


def test_streamed_load_numbers_and_deduplicates_across_chunks(tmp_path) -> None:
    from topicprofile.ingest.load import StreamedLoad, load_reviews

    path = tmp_path / "r.csv"
    rows = ["customer_id,text"] + [f"c{i % 5},review number {i % 3}" for i in range(60)] + [",no id", "c1,"]
    path.write_text("\n".join(rows) + "\n")
    whole = load_reviews(path)
    streamed = StreamedLoad("reviews", path, chunk_rows=8)
    data = pd.concat([r.data for r in streamed], ignore_index=True)
    pd.testing.assert_frame_equal(data, whole.data)
    pd.testing.assert_frame_equal(streamed.rejects, whole.rejects)
    assert streamed.n_read == 62 and streamed.n_rejected == whole.n_rejected > 2
    assert streamed.rejects["reason"].str.startswith("duplicate of row").sum() > 0


def test_streamed_load_bad_bytes_after_the_sample_reject_that_row(tmp_path) -> None:
    # A UTF-8 file with one undecodable byte far down is UTF-8 with one bad row (issue 10, item 2),
    # not a whole-file failure.
    from topicprofile.ingest.load import StreamedLoad

    path = tmp_path / "r.csv"
    lines = [b"customer_id,text\n"] + [b"c%d,plain ascii text\n" % i for i in range(20_000)] + [b"c2,caf\xe9\n"]
    path.write_bytes(b"".join(lines))
    streamed = StreamedLoad("reviews", path, chunk_rows=1000)
    assert sum(len(r.data) for r in streamed) == 20_000
    offset = len(b"".join(lines[:-1])) + len(b"c2,caf")
    assert streamed.rejects[["row", "reason"]].values.tolist() == [[20_001, f"invalid UTF-8 at byte {offset} (0xe9)"]]


@pytest.mark.slow
def test_fit_files_streamed_equals_in_memory_fit(tmp_path) -> None:
    from topicprofile.app.jobs import fit_files

    inputs = {"reviews": CORPORA / "reviews.csv", "browsing": CORPORA / "browsing.jsonl"}
    streamed = TopicProfiler(n_topics=6, random_state=0)
    summary = fit_files(tmp_path / "m", profiler=streamed, run=RunOptions(chunk_rows=600), **inputs)
    loaded = load_inputs(**inputs)
    in_memory = TopicProfiler(n_topics=6, random_state=0).fit(loaded["reviews"], loaded["browsing"])
    assert streamed.dictionary_.token2id == in_memory.dictionary_.token2id
    np.testing.assert_array_equal(streamed.topics_.topic_word_, in_memory.topics_.topic_word_)
    pd.testing.assert_frame_equal(streamed.profiles_, in_memory.profiles_)
    assert summary["inputs"]["reviews"] == {"file": "reviews.csv", "rows": 1201, "used": 1190, "rejected": 11}
    assert len(pd.read_csv(summary["rejects_file"])) == 11
    reloaded = TopicProfiler.load(str(tmp_path / "m"))
    assert reloaded.explain("C00001") == in_memory.explain("C00001")


@pytest.mark.slow
def test_tag_output_is_written_in_blocks_equal_to_the_whole_table(tmp_path) -> None:
    """Tagging writes its output block by block; the blocks join up to exactly the one-block table
    (with orders: segments and orders-only customers, which fall between text customers' ids)."""
    from topicprofile.actions.clv import clv_columns
    from topicprofile.app.jobs import TableWriter, round_output, stream_documents, tag_files, write_table

    inputs = {"reviews": CORPORA / "reviews.csv", "browsing": CORPORA / "browsing.jsonl"}
    order_files = {"orders": CORPORA / "orders.csv", "orders_columns": {"timestamp": "order_date"}}
    orders = load_inputs(**order_files)["orders"]
    texts = load_inputs(**inputs)
    model = TopicProfiler(n_topics=6, random_state=0).fit(texts["reviews"], texts["browsing"], orders,
                                                          run=RunOptions(chunk_rows=97))  # fmt: skip
    store, _ = stream_documents(**inputs, chunk_rows=97)
    whole = model.profile_documents(store, orders)
    blocks = list(model.iter_profiles(store, orders, block_rows=37))
    assert len(blocks) > 5 and all(0 < len(b) for b in blocks)
    with_text = set(texts["reviews"].data["customer_id"]) | set(texts["browsing"].data["customer_id"])
    assert set(whole["customer_id"]) - with_text  # some customers have orders only
    pd.testing.assert_frame_equal(pd.concat(blocks, ignore_index=True), whole)
    pd.testing.assert_frame_equal(whole, model.profiles_)  # fit/transform parity

    model.save(str(tmp_path / "m"))
    for name in ("chunked.csv", "chunked.parquet"):  # blocks of 97 customers
        summary = tag_files(tmp_path / "m", tmp_path / name, run=RunOptions(chunk_rows=97), **order_files, **inputs)
        assert summary["n_customers"] == len(whole)
        assert summary["n_tagged"] == int((whole["top_interest"] != "").sum())
        assert summary["segments"] == whole["segment_name"].value_counts().to_dict()
    whole = whole.join(clv_columns(orders.data), on="customer_id")  # tag adds churn/CLV columns with orders
    whole = round_output(whole)  # tag's output has no float noise (money in cents, shares in 4 places)
    write_table(whole, tmp_path / "whole.csv")
    assert (tmp_path / "chunked.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    write_table(whole, tmp_path / "whole.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "chunked.parquet"), pd.read_parquet(tmp_path / "whole.parquet"))
    assert not list(tmp_path.glob(".*.tmp"))

    with pytest.raises(RuntimeError, match="stop"), TableWriter(tmp_path / "whole.csv") as writer:
        writer.write(whole.head(3))
        raise RuntimeError("stop")  # an error midway leaves the old file and no temporary file
    assert (tmp_path / "whole.csv").read_bytes() == (tmp_path / "chunked.csv").read_bytes()
    assert not list(tmp_path.glob(".*.tmp"))


# -- workers and the token cache ---------------------------------------------------------------
@pytest.mark.slow
def test_two_tokenizer_workers_fit_the_same_model(shop, many_chunks) -> None:
    two = TopicProfiler(n_topics=6, random_state=0).fit(*shop, run=RunOptions(chunk_rows=777, workers=2))
    assert two.dictionary_.token2id == many_chunks.dictionary_.token2id
    np.testing.assert_array_equal(two.topics_.topic_word_, many_chunks.topics_.topic_word_)
    pd.testing.assert_frame_equal(two.profile(*shop), many_chunks.profile(*shop))


@pytest.mark.slow
def test_token_cache_skips_tokenizing_and_is_invalidated(shop, tmp_path, monkeypatch) -> None:
    import topicprofile.text.encoder as encoder_module

    reviews, browsing = shop
    cached = RunOptions(cache_dir=str(tmp_path))
    first = TopicProfiler(n_topics=6, random_state=0).fit(reviews, browsing, run=cached)
    assert len(list((tmp_path / "tokens").glob("*.parquet"))) == 1

    def no_tokenizing(*args, **kwargs):
        raise AssertionError("tokenized although the cache holds these tokens")

    monkeypatch.setattr(encoder_module, "iter_tokenize_parallel", no_tokenizing)
    again = TopicProfiler(n_topics=5, random_state=1, passes=5).fit(reviews, browsing, run=cached)
    assert again.dictionary_.token2id == first.dictionary_.token2id  # same tokens, other LDA settings

    changed = reviews.data.copy()
    changed.loc[0, "text"] = changed.loc[0, "text"] + " and a new sentence"
    with pytest.raises(AssertionError, match="tokenized although"):  # other input: a miss
        TopicProfiler(n_topics=6).fit(changed, browsing, run=cached)
    with pytest.raises(AssertionError, match="tokenized although"):  # other tokenizer settings: a miss
        TopicProfiler(n_topics=6, stop_words=["great"]).fit(reviews, browsing, run=cached)

    entry = next((tmp_path / "tokens").glob("*.parquet"))
    entry.write_bytes(b"not parquet")  # a damaged entry is a miss, never an error
    with pytest.raises(AssertionError, match="tokenized although"):
        TopicProfiler(n_topics=6, random_state=0).fit(reviews, browsing, run=cached)
