"""Folding new documents into a fitted topic model (topics/fold.py): the statistics, both trainers, saving."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from scipy.special import psi

from topicprofile import TopicProfiler
from topicprofile.app.update import fold_counts
from topicprofile.topics import lda as lda_module
from topicprofile.topics.fold import expected_counts, fold_documents, pool_rows
from topicprofile.topics.infer import doc_seeds, infer_gamma
from topicprofile.topics.lda import LdaTopics
from topicprofile.topics.matching import hellinger
from topicprofile.topics.unlearn import estep_block_counts


def _copy(profiler: TopicProfiler) -> LdaTopics:
    """The profiler's topics rebuilt from their saved state (the session fixture stays untouched)."""
    return LdaTopics.from_state(*profiler.topics_.to_state(), profiler.dictionary_)


def _new_counts(profiler: TopicProfiler, texts: list[str]) -> sparse.csr_matrix:
    bows, _ = profiler.encoder_.encode(texts)
    return profiler.encoder_.counts(bows)


def _by_hand(topics: LdaTopics, counts: sparse.csr_matrix) -> np.ndarray:
    """Expected topic-word counts document by document: n_dw * phi_dwk, phi_dwk ∝ exp(E[log theta_dk]) beta_kw."""
    beta = topics.exp_elog_beta_
    total = np.zeros_like(beta)
    for d in range(counts.shape[0]):
        row = counts[d]
        if not row.nnz:
            continue
        gamma = infer_gamma(row, doc_seeds(row, topics.random_state), alpha=topics.alpha_,
                            beta_t=np.ascontiguousarray(beta.T), n_iterations=topics.infer_iterations,
                            threshold=topics.gamma_threshold)[0]  # fmt: skip
        theta = np.exp(psi(gamma) - psi(gamma.sum()))
        phi = theta[:, None] * beta[:, row.indices]
        total[:, row.indices] += row.data * phi / phi.sum(axis=0)
    return total


@pytest.fixture(scope="module")
def gibbs_profiler(tiny_reviews):
    return TopicProfiler(n_topics=3, random_state=0, phrases=False, trainer="gibbs").fit(reviews=tiny_reviews)


@pytest.fixture(scope="module")
def vb_profiler(tiny_reviews):
    return TopicProfiler(n_topics=3, random_state=0, phrases=False, trainer="vb").fit(reviews=tiny_reviews)


@pytest.mark.parametrize("trainer", ["vb", "gibbs"])
def test_fold_adds_the_new_documents_expected_counts(
    trainer, vb_profiler, gibbs_profiler, tiny_reviews
) -> None:
    profiler = vb_profiler if trainer == "vb" else gibbs_profiler
    topics = _copy(profiler)
    old = np.array(topics.lda_.state.sstats, copy=True)
    n_old = topics.lda_.state.numdocs
    counts = _new_counts(profiler, [*tiny_reviews["text"].iloc[::7], "", "zzz unknown words only"])
    expected = _by_hand(topics, counts)
    assert expected.sum() == pytest.approx(counts.sum())  # every in-vocabulary token is shared out once
    result = fold_documents(topics, counts, method="add")
    np.testing.assert_allclose(topics.lda_.state.sstats, old + expected, rtol=1e-9, atol=1e-9)
    assert (
        result.n_documents == int((np.diff(counts.indptr) > 0).sum()) < counts.shape[0]
    )  # empty rows skipped
    assert topics.lda_.state.numdocs == n_old + result.n_documents
    # the arrays inference uses follow the folded statistics; alpha and eta stay
    lam = topics.lda_.eta + topics.lda_.state.sstats
    np.testing.assert_allclose(topics.topic_word_, lam / lam.sum(axis=1, keepdims=True))
    np.testing.assert_array_equal(topics.alpha_, profiler.topics_.alpha_)
    assert not np.allclose(topics.topic_word_, profiler.topics_.topic_word_)  # the topics learned something
    # the same topics under the same ids: each folded topic is nearest its own old topic
    distance = hellinger(topics.topic_word_, profiler.topics_.topic_word_)
    np.testing.assert_array_equal(distance.argmin(axis=1), np.arange(profiler.n_topics_))


