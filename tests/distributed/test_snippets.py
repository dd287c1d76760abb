"""The snippets a model keeps (``keep_texts="snippets"``), picked per shard where the texts are and
merged on the driver: the same documents, in the same order, as the local ``pick_snippets`` over
all documents, on real reviews cut into uneven shards."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from topicprofile import TopicProfiler
from topicprofile.distributed import tasks
from topicprofile.distributed.tagging import infer_state
from topicprofile.ingest.docstore import STORED_FIELDS, DocumentStore
from topicprofile.ingest.documents import build_documents
from topicprofile.privacy.minimize import SnippetPicker, pick_snippets
from topicprofile.tag.table import tag_topic_ids

SHARDS = [13, 101, 7, 150, 129]  # uneven shards of the 400 documents


@pytest.fixture(scope="module")
def fitted(shared_data: Path) -> tuple[TopicProfiler, DocumentStore, list[tuple[pd.DataFrame, object]]]:
    """A model of 400 real Amazon reviews of 90 customers (each in several shards), the reviews in
    uneven shards and each shard's word counts."""
    frame = pd.read_csv(shared_data / "en_amazon_reviews_4cats.csv.bz2", dtype=str, nrows=3000)
    sample = frame.sample(400, random_state=4).reset_index(drop=True)
    reviews = pd.DataFrame(
        {"customer_id": [f"c{(i * 7) % 90:03d}" for i in range(400)], "text": sample["text"]}
    )
    docs = build_documents(reviews, None)
    store = DocumentStore(chunk_rows=1000)
    starts = np.concatenate([[0], np.cumsum(SHARDS)])
    for start, end in itertools.pairwise(starts):
        store.append(docs.iloc[start:end])
    assert store.chunk_sizes() == SHARDS
    profiler = TopicProfiler(n_topics=4, random_state=3, trainer="vb", passes=2).fit_documents(store)
    chunks = list(profiler.encoder_.iter_counts(store.chunks(), n_docs=store.n_docs, workers=1))
    return profiler, store, chunks


def _merged(profiler: TopicProfiler, chunks, order: list[int]) -> tuple[list[int], list[dict]]:
    tags = tag_topic_ids(profiler.profiles_)
    held = {"topics": infer_state(profiler.topics_), "tags": tags, "weights": profiler._make_tagger().weights(),
            "n": 3}  # fmt: skip
    starts = np.concatenate([[0], np.cumsum(SHARDS)]).tolist()
    candidates = [
        tasks.snippet_candidates(held, docs, counts, starts[i]) for i, (docs, counts) in enumerate(chunks)
    ]
    picker = SnippetPicker(tags, rows=False)
    for i in order:
        picker.merge(candidates[i])
    return picker.kept(), candidates


@pytest.mark.slow
def test_snippets_merged_from_uneven_shards_equal_the_local_pick(fitted) -> None:
    profiler, _, chunks = fitted
    tags = tag_topic_ids(profiler.profiles_)
    local = pick_snippets(chunks, tags=tags, channel_weights=profiler._make_tagger().weights(),
                          doc_topics=profiler.topics_.transform_counts, columns=STORED_FIELDS)  # fmt: skip
    kept, candidates = _merged(profiler, chunks, list(range(len(SHARDS))))
    assert kept == _merged(profiler, chunks, [3, 0, 4, 2, 1])[0]  # the order of the shards does not matter
    starts = np.concatenate([[0], np.cumsum(SHARDS)])
    rows = [row for i, (docs, _) in enumerate(chunks)
            for row in tasks.take_rows(docs, [k - starts[i] for k in kept if starts[i] <= k < starts[i + 1]])]  # fmt: skip
    pd.testing.assert_frame_equal(pd.DataFrame(rows, columns=list(STORED_FIELDS)), local)
    assert len(local) > 100
    # the merge decides: customers' candidates come from several shards, and some lose there
    sent = sum(len(items) for shard in candidates for items in shard.values())
    keys = [key for shard in candidates for key in shard]
    assert len(keys) > len(set(keys)) and sent > sum(min(3, len(v)) for v in _per_key(candidates).values())


def _per_key(candidates) -> dict:
    merged: dict = {}
    for shard in candidates:
        for key, items in shard.items():
            merged.setdefault(key, []).extend(items)
    return merged


@pytest.mark.slow
def test_snippets_picked_on_the_cluster_equal_the_local_pick(fitted, cluster) -> None:
    """``cluster_snippets`` on a real ``LocalCluster``: the shards' counts held on the workers."""
    pytest.importorskip(
        "distributed", reason='the dask extra is not installed (pip install "topicprofile[dask]")'
    )
    from topicprofile.distributed import DaskBackend
    from topicprofile.distributed.snippets import cluster_snippets

    profiler, store, chunks = fitted
    backend = DaskBackend(cluster[1], shares_files=False)
    counts = [
        backend.submit(tasks.hold, matrix, key=backend.key("counts", i))
        for i, (_, matrix) in enumerate(chunks)
    ]
    tags = tag_topic_ids(profiler.profiles_)
    there = cluster_snippets(backend, store, counts, tags=tags, channel_weights=profiler._make_tagger().weights(),
                             topics=profiler.topics_)  # fmt: skip
    here = pick_snippets(chunks, tags=tags, channel_weights=profiler._make_tagger().weights(),
                         doc_topics=profiler.topics_.transform_counts, columns=STORED_FIELDS)  # fmt: skip
    pd.testing.assert_frame_equal(there, here)
