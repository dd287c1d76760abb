"""File-level jobs behind ``topicprofile recommend`` and ``topicprofile campaign``: read, call the
actions (:mod:`topicprofile.actions`), write."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from topicprofile import db as profile_db
from topicprofile._fs import sha256_file
from topicprofile.actions.campaign import evaluate_campaign
from topicprofile.actions.recommend import HybridRecommender, item_lines
from topicprofile.actions.recommend_eval import evaluate_recommenders
from topicprofile.actions.recommend_lines import ITEM_COLUMNS
from topicprofile.app.privacy import model_id_key, pseudonymized
from topicprofile.app.tables import write_table
from topicprofile.errors import ConfigError, DataValidationError
from topicprofile.ingest.files import read_table
from topicprofile.ingest.load import clean_orders, load_browsing, load_reviews
from topicprofile.privacy.pseudonym import pseudonymize_ids
from topicprofile.profiler import TopicProfiler
from topicprofile.schema import CUSTOMER_ID, TIMESTAMP
from topicprofile.segments.fuse import topic_shares
from topicprofile.store import read_manifest

__all__ = ["campaign_files", "read_ids", "recommend_files"]

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]


def _hashed(lines: pd.DataFrame, id_key: bytes | None) -> pd.DataFrame:
    """Order lines with their customer ids pseudonymised with ``id_key`` (unchanged without one)."""
    if id_key is None:
        return lines
    return lines.assign(**{CUSTOMER_ID: pseudonymize_ids(lines[CUSTOMER_ID], id_key).to_numpy()})


def _interests(
    model_dir: PathLike | None,
    reviews: PathLike | None,
    browsing: PathLike | None,
    *,
    columns: Mapping[str, str] | None,
    browsing_columns: Mapping[str, str] | None,
    encoding: str | None,
    id_key: bytes | None = None,
    before: pd.Timestamp | None = None,
) -> tuple[pd.DataFrame | None, list[str], bytes | None]:
    """Topic shares (columns = topic labels) of the customers' texts, optionally only texts before a
    date, and the id key of the run: ``id_key``, or the model's when it was fitted on pseudonymous ids
    (:func:`~topicprofile.app.privacy.model_id_key`: the texts' ids must be hashed as the model's were)."""
    if reviews is None and browsing is None:
        return None, [], id_key
    if model_dir is None:
        raise ConfigError(
            "--reviews/--browsing need --model-dir (the fitted model that turns text into interests)."
        )
    profiler = TopicProfiler.load(model_dir)
    id_key = model_id_key(profiler.privacy_, id_key)
    texts = {}
    if reviews is not None:
        loaded = load_reviews(reviews, columns=columns, encoding=encoding)
        texts["reviews"] = pseudonymized(loaded, id_key).data
    if browsing is not None:
        loaded = load_browsing(browsing, columns=browsing_columns, encoding=encoding)
        texts["browsing"] = pseudonymized(loaded, id_key).data
    if before is not None:  # texts written after the cutoff would leak the future into the evaluation
        texts = {
            k: v[v[TIMESTAMP].isna() | (v[TIMESTAMP] < before)] if TIMESTAMP in v else v
            for k, v in texts.items()
        }
    shares = topic_shares(profiler.profile(**texts))
    labels = [str(label) for label in profiler.topic_labels_]
    return shares, labels, id_key


def recommend_files(
    orders: PathLike,
    out: PathLike | None = None,
    *,
    model_dir: PathLike | None = None,
    reviews: PathLike | None = None,
    browsing: PathLike | None = None,
    reviews_columns: Mapping[str, str] | None = None,
    browsing_columns: Mapping[str, str] | None = None,
    orders_columns: Mapping[str, str] | None = None,
    encoding: str | None = None,
    item_column: str | None = None,
    top: int = 10,
    exclusion_days: int | None = 90,
    evaluate_cutoff: str | None = None,
    random_state: int = 0,
    db: PathLike | None = None,
    id_key: bytes | None = None,
    cf: str = "auto",
) -> dict[str, Any]:
    """Recommendations to ``out`` (long table), or with ``evaluate_cutoff`` the offline comparison.

    With ``db`` they also go into that profile database (:func:`topicprofile.db.write_recommendations`:
    the customers of this run get theirs replaced, the others keep theirs; a ``runs`` row), before
    ``out`` is written; a second writer of the file fails before any work. ``cf``: the collaborative
    filter (:class:`~topicprofile.actions.recommend.HybridRecommender`; ``"auto"`` chooses on held-out orders).

    With ``id_key`` (or a model fitted on pseudonymous ids, whose key it must then be) every customer id
    is pseudonymised before anything is computed, so ``out`` and ``db`` hold no raw id and join the
    model's and the profile database's ids.
    """
    start = time.perf_counter()
    if db is not None:
        if evaluate_cutoff is not None:
            raise ConfigError("--db stores recommendations; --evaluate makes none. Leave one out.")
        profile_db.check_database(db)
    raw = read_table(orders, encoding=encoding)
    lines = item_lines(raw, columns=orders_columns, item_column=item_column)
    cutoff = None
    if evaluate_cutoff is not None:
        try:
            cutoff = pd.Timestamp(evaluate_cutoff)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"--cutoff {evaluate_cutoff!r} is not a date; use YYYY-MM-DD.") from e
    shares, labels, id_key = _interests(
        model_dir, reviews, browsing, columns=reviews_columns, browsing_columns=browsing_columns,
        encoding=encoding, id_key=id_key, before=cutoff,
    )  # fmt: skip
    lines = _hashed(lines, id_key)
    if shares is not None:
        shares = shares.set_axis(labels[: shares.shape[1]], axis=1)
    if cutoff is not None:
        result = evaluate_recommenders(
            lines, shares, cutoff=cutoff, k=top, exclusion_days=exclusion_days, random_state=random_state, cf=cf,
        )  # fmt: skip
        return {**result, "seconds": round(time.perf_counter() - start, 2)}
    if out is None and db is None:
        raise ConfigError(
            "give --out FILE and/or --db PATH for the recommendations (or --evaluate --cutoff DATE)."
        )
    model = HybridRecommender(top=top, exclusion_days=exclusion_days, random_state=random_state, cf=cf)
    model.fit(lines, shares)
    recs = model.recommend(lines, topic_labels=labels or None)
    stored = {}
    if db is not None:
        covered = lines[CUSTOMER_ID].astype(str).unique().tolist() + (
            [] if shares is None else list(shares.index)
        )
        item = item_column or next(c for c in ITEM_COLUMNS if c in raw.columns)
        files = {"orders": orders, "reviews": reviews, "browsing": browsing}
        inputs = {k: {"file": Path(v).name, **({"sha256": sha256_file(v)} if Path(v).is_file() else {})}
                  for k, v in files.items() if v is not None}  # fmt: skip
        summary = profile_db.write_recommendations(
            db, recs, item_kind="category" if "categor" in item.lower() else "product", customers=covered,
            model_manifest=read_manifest(model_dir) if model_dir is not None and shares is not None else None,
            inputs={**inputs, "item_column": item, "top": top, "as_of": str(model.as_of_.date())},
        )  # fmt: skip
        stored = {"db": {"path": str(db), **summary}}
    if out is not None:
        # the table's text columns are categoricals (fast to build); as text, the CSV writer escapes them
        write_table(recs.astype({c: object for c in recs.columns if recs[c].dtype == "category"}), out)
    return {
        **stored,
        "out": None if out is None else str(out),
        "n_customers": int(recs[CUSTOMER_ID].nunique()),
        "n_rows": len(recs),
        "n_items": len(model.items_),
        "with_text": shares is not None,
        "cf": {"cf": model.cf, **model.cf_},  # the filter used: chosen (auto) or given
        "weights": model.weights_,
        "as_of": str(model.as_of_.date()),
        "pseudonymized": id_key is not None,
        "seconds": round(time.perf_counter() - start, 2),
    }


def read_ids(path: PathLike, *, encoding: str | None = None) -> list[str]:
    """Customer ids from a file: one per line (.txt or no extension), or a table's ``customer_id`` column."""
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(f"{path}: no such file.")
    if path.suffix.lower() in {"", ".txt", ".ids"}:
        text = path.read_text(encoding=encoding or "utf-8-sig")
        ids = [line.strip() for line in text.splitlines() if line.strip()]
        if ids and ids[0].lower() == CUSTOMER_ID:
            ids = ids[1:]
    else:
        table = read_table(path, encoding=encoding)
        if CUSTOMER_ID in table.columns:
            column = table[CUSTOMER_ID]
        elif table.shape[1] == 1:
            column = table.iloc[:, 0]
        else:
            raise DataValidationError(
                f"{path}: no 'customer_id' column (found: {', '.join(map(str, table.columns))})."
            )
        ids = [s for s in column.fillna("").astype(str).str.strip() if s]
    if not ids:
        raise DataValidationError(f"{path}: no customer ids in the file.")
    return ids