def test_fold_is_deterministic_and_does_not_depend_on_batches(vb_profiler, tiny_reviews) -> None:
    counts = _new_counts(vb_profiler, tiny_reviews["text"].tolist())
    first, second = _copy(vb_profiler), _copy(vb_profiler)
    fold_documents(first, counts, passes=2)
    fold_documents(second, counts, passes=2)
    np.testing.assert_array_equal(first.lda_.state.sstats, second.lda_.state.sstats)
    np.testing.assert_array_equal(first.exp_elog_beta_, second.exp_elog_beta_)
    # a document's counts do not depend on which other documents are folded with it
    order = np.random.default_rng(0).permutation(counts.shape[0])
    np.testing.assert_allclose(expected_counts(_copy(vb_profiler), counts[order]),
                               expected_counts(_copy(vb_profiler), counts), rtol=1e-12)  # fmt: skip


def _batch_sum(topics: LdaTopics, counts: sparse.csr_matrix) -> np.ndarray:
    """The fold's sum before blocks: the whole matrix as one E-step batch (what it was up to 2,048 rows)."""
    beta = topics.exp_elog_beta_
    return infer_gamma(counts, doc_seeds(counts, topics.random_state), alpha=topics.alpha_,
                       beta_t=np.ascontiguousarray(beta.T), n_iterations=topics.infer_iterations,
                       threshold=topics.gamma_threshold, exp_elog_beta=beta, collect_sstats=True)[1]  # fmt: skip


