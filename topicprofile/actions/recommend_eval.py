"""Offline evaluation of the recommenders on a temporal holdout: "does text help recommendations?"

The recommender is fitted on orders before ``cutoff`` (its blend weights chosen on a split *inside*
that period), then each variant ranks items for every customer who bought, after the cutoff, an item
that was not excluded (bought in the ``exclusion_days`` before the cutoff). Variants share the fitted
pieces and differ only in weights: popularity alone, CF alone (popularity for customers without
orders), content alone (popularity for customers without text) and the hybrid.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from topicprofile.actions.recommend import ITEM, HybridRecommender
from topicprofile.actions.recommend_lines import check_lines
from topicprofile.actions.recommend_rank import rank_metrics, recall_at
from topicprofile.errors import ConfigError, DataValidationError
from topicprofile.schema import CUSTOMER_ID, TIMESTAMP

__all__ = ["evaluate_recommenders"]

VARIANTS = {
    "popularity": {"cf": 0.0, "content": 0.0, "popularity": 1.0},
    "cf": {"cf": 1.0, "content": 0.0, "popularity": 0.0},
    "content": {"cf": 0.0, "content": 1.0, "popularity": 0.0},
}


def evaluate_recommenders(
    lines: pd.DataFrame,
    topic_shares: pd.DataFrame | None,
    *,
    cutoff: str | pd.Timestamp,
    k: int = 10,
    horizon_days: int | None = None,
    exclusion_days: int | None = 90,
    random_state: int = 0,
    **params: Any,
) -> dict[str, Any]:
    """Hit-rate@k, NDCG@k and catalogue coverage of popularity, CF, content and the hybrid.

    Parameters
    ----------
    lines : pandas.DataFrame
        :func:`~topicprofile.actions.recommend.item_lines` output (all periods).
    topic_shares : pandas.DataFrame or None
        n_customers x n_topics, index ``customer_id``; build it from text written *before* the
        cutoff, or the content scores see the future. None: no content variant.
    cutoff : date
        Orders before it train; orders on or after it (within ``horizon_days``) are the targets.
    k : int, default 10
    params
        Further :class:`HybridRecommender` settings.

    Returns
    -------
    dict
        ``rows`` (one per variant: ``model``, ``hit_rate``, ``ndcg``, ``recall`` (share of a customer's
        target items in the list, averaged), ``coverage``; with topic shares
        also ``hybrid without text``, the blend refitted and re-chosen from CF and popularity only,
        which answers "does text add value"), ``weights``
        (the hybrid's, chosen before the cutoff), ``cf`` (the CF model chosen before the cutoff), ``n_customers``, ``n_items``, ``n_cold``
        (evaluated customers without orders before the cutoff), ``cutoff``, ``k``.
    """
    check_lines(lines)
    if k < 1:
        raise ConfigError(f"k must be >= 1, got {k}.")
    try:
        cut = pd.Timestamp(cutoff)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"cutoff {cutoff!r} is not a date; use YYYY-MM-DD.") from e
    before = lines[lines[TIMESTAMP] < cut]
    after = lines[lines[TIMESTAMP] >= cut]
    if horizon_days is not None:
        after = after[after[TIMESTAMP] < cut + pd.Timedelta(days=horizon_days)]
    if before.empty or after.empty:
        raise DataValidationError(
            f"cutoff {cut.date()}: {len(before)} order lines before it and {len(after)} after; "
            "choose a date inside the orders' period."
        )
    model = HybridRecommender(top=k, exclusion_days=exclusion_days, random_state=random_state, **params)
    model.fit(before, topic_shares)
    after = after[after[ITEM].isin(model.items_)]  # items first sold after the cutoff cannot be learned
    ids = pd.Index(np.sort(after[CUSTOMER_ID].unique()), name=CUSTOMER_ID)
    targets, keep, excluded = model._targets(before, after, ids, cut)
    ids, targets, excluded = ids[keep], targets[keep], excluded[keep]
    if len(ids) == 0:
        raise DataValidationError(f"cutoff {cut.date()}: no customer bought a new item after it.")
    variants = dict(VARIANTS)
    if model.topic_shares_ is None:
        variants.pop("content")
    variants["hybrid"] = model.weights_
    tops = model._rank(ids, excluded, variants, k)
    if model.topic_shares_ is not None:  # the same blend choice without text: does text add value?
        plain_params = {**params, **model.cf_}  # the CF choice does not look at text: keep it
        plain = HybridRecommender(
            top=k, exclusion_days=exclusion_days, random_state=random_state, **plain_params
        )
        plain.fit(before, None)
        tops["hybrid without text"] = plain._rank(ids, excluded, {"plain": plain.weights_}, k)["plain"]
    rows = []
    for name, top in tops.items():
        hit, ndcg = rank_metrics(top, targets, k)
        coverage = len(np.unique(top)) / len(model.items_)
        recall = recall_at(top, targets)
        rows.append({"model": name, "hit_rate": hit, "ndcg": ndcg, "recall": recall, "coverage": coverage})
    known = model.components_.customers.get_indexer(ids) >= 0
    has_text = model._text_vectors(ids, model.topic_shares_)[1]
    return {
        "cutoff": str(cut.date()),
        "k": k,
        "n_customers": len(ids),
        "n_cold": int((~known).sum()),
        "n_with_text": int(has_text.sum()),
        "n_items": len(model.items_),
        "weights": model.weights_,
        "cf": model.cf_,
        "rows": rows,
    }
