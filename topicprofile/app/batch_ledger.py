"""A batch output folder's ledger (:mod:`topicprofile.app.batch`): ``ledger.json``, one entry per
tagged file, read, checked against this run's model, format and CSV escaping, and written atomically
(the commit point of each file); and the facts of an input file an entry records.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from topicprofile._fs import atomic_write_text, sha256_file
from topicprofile.app.batch_lock import LOCK
from topicprofile.app.batch_views import LEDGER
from topicprofile.errors import ConfigError
from topicprofile.store import MANIFEST

__all__ = [
    "LEDGER_FORMAT_VERSION",
    "check_compatible",
    "check_out_folder",
    "file_facts",
    "model_fingerprint",
    "parts_exist",
    "read_ledger",
    "write_ledger",
]

LEDGER_FORMAT_VERSION = 1


def parts_exist(out: Path, entry: Mapping[str, Any]) -> bool:
    """False when someone deleted a part: the file is then tagged again (to the same bytes)."""
    return all((out / entry[key]).is_file() for key in ("part", "rejects_file") if entry.get(key))


def file_facts(path: Path) -> dict[str, Any]:
    stat = path.stat()
    mtime = datetime.fromtimestamp(stat.st_mtime, tz=UTC).isoformat(timespec="seconds")
    return {"size": stat.st_size, "sha256": sha256_file(path), "mtime": mtime}


def check_out_folder(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: is a file; --out must be a folder (profiles.csv is written inside it)")
    if out.is_dir() and any(out.iterdir()) and not ((out / LEDGER).exists() or (out / LOCK).exists()):
        raise ConfigError(
            f"{out}: exists and is not a batch output folder (no {LEDGER}); choose a new or empty --out"
        )


def read_ledger(out: Path) -> dict[str, Any]:
    path = out / LEDGER
    if not path.exists():
        return {"format_version": LEDGER_FORMAT_VERSION, "model": None, "format": None, "files": {}}
    try:
        ledger = json.loads(path.read_text(encoding="utf-8"))
        ledger["files"] = {entry["file"]: entry for entry in ledger["files"]}
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"{path}: unreadable ledger ({e}); restore it or use a new --out") from e
    return ledger


def check_compatible(
    ledger: dict[str, Any], out: Path, *, model: str, fmt: str, raw_csv: bool = False
) -> None:
    if ledger["files"] and ledger["model"] != model:
        raise ConfigError(
            f"{out}: its profiles come from another model (manifest sha256 {ledger['model'][:12]}, this "
            f"model {model[:12]}); mixing them would mix topics. Use a new --out for this model "
            "(every file is then tagged again)."
        )
    if ledger["files"] and ledger["format"] != fmt:
        raise ConfigError(
            f"{out}: holds {ledger['format']} output; pass --format {ledger['format']} or use a new --out"
        )
    csv = "raw" if raw_csv else "escaped"
    # Folders of earlier versions record nothing: their next run decides (escaping is idempotent).
    if ledger["files"] and ledger.get("csv", csv) != csv:
        flag = "with --raw-csv" if ledger["csv"] == "raw" else "without --raw-csv"
        raise ConfigError(f"{out}: holds {ledger['csv']} CSV output; run {flag} or use a new --out")
    ledger["model"], ledger["format"], ledger["csv"] = model, fmt, csv


def write_ledger(out: Path, ledger: dict[str, Any]) -> None:
    entries = [ledger["files"][name] for name in sorted(ledger["files"])]
    payload = {**ledger, "format_version": LEDGER_FORMAT_VERSION, "files": entries}
    text = json.dumps(payload, ensure_ascii=False, indent=1) + "\n"
    atomic_write_text(out / LEDGER, text, durable=True)


def model_fingerprint(model_dir: str | os.PathLike[str]) -> str:
    return sha256_file(Path(model_dir) / MANIFEST)
