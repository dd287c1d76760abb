"""Phrases and the dictionary learned from partition counts equal those learned from the whole corpus:
the merge rules on their own (real reviews, uneven partitions), then on a real cluster."""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip(
    "distributed", reason='the dask extra is not installed (pip install "topicprofile[dask]")'
)

from topicprofile.distributed import DaskBackend, tasks
from topicprofile.distributed.vocabulary import ClusterVocabulary, merge_word_counts
from topicprofile.ingest.docstore import DocumentStore
from topicprofile.ingest.documents import build_documents
from topicprofile.text.encoder import TextEncoder, make_tokenizer
from topicprofile.text.phrases import PhraseDetector
from topicprofile.text.vectorize import count_words, dictionary_to_state

CUTS = [0, 137, 900, 901, 1500, 2400]  # uneven partitions, one of a single document


@pytest.fixture(scope="module")
def reviews(shared_data: Path) -> pd.DataFrame:
    frame = pd.read_csv(shared_data / "en_amazon_reviews_4cats.csv.bz2", dtype=str, nrows=3000)
    frame = frame.dropna(subset=["text"]).iloc[: CUTS[-1]].reset_index(drop=True)
    return pd.DataFrame(
        {"customer_id": [f"c{i % 700:04d}" for i in range(len(frame))], "text": frame["text"]}
    )


@pytest.fixture(scope="module")
def tokens(reviews: pd.DataFrame) -> list[list[str]]:
    return make_tokenizer("en").tokenize(reviews["text"].tolist())


def _parts(items: list) -> list[list]:
    return [items[a:b] for a, b in itertools.pairwise(CUTS)]


def _dictionary_state(dictionary) -> tuple:
    vocabulary, arrays = dictionary_to_state(dictionary)
    return vocabulary, {name: array.tolist() for name, array in arrays.items()}


def test_vocabulary_phrase_counts_of_partitions_learn_the_whole_corpus_phrases(tokens) -> None:
    whole = PhraseDetector().fit(tokens)
    detector = PhraseDetector()
    vocab: dict[str, int] = {}
    total = 0
    for part in _parts(tokens):
        counts, words, pruned = tasks.phrase_counts(
            part, {"min_count": 5, "threshold": 10.0, "max_vocab_size": 4_000_000}
        )
        assert not pruned
        for key, count in counts.items():
            vocab[key] = vocab.get(key, 0) + count
        total += words
    merged = detector.fit_counts(vocab, total)
    assert len(whole.phrasegrams_) > 20  # real phrases were learned
    assert merged.to_state() == whole.to_state()  # phrases, scores and their order


def test_vocabulary_word_counts_of_partitions_merge_into_the_whole_dictionary(tokens) -> None:
    phrases = PhraseDetector().fit(tokens)
    whole = count_words(phrases.transform(tokens))
    merged = merge_word_counts(iter([tasks.word_counts(part, phrases.to_state()) for part in _parts(tokens)]))
    assert whole.num_docs == len(tokens) and len(whole) > 3000
    # ids, document and collection frequencies, totals, and the order of every dict (saved as is)
    assert _dictionary_state(merged) == _dictionary_state(whole)
    # partition order matters: merged out of order the ids differ, so the test can tell
    shuffled = merge_word_counts(iter([tasks.word_counts(part, None) for part in reversed(_parts(tokens))]))
    assert list(shuffled.token2id) != list(count_words(tokens).token2id)


@pytest.mark.slow
@pytest.mark.parametrize("shares_files", [True, False], ids=["worker-reads-files", "data-in-tasks"])
def test_vocabulary_on_the_cluster_equals_the_local_encoder(reviews, cluster, shares_files: bool) -> None:
    def fitted(tokenize) -> TextEncoder:
        store = DocumentStore.from_frame(build_documents(reviews, None), chunk_rows=500)
        encoder = TextEncoder(make_tokenizer("en"), phrases=True)
        encoder.fit_vocabulary(store, report=lambda *_: None, workers=1, tokenize=tokenize)
        return encoder

    here = fitted(None)
    vocabulary = ClusterVocabulary(DaskBackend(cluster[1], shares_files=shares_files))
    learned: list[bool] = []
    vocabulary.learn = lambda encoder, learn=vocabulary.learn: learned.append(learn(encoder)) or learned[-1]
    there = fitted(vocabulary)
    assert learned == [True]  # learned from the partitions' counts, not from the tokens
    assert there.phrases_.to_state() == here.phrases_.to_state()
    assert _dictionary_state(there.dictionary_) == _dictionary_state(here.dictionary_)
    texts = reviews["text"].tolist()[:50]
    assert there.encode(texts)[0] == here.encode(texts)[0]


@pytest.mark.slow
def test_vocabulary_pruned_phrase_counts_fall_back_to_the_driver(reviews, cluster, monkeypatch) -> None:
    """More distinct words and pairs than gensim keeps unpruned (a bound of 500 here, for both runs):
    the local run prunes as it goes, which sums cannot reproduce, so the cluster learns phrases and
    vocabulary from the tokens on the driver instead, and still equals the local run."""
    import functools

    from topicprofile.distributed import vocabulary as module
    from topicprofile.text import encoder as encoder_module

    small = functools.partial(PhraseDetector, max_vocab_size=500)
    monkeypatch.setattr(module, "PhraseDetector", small)
    monkeypatch.setattr(encoder_module, "PhraseDetector", small)
    store = DocumentStore.from_frame(build_documents(reviews.iloc[:300], None), chunk_rows=100)
    vocabulary = ClusterVocabulary(DaskBackend(cluster[1]))
    learned: list[bool] = []
    vocabulary.learn = lambda encoder, learn=vocabulary.learn: learned.append(learn(encoder)) or learned[-1]
    there = TextEncoder(make_tokenizer("en"), phrases=True)
    there.fit_vocabulary(store, report=lambda *_: None, tokenize=vocabulary)
    here = TextEncoder(make_tokenizer("en"), phrases=True)
    here.fit_vocabulary(store, report=lambda *_: None, workers=1)
    assert learned == [False]  # gave up on the sums
    assert there.phrases_.to_state() == here.phrases_.to_state()
    assert _dictionary_state(there.dictionary_) == _dictionary_state(here.dictionary_)