def test_fold_expected_counts_add_blocks_in_the_training_tree(
    vb_profiler, tiny_reviews, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fold adds its E-step as training does (blocks, then tree_sum), so a cluster computing one
    block per task gets the same bits; up to one block the sum is what it always was."""
    topics = _copy(vb_profiler)
    counts = sparse.csr_matrix(_new_counts(vb_profiler, tiny_reviews["text"].tolist()), dtype=np.float64)
    counts = counts[np.flatnonzero(np.diff(counts.indptr) > 0)]
    one_batch = _batch_sum(topics, counts)
    assert np.array_equal(expected_counts(topics, counts), one_batch)  # one block: unchanged
    monkeypatch.setattr(lda_module, "REDUCE_BLOCK", 16)
    settings = {"alpha": topics.alpha_, "exp_elog_beta": topics.exp_elog_beta_, "random_state": topics.random_state,
                "iterations": topics.infer_iterations, "threshold": topics.gamma_threshold}  # fmt: skip
    blocks = [estep_block_counts(counts[s : s + 16], **settings) for s in range(0, counts.shape[0], 16)]
    assert len(blocks) == 6  # 90 reviews: ((b0 + b1) + (b2 + b3)) + (b4 + b5)
    tree = ((blocks[0] + blocks[1]) + (blocks[2] + blocks[3])) + (blocks[4] + blocks[5])
    assert np.array_equal(expected_counts(topics, counts), tree)
    assert not np.array_equal(tree, one_batch)  # the order shows in the last bits: the rule is pinned


def test_fold_passes_recompute_the_new_documents_only(vb_profiler, tiny_reviews) -> None:
    counts = _new_counts(vb_profiler, tiny_reviews["text"].iloc[:20].tolist())
    topics = _copy(vb_profiler)
    old = np.array(topics.lda_.state.sstats, copy=True)
    fold_documents(topics, counts, passes=1)
    after_one = LdaTopics.from_state(*topics.to_state(), vb_profiler.dictionary_)
    fold_documents(topics := _copy(vb_profiler), counts, passes=2)
    # the second round: the old share as fitted plus the new documents' counts against the once-folded topics
    np.testing.assert_allclose(topics.lda_.state.sstats, old + expected_counts(after_one, counts), rtol=1e-9)


def test_fold_online_is_gensims_update_step(vb_profiler, tiny_reviews) -> None:
    counts = _new_counts(vb_profiler, tiny_reviews["text"].iloc[:20].tolist())
    topics = _copy(vb_profiler)
    lda = topics.lda_
    old, n_old, updates = np.array(lda.state.sstats, copy=True), lda.state.numdocs, lda.num_updates
    new = expected_counts(topics, counts)
    result = fold_documents(topics, counts, method="online")
    rho = (lda.offset + updates / min(20, lda.chunksize)) ** -lda.decay  # gensim's schedule
    assert result.rho == pytest.approx(rho)
    np.testing.assert_allclose(lda.state.sstats, (1 - rho) * old + rho * (n_old + 20) / 20 * new, rtol=1e-9)


def test_fold_none_and_bad_arguments(vb_profiler, tiny_reviews) -> None:
    counts = _new_counts(vb_profiler, tiny_reviews["text"].iloc[:5].tolist())
    topics = _copy(vb_profiler)
    assert fold_documents(topics, counts, method="none").n_tokens == 0
    np.testing.assert_array_equal(topics.topic_word_, vb_profiler.topics_.topic_word_)
    assert not getattr(topics, "folds_", [])
    with pytest.raises(ValueError, match="fold method"):
        fold_documents(topics, counts, method="refit")
    with pytest.raises(ValueError, match="passes"):
        fold_documents(topics, counts, passes=0)
    with pytest.raises(ValueError, match="terms"):
        fold_documents(topics, counts[:, :-1])


def test_pool_rows_adds_up_each_customers_rows_in_sorted_order() -> None:
    counts = sparse.csr_matrix(np.array([[1, 0, 2], [0, 3, 0], [4, 0, 0]], dtype=float))
    pooled = pool_rows(counts, ["b", "a", "b"])
    np.testing.assert_array_equal(pooled.toarray(), [[0, 3, 0], [5, 0, 2]])


def test_folded_model_saves_and_loads_as_the_same_format(vb_profiler, tiny_reviews, tmp_path) -> None:
    """The fold is recorded in lda/params.json (a key older readers ignore); the arrays keep their shapes."""
    vb_profiler.save(str(tmp_path / "m"))
    profiler = TopicProfiler.load(str(tmp_path / "m"))
    result = fold_documents(profiler.topics_, _new_counts(profiler, tiny_reviews["text"].iloc[:9].tolist()))
    profiler.save(str(tmp_path / "m"))
    loaded = TopicProfiler.load(str(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.topics_.lda_.state.sstats, profiler.topics_.lda_.state.sstats)
    np.testing.assert_array_equal(loaded.topics_.exp_elog_beta_, profiler.topics_.exp_elog_beta_)
    assert loaded.topics_.folds_ == [result.to_dict()]
    params = json.loads(next((tmp_path / "m" / "versions").glob("*/lda/params.json")).read_text())
    assert params["folds"][0]["method"] == "add"
    params.pop("folds")  # what an older reader sees: the same model
    older = LdaTopics.from_state(params, profiler.topics_.to_state()[1], profiler.dictionary_)
    np.testing.assert_array_equal(older.topic_word_, loaded.topics_.topic_word_)
    texts = tiny_reviews["text"].iloc[:4].tolist()
    assert loaded.tag_text(texts) == profiler.tag_text(texts)


@pytest.mark.slow
def test_fold_on_real_reviews_keeps_unaffected_customers_tags(shared_data) -> None:
    """Issue 13's target on real Amazon reviews: 10% new reviews folded in, ≥ 95% of the customers
    without a new review keep exactly their tags and ids when profiled again (docs/update.md)."""
    frame = pd.read_csv(shared_data / "en_amazon_reviews_4cats.csv.bz2", dtype=str)
    sample = pd.concat(
        [g.sample(300, random_state=0) for _, g in frame.groupby("category")], ignore_index=True
    )
    sample["customer_id"] = [f"{c}-{i // 4:04d}" for i, c in enumerate(sample["category"])]
    reviews = sample[["customer_id", "text"]].sample(frac=1.0, random_state=1).reset_index(drop=True)
    old, new = reviews.iloc[:1080], reviews.iloc[1080:]
    unaffected = old[~old["customer_id"].isin(set(new["customer_id"]))]
    profiler = TopicProfiler(n_topics=6, random_state=0).fit(old)
    columns = ["interest_tags", "interest_topics"]
    before = profiler.profile(unaffected).set_index("customer_id")[columns]
    counts = fold_counts(profiler, new, profiler.encoder_.tokens(new["text"].tolist()))
    result = fold_documents(profiler.topics_, counts)
    after = profiler.profile(unaffected).set_index("customer_id")[columns]
    kept = float((before == after.loc[before.index]).all(axis=1).mean())
    print(
        f"fold of {result.n_documents} customers' new reviews: {kept:.3f} of {len(before)} unaffected keep their tags"
    )
    assert result.moved > 0 and kept >= 0.95
