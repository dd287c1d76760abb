"""The report's sections on who the customers are: their interests, their value (RFM) and their segments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from topicprofile.behavior import DEFAULT_SEGMENT_MAP, SEGMENT_NAMES
from topicprofile.report.values import NO_ORDERS, clip, finite, has_orders, numeric_column, pct, text_column
from topicprofile.segments.names import counted

__all__ = ["customers_section", "segments_section", "value_section"]


# -- customers ----------------------------------------------------------------------------------
def customers_section(profiles: pd.DataFrame | None, labels: Sequence[str]) -> dict[str, Any]:
    """How many customers are tagged, tags per customer, top interests by count and by revenue."""
    if profiles is None or not len(profiles):
        return {"available": False, "reading": "No profiles.", "n_customers": 0}
    n = len(profiles)
    tags = text_column(profiles, "interest_tags")
    n_tags = np.where(tags.str.len() > 0, tags.str.count(";") + 1, 0)
    top = text_column(profiles, "top_interest")
    tagged = top != ""
    monetary = numeric_column(profiles, "monetary").fillna(0.0)
    buyers = has_orders(profiles)
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
        reading = f"“{lead['interest']}” is your largest interest: {pct(lead['share'])} of customers"
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
    if profiles is None or "r_score" not in profiles or not has_orders(profiles).any():
        return {
            "available": False,
            "reading": "Needs orders (--orders, or a profiles table tagged with orders).",
        }
    buyers = has_orders(profiles)
    scores = {
        s: numeric_column(profiles, s)[buyers].fillna(0).astype(int)
        for s in ("r_score", "f_score", "m_score")
    }
    distributions = [{"score": name[0].upper(), "value": v, "customers": int((scores[name] == v).sum())}
                     for name in scores for v in range(1, 6)]  # fmt: skip
    fm = (scores["f_score"] + scores["m_score"] + 1) // 2
    counts = pd.crosstab(scores["r_score"], fm)
    grid = [{"r": r, "fm": f, "segment": DEFAULT_SEGMENT_MAP.get((r, f), ""),
             "customers": int(counts.at[r, f]) if r in counts.index and f in counts.columns else 0}
            for f in range(5, 0, -1) for r in range(1, 6)]  # fmt: skip
    segment = text_column(profiles, "rfm_segment")
    monetary = numeric_column(profiles, "monetary").fillna(0.0)
    total = float(monetary.sum()) or 1.0
    grouped = pd.DataFrame({"segment": segment, "monetary": monetary})[buyers].groupby("segment")["monetary"]
    sums, sizes = grouped.sum(), grouped.size()
    order = [s for s in SEGMENT_NAMES if s in sums.index] + [s for s in sums.index if s not in SEGMENT_NAMES]
    revenue = [{"segment": s, "customers": int(sizes[s]), "revenue": float(sums[s]),
                "revenue_share": float(sums[s]) / total} for s in order]  # fmt: skip
    best = max(revenue, key=lambda r: r["revenue"])
    n_buyers = int(buyers.sum())
    reading = (f"“{best['segment']}” ({counted(best['customers'], 'customer')}, {pct(best['customers'] / n_buyers)} of buyers) "
               f"bring {pct(best['revenue_share'])} of revenue.")  # fmt: skip
    at_risk = [r for r in revenue if r["segment"] in ("At Risk", "Can't Lose")]
    if at_risk:
        slipping = sum(r["customers"] for r in at_risk)
        reading += (f" {counted(slipping, 'valuable customer')} {'is' if slipping == 1 else 'are'} slipping "
                    f"(At Risk, Can't Lose): {pct(sum(r['revenue_share'] for r in at_risk))} of revenue.")  # fmt: skip
    return {"available": True, "reading": reading, "n_buyers": n_buyers, "distributions": distributions,
            "grid": grid, "revenue": revenue}  # fmt: skip


# -- segments -----------------------------------------------------------------------------------
def segments_section(
    cards: Sequence[Mapping[str, Any]] | None, profiles: pd.DataFrame | None, labels: Sequence[str]
) -> dict[str, Any]:
    """One card per fused segment (+ revenue share) and the interest × RFM-segment heat map."""
    heat: list[dict[str, Any]] = []
    if profiles is not None and "rfm_segment" in profiles and len(profiles):
        top = text_column(profiles, "top_interest")
        segment = text_column(profiles, "rfm_segment").replace("", NO_ORDERS)
        table = pd.crosstab(top[top != ""], segment[top != ""])
        columns = [s for s in (*SEGMENT_NAMES, NO_ORDERS) if s in table.columns]
        heat = [{"interest": i, "rfm_segment": s, "customers": int(table.at[i, s])}
                for i in labels if i in table.index for s in columns]  # fmt: skip
    revenue: dict[str, float] = {}
    if profiles is not None and "segment_id" in profiles and "monetary" in profiles:
        monetary = numeric_column(profiles, "monetary").fillna(0.0)
        ids = text_column(profiles, "segment_id").str.replace(r"\.0$", "", regex=True)
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
                               "lift": finite(t.get("lift"))} for t in (card.get("top_interests") or [])[:3]],
            "rfm_medians": {k: finite(v) for k, v in (card.get("rfm_medians") or {}).items()},
            "rfm_mix": [{"segment": str(k), "share": float(v)} for k, v in (card.get("rfm_segment_mix") or {}).items()][:3],
            "example": clip(examples[0]["text"]) if examples else "",
        })  # fmt: skip
    if out:
        big = max(out, key=lambda c: c["size"])
        reading = f"“{big['name']}” is the largest segment ({pct(big['share'])} of customers)"
        with_revenue = [c for c in out if c["revenue_share"] is not None]
        if with_revenue:
            rich = max(with_revenue, key=lambda c: c["revenue_share"])
            reading += f"; “{rich['name']}” brings {pct(rich['revenue_share'])} of revenue."
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
