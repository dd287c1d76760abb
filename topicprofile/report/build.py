"""Everything the report shows, as a plain dict of aggregates (numbers and short strings).

Pure functions over tables and arrays — no model, no files, no HTML — so each section can be
tested alone. The report never embeds raw rows: a 200,000-customer shop and a 400-customer
shop give the same few kilobytes of aggregates (the only per-row text is a handful of example
snippets and segment examples).

The sections, one function each: :mod:`~topicprofile.report.topic_sections` (topics, interests over
time), :mod:`~topicprofile.report.customer_sections` (customers, value, segments),
:mod:`~topicprofile.report.run_sections` (does text help, run facts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from topicprofile.report.customer_sections import customers_section, segments_section, value_section
from topicprofile.report.layout import DEFAULT_LAMBDA
from topicprofile.report.run_sections import evaluation_section, facts_section
from topicprofile.report.topic_sections import time_section, topics_section
from topicprofile.report.values import NO_ORDERS

__all__ = ["build_report_data", "with_rfm"]


def build_report_data(
    *,
    topics: pd.DataFrame,
    topic_word: np.ndarray,
    term_counts: np.ndarray,
    vocabulary: Sequence[str],
    profiles: pd.DataFrame | None = None,
    orders: pd.DataFrame | None = None,
    segment_cards: Sequence[Mapping[str, Any]] | None = None,
    manifest: Mapping[str, Any] | None = None,
    evaluation: Mapping[str, Any] | None = None,
    snippets: Mapping[int, Sequence[str]] | None = None,
    lam: float = DEFAULT_LAMBDA,
    facts: Mapping[str, Any] | None = None,
    title: str = "Customer interests report",
    months: Mapping[str, Any] | None = None,
    cutoff: Any = None,
) -> dict[str, Any]:
    """All sections of the report as one JSON-ready dict (see the ``*_section`` functions)."""
    ordered = topics.sort_values("topic")
    labels = [str(x) for x in ordered["label"]]
    return {
        "title": title,
        "topics": topics_section(ordered, topic_word, term_counts, vocabulary, lam=lam, snippets=snippets),
        "time": time_section(orders, profiles, labels, months=months, cutoff=cutoff),
        "customers": customers_section(profiles, labels),
        "value": value_section(profiles),
        "segments": segments_section(segment_cards, profiles, labels),
        "evaluation": evaluation_section(evaluation),
        "facts": facts_section(manifest, facts),
    }


def with_rfm(profiles: pd.DataFrame | None, rfm: pd.DataFrame) -> pd.DataFrame:
    """``profiles`` with the RFM columns of ``rfm`` (from :func:`~topicprofile.behavior.compute_rfm`).

    Customers only in ``rfm`` are added (no text: empty tags); customers without orders keep zeros
    and ``rfm_segment = "No orders"``. Columns already in ``profiles`` are replaced.
    """
    rfm = rfm.copy()
    rfm.index = rfm.index.astype(str)
    columns = [c for c in ("recency_days", "frequency", "monetary", "avg_order_value", "r_score", "f_score",
                           "m_score", "rfm_segment") if c in rfm]  # fmt: skip
    if profiles is None:
        base = pd.DataFrame({"customer_id": rfm.index})
    else:
        base = profiles.drop(columns=[c for c in columns if c in profiles]).copy()
        base["customer_id"] = base["customer_id"].astype(str)
        extra = rfm.index.difference(pd.Index(base["customer_id"]))
        if len(extra):
            base = pd.concat([base, pd.DataFrame({"customer_id": extra})], ignore_index=True)
    merged = base.merge(rfm[columns], left_on="customer_id", right_index=True, how="left")
    for column in columns:
        if column == "rfm_segment":
            merged[column] = merged[column].fillna(NO_ORDERS)
        else:
            merged[column] = merged[column].fillna(0)
    for column in ("top_interest", "interest_tags"):
        if column in merged:
            merged[column] = merged[column].fillna("")
    return merged
