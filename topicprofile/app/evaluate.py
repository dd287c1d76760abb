"""Temporal holdout: do topics predict who buys (and what) after a cutoff better than RFM alone?

Everything known before the cutoff builds the features; what happens after it is the label::

    result = evaluate_holdout(reviews, browsing, orders, cutoff="2025-01-01")

* **Text**: the :class:`~topicprofile.TopicProfiler` is fitted on reviews and browsing events dated
  before the cutoff. Documents *without* a timestamp are kept (and counted in
  ``n_documents["undated"]``): most exports have dates, and a shop whose texts have none would get no
  text features at all otherwise. If undated text was written after the cutoff it leaks a little;
  give timestamps for a strict holdout.
* **Behaviour**: the RFM table of the orders before the cutoff, ``as_of`` = the cutoff day.
* **Customers**: everyone with text or orders before the cutoff (customers first seen later have no
  features and are not scored).
* **Labels**: ``any order`` = the customer has an order line after the cutoff (within
  ``horizon_days`` if given) that is neither cancelled nor refunded. If the orders carry a category
  column, also ``category: c`` = bought a line of category ``c`` after the cutoff, for the
  ``n_categories`` categories most bought after the cutoff.
* **Models**: scikit-learn classifiers (logistic regression on standardized features; histogram
  gradient boosting for the main label) on two feature sets, ``rfm`` (standardized log1p recency,
  frequency, monetary + has_orders) and ``rfm+topics`` (those + topic shares + has_text), scored by
  stratified k-fold cross-validation with a fixed seed: out-of-fold probabilities of all customers
  give ROC-AUC, PR-AUC (average precision) and the lift of the top decile (positive rate among the
  10% highest scores / the base rate; 1 = no better than random).
* **Segments**: the profiler's, fitted with the orders before the cutoff (RFM only: the segments
  stage on the RFM table alone): silhouette, sizes, names.

The topic model and the feature standardization are fitted on all pre-cutoff customers before the
folds are split; both are unsupervised (they never see a label), so no label leaks into them.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from topicprofile import schema
from topicprofile.behavior import CANCELLED_STATUSES, REFUNDED_STATUSES, compute_rfm
from topicprofile.ingest.documents import as_loaded
from topicprofile.errors import ConfigError, DataValidationError
from topicprofile.segments.fuse import HAS_ORDERS, HAS_TEXT, FeatureFuser
from topicprofile.ingest.files import read_table
from topicprofile.ingest.load import (
    LoadResult, clean_browsing, clean_orders, clean_reviews, load_browsing, load_reviews, parse_column_map,
)  # fmt: skip
from topicprofile.profiler import TopicProfiler
from topicprofile.app.scoring import ANY_ORDER, MODELS, macro_means, n_folds, score_feature_sets, top_decile_lift
from topicprofile.segments.cluster import CustomerSegmenter, fit_segments
from topicprofile.tag.table import topic_shares

__all__ = ["CATEGORY", "MODELS", "evaluate_files", "evaluate_holdout", "top_decile_lift"]

logger = logging.getLogger(__name__)

#: Optional orders column naming the product category of a line (not a loader column yet).
CATEGORY = "category"
RFM, RFM_TOPICS = "rfm", "rfm+topics"


def evaluate_holdout(
    reviews: pd.DataFrame | LoadResult | None,
    browsing: pd.DataFrame | LoadResult | None,
    orders: pd.DataFrame | LoadResult,
    *,
    cutoff: str | pd.Timestamp,
    horizon_days: int | None = None,
    n_topics: int = 12,
    random_state: int = 0,
    profiler_params: Mapping[str, Any] | None = None,
    cv: int = 5,
    orders_columns: str | Mapping[str, str] | None = None,
    orders_options: Mapping[str, Any] | None = None,
    category_column: str | None = CATEGORY,
    n_categories: int = 5,
    models: Sequence[str] = ("logistic", "gradient_boosting"),
    progress: Callable[[str, int, int | None], None] | None = None,
) -> dict[str, Any]:
    """Compare RFM-only and RFM+topics features at predicting purchases after ``cutoff``.

    Parameters
    ----------
    reviews, browsing : DataFrame, LoadResult or None
        Customers' texts (user tables with standard names, or loader results); both None = RFM only.
    orders : DataFrame or LoadResult
        Orders: the user's table (mapped with ``orders_columns``) or a loader result. A
        ``category_column`` in a DataFrame is kept for the per-category labels.
    cutoff : str or Timestamp
        Features from before it, labels from on or after it.
    horizon_days : int, optional
        Only orders within this many days after the cutoff make a label (default: all).
    n_topics, random_state, profiler_params
        Topic model settings (``profiler_params`` are further :class:`TopicProfiler` keywords);
        the seed also drives the folds, the classifiers and the segments.
    cv : int, default 5
        Folds (fewer when a class has fewer customers; the number used is reported).
    orders_columns : str or mapping, optional
        Column map of a raw orders table, e.g. ``"timestamp=order_date"``.
    orders_options : mapping, optional
        Further :func:`~topicprofile.ingest.load.clean_orders` keywords for a raw orders table
        (``date_format``, ``max_amount``, ``today``).
    category_column : str or None, default "category"
        Orders column with the category of a line; None or absent = no per-category labels.
    n_categories : int, default 5
        Most-bought categories after the cutoff that get their own label.
    models : sequence of str
        Keys of :data:`MODELS`; the per-category labels use the first only.
    progress : callable, optional
        ``progress(step, done, total)``.

    Returns
    -------
    dict
        JSON-ready: ``cutoff``, counts (``n_customers``, ``n_positive``, ``base_rate``,
        ``n_with_text``, ``n_with_orders``, ``n_documents``, ``n_orders``), ``cv_folds``,
        ``n_topics`` (None without text), ``results`` (one row per target × model × feature set:
        ``target, model, features, n_positive, roc_auc, pr_auc, top_decile_lift``), ``categories``
        (names used, or []), ``macro`` (mean over categories per model × feature set), ``segments``
        (``n_segments``, ``silhouette``, ``silhouette_by_k``, ``sizes``) and ``seconds``.

    Raises
    ------
    ConfigError
        ``cutoff`` is not a date, or a setting is invalid.
    DataValidationError
        No orders on one side of the cutoff, no buyer or no non-buyer after it, or too few customers.

    Examples
    --------
    >>> reviews = pd.read_csv("corpora/reviews.csv", dtype=str)          # doctest: +SKIP
    >>> orders = pd.read_csv("corpora/orders.csv", dtype=str)            # doctest: +SKIP
    >>> result = evaluate_holdout(reviews, None, orders, cutoff="2025-01-01", n_topics=8,
    ...                           orders_columns="timestamp=order_date")  # doctest: +SKIP
    >>> [(r["target"], r["features"], r["roc_auc"]) for r in result["results"]]  # doctest: +SKIP
    """
    start = time.perf_counter()
    report = progress or (lambda step, done, total: None)
    _check_settings(cv=cv, n_categories=n_categories, models=models, horizon_days=horizon_days)
    cut = _as_cutoff(cutoff)
    lines = _orders_with_category(orders, orders_columns, category_column, orders_options)
    before, after = _split_orders(lines, cut, horizon_days)
    texts, n_documents = _texts_before(reviews, browsing, cut)

    report("features", 0, None)
    fused, feature_sets, segmenter, cards = _features(
        texts, before, as_of=cut.normalize(), n_topics=n_topics, random_state=random_state,
        profiler_params=profiler_params, progress=progress,
    )  # fmt: skip
    targets = _labels(after, fused.index, n_categories=n_categories)
    y_any = targets.pop(ANY_ORDER)
    folds = n_folds(y_any, cv)
    results = []
    report("classifiers", 0, None)
    for model in models:
        results += score_feature_sets(fused, y_any, ANY_ORDER, model, feature_sets, folds=folds, seed=random_state)
    for name, y in targets.items():
        if min(int(y.sum()), int((~y).sum())) < 2:
            logger.info("skipping label %r: fewer than 2 customers on one side", name)
            continue
        results += score_feature_sets(
            fused, y, name, models[0], feature_sets, folds=min(folds, n_folds(y, cv)), seed=random_state
        )
    categories = sorted({r["target"] for r in results if r["target"] != ANY_ORDER})
    return {
        "cutoff": str(cut.date()) if cut == cut.normalize() else str(cut),
        "horizon_days": horizon_days,
        "n_customers": int(len(fused)),
        "n_positive": int(y_any.sum()),
        "base_rate": round(float(y_any.mean()), 4),
        "n_with_text": int(fused[HAS_TEXT].sum()),
        "n_with_orders": int(fused[HAS_ORDERS].sum()),
        "n_documents": n_documents,
        "n_orders": {"before": _n_orders(before), "after": _n_orders(after)},
        "cv_folds": folds,
        "n_topics": n_topics if RFM_TOPICS in feature_sets else None,
        "feature_sets": feature_sets,
        "results": results,
        "categories": [c.removeprefix("category: ") for c in categories],
        "macro": macro_means(results),
        "segments": {
            "n_segments": segmenter.n_segments_,
            "silhouette": round(segmenter.silhouette_, 4),
            "silhouette_by_k": {str(k): round(v, 4) for k, v in segmenter.silhouette_by_k_.items()},
            "sizes": [{"segment_id": c["segment_id"], "name": c["name"], "size": c["size"]} for c in cards],
        },
        "seconds": round(time.perf_counter() - start, 2),
    }


def evaluate_files(
    *,
    orders: str | os.PathLike[str],
    cutoff: str,
    reviews: str | os.PathLike[str] | None = None,
    browsing: str | os.PathLike[str] | None = None,
    reviews_columns: Mapping[str, str] | None = None,
    browsing_columns: Mapping[str, str] | None = None,
    orders_columns: Mapping[str, str] | None = None,
    encoding: str | None = None,
    date_format: str | None = None,
    max_amount: float | None = None,
    **options: Any,
) -> dict[str, Any]:
    """:func:`evaluate_holdout` on files (read with the loaders); ``options`` are its keywords.

    The result also gets ``inputs``: rows read, used and rejected per file.
    """
    loaded: dict[str, LoadResult] = {}
    if reviews is not None:
        loaded["reviews"] = load_reviews(reviews, columns=reviews_columns, encoding=encoding, date_format=date_format)
    if browsing is not None:
        loaded["browsing"] = load_browsing(browsing, columns=browsing_columns, encoding=encoding,
                                           date_format=date_format)  # fmt: skip
    parse_column_map(orders_columns)
    raw_orders = read_table(orders, encoding=encoding)
    result = evaluate_holdout(
        loaded.get("reviews"), loaded.get("browsing"), raw_orders,
        cutoff=cutoff, orders_columns=orders_columns,
        orders_options={"date_format": date_format, "max_amount": max_amount, **options.pop("orders_options", {})},
        **options,
    )  # fmt: skip
    inputs = {name: {"file": r.source, "rows": r.n_read, "used": len(r.data), "rejected": r.n_rejected}
              for name, r in loaded.items()}  # fmt: skip
    inputs["orders"] = {"file": os.fspath(orders), "rows": len(raw_orders)}
    return {"inputs": inputs, **result}


# -- steps ----------------------------------------------------------------------------------------
def _features(
    texts: Mapping[str, LoadResult],
    before: pd.DataFrame,
    *,
    as_of: pd.Timestamp,
    n_topics: int,
    random_state: int,
    profiler_params: Mapping[str, Any] | None,
    progress: Callable[[str, int, int | None], None] | None,
) -> tuple[pd.DataFrame, dict[str, list[str]], CustomerSegmenter, list[dict[str, Any]]]:
    """The fused vectors of every customer, the two feature sets, and the segments: with text, of a
    :class:`TopicProfiler` fitted on it and the orders (as ``fit --orders``); else of the RFM alone."""
    rfm = compute_rfm(before, as_of=as_of)
    if texts:
        params = {"n_topics": n_topics, "random_state": random_state, **(profiler_params or {})}
        orders = LoadResult(data=before, rejects=pd.DataFrame(), n_read=len(before), source="<orders before the cutoff>")
        profiler = TopicProfiler(**params).fit(texts.get("reviews"), texts.get("browsing"), orders, as_of=as_of,
                                               progress=progress)  # fmt: skip
        fuser, segmenter, cards = profiler.fuser_, profiler.segmenter_, profiler.segment_cards_
        with_text = profiler.profiles_[profiler.profiles_[schema.N_DOCUMENTS] > 0]  # the others: orders only
        shares = pd.DataFrame(topic_shares(with_text, profiler.n_topics_), index=with_text[schema.CUSTOMER_ID])
        fused = fuser.transform(shares.add_prefix("topic_"), rfm)
    else:
        fuser, segmenter = FeatureFuser(), CustomerSegmenter(random_state=random_state)
        _, cards = fit_segments(None, rfm, fuser=fuser, segmenter=segmenter)
        fused = fuser.transform(None, rfm)
    fused_columns = list(fuser.get_feature_names_out())
    feature_sets = {RFM: [c for c in fused_columns if c.startswith("log_")] + [HAS_ORDERS]}
    if texts:
        feature_sets[RFM_TOPICS] = fused_columns + [HAS_ORDERS, HAS_TEXT]
    return fused, feature_sets, segmenter, cards


def _n_orders(lines: pd.DataFrame) -> int:
    """Orders are keyed by (customer, order id), as in :func:`~topicprofile.behavior.rfm_table`."""
    return int(len(lines[[schema.CUSTOMER_ID, schema.ORDER_ID]].drop_duplicates()))


def _check_settings(*, cv: int, n_categories: int, models: Sequence[str], horizon_days: int | None) -> None:
    if isinstance(cv, bool) or not isinstance(cv, (int, np.integer)) or cv < 2:
        raise ConfigError(f"cv must be an integer >= 2 (folds), got {cv!r}.")
    if isinstance(n_categories, bool) or not isinstance(n_categories, (int, np.integer)) or n_categories < 0:
        raise ConfigError(f"n_categories must be an integer >= 0, got {n_categories!r}.")
    unknown = [m for m in models if m not in MODELS]
    if not models or unknown:
        raise ConfigError(f"unknown model(s) {unknown or models!r}; choose from {', '.join(MODELS)}.")
    if horizon_days is not None and (not isinstance(horizon_days, (int, np.integer)) or horizon_days < 1):
        raise ConfigError(f"horizon_days must be a positive number of days, got {horizon_days!r}.")


def _as_cutoff(cutoff: str | pd.Timestamp) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(cutoff)
    except (TypeError, ValueError) as e:
        raise ConfigError(
            f"cutoff {cutoff!r} is not a date; use YYYY-MM-DD, e.g. --cutoff 2025-01-01."
        ) from e
    if pd.isna(stamp):
        raise ConfigError(f"cutoff {cutoff!r} is not a date; use YYYY-MM-DD, e.g. --cutoff 2025-01-01.")
    return stamp.tz_localize(None) if stamp.tzinfo is not None else stamp


def _orders_with_category(
    orders: pd.DataFrame | LoadResult,
    columns: str | Mapping[str, str] | None,
    category: str | None,
    options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Standardized order lines plus a ``category`` column ("" when unknown)."""
    if isinstance(orders, LoadResult):
        lines = orders.data.copy()
    elif isinstance(orders, pd.DataFrame):
        raw = orders.reset_index(drop=True)
        lines = clean_orders(raw, columns=columns, source="<orders DataFrame>", **(options or {})).data
        if category and category in raw.columns:
            values = raw[category].iloc[lines[schema.ROW].to_numpy() - 1]
            lines[CATEGORY] = values.fillna("").astype(str).str.strip().to_numpy()
    else:
        raise DataValidationError(
            f"orders must be a pandas DataFrame or LoadResult, got {type(orders).__name__}."
        )
    if CATEGORY not in lines.columns:
        lines[CATEGORY] = ""
    lines[CATEGORY] = lines[CATEGORY].fillna("").astype(str)
    return lines


