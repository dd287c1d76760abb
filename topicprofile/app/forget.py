"""Forget customers (issue 14): remove them from every place the project stored them, and log it.

Places, each optional: a model folder (``profiles.parquet``, ``documents.parquet`` and the segment
cards' example texts of its current version, published as a new version through the store, every
older version deleted since it still holds them; its ``rejects.csv``), a profile database
(``profiles``, ``tag_history``, ``identifiers``, ``recommendations`` and the audiences' holdout
groups; the file is then rewritten so that no freed page keeps the old bytes), a ``batch`` output folder (parts, their rejects, the combined views, ledger
counts) and the token cache (entries holding a token list of the customer's texts are deleted).

The model's topic statistics (``lda/sstats.npy``): the customer's training document (their pooled
bag of words from ``training_bows.parquet``, which the model keeps unless ``--keep-texts none``)
has its E-step expected topic-word counts against the current model subtracted
(:mod:`topicprofile.app.unlearn`), and its row removed. That is exact against the current model, not
a refit (the other documents' topics were shaped by it in training, and the vocabulary keeps its
words), so the model is marked ``refit_due`` with the number of customers erased; the next ``fit``
(``fit --previous`` keeps the tag ids) writes a fresh model and clears it. Without the record the
statistics are left as they are, and the summary says so (``model_statistics``).

The erasure log (``erasure_log.jsonl``, one JSON object per line, appended atomically) records for
each customer a SHA-256 of the id, the time and how many rows were removed where; no id, no text.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from topicprofile import schema
from topicprofile._fs import atomic_write_text, sha256_file
from topicprofile.app.batch_lock import batch_lock
from topicprofile.app.retention import rewrite_database
from topicprofile.app.tables import write_table
from topicprofile.app.unlearn import NOT_SUBTRACTED, unlearn_rows
from topicprofile.db import schema as db_schema
from topicprofile.db.database import ProfileDatabase
from topicprofile.errors import ConfigError, DataValidationError
from topicprofile.ingest.load import write_rejects
from topicprofile.privacy.erasure import ERASURE_LOG, erasure_hash, read_erasure_log
from topicprofile.privacy.pseudonym import pseudonym
from topicprofile.privacy.training_bows import TRAINING_BOWS
from topicprofile.profiler import TopicProfiler
from topicprofile.segments.saved import SEGMENTS_FILE
from topicprofile.store import MANIFEST, model_files, rewrite_version

__all__ = ["ERASURE_LOG", "erasure_hash", "forget_customers", "read_erasure_log"]

_VALUE = schema.REJECT_COLUMNS[4]
#: A rejected value this long or longer is the customer's if its start is inside one of their texts.
_TEXT_PREFIX = 24


def forget_customers(
    customer_ids: Sequence[str],
    *,
    model_dir: str | os.PathLike[str] | None = None,
    db: str | os.PathLike[str] | None = None,
    batch_out: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    id_key: bytes | None = None,
    log: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Remove customers from the model folder, profile database, batch output and token cache given.

    Parameters
    ----------
    customer_ids : sequence of str
        Ids as the places hold them, or the original ids with ``id_key`` (pseudonymous outputs).
    model_dir, db, batch_out : path, optional
        Where to remove them from; at least one.
    cache_dir : path, optional
        The token cache folder of the runs (as ``TopicProfiler(cache_dir=...)``) to clear of their
        texts' tokens; needs ``model_dir``.
    log : path, optional
        The erasure log; default ``MODEL/erasure_log.jsonl``, else beside the database or in the batch folder.

    Returns
    -------
    dict
        ``customers``: per given id, its ``hash``, ``status`` (``erased`` or ``already erased``) and
        ``removed`` (rows per place); ``log``: the log's path; ``model_statistics``: what was done to
        the model's topic statistics (``subtracted`` and the counts, or why not; None: no model changed).

    Raises
    ------
    DataValidationError
        An id is found nowhere and was never erased (nothing is changed).
    ConfigError
        No place given, or a cache without a model.
    """
    if model_dir is None and db is None and batch_out is None:
        raise ConfigError("nothing to forget from: give --model-dir, --db and/or --batch-out")
    if cache_dir is not None and model_dir is None:
        raise ConfigError("--cache needs --model-dir: the customer's texts are found in the model")
    log_path = Path(log) if log else _default_log(model_dir, db, batch_out)
    ids = list(dict.fromkeys(str(i) for i in customer_ids))
    aliases = {i: {i} | ({pseudonym(i, id_key)} if id_key is not None else set()) for i in ids}
    found = _find(aliases, model_dir=model_dir, db=db, batch_out=batch_out)
    logged = {entry["customer_hash"]: entry for entry in read_erasure_log(log_path)}
    unknown = [i for i in ids if not found[i] and erasure_hash(i) not in logged]
    if unknown:
        shown = ", ".join(repr(i) for i in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise DataValidationError(
            f"unknown customer id(s) {shown}: not in the places given and never erased; nothing was changed"
            + ("" if id_key is not None else " (pseudonymous outputs? give the id key with --key-file)")
        )
    targets = {alias for i in ids if found[i] for alias in aliases[i]}
    removed: dict[str, dict[str, int]] = {i: {} for i in ids}
    statistics = None
    if targets:
        texts = _model_texts(model_dir, targets) if model_dir is not None else []
        if model_dir is not None:
            statistics = _forget_in_model(
                Path(model_dir), targets, texts, aliases, removed, batch_out=batch_out
            )
        if db is not None:
            _forget_in_db(Path(db), aliases, removed)
        if batch_out is not None:
            _forget_in_batch(Path(batch_out), aliases, texts, removed)
        if cache_dir is not None:
            n_entries = _forget_in_cache(Path(cache_dir), Path(model_dir), texts)  # type: ignore[arg-type]
            for i in ids:
                removed[i]["token_cache_entries"] = n_entries
    now = datetime.now(UTC).isoformat(timespec="seconds")
    entries = [
        {"customer_hash": erasure_hash(i), "erased_at": now, "removed": removed[i]} for i in ids if found[i]
    ]
    if entries:
        _append_log(log_path, entries)
    customers = [
        {"hash": erasure_hash(i), "status": "erased" if found[i] else "already erased",
         "erased_at": now if found[i] else logged[erasure_hash(i)]["erased_at"], "removed": removed[i]}
        for i in ids
    ]  # fmt: skip
    return {"customers": customers, "log": str(log_path), "model_statistics": statistics}


def _default_log(model_dir: Any, db: Any, batch_out: Any) -> Path:
    if model_dir is not None:
        return Path(model_dir) / ERASURE_LOG
    if db is not None:
        return Path(db).with_name(Path(db).name + "." + ERASURE_LOG)
    return Path(batch_out) / ERASURE_LOG


def _append_log(path: Path, entries: Iterable[dict[str, Any]]) -> None:
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    new = "".join(json.dumps(e, sort_keys=True) + "\n" for e in entries)
    atomic_write_text(path, old + new, durable=True)


# -- finding -----------------------------------------------------------------------------------
def _ids_in(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    if path.suffix == ".parquet":
        return {str(v) for v in pq.read_table(path, columns=[schema.CUSTOMER_ID]).column(0).to_pylist()}
    return set(
        pd.read_csv(path, dtype=str, keep_default_na=False, usecols=[schema.CUSTOMER_ID])[schema.CUSTOMER_ID]
    )


def _find(aliases: dict[str, set[str]], *, model_dir: Any, db: Any, batch_out: Any) -> dict[str, bool]:
    """Which ids are held anywhere given (read only)."""
    held: set[str] = set()
    if model_dir is not None:
        folder = model_files(model_dir)
        held |= _ids_in(folder / "profiles.parquet") | _ids_in(folder / "documents.parquet")
    if db is not None:
        if not Path(db).is_file():
            raise DataValidationError(f"{db}: profile database not found")
        wanted = sorted({a for names in aliases.values() for a in names})
        with ProfileDatabase(db, read_only=True) as database:
            for table in db_schema.CUSTOMER_TABLES:
                rows = database.con.execute(
                    f"SELECT DISTINCT customer_id FROM {table} WHERE list_contains(?, customer_id)", [wanted]
                ).fetchall()
                held |= {r[0] for r in rows}
    if batch_out is not None:
        for part in _batch_parts(Path(batch_out)):
            held |= _ids_in(part)
    return {i: bool(names & held) for i, names in aliases.items()}


def _model_texts(model_dir: Any, targets: set[str]) -> list[str]:
    path = model_files(model_dir) / "documents.parquet"
    if not path.is_file():
        return []
    table = pq.read_table(path, filters=[(schema.CUSTOMER_ID, "in", sorted(targets))])
    return [t for t in table.column(schema.TEXT).to_pylist() if t]


# -- the model ---------------------------------------------------------------------------------
def _filter_parquet(path: Path, targets: set[str]) -> pa.Table | None:
    """Rewrite a Parquet table without the rows of ``targets``; returns the rows removed."""
    if not path.is_file():
        return None
    table = pq.read_table(path)
    hit = pc.is_in(table.column(schema.CUSTOMER_ID).cast(pa.string()), value_set=pa.array(sorted(targets)))
    if pc.any(hit).as_py():
        pq.write_table(table.filter(pc.invert(hit)), path)
    return table.filter(hit)


def _forget_in_model(
    model_dir: Path, targets: set[str], texts: list[str], aliases: dict[str, set[str]],
    removed: dict[str, dict[str, int]], *, batch_out: Any,
) -> dict[str, Any]:  # fmt: skip
    old_manifest = sha256_file(model_dir / MANIFEST)
    places = ("profiles.parquet", "documents.parquet", TRAINING_BOWS)
    per_id = {
        i: {p: _count_in(model_files(model_dir) / p, names) for p in places} for i, names in aliases.items()
    }
    statistics: dict[str, Any] = {}
    theirs = pa.array(sorted(targets), pa.string())

    def rewrite(folder: Path, manifest: dict[str, Any]) -> dict[str, Any]:
        unlearned = unlearn_rows(
            folder, manifest, lambda t: pc.is_in(t.column(schema.CUSTOMER_ID), value_set=theirs)
        )
        statistics.update(
            {"subtracted": True, **unlearned}
            if unlearned
            else {"subtracted": False, "reason": NOT_SUBTRACTED}
        )
        profiles = _filter_parquet(folder / "profiles.parquet", targets)
        _filter_parquet(folder / "documents.parquet", targets)
        _forget_examples(folder / SEGMENTS_FILE, targets)
        n_fitted = int(pc.sum(profiles.column(schema.N_DOCUMENTS)).as_py() or 0)  # kept or not
        n_erased = sum(1 for c in per_id.values() if any(c.values()))
        privacy = dict(manifest.get("privacy") or {})
        privacy |= {
            "erased_customers": int(privacy.get("erased_customers", 0)) + n_erased,
            "refit_due": True,
            "statistics_subtracted": bool(unlearned) and privacy.get("statistics_subtracted", True),
        }
        manifest |= {
            "privacy": privacy,
            "n_customers": int(manifest.get("n_customers", 0)) - profiles.num_rows,
            "input": {**manifest["input"], "n_documents": int(manifest["input"]["n_documents"]) - n_fitted},
        }
        return manifest

    rewrite_version(model_dir, rewrite, drop_older=True)
    n_rejects = _filter_rejects(model_dir / "rejects.csv", targets, texts)
    for i, counts in per_id.items():
        removed[i] |= {f"model {name}": n for name, n in counts.items()}
        removed[i]["model rejects.csv"] = n_rejects
    ledger = Path(batch_out) / "ledger.json" if batch_out is not None else None
    if ledger is not None and ledger.is_file():  # the batch folder's model is the same one, forgotten
        data = json.loads(ledger.read_text(encoding="utf-8"))
        if data.get("model") == old_manifest:
            data["model"] = sha256_file(model_dir / MANIFEST)
            atomic_write_text(ledger, json.dumps(data, ensure_ascii=False, indent=1), durable=True)
    return statistics


def _count_in(path: Path, names: set[str]) -> int:
    if not path.is_file():
        return 0
    column = pq.read_table(path, columns=[schema.CUSTOMER_ID]).column(0).cast(pa.string())
    return int(pc.sum(pc.is_in(column, value_set=pa.array(sorted(names)))).as_py() or 0)


def _forget_examples(path: Path, targets: set[str]) -> None:
    """Drop the customers' example texts from the segment cards."""
    if not path.is_file():
        return
    document = json.loads(path.read_text(encoding="utf-8"))
    for card in document.get("segments", []):
        card["examples"] = [
            e for e in card.get("examples", []) if str(e.get(schema.CUSTOMER_ID)) not in targets
        ]
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")


def _is_theirs(value: str, targets: set[str], texts: list[str]) -> bool:
    """Whether a rejected value is one of the ids or (the start of) one of the customers' texts."""
    value = value.removeprefix("'")  # the spreadsheet escape
    if value in targets:
        return True
    return len(value) >= _TEXT_PREFIX and any(value[:_TEXT_PREFIX] in text for text in texts)


def _filter_rejects(path: Path, targets: set[str], texts: list[str]) -> int:
    if not path.is_file():
        return 0
    rejects = pd.read_csv(path, dtype=str, keep_default_na=False)
    theirs = rejects[_VALUE].map(lambda v: _is_theirs(v, targets, texts))
    if theirs.any():
        write_rejects(rejects[~theirs], path)  # already escaped when first written
    return int(theirs.sum())


# -- the profile database ----------------------------------------------------------------------
def _forget_in_db(path: Path, aliases: dict[str, set[str]], removed: dict[str, dict[str, int]]) -> None:
    with ProfileDatabase(path) as database, database.transaction() as con:
        for i, names in aliases.items():
            for table in db_schema.CUSTOMER_TABLES:
                n = con.execute(
                    f"DELETE FROM {table} WHERE list_contains(?, customer_id)", [sorted(names)]
                ).fetchall()
                removed[i][f"db {table}"] = int(n[0][0]) if n else 0
    rewrite_database(path)


# -- batch output ------------------------------------------------------------------------------
def _batch_parts(out: Path) -> list[Path]:
    """Every table of a batch folder holding customer ids: parts and the combined profiles."""
    if not (out / "ledger.json").is_file():
        raise DataValidationError(f"{out}: not a batch output folder (no ledger.json)")
    tables = sorted(
        p
        for p in (out / "parts").glob("*")
        if p.suffix in (".csv", ".parquet") and not p.name.endswith(".rejects.csv")
    )
    return tables + [p for p in (out / "profiles.csv", out / "profiles.parquet") if p.is_file()]


def _forget_in_batch(
    out: Path, aliases: dict[str, set[str]], texts: list[str], removed: dict[str, dict[str, int]]
) -> None:
    with batch_lock(out):  # no batch run writes the folder meanwhile
        _forget_in_batch_locked(out, aliases, texts, removed)


def _forget_in_batch_locked(
    out: Path, aliases: dict[str, set[str]], texts: list[str], removed: dict[str, dict[str, int]]
) -> None:
    targets = {a for names in aliases.values() for a in names}
    ledger = json.loads((out / "ledger.json").read_text(encoding="utf-8"))
    for path in _batch_parts(out):
        if path.suffix == ".parquet":
            table = pd.read_parquet(path)
        else:
            table = pd.read_csv(path, dtype=str, keep_default_na=False)  # the bytes as written
        theirs = table[schema.CUSTOMER_ID].astype(str).isin(targets)
        for i, names in aliases.items():
            key = "batch profiles" if path.parent == out else "batch parts"
            removed[i][key] = removed[i].get(key, 0) + int(
                table[schema.CUSTOMER_ID].astype(str).isin(names).sum()
            )
        if theirs.any():
            write_table(table[~theirs], path, raw_csv=True)  # cells were escaped when first written
            for entry in ledger["files"]:  # a list on disk
                if entry.get("part") == path.relative_to(out).as_posix():
                    entry["n_customers"] = int((~theirs).sum())
    n_rejects = sum(
        _filter_rejects(p, targets, texts)
        for p in [out / "rejects.csv", *(out / "parts").glob("*.rejects.csv")]
    )
    for i in aliases:
        removed[i]["batch rejects"] = n_rejects
    atomic_write_text(out / "ledger.json", json.dumps(ledger, ensure_ascii=False, indent=1), durable=True)
    for path in (out / "profiles.csv", out / "profiles.parquet"):  # newer than the ledger: not rebuilt
        if path.is_file():
            os.utime(path)


# -- token cache -------------------------------------------------------------------------------
def _forget_in_cache(directory: Path, model_dir: Path, texts: list[str]) -> int:
    """Delete the cache entries holding the token list of one of ``texts`` (tokenized as the model
    does); deleting an entry that merely shares a token list costs a re-tokenization, nothing more."""
    entries = sorted((directory / "tokens").glob("*.parquet"))
    if not texts or not entries:
        return 0
    wanted = {
        tuple(tokens) for tokens in TopicProfiler.load(str(model_dir)).tokenizer_.tokenize(texts) if tokens
    }
    n_removed = 0
    for path in entries:
        try:
            batches = pq.ParquetFile(path).iter_batches(batch_size=10_000)
            hit = any(tuple(tokens) in wanted for batch in batches for tokens in batch.column(0).to_pylist())
        except (OSError, ValueError, TypeError, pa.ArrowException):
            continue  # not a token list entry
        if hit:
            path.unlink(missing_ok=True)
            n_removed += 1
    return n_removed
