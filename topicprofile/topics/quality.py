"""Per-topic quality report: coherence, prevalence, top terms, near-duplicates and junk topics."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

__all__ = ["topic_quality", "DUPLICATE_JACCARD", "JUNK_NPMI"]

#: Two topics whose top-10 terms overlap this much (Jaccard) are flagged as near-duplicates.
DUPLICATE_JACCARD = 0.4
#: A topic below this c_npmi *and* rare (under half an even share) is flagged as junk.
JUNK_NPMI = -0.2


def _jaccard(a: Sequence[str], b: Sequence[str]) -> float:
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 0.0


def topic_quality(topics: pd.DataFrame, *, stop_words: frozenset[str] = frozenset()) -> pd.DataFrame:
    """One row per topic with quality flags.

    Parameters
    ----------
    topics : DataFrame
        :meth:`TopicProfiler.topics` output (``topic, label, top_terms, prevalence, c_npmi, c_v``).
    stop_words : set of str
        Boilerplate words; a topic whose top-5 terms are mostly these is junk.

    Returns
    -------
    DataFrame
        ``topic, label, prevalence, c_npmi, c_v, top_terms, duplicate_of, overlap, junk, reason``:
        ``duplicate_of`` is the earlier topic whose top-10 terms overlap most when the Jaccard
        overlap reaches :data:`DUPLICATE_JACCARD` (else -1); ``junk`` with its ``reason``.
    """
    terms = [list(t)[:10] for t in topics["top_terms"]]
    n_topics = len(topics)
    rows = []
    for k, row in enumerate(topics.itertuples(index=False)):
        overlaps = [(_jaccard(terms[k], terms[j]), j) for j in range(k)]
        overlap, other = max(overlaps, default=(0.0, -1))
        reasons = []
        if row.c_npmi < JUNK_NPMI and row.prevalence < 0.5 / n_topics:
            reasons.append(f"incoherent (c_npmi {row.c_npmi:+.2f}) and rare ({row.prevalence:.1%})")
        boiler = sum(t in stop_words for t in terms[k][:5])
        if boiler >= 3:
            reasons.append(f"{boiler} of its top 5 terms are boilerplate")
        rows.append(
            {
                "topic": int(row.topic),
                "label": row.label,
                "prevalence": float(row.prevalence),
                "c_npmi": float(row.c_npmi),
                "c_v": float(row.c_v),
                "top_terms": terms[k],
                "duplicate_of": other if overlap >= DUPLICATE_JACCARD else -1,
                "overlap": round(overlap, 3),
                "junk": bool(reasons),
                "reason": "; ".join(reasons),
            }
        )
    return pd.DataFrame(rows)
