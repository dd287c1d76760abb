"""Everything the report shows, as a plain dict of aggregates (numbers and short strings).

Pure functions over tables and arrays — no model, no files, no HTML — so each section can be
tested alone. The report never embeds raw rows: a 200,000-customer shop and a 400-customer
shop give the same few kilobytes of aggregates (the only per-row text is a handful of example
snippets and segment examples).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from topicprofile.behavior import DEFAULT_SEGMENT_MAP, SEGMENT_NAMES
from topicprofile.ingest.dates import as_day
from topicprofile.report.layout import DEFAULT_LAMBDA, intertopic_map, top_relevant
from topicprofile.segments.names import counted

__all__ = [
    "build_report_data",
    "customers_section",
    "evaluation_section",
    "facts_section",
    "segments_section",
    "time_section",
    "topic_share_matrix",
    "topics_section",
    "value_section",
]

NO_ORDERS = "No orders"
N_TERMS = 10
MAX_SNIPPET = 220


def _pct(x: float) -> str:
    return f"{x:.0%}" if x >= 0.01 or x == 0 else "<1%"


def _clip(text: str, n: int = MAX_SNIPPET) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def _num(x: Any) -> float | None:
    """A finite float or None (JSON and templates never see NaN)."""
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


# -- topics -------------------------------------------------------------------------------------
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
        flags = [str(f) for f in flags] if isinstance(flags, (list, tuple, np.ndarray)) else (
            [s for s in str(flags).split(";") if s] if isinstance(flags, str) else [])
        rows.append({
            "topic": topic,
            "label": str(row.label),
            "auto_label": str(getattr(row, "auto_label", row.label)),
            "prevalence": float(row.prevalence),
            "c_npmi": _num(getattr(row, "c_npmi", None)),
            "c_v": _num(getattr(row, "c_v", None)),
            "flags": flags,
            "terms": [{"term": vocabulary[w].replace("_", " "), "relevance": rel, "p_topic": pw, "p_corpus": pc}
                      for w, rel, pw, pc in relevant[topic]],
            "snippets": [_clip(s) for s in (snippets or {}).get(topic, [])[:3]],
            "x": float(coords[topic, 0]),
            "y": float(coords[topic, 1]),
        })  # fmt: skip
    rows.sort(key=lambda r: -r["prevalence"])
    top = rows[0]
    reading = f"“{top['label']}” is the largest topic: {_pct(top['prevalence'])} of what customers wrote and browsed."
    if len(rows) > 1:
        reading += f" The smallest, “{rows[-1]['label']}”, has {_pct(rows[-1]['prevalence'])}."
    return {"reading": reading, "lambda": lam, "topics": rows}


# -- profiles helpers ---------------------------------------------------------------------------
def topic_share_matrix(profiles: pd.DataFrame, n_topics: int) -> np.ndarray:
    """n_customers × n_topics shares from the ``topic_{k}`` columns (missing columns = 0)."""
    out = np.zeros((len(profiles), n_topics))
    for k in range(n_topics):
        column = f"topic_{k}"
        if column in profiles:
            out[:, k] = pd.to_numeric(profiles[column], errors="coerce").fillna(0.0).to_numpy()
    return out


def _text(profiles: pd.DataFrame, column: str) -> pd.Series:
    if column not in profiles:
        return pd.Series([""] * len(profiles), index=profiles.index, dtype=object)
    values = profiles[column]
    return values.astype(object).where(values.notna(), "").astype(str)  # nullable dtypes (a database's) too


def _numeric(profiles: pd.DataFrame, column: str) -> pd.Series:
    if column not in profiles:
        return pd.Series(np.nan, index=profiles.index)
    return pd.to_numeric(profiles[column], errors="coerce")


def _has_orders(profiles: pd.DataFrame) -> pd.Series:
    frequency = _numeric(profiles, "frequency").fillna(0)
    return frequency > 0


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
    reading = f"In {by_month.index[-1]}, “{labels[leader]}” led with {_pct(last.iloc[leader])} of {what}"
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
        return {"available": False, "reading": "No order belongs to a profiled customer.", "months": [], "series": []}
    order_months = stamps[known].dt.to_period("M").astype(str).to_numpy()
    frame = pd.DataFrame(shares[position[known]], columns=range(len(labels)))
    frame["month"] = order_months
    by_month = frame.groupby("month", sort=True).sum()
    totals = by_month.sum(axis=1).replace(0, np.nan)
    by_month = by_month.div(totals, axis=0).fillna(0.0)
    return {"available": True, "source": "orders", "cutoff": cut,
            "reading": _time_reading(by_month, labels, "orders' interest", cut),
            "months": list(by_month.index), "series": _series(by_month, labels)}  # fmt: skip


# -- customers ----------------------------------------------------------------------------------
def customers_section(profiles: pd.DataFrame | None, labels: Sequence[str]) -> dict[str, Any]:
    """How many customers are tagged, tags per customer, top interests by count and by revenue."""
    if profiles is None or not len(profiles):
        return {"available": False, "reading": "No profiles.", "n_customers": 0}
    n = len(profiles)
    tags = _text(profiles, "interest_tags")
    n_tags = np.where(tags.str.len() > 0, tags.str.count(";") + 1, 0)
    top = _text(profiles, "top_interest")
    tagged = top != ""
    monetary = _numeric(profiles, "monetary").fillna(0.0)
    buyers = _has_orders(profiles)
    median_spend = float(monetary[buyers].median()) if buyers.any() else None
    tags_hist = pd.Series(n_tags).value_counts().sort_index()
    exploded = tags[tags != ""].str.split(";").explode()
    by_count = exploded.value_counts()
    revenue = monetary.groupby(top[tagged]).sum() if tagged.any() else pd.Series(dtype=float)
    total_revenue = float(monetary.sum())
    interests = []
    for label in labels:
        group = tagged & (top == label)
        spend = float(monetary[group & buyers].median()) if (group & buyers).any() else None
        interests.append({
            "interest": label,
            "customers": int(by_count.get(label, 0)),
            "share": float(by_count.get(label, 0)) / n,
            "top_customers": int(group.sum()),
            "revenue": float(revenue.get(label, 0.0)),
            "revenue_share": float(revenue.get(label, 0.0)) / total_revenue if total_revenue > 0 else 0.0,
            "median_spend": spend,
        })  # fmt: skip
    interests.sort(key=lambda r: -r["customers"])
    lead = interests[0] if interests else None
    if lead and lead["customers"]:
        reading = f"“{lead['interest']}” is your largest interest: {_pct(lead['share'])} of customers"
        if lead["median_spend"] and median_spend:
            reading += f"; its customers spend {lead['median_spend'] / median_spend:.1f}× the median."
        else:
            reading += "."
    else:
        reading = "No customer has an interest tag yet."
    return {
        "available": True,
        "reading": reading,
        "n_customers": n,
        "n_tagged": int(tagged.sum()),
        "tagged_share": float(tagged.mean()),
        "n_with_orders": int(buyers.sum()),
        "total_revenue": total_revenue,
        "median_spend": median_spend,
        "tags_per_customer": [{"n_tags": str(int(k)), "customers": int(v)} for k, v in tags_hist.items()],
        "interests": interests,
    }


# -- value (RFM) --------------------------------------------------------------------------------
def value_section(profiles: pd.DataFrame | None) -> dict[str, Any]:
    """RFM score distributions, the R × FM grid with segment names and counts, revenue by segment."""
    if profiles is None or "r_score" not in profiles or not _has_orders(profiles).any():
        return {"available": False, "reading": "Needs orders (--orders, or a profiles table tagged with orders)."}
    buyers = _has_orders(profiles)
    scores = {s: _numeric(profiles, s)[buyers].fillna(0).astype(int) for s in ("r_score", "f_score", "m_score")}
    distributions = [{"score": name[0].upper(), "value": v, "customers": int((scores[name] == v).sum())}
                     for name in scores for v in range(1, 6)]  # fmt: skip
    fm = (scores["f_score"] + scores["m_score"] + 1) // 2
    counts = pd.crosstab(scores["r_score"], fm)
    grid = [{"r": r, "fm": f, "segment": DEFAULT_SEGMENT_MAP.get((r, f), ""),
             "customers": int(counts.at[r, f]) if r in counts.index and f in counts.columns else 0}
            for f in range(5, 0, -1) for r in range(1, 6)]  # fmt: skip
    segment = _text(profiles, "rfm_segment")
    monetary = _numeric(profiles, "monetary").fillna(0.0)
    total = float(monetary.sum()) or 1.0
    grouped = pd.DataFrame({"segment": segment, "monetary": monetary})[buyers].groupby("segment")["monetary"]
    sums, sizes = grouped.sum(), grouped.size()
    order = [s for s in SEGMENT_NAMES if s in sums.index] + [s for s in sums.index if s not in SEGMENT_NAMES]
    revenue = [{"segment": s, "customers": int(sizes[s]), "revenue": float(sums[s]),
                "revenue_share": float(sums[s]) / total} for s in order]  # fmt: skip
    best = max(revenue, key=lambda r: r["revenue"])
    n_buyers = int(buyers.sum())
    reading = (f"“{best['segment']}” ({counted(best['customers'], 'customer')}, {_pct(best['customers'] / n_buyers)} of buyers) "
               f"bring {_pct(best['revenue_share'])} of revenue.")  # fmt: skip
    at_risk = [r for r in revenue if r["segment"] in ("At Risk", "Can't Lose")]
    if at_risk:
        slipping = sum(r["customers"] for r in at_risk)
        reading += (f" {counted(slipping, 'valuable customer')} {'is' if slipping == 1 else 'are'} slipping "
                    f"(At Risk, Can't Lose): {_pct(sum(r['revenue_share'] for r in at_risk))} of revenue.")  # fmt: skip
    return {"available": True, "reading": reading, "n_buyers": n_buyers, "distributions": distributions,
            "grid": grid, "revenue": revenue}  # fmt: skip


# -- segments -----------------------------------------------------------------------------------
def segments_section(
    cards: Sequence[Mapping[str, Any]] | None, profiles: pd.DataFrame | None, labels: Sequence[str]
) -> dict[str, Any]:
    """One card per fused segment (+ revenue share) and the interest × RFM-segment heat map."""
    heat: list[dict[str, Any]] = []
    if profiles is not None and "rfm_segment" in profiles and len(profiles):
        top = _text(profiles, "top_interest")
        segment = _text(profiles, "rfm_segment").replace("", NO_ORDERS)
        table = pd.crosstab(top[top != ""], segment[top != ""])
        columns = [s for s in (*SEGMENT_NAMES, NO_ORDERS) if s in table.columns]
        heat = [{"interest": i, "rfm_segment": s, "customers": int(table.at[i, s])}
                for i in labels if i in table.index for s in columns]  # fmt: skip
    revenue: dict[str, float] = {}
    if profiles is not None and "segment_id" in profiles and "monetary" in profiles:
        monetary = _numeric(profiles, "monetary").fillna(0.0)
        ids = _text(profiles, "segment_id").str.replace(r"\.0$", "", regex=True)
        total = float(monetary.sum())
        if total > 0:
            revenue = (monetary.groupby(ids).sum() / total).to_dict()
    out = []
    for card in cards or []:
        examples = [e for e in card.get("examples") or [] if str(e.get("text", "")).strip()]
        out.append({
            "segment_id": card.get("segment_id"),
            "name": str(card.get("name", "")),
            "size": int(card.get("size", 0)),
            "share": float(card.get("share", 0.0)),
            "revenue_share": revenue.get(str(card.get("segment_id"))),
            "top_interests": [{"interest": str(t.get("interest")), "share": float(t.get("share", 0)),
                               "lift": _num(t.get("lift"))} for t in (card.get("top_interests") or [])[:3]],
            "rfm_medians": {k: _num(v) for k, v in (card.get("rfm_medians") or {}).items()},
            "rfm_mix": [{"segment": str(k), "share": float(v)} for k, v in (card.get("rfm_segment_mix") or {}).items()][:3],
            "example": _clip(examples[0]["text"]) if examples else "",
        })  # fmt: skip
    if out:
        big = max(out, key=lambda c: c["size"])
        reading = f"“{big['name']}” is the largest segment ({_pct(big['share'])} of customers)"
        with_revenue = [c for c in out if c["revenue_share"] is not None]
        if with_revenue:
            rich = max(with_revenue, key=lambda c: c["revenue_share"])
            reading += f"; “{rich['name']}” brings {_pct(rich['revenue_share'])} of revenue."
        else:
            reading += "."
    elif heat:
        reading = "No fused segments in this model (fit with orders to get them); the heat map shows interests by RFM segment."
    else:
        reading = "Needs a model fitted with orders, or profiles with RFM columns."
    if heat:
        cell = max(heat, key=lambda h: h["customers"])
        reading += f" The busiest cell: “{cell['interest']}” × {cell['rfm_segment']} ({counted(cell['customers'], 'customer')})."
    return {"available": bool(out or heat), "reading": reading, "cards": out, "heat": heat}


# -- does text help -----------------------------------------------------------------------------
def evaluation_section(evaluation: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ROC-AUC / PR-AUC / lift table of ``topicprofile evaluate`` and the data of its lift chart."""
    if not evaluation or not evaluation.get("results"):
        return {"available": False, "reading": "Give --cutoff DATE with --orders and --reviews/--browsing (or "
                "--evaluation FILE from `topicprofile evaluate --json`) to see whether text predicts purchases."}  # fmt: skip
    rows = [{"target": str(r.get("target")), "model": str(r.get("model")), "features": str(r.get("features")),
             "n_positive": r.get("n_positive"), "roc_auc": _num(r.get("roc_auc")), "pr_auc": _num(r.get("pr_auc")),
             "top_decile_lift": _num(r.get("top_decile_lift"))} for r in evaluation["results"]]  # fmt: skip
    reading = "Compare the RFM-only and RFM+topics rows: higher is better."
    first = rows[0]
    pair = {r["features"]: r for r in rows if r["target"] == first["target"] and r["model"] == first["model"]}
    if len(pair) >= 2 and all(p["roc_auc"] is not None for p in pair.values()):
        base, text = pair.get("rfm"), pair.get("rfm+topics")
        if base and text:
            verb = "helps" if text["roc_auc"] > base["roc_auc"] + 0.005 else "barely changes"
            reading = (f"Text {verb} predicting “{first['target']}” after {evaluation.get('cutoff', 'the cutoff')}: "
                       f"ROC-AUC {base['roc_auc']:.3f} with RFM alone, {text['roc_auc']:.3f} with topics added.")  # fmt: skip
    return {"available": True, "reading": reading, "cutoff": str(evaluation.get("cutoff", "")), "rows": rows}


