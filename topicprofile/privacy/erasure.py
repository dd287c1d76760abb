"""The erasure log (issue 14): one JSON object per erased customer, with a hash of the id, never the id."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["ERASURE_LOG", "erasure_hash", "read_erasure_log"]

#: File name of the log in a model folder (``topicprofile forget``).
ERASURE_LOG = "erasure_log.jsonl"


def erasure_hash(customer_id: str) -> str:
    """SHA-256 of an erased id (with a fixed label): lets the log tell that an id was erased
    without holding it."""
    return hashlib.sha256(b"topicprofile erasure\x1f" + str(customer_id).encode("utf-8")).hexdigest()


def read_erasure_log(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The entries of an erasure log (empty when there is none)."""
    path = Path(path)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
