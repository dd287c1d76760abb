"""Interest tags: per-customer topic shares, thresholded into labelled tags with scores.

A customer's topic vector (``aggregation="sharpened"``, the default) is the mean of their
documents' **sharpened** topic distributions: each document's vector ``p`` squared and renormalised
(``p² / Σp²``), every document with at least one vocabulary word counting once times its channel's
weight (a page view counts half a review), whatever its length. Measured on real shops
(docs/quality.md, "Variants"), this beats the length-weighted mean, which lets one long review
outvote several short ones. Every customer with at least one vocabulary word gets a top interest
(the argmax of that vector, as the peers do); further topics whose share passes ``threshold``
become extra tags, strongest first, at most ``max_tags`` in all.

``aggregation="length"`` is the earlier rule: the mean weighted by each document's number of tokens
times its channel's weight, and every tag (the top one too) must pass ``threshold``; a customer with
fewer than ``min_tokens`` tokens in all gets no tag rather than a forced one.

Short texts need one more guard. "Love it, excellent value" has two content words, and LDA's
posterior still concentrates on *some* topic, because VB inference with a small prior always does.
So for a short text (fewer than ``anchor_below`` vocabulary words, texts and customers alike) a
topic becomes a tag only when the text holds at least one of its **anchor words**: words that point
to the topic, ``p(topic | word) >= anchor_threshold`` (Bayes from the topic-word matrix and the
topics' prevalence; :func:`anchor_matrix`). Generic shop words ("value", "size", "package") have
``p(topic | word)`` near the base rate and anchor nothing; "espresso" or "tent" anchor one topic.
Longer texts are left to the posterior, which many words make reliable (broad topics, such as
film genres, have few anchor words). Measured: docs/pooling_and_vocabulary.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from topicprofile import schema
from topicprofile.config import AGGREGATIONS  # how document vectors become a customer's (module docstring)
from topicprofile.errors import ConfigError

__all__ = [
    "InterestTagger", "CustomerTopics", "CustomerAccumulator", "DEFAULT_CHANNEL_WEIGHTS", "AGGREGATIONS", "sharpen",
    "anchor_matrix", "AnchorCounts",
]

#: Reviews are deliberate statements; a page view is a weaker signal.
DEFAULT_CHANNEL_WEIGHTS: Mapping[str, float] = {schema.REVIEWS: 1.0, schema.BROWSING: 0.5}


def sharpen(doc_topics: np.ndarray) -> np.ndarray:
    """Each row squared and renormalised (``p² / Σp²``): the argmax stays, weak topics fade."""
    squared = np.asarray(doc_topics, dtype=np.float64) ** 2
    total = squared.sum(axis=1, keepdims=True)
    return np.divide(squared, total, out=np.zeros_like(squared), where=total > 0)


@dataclass(frozen=True)
class CustomerTopics:
    """Per-customer aggregates of document topics.

    Attributes
    ----------
    customer_ids : array of str, shape (n_customers,)
        Sorted customer ids.
    shares : array, shape (n_customers, n_topics)
        Topic shares; rows sum to 1 (the uniform row for customers without tokens).
    n_documents, n_tokens : array of int, shape (n_customers,)
    anchors : array, shape (n_customers, n_topics), or None
        Anchor-word counts per topic (summed over the customer's documents), when given.
    counts : sparse matrix, shape (n_customers, n_terms), or None
        The customers' pooled word counts (int32), when given.
    """

    customer_ids: np.ndarray
    shares: np.ndarray
    n_documents: np.ndarray
    n_tokens: np.ndarray
    anchors: np.ndarray | None = None
    counts: sparse.csr_matrix | None = None


class CustomerAccumulator:
    """Per-customer sums over documents that arrive in chunks (so no pass holds every document).

    Customers are numbered as they first appear; :meth:`result` sorts them by id. Every sum is
    added in document order into one array (``np.add.at``), so the result does not depend on how
    the documents were chunked.

    Parameters
    ----------
    n_topics : int
    channel_weights : mapping
        Channel -> weight of its documents (``"sharpened"``) or tokens (``"length"``) in the topic shares.
    aggregation : {"sharpened", "length"}, default "sharpened"
        Mean of the documents' sharpened vectors, or their length-weighted mean (module docstring).
    """

    def __init__(self, n_topics: int, channel_weights: Mapping[str, float], aggregation: str = "sharpened") -> None:
        if aggregation not in AGGREGATIONS:
            raise ConfigError(f"aggregation must be 'sharpened' or 'length', got {aggregation!r}")
        self.n_topics = n_topics
        self.channel_weights = channel_weights
        self.aggregation = aggregation
        self._codes: dict[str, int] = {}
        self._sums = np.zeros((0, n_topics))
        self._n_docs = np.zeros(0, dtype=np.int64)
        self._n_tokens = np.zeros(0, dtype=np.int64)
        self._anchors: np.ndarray | None = None
        self._counts: sparse.csr_matrix | None = None

    def _encode(self, customer_ids: Sequence[str]) -> np.ndarray:
        codes = self._codes
        out = np.fromiter((codes.setdefault(str(c), len(codes)) for c in customer_ids), dtype=np.int64)
        grow = len(codes) - len(self._n_docs)
        if grow > 0:
            self._sums = np.vstack([self._sums, np.zeros((grow, self.n_topics))])
            self._n_docs = np.concatenate([self._n_docs, np.zeros(grow, dtype=np.int64)])
            self._n_tokens = np.concatenate([self._n_tokens, np.zeros(grow, dtype=np.int64)])
            if self._anchors is not None:
                self._anchors = np.vstack([self._anchors, np.zeros((grow, self.n_topics))])
        return out

    def add(
        self,
        customer_ids: Sequence[str],
        channels: Sequence[str],
        n_tokens: Sequence[int],
        *,
        doc_topics: np.ndarray | None = None,
        anchors: np.ndarray | None = None,
        counts: sparse.csr_matrix | None = None,
    ) -> None:
        """Add a chunk of documents: their customers, channels, token counts and optionally their
        topic distributions, anchor-word counts and word counts (``n_docs × n_terms``)."""
        codes = self._encode(customer_ids)
        tokens = np.asarray(n_tokens, dtype=np.int64)
        np.add.at(self._n_docs, codes, 1)
        np.add.at(self._n_tokens, codes, tokens)
        if doc_topics is not None:
            channel_w = np.array([self.channel_weights.get(c, 1.0) for c in channels], dtype=np.float64)
            if self.aggregation == "sharpened":  # documents without vocabulary words say nothing
                np.add.at(self._sums, codes, sharpen(doc_topics) * (channel_w * (tokens > 0))[:, None])
            else:
                np.add.at(self._sums, codes, doc_topics * (tokens * channel_w)[:, None])
        if anchors is not None:
            if self._anchors is None:
                self._anchors = np.zeros((len(self._codes), self.n_topics))
            np.add.at(self._anchors, codes, anchors)
        if counts is not None:
            # word counts are whole numbers: pooled as int32 (a third less memory than float64, and
            # these are one row per customer)
            whole = counts.data.astype(np.int32)
            if not np.array_equal(whole, counts.data):
                raise ValueError("counts must be whole numbers of words")
            counts = sparse.csr_matrix((whole, counts.indices, counts.indptr), shape=counts.shape)
            rows = sparse.csr_matrix(
                (np.ones(len(codes), dtype=np.int32), (codes, np.arange(len(codes)))),
                shape=(len(self._codes), len(codes)),
            )
            pooled = (rows @ counts).tocsr()
            if self._counts is None:
                self._counts = pooled
            else:
                self._counts.resize(pooled.shape)
                self._counts = (self._counts + pooled).tocsr()

    def result(self) -> CustomerTopics:
        """The aggregates, customers sorted by id; shares are uniform for customers without tokens."""
        ids = np.array(list(self._codes), dtype=object)
        order = np.array(sorted(range(len(ids)), key=ids.__getitem__), dtype=np.int64)
        sums = self._sums[order]
        total = sums.sum(axis=1, keepdims=True)
        shares = np.divide(sums, total, out=np.full_like(sums, 1.0 / self.n_topics), where=total > 0)
        counts = None
        if self._counts is not None:
            counts = self._counts[order]
            counts.sort_indices()
        return CustomerTopics(
            customer_ids=ids[order],
            shares=shares,
            n_documents=self._n_docs[order],
            n_tokens=self._n_tokens[order],
            anchors=None if self._anchors is None else self._anchors[order],
            counts=counts,
        )


def anchor_matrix(topic_word: np.ndarray, prevalence: np.ndarray, threshold: float) -> np.ndarray:
    """``n_terms × n_topics`` 0/1 matrix: 1 where ``p(topic | word) >= threshold``.

    ``p(topic | word)`` is proportional to ``p(word | topic) * p(topic)`` (``topic_word`` rows and
    the topics' ``prevalence``). Multiply a documents × terms count matrix by it to count each
    document's anchor words per topic.
    """
    joint = topic_word * np.asarray(prevalence, dtype=np.float64)[:, None]
    total = joint.sum(axis=0, keepdims=True)
    posterior = np.divide(joint, total, out=np.zeros_like(joint), where=total > 0)
    return (posterior.T >= threshold).astype(np.float64)


class AnchorCounts:
    """Anchor-word counts per row of a count matrix and topic, for one fitted topic model.

    The anchor matrix (:func:`anchor_matrix`) depends only on the topics: it is built on first use
    and rebuilt only when the topic-word matrix (a refit, a load), the topics' prevalence or the
    threshold change. A threshold of 0 turns the anchor rule off (None).
    """

    def __init__(self) -> None:
        self._topic_word: np.ndarray | None = None
        self._key: tuple[bytes, float] | None = None
        self._matrix: np.ndarray | None = None

    def __call__(
        self, counts: sparse.spmatrix | np.ndarray, *, topic_word: np.ndarray, prevalence: np.ndarray, threshold: float
    ) -> np.ndarray | None:
        if threshold <= 0:
            return None
        key = (np.asarray(prevalence).tobytes(), threshold)
        if self._matrix is None or self._topic_word is not topic_word or self._key != key:
            self._topic_word, self._key = topic_word, key
            self._matrix = anchor_matrix(topic_word, prevalence, threshold)
        return np.asarray(counts @ self._matrix)


class InterestTagger:
    """Aggregate document topics per customer and pick the interest tags.

    Parameters
    ----------
    threshold : float, default 0.2
        Minimum topic share for a tag.
    max_tags : int, default 3
        At most this many tags per customer (or per text).
    min_tokens : int, default 2
        Customers (or texts) with fewer content tokens get no tag.
    anchor_below : int, default 10
        Customers (or texts) with fewer content tokens need an anchor word of a topic (see
        :meth:`tags`) for it to become a tag.
    channel_weights : mapping or None
        Weight of each channel's documents (tokens with ``"length"``); ``None`` uses
        :data:`DEFAULT_CHANNEL_WEIGHTS`.
    aggregation : {"sharpened", "length"}, default "sharpened"
        How :meth:`customer_topics` combines documents, see the module docstring.

    Examples
    --------
    >>> tagger = InterestTagger(threshold=0.3)
    >>> tagger.tags(np.array([[0.6, 0.35, 0.05]]), np.array([12]), ["hiking", "coffee", "pets"])
    [[('hiking', 0.6), ('coffee', 0.35)]]
    """

    def __init__(
        self,
        *,
        threshold: float = 0.2,
        max_tags: int = 3,
        min_tokens: int = 2,
        anchor_below: int = 10,
        channel_weights: Mapping[str, float] | None = None,
        aggregation: str = "sharpened",
    ) -> None:
        self.aggregation = aggregation
        self.threshold = threshold
        self.max_tags = max_tags
        self.min_tokens = min_tokens
        self.anchor_below = anchor_below
        self.channel_weights = channel_weights

    def weights(self) -> Mapping[str, float]:
        """Channel -> weight of its tokens (validated)."""
        weights = DEFAULT_CHANNEL_WEIGHTS if self.channel_weights is None else self.channel_weights
        bad = {k: v for k, v in weights.items() if not (isinstance(v, (int, float)) and v >= 0)}
        if bad:
            raise ConfigError(f"channel weights must be numbers >= 0, got {bad}")
        return weights

    def customer_topics(
        self,
        doc_topics: np.ndarray,
        *,
        customer_ids: Sequence[str],
        channels: Sequence[str],
        n_tokens: Sequence[int],
        anchors: np.ndarray | None = None,
    ) -> CustomerTopics:
        """Each customer's topic distribution from their documents' (``aggregation``, channel weights).

        Parameters
        ----------
        doc_topics : array, shape (n_docs, n_topics)
        customer_ids, channels, n_tokens : sequences of length n_docs
        anchors : array, shape (n_docs, n_topics), optional
            Anchor-word counts per document and topic; summed per customer.
        """
        accumulator = CustomerAccumulator(doc_topics.shape[1], self.weights(), self.aggregation)
        accumulator.add(customer_ids, channels, n_tokens, doc_topics=doc_topics, anchors=anchors)
        return accumulator.result()

    def tags(
        self,
        shares: np.ndarray,
        n_tokens: np.ndarray,
        labels: Sequence[str],
        anchors: np.ndarray | None = None,
        *,
        cover: bool = False,
    ) -> list[list[tuple[str, float]]]:
        """Tags per row of ``shares``: ``[(label, score), ...]`` strongest first, scores rounded to 3 places.

        With ``anchors`` (anchor-word counts, same shape as ``shares``), a topic of a row with fewer
        than ``anchor_below`` tokens needs at least one anchor word in it to become a tag. With
        ``cover`` (customers under ``aggregation="sharpened"``), every row with at least one token
        gets its strongest topic as its first tag whatever the threshold and anchors; those rules
        then apply to the extra tags only.
        """
        out: list[list[tuple[str, float]]] = []
        for i, (row, n) in enumerate(zip(shares, n_tokens, strict=True)):
            if n < (1 if cover else self.min_tokens):
                out.append([])
                continue
            order = np.argsort(-row, kind="stable")[: self.max_tags]
            out.append(
                [
                    (labels[k], round(float(row[k]), 3))
                    for j, k in enumerate(order)
                    if (cover and j == 0)
                    or (
                        n >= self.min_tokens
                        and row[k] >= self.threshold
                        and (anchors is None or n >= self.anchor_below or anchors[i, k] >= 1)
                    )
                ]
            )
        return out

    def topic_tags(
        self, shares: np.ndarray, n_tokens: np.ndarray, anchors: np.ndarray | None = None, *, cover: bool = False
    ) -> list[list[tuple[int, float]]]:
        """Like :meth:`tags` but with topic ids instead of labels."""
        return self.tags(shares, n_tokens, list(range(shares.shape[1])), anchors, cover=cover)  # type: ignore[arg-type]

    def customer_tags(
        self, shares: np.ndarray, n_tokens: np.ndarray, anchors: np.ndarray | None = None
    ) -> list[list[tuple[int, float]]]:
        """:meth:`topic_tags` of customers: with ``"sharpened"``, everyone with a word gets a top interest."""
        return self.topic_tags(shares, n_tokens, anchors, cover=self.aggregation == "sharpened")