# -- run facts ----------------------------------------------------------------------------------
def facts_section(manifest: Mapping[str, Any] | None, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Model version, inputs' fingerprints and counts, rejects, library versions, dates."""
    manifest = manifest or {}
    facts: list[tuple[str, str]] = []
    if manifest.get("current"):
        facts.append(("model version", str(manifest["current"])))
    facts.append(("topics", str(manifest.get("n_topics", ""))))
    facts.append(("language", str((manifest.get("tokenizer") or {}).get("lang", ""))))
    source = manifest.get("input") or {}
    if source:
        facts.append(("training documents", f"{int(source.get('n_documents', 0)):,}"))
        facts.append(("input fingerprint", str(source.get("fingerprint", ""))[:16]))
    for key, name in (("n_customers", "customers at fit"), ("n_terms", "vocabulary"), ("n_segments", "segments")):
        if manifest.get(key) is not None:
            facts.append((name, f"{int(manifest[key]):,}"))
    coherence = manifest.get("coherence") or {}
    if coherence:
        facts.append(("coherence", ", ".join(f"{k} {v:.3f}" for k, v in coherence.items() if _num(v) is not None)))
    for key, value in (extra or {}).items():
        facts.append((str(key), str(value)))
    versions = manifest.get("versions") or {}
    if versions:
        facts.append(("libraries", ", ".join(f"{k} {v}" for k, v in versions.items())))
    return {"available": True, "facts": [{"name": k, "value": v} for k, v in facts if v]}


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