def _split_orders(
    lines: pd.DataFrame, cut: pd.Timestamp, horizon_days: int | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    stamps = lines[schema.TIMESTAMP]
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_localize(None)
    before = lines[stamps < cut]
    after_mask = stamps >= cut
    if horizon_days is not None:
        after_mask &= stamps < cut + pd.Timedelta(days=int(horizon_days))
    after = lines[after_mask]
    if before.empty or after.empty:
        side = "before" if before.empty else "after"
        raise DataValidationError(
            f"cutoff {cut.date()}: no orders {side} it (orders run from {stamps.min().date()} to "
            f"{stamps.max().date()}); choose a cutoff with orders on both sides."
        )
    return before, after


def _texts_before(
    reviews: pd.DataFrame | LoadResult | None, browsing: pd.DataFrame | LoadResult | None, cut: pd.Timestamp
) -> tuple[dict[str, LoadResult], dict[str, int]]:
    counts = {"before": 0, "undated": 0, "after_excluded": 0}
    kept: dict[str, LoadResult] = {}
    for name, data, cleaner in (("reviews", reviews, clean_reviews), ("browsing", browsing, clean_browsing)):
        loaded = as_loaded(data, cleaner, name=name)
        if loaded is None:
            continue
        stamps = loaded.data[schema.TIMESTAMP]
        undated = stamps.isna()
        early = (stamps < cut).fillna(False) | undated
        counts["before"] += int((early & ~undated).sum())
        counts["undated"] += int(undated.sum())
        counts["after_excluded"] += int((~early).sum())
        if early.any():
            kept[name] = dataclasses.replace(
                loaded, data=loaded.data[early.to_numpy()].reset_index(drop=True)
            )
    if (reviews is not None or browsing is not None) and not kept:
        logger.warning("no reviews or browsing dated before the cutoff %s: evaluating RFM only", cut.date())
    if counts["undated"]:
        logger.warning(
            "%d documents have no timestamp; they are treated as written before the cutoff", counts["undated"]
        )
    return kept, counts


def _labels(after: pd.DataFrame, customers: pd.Index, *, n_categories: int) -> dict[str, pd.Series]:
    """``{"any order": y, "category: c": y, ...}``, boolean Series over ``customers``."""
    status = (
        after[schema.STATUS].fillna("").astype(str).str.strip().str.lower() if schema.STATUS in after else ""
    )
    counted = after[~pd.Series(status, index=after.index).isin(CANCELLED_STATUSES | REFUNDED_STATUSES)]
    ids = counted[schema.CUSTOMER_ID].astype(str)
    labels = {ANY_ORDER: pd.Series(customers.isin(ids), index=customers)}
    _check_classes(labels[ANY_ORDER], ANY_ORDER)
    with_category = counted[counted[CATEGORY] != ""].assign(**{schema.CUSTOMER_ID: ids})
    known = with_category[with_category[schema.CUSTOMER_ID].isin(customers)]
    buyers = known.groupby(CATEGORY)[schema.CUSTOMER_ID].nunique().sort_values(ascending=False, kind="stable")
    for category in sorted(buyers.index[:n_categories], key=lambda c: (-buyers[c], c)):
        bought = known.loc[known[CATEGORY] == category, schema.CUSTOMER_ID]
        labels[f"category: {category}"] = pd.Series(customers.isin(bought), index=customers)
    return labels


def _check_classes(y: pd.Series, name: str) -> None:
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos < 2 or n_neg < 2:
        what = "bought" if n_pos < 2 else "did not buy"
        raise DataValidationError(
            f"label {name!r}: only {min(n_pos, n_neg)} of {len(y)} customers {what} after the cutoff; "
            "a classifier needs at least 2 of each. Move the cutoff or lengthen the horizon."
        )


