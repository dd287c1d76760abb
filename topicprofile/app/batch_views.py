"""A batch output folder's combined views and cleanup (:mod:`topicprofile.app.batch`): ``profiles.<fmt>``
and ``rejects.csv`` rebuilt from the parts the ledger names, and the parts it no longer names swept."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from topicprofile._fs import CSV_TRIGGERS
from topicprofile.app.tables import write_rejects_csv, write_table
from topicprofile.schema import SOURCE

__all__ = ["LEDGER", "PARTS", "read_part", "refresh_views", "sweep", "unescaped"]

logger = logging.getLogger("topicprofile.app.batch")

#: The ledger (the commit point of each file) and the folder of per-file parts, in the output folder.
LEDGER = "ledger.json"
PARTS = "parts"


def refresh_views(
    out: Path, ledger: dict[str, Any], *, fmt: str, changed: bool, raw_csv: bool = False
) -> dict[str, Any]:
    """Rebuild ``rejects.csv`` and then ``profiles.<fmt>`` from the ledger's parts when they may be stale.

    The profiles view is written last, so one older than the ledger means both need rebuilding.
    """
    entries = [ledger["files"][name] for name in sorted(ledger["files"])]
    profiles_path, rejects_path = out / f"profiles.{fmt}", out / "rejects.csv"
    if not entries:
        return {"profiles": None, "rejects_file": None, "n_profile_rows": 0}
    ledger_time = (out / LEDGER).stat().st_mtime_ns
    if changed or not profiles_path.exists() or profiles_path.stat().st_mtime_ns <= ledger_time:
        rejects = [read_part(out / e["rejects_file"]) for e in entries if e["rejects_file"]]
        if rejects:
            table = pd.concat(rejects, ignore_index=True)
            write_rejects_csv(table, rejects_path, raw_csv=raw_csv)
        else:
            rejects_path.unlink(missing_ok=True)
        parts = [read_part(out / e["part"]).assign(**{SOURCE: e["file"]}) for e in entries]
        profiles = pd.concat(parts, ignore_index=True)
        profiles = profiles[[SOURCE, *(c for c in profiles.columns if c != SOURCE)]]
        write_table(profiles, profiles_path, raw_csv=raw_csv)
    rejects_file = str(rejects_path) if rejects_path.exists() else None
    n_rows = sum(e["n_customers"] for e in entries)
    return {"profiles": str(profiles_path), "rejects_file": rejects_file, "n_profile_rows": n_rows}


def read_part(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=str, keep_default_na=False)  # text as written: the view keeps the bytes


def unescaped(part: pd.DataFrame, ledger: Mapping[str, Any]) -> pd.DataFrame:
    """A CSV part's text as the profiler made it: the ``'`` that escaping put before a formula-like
    cell is taken off (the database keeps values, not spreadsheet-safe text)."""
    if ledger.get("format") != "csv" or ledger.get("csv") == "raw":
        return part
    pattern = "^'(?=[" + re.escape("".join(CSV_TRIGGERS)) + "])"
    text = [c for c in part.columns if pd.api.types.is_string_dtype(part[c])]
    return part.assign(**{c: part[c].str.replace(pattern, "", n=1, regex=True) for c in text})


def sweep(out: Path, ledger: dict[str, Any]) -> None:
    """Delete parts the ledger does not name (replaced, or left by a crash) and temporary files."""
    keep = {e[key] for e in ledger["files"].values() for key in ("part", "rejects_file") if e.get(key)}
    for folder in (out, out / PARTS):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            temporary = path.name.startswith(".") and path.name.endswith(".tmp")
            orphan = folder.name == PARTS and path.relative_to(out).as_posix() not in keep
            if path.is_file() and (temporary or orphan):
                path.unlink(missing_ok=True)
                logger.debug("removed %s", path)
