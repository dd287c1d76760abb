"""The report's sections on what customers write: the topics, and the interests' shares month by month."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from topicprofile.ingest.dates import as_day
from topicprofile.report.layout import DEFAULT_LAMBDA, intertopic_map, top_relevant
from topicprofile.report.values import clip, finite, pct, topic_share_matrix

__all__ = ["MIN_MONTH_DOCS", "N_TERMS", "time_section", "topics_section"]

N_TERMS = 10


def topics_section(
    topics: pd.DataFrame,
    topic_word: np.ndarray,
    term_counts: np.ndarray,
    vocabulary: Sequence[str],
    *,
    lam: float = DEFAULT_LAMBDA,
    snippets: Mapping[int, Sequence[str]] | None = None,
    n_terms: int = N_TERMS,
) -> dict[str, Any]:
    """Per topic: label, share, relevance bars, coherence, flags, snippets; plus the intertopic map."""
    topic_word = np.asarray(topic_word, dtype=np.float64)
    relevant = top_relevant(topic_word, term_counts, lam=lam, n=n_terms)
    coords = intertopic_map(topic_word) if topic_word.shape[0] > 1 else np.zeros((1, 2))
    rows = []
    for row in topics.itertuples(index=False):
        topic = int(row.topic)
        flags = getattr(row, "flags", None)
        flags = (
            [str(f) for f in flags]
            if isinstance(flags, (list, tuple, np.ndarray))
            else ([s for s in str(flags).split(";") if s] if isinstance(flags, str) else [])
        )
        rows.append({
            "topic": topic,
            "label": str(row.label),
            "auto_label": str(getattr(row, "auto_label", row.label)),
            "prevalence": float(row.prevalence),
            "c_npmi": finite(getattr(row, "c_npmi", None)),
            "c_v": finite(getattr(row, "c_v", None)),
            "flags": flags,
            "terms": [{"term": vocabulary[w].replace("_", " "), "relevance": rel, "p_topic": pw, "p_corpus": pc}
                      for w, rel, pw, pc in relevant[topic]],
            "snippets": [clip(s) for s in (snippets or {}).get(topic, [])[:3]],
            "x": float(coords[topic, 0]),
            "y": float(coords[topic, 1]),
        })  # fmt: skip
    rows.sort(key=lambda r: -r["prevalence"])
    top = rows[0]
    reading = f"“{top['label']}” is the largest topic: {pct(top['prevalence'])} of what customers wrote and browsed."
    if len(rows) > 1:
        reading += f" The smallest, “{rows[-1]['label']}”, has {pct(rows[-1]['prevalence'])}."
    return {"reading": reading, "lambda": lam, "topics": rows}


# -- interests over time ------------------------------------------------------------------------
#: Months with fewer dated documents are left out of the chart: a share of a handful is noise, and
#: a month of one review would show that one customer's interests.
MIN_MONTH_DOCS = 5
_NO_TIME = "Needs dated reviews or browsing events (a timestamp column when fitting), or orders with dates (--orders)."


def _series(by_month: pd.DataFrame, labels: Sequence[str]) -> list[dict[str, Any]]:
    return [{"month": m, "interest": labels[k], "share": float(by_month.at[m, k])}
            for m in by_month.index for k in range(len(labels))]  # fmt: skip


def _cutoff_month(cutoff: Any) -> str | None:
    if cutoff is None or cutoff == "":
        return None
    stamp = as_day(cutoff, what="cutoff")
    return f"{stamp.year:04d}-{stamp.month:02d}"


def _time_reading(by_month: pd.DataFrame, labels: Sequence[str], what: str, cutoff: str | None) -> str:
    last = by_month.iloc[-1]
    leader = int(last.to_numpy().argmax())
    reading = f"In {by_month.index[-1]}, “{labels[leader]}” led with {pct(last.iloc[leader])} of {what}"
    before = by_month[by_month.index < cutoff] if cutoff else by_month.iloc[:1]
    after = by_month[by_month.index >= cutoff] if cutoff else by_month.iloc[-1:]
    if len(by_month) < 2 or not len(before) or not len(after):
        return reading + "."
    change = (after.mean() - before.mean()).to_numpy()
    grower = int(change.argmax())
    since = f"from before {cutoff} to after it" if cutoff else f"since {by_month.index[0]}"
    return reading + f"; “{labels[grower]}” grew the most {since} ({change[grower] * 100:+.1f} points)."


def time_section(
    orders: pd.DataFrame | None,
    profiles: pd.DataFrame | None,
    labels: Sequence[str],
    *,
    months: Mapping[str, Any] | None = None,
    cutoff: Any = None,
) -> dict[str, Any]:
    """Monthly share of each interest.

    From ``months`` (the fit's ``topic_months_``: per month, the mean topic shares of the dated
    reviews and browsing events and their count) when it has a month of at least
    :data:`MIN_MONTH_DOCS` documents; otherwise from ``orders``, each order counting with its
    customer's topic shares. ``cutoff`` marks a date: the reading compares before and after it.
    """
    cut = _cutoff_month(cutoff)
    n_docs = list((months or {}).get("n_documents") or [])
    keep = [i for i, n in enumerate(n_docs) if n >= MIN_MONTH_DOCS]
    if keep:
        names = [months["months"][i] for i in keep]  # type: ignore[index]
        by_month = pd.DataFrame([months["shares"][i] for i in keep], index=names,  # type: ignore[index]
                                columns=range(len(labels))).fillna(0.0)  # fmt: skip
        what = "what customers wrote and browsed"
        return {"available": True, "source": "documents", "min_documents": MIN_MONTH_DOCS, "reading": _time_reading(by_month, labels, what, cut),
                "months": names, "n_documents": [n_docs[i] for i in keep], "cutoff": cut,
                "series": _series(by_month, labels)}  # fmt: skip
    if orders is None or profiles is None or not len(orders) or "customer_id" not in profiles:
        return {"available": False, "reading": _NO_TIME, "months": [], "series": []}
    shares = topic_share_matrix(profiles, len(labels))
    index = pd.Index(profiles["customer_id"].astype(str))
    position = index.get_indexer(orders["customer_id"].astype(str))
    known = position >= 0
    stamps = pd.to_datetime(orders["timestamp"], errors="coerce")
    known &= stamps.notna().to_numpy()
    if not known.any():
        return {
            "available": False,
            "reading": "No order belongs to a profiled customer.",
            "months": [],
            "series": [],
        }
    order_months = stamps[known].dt.to_period("M").astype(str).to_numpy()
    frame = pd.DataFrame(shares[position[known]], columns=range(len(labels)))
    frame["month"] = order_months
    by_month = frame.groupby("month", sort=True).sum()
    totals = by_month.sum(axis=1).replace(0, np.nan)
    by_month = by_month.div(totals, axis=0).fillna(0.0)
    return {"available": True, "source": "orders", "cutoff": cut,
            "reading": _time_reading(by_month, labels, "orders' interest", cut),
            "months": list(by_month.index), "series": _series(by_month, labels)}  # fmt: skip
