"""The report's sections on the model itself: whether text helps predict purchases, and the run's facts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from topicprofile.report.values import finite

__all__ = ["evaluation_section", "facts_section"]


# -- does text help -----------------------------------------------------------------------------
def evaluation_section(evaluation: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ROC-AUC / PR-AUC / lift table of ``topicprofile evaluate`` and the data of its lift chart."""
    if not evaluation or not evaluation.get("results"):
        return {"available": False, "reading": "Give --cutoff DATE with --orders and --reviews/--browsing (or "
                "--evaluation FILE from `topicprofile evaluate --json`) to see whether text predicts purchases."}  # fmt: skip
    rows = [{"target": str(r.get("target")), "model": str(r.get("model")), "features": str(r.get("features")),
             "n_positive": r.get("n_positive"), "roc_auc": finite(r.get("roc_auc")), "pr_auc": finite(r.get("pr_auc")),
             "top_decile_lift": finite(r.get("top_decile_lift"))} for r in evaluation["results"]]  # fmt: skip
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
def facts_section(
    manifest: Mapping[str, Any] | None, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
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
    for key, name in (
        ("n_customers", "customers at fit"),
        ("n_terms", "vocabulary"),
        ("n_segments", "segments"),
    ):
        if manifest.get(key) is not None:
            facts.append((name, f"{int(manifest[key]):,}"))
    coherence = manifest.get("coherence") or {}
    if coherence:
        facts.append(
            ("coherence", ", ".join(f"{k} {v:.3f}" for k, v in coherence.items() if finite(v) is not None))
        )
    for key, value in (extra or {}).items():
        facts.append((str(key), str(value)))
    versions = manifest.get("versions") or {}
    if versions:
        facts.append(("libraries", ", ".join(f"{k} {v}" for k, v in versions.items())))
    return {"available": True, "facts": [{"name": k, "value": v} for k, v in facts if v]}
