"""A map of what a model directory keeps about people (issue 14): files, columns, counts, settings.

Every version of the model (``versions/<n>``) is listed, not only the current one: an older
version keeps its own copy of the documents until it is pruned. The token cache lives outside the
model (``$TOPICPROFILE_CACHE_DIR`` or the user cache folder) and is listed with its size.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from topicprofile import schema
from topicprofile.privacy.erasure import ERASURE_LOG
from topicprofile.privacy.placeholders import PLACEHOLDERS
from topicprofile.privacy.pseudonym import PSEUDONYM_PREFIX
from topicprofile.store import MANIFEST, read_manifest
from topicprofile.text.cache import default_cache_dir

__all__ = ["privacy_report"]

_PSEUDONYM = re.compile(re.escape(PSEUDONYM_PREFIX) + r"[0-9a-f]{24}")
_PLACEHOLDER = re.compile(r"<(" + "|".join(PLACEHOLDERS) + r")>")

# What each model file holds about people, in words for the report.
_HOLDS = {
    "documents.parquet": "texts the model was fitted on, with their customer ids and days, for explain: all of "
    "them, or (--keep-texts snippets, the default) only those explain shows as evidence",
    "training_bows.parquet": "each fitted text's bag of words (vocabulary ids and counts, no text, no word "
    "order) with its customer id and day, so that forget can subtract a customer from lda/sstats.npy; not "
    "kept with --keep-texts none",
    "profiles.parquet": "one row per customer: id, interest tags and scores, keywords from their texts, RFM",
    "segments.json": "segment cards: aggregates; centres of customer features",
    "phrases.json": "phrases learnt from the texts (a name or place typed often enough can be one)",
    "dictionary/vocabulary.json": "words of the texts kept by the model",
    "lda/sstats.npy": "topic-word counts derived from everyone's texts (a model trained on personal data "
    "is not anonymous by default, EDPB Opinion 28/2024)",
    "rejects.csv": "rejected input rows: source file, row, column, reason and the rejected value (scrubbed)",
}


def _ids_summary(ids: pd.Series) -> dict[str, Any]:
    ids = ids.dropna().astype(str)
    return {
        "n_customers": int(ids.nunique()),
        "ids_pseudonymous": bool(len(ids)) and bool(ids.str.fullmatch(_PSEUDONYM.pattern).all()),
    }


def _table_entry(path: Path) -> dict[str, Any]:
    frame = (
        pd.read_parquet(path)
        if path.suffix == ".parquet"
        else pd.read_csv(path, dtype=str, keep_default_na=False)
    )
    entry: dict[str, Any] = {"rows": len(frame), "columns": [str(c) for c in frame.columns]}
    if schema.CUSTOMER_ID in frame.columns:
        entry |= _ids_summary(frame[schema.CUSTOMER_ID])
    if path.name == "documents.parquet" and schema.TEXT in frame.columns:
        found = frame[schema.TEXT].astype(str).str.findall(_PLACEHOLDER.pattern).explode().dropna()
        entry["n_texts"] = len(frame)
        entry["placeholders"] = {str(k): int(v) for k, v in found.value_counts().sort_index().items()}
    return entry


def _version_entries(folder: Path, base: Path) -> list[dict[str, Any]]:
    entries = []
    for name, holds in _HOLDS.items():
        path = folder / name
        if not path.is_file():
            continue
        entry: dict[str, Any] = {
            "path": str(path.relative_to(base)),
            "holds": holds,
            "bytes": path.stat().st_size,
        }
        if path.suffix in (".parquet", ".csv"):
            entry |= _table_entry(path)
        entries.append(entry)
    return entries


def _settings(manifest: dict[str, Any]) -> dict[str, Any]:
    params = manifest.get("params", {})
    privacy = manifest.get("privacy", {})
    return {
        "scrub": privacy.get(
            "scrub", params.get("scrub", "not recorded (model made before scrubbing existed)")
        ),
        "scrub_counts": privacy.get("scrub_counts"),
        "scrub_names": privacy.get("names_pipeline", True) if privacy.get("scrub_names") else False,
        "pseudonymized": privacy.get("pseudonymized", "not recorded; see ids_pseudonymous per file"),
        "keep_texts": params.get("keep_texts", "all (model made before --keep-texts existed)"),
        "erased_customers": privacy.get("erased_customers", 0),
        "refit_due": privacy.get("refit_due", False),
        "statistics_subtracted": privacy.get("statistics_subtracted"),  # forget took erased customers out
        "retention": privacy.get("retention"),  # the last prune --model-dir: days, as-of, cutoff
    }


def privacy_report(model_dir: str | Path) -> dict[str, Any]:
    """Where a model directory keeps personal data.

    Parameters
    ----------
    model_dir : str or Path
        A model folder written by ``fit``.

    Returns
    -------
    dict
        ``model_dir``, ``current`` version, ``settings`` (scrubbing, pseudonymisation, from the
        manifest), ``n_customers`` / ``n_texts`` of the current version, ``files`` (per version:
        path, what it holds, rows, columns, customers, whether all ids are pseudonyms, placeholders
        found), ``outside`` (the token cache folder) and ``not_stored`` notes.

    Raises
    ------
    ModelError
        ``model_dir`` is not a model.
    """
    base = Path(model_dir)
    manifest = read_manifest(base)
    current = manifest.get("current", "")
    folders = sorted(
        (p for p in (base / "versions").glob("*") if p.is_dir() and p.name.isdigit()),
        key=lambda p: int(p.name),
    )
    files = [e for folder in folders for e in _version_entries(folder, base)]
    files += _version_entries(base, base)  # rejects.csv beside the versions
    in_current = [e for e in files if e["path"].startswith(current + "/")] if current else files
    docs = next((e for e in in_current if e["path"].endswith("documents.parquet")), {})
    profiles = next((e for e in in_current if e["path"].endswith("profiles.parquet")), {})
    cache = default_cache_dir()
    cache_bytes = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file()) if cache.is_dir() else 0
    return {
        "model_dir": str(base),
        "current": current,
        "settings": _settings(
            json.loads((base / current / MANIFEST).read_text(encoding="utf-8")) if current else manifest
        ),
        "n_customers": profiles.get("n_customers", manifest.get("n_customers")),
        "n_texts": docs.get("n_texts", manifest.get("input", {}).get("n_documents")),
        "files": files,
        "outside": [
            {
                "path": str(cache),
                "holds": "token cache: tokens of texts, keyed by a hash of each text "
                "(run with --no-cache to keep none)",
                "bytes": cache_bytes,
            }
        ],
        "versions": [p.name for p in folders],
        "erasure_log": _erasure_log(base / ERASURE_LOG),
    }


def _erasure_log(path: Path) -> dict[str, Any]:
    """The erasure log's place and entries (hashed ids, times, rows removed: no personal data)."""
    entries = []
    if path.is_file():
        entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {"path": str(path), "n_entries": len(entries), "entries": entries}
