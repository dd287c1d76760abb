"""``segments.json``: the fitted fuser and segmenter and the segment cards, as one JSON document.

Layout (format 1): ``{"format_version": 1, "n_segments", "silhouette", "silhouette_by_k": {"4": s, ...},
"fuser": {params + topic_columns, topic_mean, center, scale, never_bought, n_customers}, "segmenter":
{params + cluster_centers, segment_sizes}, "segments": [card, ...]}``. Floats are written with full
precision, so segments assigned after :func:`load_segments` are identical.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from topicprofile._fs import atomic_path
from topicprofile.errors import ModelError
from topicprofile.segments.cluster import CustomerSegmenter
from topicprofile.segments.fuse import FeatureFuser

__all__ = [
    "SEGMENTS_FILE", "SEGMENTS_FORMAT", "segments_document", "segments_from_document",
    "write_segments", "load_segment_cards", "load_segments",
]  # fmt: skip

SEGMENTS_FILE = "segments.json"
SEGMENTS_FORMAT = 1
_TOP_LEVEL = ("n_segments", "silhouette", "silhouette_by_k")


def segments_document(
    *, fuser: FeatureFuser, segmenter: CustomerSegmenter, cards: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """The ``segments.json`` document of fitted parts (see the module docstring)."""
    state = segmenter.to_state()
    fuser_state = fuser.to_state()
    return {
        "format_version": SEGMENTS_FORMAT,
        **{key: state.pop(key) for key in _TOP_LEVEL},
        "fuser": fuser_state,
        "segmenter": state,
        "segments": list(cards),
    }


def segments_from_document(
    document: dict[str, Any], *, where: str | os.PathLike[str] = "model"
) -> tuple[FeatureFuser, CustomerSegmenter, list[dict[str, Any]]]:
    """The fitted fuser, segmenter and cards of a document read by :func:`load_segment_cards`."""
    try:
        fuser = FeatureFuser.from_state(document["fuser"])
        segmenter = CustomerSegmenter.from_state({**document["segmenter"], **{k: document[k] for k in _TOP_LEVEL}})
    except (KeyError, TypeError, ValueError) as e:
        raise ModelError(f"{where}: corrupt {SEGMENTS_FILE} ({type(e).__name__}: {e}); refit the model.") from e
    return fuser, segmenter, list(document["segments"])


def write_segments(
    model_dir: str | os.PathLike[str],
    *,
    fuser: FeatureFuser,
    segmenter: CustomerSegmenter,
    cards: Sequence[dict[str, Any]],
) -> Path:
    """Write ``segments.json`` into ``model_dir`` (atomically)."""
    document = segments_document(fuser=fuser, segmenter=segmenter, cards=cards)
    path = Path(model_dir) / SEGMENTS_FILE
    with atomic_path(path, durable=False) as tmp:
        tmp.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def load_segment_cards(model_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Read ``segments.json`` of a model directory (the document :func:`write_segments` wrote).

    Raises
    ------
    ModelError
        The directory or file is missing, unreadable or of a newer format.
    """
    folder = Path(model_dir)
    if not folder.is_dir():
        raise ModelError(f"{folder}: model directory not found; fit one with `topicprofile fit`.")
    path = folder / SEGMENTS_FILE
    if not path.is_file():
        raise ModelError(
            f"{folder}: this model has no segments ({SEGMENTS_FILE} missing); refit it with orders "
            "(topicprofile fit ... --orders orders.csv)."
        )
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelError(f"{path}: unreadable segments file ({e}); refit the model.") from e
    version = document.get("format_version") if isinstance(document, dict) else None
    if not isinstance(version, int) or not isinstance(document.get("segments"), list):
        raise ModelError(f"{path}: corrupt segments file (no format_version or segments); refit the model.")
    if version > SEGMENTS_FORMAT:
        raise ModelError(f"{path}: segments format {version} is newer than this topicprofile reads; upgrade.")
    return document


def load_segments(
    model_dir: str | os.PathLike[str],
) -> tuple[FeatureFuser, CustomerSegmenter, list[dict[str, Any]]]:
    """The fitted fuser, segmenter and cards saved by :func:`write_segments`."""
    return segments_from_document(load_segment_cards(model_dir), where=model_dir)
