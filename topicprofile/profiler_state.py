"""A fitted :class:`~topicprofile.TopicProfiler` as plain data and back.

:func:`fitted_state` gathers each fitted part's own ``to_state()`` and the manifest fields;
:func:`saved_params` and :func:`restore_fitted` rebuild the estimator from what
:func:`topicprofile.store.read_state` reads. The store writes and reads the data; this module
knows which fitted attribute is which part.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from topicprofile.ingest.docstore import DocumentStore
from topicprofile.privacy.training_bows import TrainingBows
from topicprofile.segments.saved import segments_document, segments_from_document
from topicprofile.text.encoder import TextEncoder
from topicprofile.topics import LdaTopics

__all__ = ["fitted_state", "restore_fitted", "saved_params"]

#: What a model saved before a manifest field existed gets for it.
_NO_MONTHS = {"months": [], "n_documents": [], "shares": []}


def fitted_state(profiler: Any) -> dict[str, Any]:
    """A fitted profiler's manifest fields and parts (``documents`` is the DocumentStore or None)."""
    resolved = profiler.topics_.resolved_params().items()
    manifest = {
        "params": profiler.get_params(),
        "n_segments": len(profiler.segment_cards_),
        "tokenizer": profiler.tokenizer_.get_config(),
        "lda": {k: ("seeded by the taxonomy" if hasattr(v, "shape") else v) for k, v in resolved},
        "input": {"fingerprint": profiler.input_fingerprint_, "n_documents": profiler.n_documents_},
        "n_customers": len(profiler.profiles_),
        "n_terms": len(profiler.dictionary_),
        "coherence": profiler.coherence_,
        "n_topics": profiler.n_topics_,
        "tuning": None if profiler.tuning_ is None else profiler.tuning_.to_dict(orient="records"),
        "topic_labels": list(profiler.topic_labels_),
        "topic_months": profiler.topic_months_,  # monthly topic shares of the dated documents (the report's)
        "topic_changes": getattr(profiler, "topic_changes_", None),
        "privacy": getattr(profiler, "privacy_", {"scrub": bool(profiler.scrub)}),
    }
    segments = None
    if profiler.segmenter_ is not None:
        segments = segments_document(
            fuser=profiler.fuser_, segmenter=profiler.segmenter_, cards=profiler.segment_cards_
        )
    return {"manifest": manifest, "encoder": profiler.encoder_.to_state(), "lda": profiler.topics_.to_state(),
            "topics": profiler.topic_info_.drop(columns=["label"]), "profiles": profiler.profiles_,
            "documents": profiler.documents_, "segments": segments,
            "training_bows": getattr(profiler, "training_bows_", None)}  # fmt: skip


def saved_params(manifest: Mapping[str, Any], *, run_keywords: Sequence[str] = ()) -> dict[str, Any]:
    """The constructor parameters a model was saved with, as the constructor takes them.

    Tuples come back from JSON lists, label keys as ints; a model saved before the sharpened mean
    keeps its ``"length"`` rule; ``run_keywords`` (run options saved as parameters by older
    versions) are dropped: they are not the model's.
    """
    params = dict(manifest["params"])
    for name in ("k_values", "segment_k_range"):
        if params.get(name) is not None:
            params[name] = tuple(params[name])
    if params.get("topic_labels"):
        params["topic_labels"] = {int(k): v for k, v in params["topic_labels"].items()}
    params.setdefault("aggregation", "length")  # saved before the sharpened mean: keep its rule
    for name in run_keywords:
        params.pop(name, None)
    return params


def restore_fitted(profiler: Any, state: Mapping[str, Any]) -> Any:
    """Set an unfitted ``profiler``'s fitted attributes from ``state``; returns it."""
    manifest = state["manifest"]
    profiler.encoder_ = TextEncoder.from_state(state["encoder"])
    profiler.topics_ = LdaTopics.from_state(*state["lda"], profiler.dictionary_)
    profiler.n_topics_ = profiler.topics_.n_topics
    profiler.tuning_ = pd.DataFrame(manifest["tuning"]) if manifest.get("tuning") else None
    profiler.topic_info_ = state["topics"]
    profiler.auto_labels_ = profiler.topic_info_["auto_label"].tolist()
    profiler.coherence_ = manifest["coherence"]
    profiler.n_documents_ = manifest["input"]["n_documents"]
    profiler.input_fingerprint_ = manifest["input"]["fingerprint"]
    profiler.topic_months_ = manifest.get("topic_months") or dict(_NO_MONTHS)
    profiler.privacy_ = dict(manifest.get("privacy") or {"scrub": "not recorded"})
    profiler.profiles_ = state["profiles"]
    profiler.documents_ = DocumentStore.open(state["documents"]) if state["documents"] is not None else None
    bows = state.get("training_bows")
    profiler.training_bows_ = TrainingBows.open(bows) if bows is not None else None
    profiler.fuser_, profiler.segmenter_, profiler.segment_cards_ = None, None, []
    if state["segments"] is not None:
        profiler.fuser_, profiler.segmenter_, profiler.segment_cards_ = segments_from_document(
            state["segments"], where=state.get("folder", "model")
        )
    # the profiles and segments were saved with these labels: no relabelling needed
    profiler.topic_labels_ = list(manifest["topic_labels"])
    profiler.topic_info_["label"] = profiler.topic_labels_
    return profiler