def campaign_files(
    treated: PathLike | Sequence[str],
    control: PathLike | Sequence[str],
    orders: PathLike,
    *,
    since: str | None = None,
    until: str | None = None,
    orders_columns: Mapping[str, str] | None = None,
    encoding: str | None = None,
    alpha: float = 0.05,
    n_boot: int = 2000,
    random_state: int = 0,
    id_key: bytes | None = None,
) -> dict[str, Any]:
    """:func:`evaluate_campaign` on id files (or lists of ids) and an orders file.

    With ``id_key`` the orders' customer ids are pseudonymised first, so that they join groups of
    pseudonymous ids (an audience exported from a pseudonymous profile database:
    :func:`~topicprofile.app.profile_db.database_id_key`). When no customer of either group appears in the orders at all, a warning
    says so: with ids of two kinds every customer would count as not converted.
    """
    treated_ids, control_ids = (
        list(ids) if isinstance(ids, list | tuple) else read_ids(ids, encoding=encoding)
        for ids in (treated, control)
    )
    lines = clean_orders(
        read_table(orders, encoding=encoding), columns=orders_columns, source=Path(orders).name
    ).data
    lines = _hashed(lines, id_key)
    buyers = set(lines[CUSTOMER_ID].astype(str))
    if len(lines) and buyers.isdisjoint(treated_ids) and buyers.isdisjoint(control_ids):
        logger.warning(
            "no customer of either group appears in %s (%d order lines): check that the groups and the orders "
            "use the same ids%s", Path(orders).name, len(lines),
            "" if id_key is not None else " (pseudonymous groups need the shop's key: --key-file)",
        )  # fmt: skip
    report = evaluate_campaign(
        treated_ids, control_ids, lines, since=since, until=until,
        alpha=alpha, n_boot=n_boot, random_state=random_state,
    )  # fmt: skip
    return report
