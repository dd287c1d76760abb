"""Cross-validated scores of classifiers on feature sets: ROC-AUC, PR-AUC, top-decile lift.

Used by :mod:`topicprofile.app.evaluate` (RFM only vs RFM + topics); stratified k-fold with a fixed
seed, out-of-fold probabilities of all customers, one thread so sums stay in one order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from topicprofile.errors import DataValidationError

__all__ = ["ANY_ORDER", "MODELS", "macro_means", "n_folds", "score_feature_sets", "top_decile_lift"]

#: Classifier name -> factory(random_state).
MODELS: Mapping[str, Callable[[int], Any]] = {
    "logistic": lambda seed: make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
    "gradient_boosting": lambda seed: HistGradientBoostingClassifier(random_state=seed, early_stopping=False),
}
ANY_ORDER = "any order"
ANY_ORDER = "any order"


def top_decile_lift(y_true: Any, scores: Any) -> float:
    """Positive rate among the 10% highest ``scores`` (at least one) divided by the overall rate.

    Ties are broken by input order (stable sort), so the value is reproducible.

    >>> top_decile_lift([1, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0.9] + [0.1] * 9)
    10.0
    """
    y = np.asarray(y_true, dtype="float64")
    s = np.asarray(scores, dtype="float64")
    if len(y) == 0 or y.sum() == 0:
        raise DataValidationError("top-decile lift needs at least one positive customer.")
    n_top = max(1, math.ceil(0.1 * len(y)))
    top = np.argsort(-s, kind="stable")[:n_top]
    return float(y[top].mean() / y.mean())


def n_folds(y: pd.Series, cv: int) -> int:
    return int(max(2, min(cv, int(y.sum()), int((~y).sum()))))


def score_feature_sets(
    fused: pd.DataFrame,
    y: pd.Series,
    target: str,
    model: str,
    feature_sets: Mapping[str, list[str]],
    *,
    folds: int,
    seed: int,
) -> list[dict[str, Any]]:
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    labels = y.to_numpy(dtype=bool)
    rows = []
    for features, columns in feature_sets.items():
        X = fused[columns].to_numpy(dtype="float64")
        # One thread: thread start-up dominates on shop-sized tables, and sums stay in one order.
        with threadpool_limits(limits=1):
            scores = cross_val_predict(MODELS[model](seed), X, labels, cv=splitter, method="predict_proba")[
                :, 1
            ]
        rows.append(
            {
                "target": target,
                "model": model,
                "features": features,
                "n_positive": int(labels.sum()),
                "roc_auc": round(float(roc_auc_score(labels, scores)), 4),
                "pr_auc": round(float(average_precision_score(labels, scores)), 4),
                "top_decile_lift": round(top_decile_lift(labels, scores), 3),
            }
        )
    return rows


def macro_means(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = [r for r in results if r["target"] != ANY_ORDER]
    if not rows:
        return []
    frame = pd.DataFrame(rows)
    means = frame.groupby(["model", "features"], sort=False)[["roc_auc", "pr_auc", "top_decile_lift"]].mean()
    counts = frame.groupby(["model", "features"], sort=False)["target"].nunique()
    return [
        {"model": model, "features": features, "n_categories": int(counts[(model, features)]),
         **{k: round(float(v), 4) for k, v in means.loc[(model, features)].items()}}
        for model, features in means.index
    ]  # fmt: skip
