"""Topic modelling stage: LDA fit/transform, labels, coherence."""

from topicprofile.topics.coherence import coherence_scores, topic_diversity
from topicprofile.topics.labels import apply_label_overrides, make_labels, relevant_terms
from topicprofile.topics.lda import DEFAULT_LDA_PARAMS, LdaTopics

__all__ = [
    "LdaTopics",
    "DEFAULT_LDA_PARAMS",
    "relevant_terms",
    "make_labels",
    "apply_label_overrides",
    "coherence_scores",
    "topic_diversity",
]
