"""Topic modelling stage: LDA fit/transform, labels, coherence.

The names below load on first use (PEP 562): ``topicprofile.topics.infer`` (what tagging a text
needs) is then imported without gensim, pandas and the trainers.
"""

from __future__ import annotations

_LAZY = {
    "LdaTopics": "topicprofile.topics.lda",
    "DEFAULT_LDA_PARAMS": "topicprofile.topics.lda",
    "relevant_terms": "topicprofile.topics.labels",
    "make_labels": "topicprofile.topics.labels",
    "apply_label_overrides": "topicprofile.topics.labels",
    "coherence_scores": "topicprofile.topics.coherence",
    "topic_diversity": "topicprofile.topics.coherence",
}

__all__ = [
    "DEFAULT_LDA_PARAMS",
    "LdaTopics",
    "apply_label_overrides",
    "coherence_scores",
    "make_labels",
    "relevant_terms",
    "topic_diversity",
]


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'topicprofile.topics' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
