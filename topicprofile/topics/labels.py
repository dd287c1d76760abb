"""Readable topic labels from each topic's most distinctive terms (LDAvis relevance)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from topicprofile.errors import ConfigError

__all__ = ["relevant_terms", "make_labels", "apply_label_overrides"]

#: LDAvis's recommended weight between a term's probability in the topic and its lift.
RELEVANCE_LAMBDA = 0.6


def relevant_terms(
    topic_word: np.ndarray,
    term_freq: np.ndarray,
    id2token: Sequence[str] | Mapping[int, str],
    *,
    n: int = 10,
    lam: float = RELEVANCE_LAMBDA,
) -> list[list[str]]:
    """Top ``n`` terms of each topic ranked by relevance (Sievert & Shirley, 2014).

    ``relevance(w, k) = lam * log p(w|k) + (1 - lam) * log(p(w|k) / p(w))``: at ``lam=1`` the most
    probable words, lower values favour words specific to the topic.

    Parameters
    ----------
    topic_word : array, shape (n_topics, n_terms)
        Rows are topic-word distributions.
    term_freq : array, shape (n_terms,)
        Corpus frequency of each term (any scale).
    id2token : sequence or mapping
        Term id -> word.
    """
    p_w = term_freq / term_freq.sum()
    log_p = np.log(np.clip(topic_word, 1e-300, None))
    relevance = lam * log_p + (1.0 - lam) * (log_p - np.log(np.clip(p_w, 1e-300, None)))
    # stable sort: ties resolve by term id, so labels are reproducible
    order = np.argsort(-relevance, axis=1, kind="stable")[:, :n]
    return [[id2token[int(i)] for i in row] for row in order]


def make_labels(top_terms: Sequence[Sequence[str]], *, n_words: int = 3) -> list[str]:
    """A short unique label per topic from its relevance-ranked terms, e.g. ``"hiking boots · trail · tent"``.

    Words already contained in a chosen phrase are skipped (``hiking_boots`` then ``boots``), ``_``
    becomes a space, and a label that repeats an earlier one gets ``" (2)"`` appended.
    """
    labels: list[str] = []
    seen: dict[str, int] = {}
    for terms in top_terms:
        chosen: list[str] = []
        for term in terms:
            parts = set(term.split("_"))
            if any(parts <= set(c.split("_")) or set(c.split("_")) <= parts for c in chosen):
                continue
            chosen.append(term)
            if len(chosen) == n_words:
                break
        label = " · ".join(t.replace("_", " ") for t in chosen) or "(empty topic)"
        seen[label] = seen.get(label, 0) + 1
        labels.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return labels


def apply_label_overrides(labels: Sequence[str], overrides: Mapping[int, str]) -> list[str]:
    """Replace labels by topic id (0-based) with the user's names (stripped); other topics keep theirs.

    Raises ConfigError for a topic id out of range, an empty name or one with ``;`` (the tag
    separator), or labels that are no longer unique.
    """
    bad = [k for k in overrides if not (isinstance(k, (int, np.integer)) and 0 <= k < len(labels))]
    if bad:
        raise ConfigError(f"topic ids must be within 0..{len(labels) - 1}, got {bad}")
    clean = {int(k): str(v).strip() for k, v in overrides.items()}
    if any(not v or ";" in v for v in clean.values()):
        raise ConfigError("topic labels must be non-empty and must not contain ';'")
    out = list(labels)
    for topic_id, name in clean.items():
        out[topic_id] = name
    if len(set(out)) != len(out):
        raise ConfigError(f"topic labels must be unique, got {out}")
    return out
