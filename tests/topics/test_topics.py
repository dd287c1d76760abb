from __future__ import annotations

import numpy as np
import pytest

from topicprofile.topics import LdaTopics, coherence_scores, make_labels, relevant_terms, topic_diversity
from topicprofile.text.vectorize import build_dictionary, to_bows


@pytest.fixture(scope="module")
def fitted(tiny_reviews):
    from topicprofile.text.tokenizer import SpacyTokenizer

    tokens = SpacyTokenizer("en").tokenize(tiny_reviews["text"])
    dictionary = build_dictionary(tokens, no_below=2)
    bows = to_bows(dictionary, tokens)
    return LdaTopics(3, random_state=0).fit(bows, dictionary), bows, tokens, dictionary


def test_topics_transform_rows_are_distributions(fitted) -> None:
    lda, bows, _, _ = fitted
    doc_topics = lda.transform(bows)
    assert doc_topics.shape == (len(bows), 3)
    assert np.allclose(doc_topics.sum(axis=1), 1.0)


def test_topics_transform_independent_of_batching_and_order(fitted) -> None:
    lda, bows, _, _ = fitted
    whole = lda.transform(bows)
    chunked = np.vstack([lda.transform(bows[i : i + 7]) for i in range(0, len(bows), 7)])
    reversed_ = lda.transform(bows[::-1])[::-1]
    single = np.vstack([lda.transform([b]) for b in bows[:10]])
    assert np.array_equal(whole, chunked)
    assert np.array_equal(whole, reversed_)
    assert np.array_equal(whole[:10], single)


def test_topics_transform_matches_gensim_inference(fitted) -> None:
    lda, bows, _, _ = fitted
    ours = lda.transform(bows[:20])
    gensim = np.zeros_like(ours)
    for i, bow in enumerate(bows[:20]):
        for k, p in lda.lda_.get_document_topics(bow, minimum_probability=0.0):
            gensim[i, k] = p
    assert np.abs(ours - gensim).max() < 0.02  # same E-step; only the random start differs


def test_topics_empty_document_gets_prior_mean(fitted) -> None:
    lda, _, _, _ = fitted
    row = lda.transform([[]])[0]
    assert np.allclose(row, lda.alpha_ / lda.alpha_.sum())


def test_topics_fit_is_reproducible(fitted) -> None:
    lda, bows, _, dictionary = fitted
    again = LdaTopics(3, random_state=0).fit(bows, dictionary)
    assert np.array_equal(lda.topic_word_, again.topic_word_)


def test_topics_labels_unique_and_readable() -> None:
    labels = make_labels([["hiking_boots", "boots", "trail", "tent"], ["hiking_boots", "boots", "trail", "x"]])
    assert labels == ["hiking boots · trail · tent", "hiking boots · trail · x"]
    assert make_labels([["a", "b", "c"], ["a", "b", "c"]]) == ["a · b · c", "a · b · c (2)"]


def test_topics_relevance_prefers_distinctive_terms() -> None:
    topic_word = np.array([[0.5, 0.3, 0.2], [0.5, 0.1, 0.4]])
    term_freq = np.array([100.0, 1.0, 1.0])  # term 0 is everywhere
    terms = relevant_terms(topic_word, term_freq, ["common", "hiking", "coffee"], n=2, lam=0.3)
    assert terms[0][0] == "hiking" and terms[1][0] == "coffee"


def test_topics_coherence_and_diversity(fitted) -> None:
    lda, _, tokens, dictionary = fitted
    top = [[dictionary[int(i)] for i in np.argsort(-row)[:5]] for row in lda.topic_word_]
    scores = coherence_scores(top, tokens, dictionary, topn=5)
    assert set(scores) == {"c_npmi", "c_v"}
    assert len(scores["c_npmi"]["per_topic"]) == 3
    assert -1.0 <= scores["c_npmi"]["mean"] <= 1.0
    assert topic_diversity([["a", "b"], ["a", "c"]]) == 0.75


def _reference_e_step(lda, counts, seeds, *, iterations, threshold):
    """The E-step written out one document at a time (gensim's ``inference`` loop), for comparison."""
    from scipy.special import psi

    from topicprofile.topics.lda import _seeded_gamma

    gamma = _seeded_gamma(seeds, lda.n_topics)
    sstats = np.zeros_like(lda.exp_elog_beta_)
    for d in range(counts.shape[0]):
        ids = counts.indices[counts.indptr[d] : counts.indptr[d + 1]]
        cts = counts.data[counts.indptr[d] : counts.indptr[d + 1]]
        if ids.size == 0:
            gamma[d] = lda.alpha_
            continue
        beta_d = lda.exp_elog_beta_[:, ids]  # n_topics × the document's terms
        g = gamma[d]
        for _ in range(iterations):
            exp_elog_theta = np.exp(psi(g) - psi(g.sum()))
            phinorm = exp_elog_theta @ beta_d + 1e-100
            new_g = lda.alpha_ + exp_elog_theta * (beta_d @ (cts / phinorm))
            change = np.abs(new_g - g).mean()
            g = new_g
            if change < threshold:
                break
        gamma[d] = g
        exp_elog_theta = np.exp(psi(g) - psi(g.sum()))
        sstats[:, ids] += np.outer(exp_elog_theta, cts / (exp_elog_theta @ beta_d + 1e-100))
    return gamma, sstats * lda.exp_elog_beta_


@pytest.mark.parametrize(
    ("n_docs", "density", "seed"),
    [(1, 0.3, 0), (1, 0.0, 1), (2, 0.05, 2), (40, 0.1, 3), (300, 0.2, 4), (257, 0.02, 5)],
)
def test_topics_fast_e_step_matches_reference(fitted, n_docs, density, seed) -> None:
    from scipy import sparse

    from topicprofile.topics.lda import _doc_seeds

    lda, _, _, dictionary = fitted
    rng = np.random.default_rng(seed)
    counts = sparse.random(n_docs, len(dictionary), density=density, format="csr", random_state=rng)
    counts.data = np.ceil(counts.data * 4)  # counts 1-4
    if n_docs > 2:  # some empty rows
        counts = sparse.csr_matrix(sparse.diags((rng.random(n_docs) > 0.2).astype(float)) @ counts)
        counts.eliminate_zeros()
        assert 0 < np.count_nonzero(np.diff(counts.indptr) == 0) < n_docs
    seeds = _doc_seeds(counts, 0)
    for iterations, threshold in [(100, 1e-3), (200, 1e-6), (3, 1e-3)]:
        limits = {"iterations": iterations, "threshold": threshold}
        gamma, sstats = lda._infer_gamma(counts, seeds, collect_sstats=True, **limits)
        want_gamma, want_sstats = _reference_e_step(lda, counts, seeds, **limits)
        np.testing.assert_allclose(gamma, want_gamma, rtol=1e-10)
        np.testing.assert_allclose(sstats, want_sstats, rtol=1e-10, atol=1e-300)
        # a document's gamma does not depend on the rest of the batch, bit for bit
        for d in range(0, n_docs, max(1, n_docs // 7)):
            alone = lda._infer_gamma(counts[d : d + 1], seeds[d : d + 1], **limits)
            assert np.array_equal(alone[0], gamma[d])
