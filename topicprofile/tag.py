"""Interest tags: per-customer topic shares, thresholded into labelled tags with scores.

A customer's topic vector is the weighted mean of their documents' topic distributions, each
document weighted by its number of tokens times its channel's weight (reviews, browsing). Topics
whose share passes ``threshold`` become tags, strongest first, at most ``max_tags``. A customer with
fewer than ``min_tokens`` tokens in all gets no tag rather than a forced one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from topicprofile import schema
from topicprofile.errors import ConfigError

__all__ = ["InterestTagger", "CustomerTopics", "DEFAULT_CHANNEL_WEIGHTS"]

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
    """

    customer_ids: np.ndarray
    shares: np.ndarray
    n_documents: np.ndarray
    n_tokens: np.ndarray


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
        channel_weights: Mapping[str, float] | None = None,
    ) -> None:
        self.threshold = threshold
        self.max_tags = max_tags
        self.min_tokens = min_tokens
        self.channel_weights = channel_weights

    def _weights(self) -> Mapping[str, float]:
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
    ) -> CustomerTopics:
        """Length- and channel-weighted mean topic distribution of each customer's documents.

        Parameters
        ----------
        doc_topics : array, shape (n_docs, n_topics)
        customer_ids, channels, n_tokens : sequences of length n_docs
        """
        weights = self._weights()
        tokens = np.asarray(n_tokens, dtype=np.float64)
        channel_w = np.array([weights.get(c, 1.0) for c in channels], dtype=np.float64)
        w = tokens * channel_w
        codes, uniques = pd.factorize(pd.Series(customer_ids, dtype=object), sort=True)
        n_customers, n_topics = len(uniques), doc_topics.shape[1]
        sums = np.zeros((n_customers, n_topics))
        np.add.at(sums, codes, doc_topics * w[:, None])
        total = sums.sum(axis=1, keepdims=True)
        shares = np.divide(sums, total, out=np.full_like(sums, 1.0 / n_topics), where=total > 0)
        return CustomerTopics(
            customer_ids=np.asarray(uniques, dtype=object),
            shares=shares,
            n_documents=np.bincount(codes, minlength=n_customers),
            n_tokens=np.bincount(codes, weights=tokens, minlength=n_customers).astype(np.int64),
        )

    def tags(
        self, shares: np.ndarray, n_tokens: np.ndarray, labels: Sequence[str]
    ) -> list[list[tuple[str, float]]]:
        """Tags per row of ``shares``: ``[(label, score), ...]`` strongest first, scores rounded to 3 places."""
        out: list[list[tuple[str, float]]] = []
        for row, n in zip(shares, n_tokens, strict=True):
            if n < self.min_tokens:
                out.append([])
                continue
            order = np.argsort(-row, kind="stable")[: self.max_tags]
            out.append([(labels[k], round(float(row[k]), 3)) for k in order if row[k] >= self.threshold])
        return out

    def topic_tags(self, shares: np.ndarray, n_tokens: np.ndarray) -> list[list[tuple[int, float]]]:
        """Like :meth:`tags` but with topic ids instead of labels."""
        return self.tags(shares, n_tokens, list(range(shares.shape[1])))  # type: ignore[arg-type]
