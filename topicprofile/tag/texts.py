"""Interest tags of free text: ``TopicProfiler.tag_text`` and ``topicprofile tag-text`` both tag here.

A :class:`TextTagger` holds what tagging a text needs and nothing more: the fitted preprocessing
(:class:`~topicprofile.text.counter.WordCounter`), the topic inference (anything with
``transform_counts``: the fitted :class:`~topicprofile.topics.lda.LdaTopics`, or a saved model's
arrays in a :class:`~topicprofile.topics.infer.TopicInference`), the anchor-word matrix, the tag
rules (:class:`~topicprofile.tag.tagger.InterestTagger`) and the topic labels. It imports neither
pandas, gensim nor scikit-learn, so the command line can tag one sentence without loading them
(:func:`topicprofile.model_reader.load_text_tagger`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from topicprofile.ingest.limits import check_text_lengths
from topicprofile.tag.tagger import InterestTagger
from topicprofile.text.counter import WordCounter

__all__ = ["TextTagger", "anchor_counter", "text_tags"]


class TextTagger:
    """Tags, topic shares and token counts of free texts.

    Parameters
    ----------
    counter : WordCounter
        Text -> in-vocabulary word counts, as at fit time.
    topics : object with ``transform_counts(counts) -> doc_topics``
        The fitted topics' inference.
    anchors : callable
        ``anchors(counts)``: per text and topic, how many of its words are anchor words of the topic
        (:func:`anchor_counter` of the model's :func:`~topicprofile.tag.tagger.anchor_matrix`), or
        None when the model has no anchor rule.
    tagger : InterestTagger
        Threshold, ``max_tags``, ``min_tokens`` and ``anchor_below`` of the model.
    labels : sequence of str
        Topic labels.
    """

    def __init__(
        self, counter: WordCounter, *, topics: Any, anchors: Callable[[Any], np.ndarray | None], tagger: InterestTagger,
        labels: Sequence[str],
    ) -> None:  # fmt: skip
        self.counter = counter
        self.topics = topics
        self.anchors = anchors
        self.tagger = tagger
        self.labels = labels

    def tag_text(self, texts: str | Iterable[str]) -> list[dict[str, Any]]:
        """Per text: ``tags`` (``{"label", "topic", "score"}``, strongest first), ``topics`` (shares)
        and ``n_tokens``; see ``TopicProfiler.tag_text``."""
        items = [texts] if isinstance(texts, str) else list(texts)
        check_text_lengths(items)
        bows, n_tokens = self.counter.encode(items)
        counts = self.counter.counts(bows)
        doc_topics = self.topics.transform_counts(counts)
        tags = self.tagger.topic_tags(doc_topics, n_tokens, self.anchors(counts))
        return text_tags(tags, doc_topics, n_tokens, self.labels)


def anchor_counter(matrix: np.ndarray | None) -> Callable[[Any], np.ndarray | None]:
    """``anchors(counts)`` of a fixed anchor matrix (``n_terms × n_topics``; None: no anchor rule)."""
    if matrix is None:
        return lambda counts: None
    return lambda counts: np.asarray(counts @ matrix)


def text_tags(
    tags: Sequence[Sequence[tuple[int, float]]],
    doc_topics: np.ndarray,
    n_tokens: np.ndarray,
    labels: Sequence[str],
) -> list[dict]:
    """``tag_text``'s answer per text: ``tags`` (label, topic, score), ``topics`` (rounded shares), ``n_tokens``."""
    return [
        {
            "tags": [{"label": labels[k], "topic": int(k), "score": s} for k, s in doc_tags],
            "topics": [round(float(p), 6) for p in row],
            "n_tokens": int(n),
        }
        for doc_tags, row, n in zip(tags, doc_topics, n_tokens, strict=True)
    ]
