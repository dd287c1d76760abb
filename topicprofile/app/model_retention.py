"""Retention of a model's texts (issue 14): ``prune --model-dir --retain-days``.

:func:`prune_model` drops the model's stored documents (``documents.parquet``: all texts or the
snippets ``explain`` shows) and training bags of words (``training_bows.parquet``) whose day
(``date``, the review date or browse time) is older than ``retain_days`` before ``as_of``, in a new
model version (older versions, which still hold them, are deleted). The removed training
documents' counts leave the topic statistics as ``forget``'s do (:mod:`topicprofile.app.unlearn`:
with the default pooling a customer's training document loses those texts' words), and the model
is marked "refit due". Undated documents (no timestamp in the input, or a model saved before dates
were kept) are kept and counted. Segment card examples are dropped with their review when it is
among the stored documents.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from topicprofile import schema
from topicprofile.app.unlearn import NOT_SUBTRACTED, unlearn_rows
from topicprofile.errors import ConfigError
from topicprofile.privacy.training_bows import TRAINING_BOWS
from topicprofile.segments.saved import SEGMENTS_FILE
from topicprofile.store import model_files, rewrite_version

__all__ = ["check_retain_days", "prune_model"]

_DOCUMENTS = "documents.parquet"


def check_retain_days(retain_days: Any) -> None:
    """Raise ConfigError unless ``retain_days`` is a whole number >= 1."""
    if isinstance(retain_days, bool) or not isinstance(retain_days, int) or retain_days < 1:
        raise ConfigError(f"--retain-days must be a whole number of days >= 1, got {retain_days!r}")


def _old(table: pa.Table, cutoff: str) -> pa.ChunkedArray:
    """Rows dated before ``cutoff`` (``YYYY-MM-DD``); undated rows (``""``, or no column) are not old."""
    if schema.DATE not in table.column_names:
        return pa.chunked_array([pa.array([False] * table.num_rows)])
    dates = table.column(schema.DATE).cast(pa.string())
    return pc.and_(pc.not_equal(dates, ""), pc.less(dates, cutoff))


def _count_old(path: Path, cutoff: str) -> tuple[int, int, int]:
    """(old, undated, all) rows of a documents or bows file (zeros when absent)."""
    if not path.is_file():
        return 0, 0, 0
    names = pq.read_schema(path).names
    table = pq.read_table(path, columns=[schema.DATE] if schema.DATE in names else [])
    undated = (
        table.num_rows if schema.DATE not in names else pc.sum(pc.equal(table.column(0), "")).as_py() or 0
    )
    return int(pc.sum(_old(table, cutoff)).as_py() or 0), int(undated), table.num_rows


def prune_model(
    model_dir: str | os.PathLike[str], *, retain_days: int, as_of: dt.date | str | None = None
) -> dict[str, Any]:
    """Drop the model's documents and training bags of words dated more than ``retain_days`` days
    before ``as_of`` (default: today, UTC), in a new model version.

    Returns
    -------
    dict
        ``model_dir``, ``retain_days``, ``as_of``, ``cutoff`` (the first day kept),
        ``n_documents_removed`` / ``n_documents_kept`` / ``n_documents_undated`` (stored texts),
        ``n_training_rows_removed``, ``statistics`` (what the topic statistics lost, or why nothing),
        ``refit_due`` and ``version`` (the new version's folder, or None when nothing was old).

    Raises
    ------
    ConfigError
        ``retain_days`` is below 1 or ``as_of`` is not a date.
    ModelError
        ``model_dir`` is not a model.
    """
    check_retain_days(retain_days)
    day = _as_of(as_of)
    cutoff = (day - dt.timedelta(days=retain_days)).isoformat()
    folder = model_files(model_dir)
    n_old, n_undated, n_all = _count_old(folder / _DOCUMENTS, cutoff)
    n_old_rows = _count_old(folder / TRAINING_BOWS, cutoff)[0]
    summary: dict[str, Any] = {
        "model_dir": str(model_dir), "retain_days": retain_days, "as_of": day.isoformat(), "cutoff": cutoff,
        "n_documents_removed": n_old, "n_documents_kept": n_all - n_old, "n_documents_undated": n_undated,
        "n_training_rows_removed": n_old_rows, "statistics": None, "refit_due": False, "version": None,
    }  # fmt: skip
    if not n_old and not n_old_rows:
        return summary

    def rewrite(staging: Path, manifest: dict[str, Any]) -> dict[str, Any]:
        unlearned = unlearn_rows(staging, manifest, lambda t: _old(t, cutoff))
        summary["statistics"] = unlearned or {"subtracted": False, "reason": NOT_SUBTRACTED}
        dropped = _drop_old_documents(staging / _DOCUMENTS, cutoff)
        _drop_examples(staging / SEGMENTS_FILE, dropped)
        privacy = dict(manifest.get("privacy") or {})
        privacy["retention"] = {"retain_days": retain_days, "as_of": day.isoformat(), "cutoff": cutoff}
        if n_old_rows:  # training documents changed: the topics are no longer those of a fit
            privacy["refit_due"] = summary["refit_due"] = True
        return manifest | {"privacy": privacy}

    summary["version"] = str(rewrite_version(model_dir, rewrite, drop_older=True))
    return summary


def _as_of(as_of: dt.date | str | None) -> dt.date:
    if as_of is None:
        return dt.datetime.now(dt.UTC).date()
    if isinstance(as_of, dt.datetime):
        return as_of.date()
    if isinstance(as_of, dt.date):
        return as_of
    try:
        return dt.date.fromisoformat(str(as_of))
    except ValueError:
        raise ConfigError(f"--as-of must be a date YYYY-MM-DD, got {as_of!r}") from None


def _drop_old_documents(path: Path, cutoff: str) -> dict[str, list[str]]:
    """Rewrite the documents without those before ``cutoff``; returns the dropped texts per customer."""
    if not path.is_file():
        return {}
    table = pq.read_table(path)
    old = _old(table, cutoff)
    dropped: dict[str, list[str]] = {}
    gone = table.filter(old)
    for customer, text in zip(gone.column(schema.CUSTOMER_ID).to_pylist(), gone.column(schema.TEXT).to_pylist(),
                              strict=True):  # fmt: skip
        dropped.setdefault(str(customer), []).append(" ".join(str(text).split()))
    pq.write_table(table.filter(pc.invert(old)), path)
    return dropped


def _drop_examples(path: Path, dropped: dict[str, list[str]]) -> None:
    """Drop the segment cards' example quotes taken from a dropped review (a quote is the start of one)."""
    if not path.is_file() or not dropped:
        return
    document = json.loads(path.read_text(encoding="utf-8"))
    for card in document.get("segments", []):
        card["examples"] = [
            e for e in card.get("examples", [])
            if not any(t.startswith(str(e.get(schema.TEXT, "")).removesuffix("…"))
                       for t in dropped.get(str(e.get(schema.CUSTOMER_ID)), []))
        ]  # fmt: skip
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
