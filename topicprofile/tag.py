"""Interest tags: per-customer topic shares, thresholded into labelled tags with scores.

A customer's topic vector is the weighted mean of their documents' topic distributions, each
document weighted by its number of tokens times its channel's weight (reviews, browsing). Topics
whose share passes ``threshold`` become tags, strongest first, at most ``max_tags``. A customer with
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
import pandas as pd

from topicprofile import schema
from topicprofile.errors import ConfigError

__all__ = ["InterestTagger", "CustomerTopics", "DEFAULT_CHANNEL_WEIGHTS", "anchor_matrix"]

#: Reviews are deliberate statements; a page view is a weaker signal.
DEFAULT_CHANNEL_WEIGHTS: Mapping[str, float] = {schema.REVIEWS: 1.0, schema.BROWSING: 0.5}


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
    """

    customer_ids: np.ndarray
    shares: np.ndarray
    n_documents: np.ndarray
    n_tokens: np.ndarray
    anchors: np.ndarray | None = None


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
        Weight of each channel's tokens; ``None`` uses :data:`DEFAULT_CHANNEL_WEIGHTS`.

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
    ) -> None:
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
        """Length- and channel-weighted mean topic distribution of each customer's documents.

        Parameters
        ----------
        doc_topics : array, shape (n_docs, n_topics)
        customer_ids, channels, n_tokens : sequences of length n_docs
        anchors : array, shape (n_docs, n_topics), optional
            Anchor-word counts per document and topic; summed per customer.
        """
        weights = self.weights()
        tokens = np.asarray(n_tokens, dtype=np.float64)
        channel_w = np.array([weights.get(c, 1.0) for c in channels], dtype=np.float64)
        w = tokens * channel_w
        codes, uniques = pd.factorize(pd.Series(customer_ids, dtype=object), sort=True)
        n_customers, n_topics = len(uniques), doc_topics.shape[1]
        sums = np.zeros((n_customers, n_topics))
        np.add.at(sums, codes, doc_topics * w[:, None])
        total = sums.sum(axis=1, keepdims=True)
        shares = np.divide(sums, total, out=np.full_like(sums, 1.0 / n_topics), where=total > 0)
        customer_anchors = None
        if anchors is not None:
            customer_anchors = np.zeros((n_customers, n_topics))
            np.add.at(customer_anchors, codes, anchors)
        return CustomerTopics(
            customer_ids=np.asarray(uniques, dtype=object),
            shares=shares,
            n_documents=np.bincount(codes, minlength=n_customers),
            n_tokens=np.bincount(codes, weights=tokens, minlength=n_customers).astype(np.int64),
            anchors=customer_anchors,
        )

    def tags(
        self,
        shares: np.ndarray,
        n_tokens: np.ndarray,
        labels: Sequence[str],
        anchors: np.ndarray | None = None,
    ) -> list[list[tuple[str, float]]]:
        """Tags per row of ``shares``: ``[(label, score), ...]`` strongest first, scores rounded to 3 places.

        With ``anchors`` (anchor-word counts, same shape as ``shares``), a topic of a row with fewer
        than ``anchor_below`` tokens needs at least one anchor word in it to become a tag.
        """
        out: list[list[tuple[str, float]]] = []
        for i, (row, n) in enumerate(zip(shares, n_tokens, strict=True)):
            if n < self.min_tokens:
                out.append([])
                continue
            order = np.argsort(-row, kind="stable")[: self.max_tags]
            out.append(
                [
                    (labels[k], round(float(row[k]), 3))
                    for k in order
                    if row[k] >= self.threshold
                    and (anchors is None or n >= self.anchor_below or anchors[i, k] >= 1)
                ]
            )
        return out

    def topic_tags(
        self, shares: np.ndarray, n_tokens: np.ndarray, anchors: np.ndarray | None = None
    ) -> list[list[tuple[int, float]]]:
        """Like :meth:`tags` but with topic ids instead of labels."""
        return self.tags(shares, n_tokens, list(range(shares.shape[1])), anchors)  # type: ignore[arg-type]
