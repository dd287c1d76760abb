"""Topic quality: coherence (gensim ``CoherenceModel``) and topic diversity."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["coherence_scores", "topic_diversity", "COHERENCE_SAMPLE"]

#: Coherence counts word co-occurrence over a deterministic sample of at most this many documents.
COHERENCE_SAMPLE = 20_000


def coherence_scores(
    top_terms: Sequence[Sequence[str]],
    token_lists: Sequence[Sequence[str]],
    dictionary: Any,
    *,
    measures: Sequence[str] = ("c_npmi", "c_v"),
    topn: int = 10,
) -> dict[str, dict[str, Any]]:
    """Mean and per-topic coherence of topics given by their top words.

    Parameters
    ----------
    top_terms : list of list of str
        Each topic's words, most probable first (use probability order, not relevance, to compare
        with other tools).
    token_lists : list of list of str
        The tokenized documents the counts come from; evenly sampled down to
        :data:`COHERENCE_SAMPLE` documents when larger.
    dictionary : gensim Dictionary

    Returns
    -------
    dict
        ``{measure: {"mean": float, "per_topic": [float, ...]}}``; NaN topic scores (words never
        seen together) count as 0 in the mean.
    """
    from gensim.models.coherencemodel import CoherenceModel

    texts = [list(t) for t in token_lists if t]
    if len(texts) > COHERENCE_SAMPLE:
        step = len(texts) / COHERENCE_SAMPLE
        texts = [texts[int(i * step)] for i in range(COHERENCE_SAMPLE)]
    topics = [[w for w in terms[:topn] if w in dictionary.token2id] for terms in top_terms]
    out: dict[str, dict[str, Any]] = {}
    for measure in measures:
        model = CoherenceModel(
            topics=topics, texts=texts, dictionary=dictionary, coherence=measure, topn=topn, processes=1
        )
        per_topic = [0.0 if (s is None or math.isnan(s)) else float(s) for s in model.get_coherence_per_topic()]
        out[measure] = {"mean": float(np.mean(per_topic)) if per_topic else 0.0, "per_topic": per_topic}
    return out


def topic_diversity(top_terms: Sequence[Sequence[str]], *, topn: int = 25) -> float:
    """Share of unique words among all topics' top ``topn`` words (1.0 = no overlap; Dieng et al. 2020)."""
    words = [w for terms in top_terms for w in terms[:topn]]
    return len(set(words)) / len(words) if words else 0.0
