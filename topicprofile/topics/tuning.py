"""Choosing the number of topics: fit a range of k on the same tokens and score each.

Each k is fitted with several seeds (the same :class:`LdaTopics` settings as the real fit) and
scored by coherence (``c_npmi``, ``c_v``) on the same documents, topic diversity, and stability
across seeds (mean best-match Jaccard overlap of the topics' top-10 terms).

Rule (documented in README): among the k whose topics are *distinct* (diversity at least
:data:`MIN_DIVERSITY`), take the most *stable* k — the one whose topics other seeds find again
(Greene, O'Callaghan & Cunningham 2014, "How many topics? Stability analysis for topic models"):
a k that matches the data's real number of themes is reproducible, one that is too small merges
themes arbitrarily and one that is too large splits them arbitrarily. Stabilities within
:data:`TIE` of the best count as ties and the smallest such k wins. Coherence is reported beside
it; on short shop texts ``c_v`` falls steadily with k and ``c_npmi`` rises steadily, so neither
has an optimum of its own there (measured on corpora/, see README). If no k is diverse enough,
the most stable k overall wins.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from topicprofile.config import DEFAULT_K_VALUES  # re-exported
from topicprofile.topics.coherence import coherence_scores, topic_diversity
from topicprofile.topics.lda import LdaTopics

logger = logging.getLogger(__name__)

__all__ = ["tune_k", "choose_n_topics", "TuningResult", "MIN_DIVERSITY", "TIE", "DEFAULT_K_VALUES"]

MIN_DIVERSITY = 0.6
TIE = 0.01


@dataclass(frozen=True)
class TuningResult:
    """The score table (one row per k) and the chosen k."""

    table: pd.DataFrame
    best_k: int
    rule: str


def _stability(runs: Sequence[Sequence[Sequence[str]]]) -> float:
    """Mean over seed pairs and topics of the best top-10 Jaccard match in the other run."""
    scores = []
    for a, b in itertools.combinations(runs, 2):
        for topic in a:
            scores.append(max(len(set(topic) & set(o)) / len(set(topic) | set(o)) for o in b))
    return float(np.mean(scores)) if scores else 1.0


def tune_k(
    training: Sequence[Sequence[tuple[int, int]]],
    dictionary: Any,
    token_lists: Sequence[Sequence[str]],
    *,
    k_values: Sequence[int] = DEFAULT_K_VALUES,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    lda_params: dict[str, Any] | None = None,
) -> TuningResult:
    """Fit and score each k; see the module docstring for the rule.

    Parameters
    ----------
    training : list of bag of words
        What LDA trains on (pooled customer documents by default).
    dictionary : gensim Dictionary
    token_lists : list of list of str
        The documents coherence is measured on (the individual texts).
    k_values, seeds
        Topic counts to try, and seeds per k (stability needs at least two).
    lda_params : dict, optional
        Extra :class:`LdaTopics` settings (passes, iterations, ...).

    Returns
    -------
    TuningResult
        ``table`` columns: ``k, c_npmi, c_v, diversity, stability, seconds, eligible``.
    """
    rows = []
    for k in k_values:
        runs, npmi, cv, diversity = [], [], [], []
        start = time.perf_counter()
        for seed in seeds:
            lda = LdaTopics(k, random_state=seed, **(lda_params or {})).fit(training, dictionary)
            order = np.argsort(-lda.topic_word_, axis=1, kind="stable")
            top10 = [[dictionary[int(i)] for i in row[:10]] for row in order]
            scores = coherence_scores(top10, token_lists, dictionary)
            npmi.append(scores["c_npmi"]["mean"])
            cv.append(scores["c_v"]["mean"])
            diversity.append(topic_diversity([[dictionary[int(i)] for i in row[:25]] for row in order]))
            runs.append(top10)
        rows.append(
            {
                "k": k,
                "c_npmi": float(np.mean(npmi)),
                "c_v": float(np.mean(cv)),
                "diversity": float(np.mean(diversity)),
                "stability": _stability(runs),
                "seconds": round(time.perf_counter() - start, 2),
            }
        )
    table = pd.DataFrame(rows)
    table["eligible"] = table["diversity"] >= MIN_DIVERSITY
    pool = table[table["eligible"]] if table["eligible"].any() else table
    best = pool["stability"].max()
    best_k = int(pool.loc[pool["stability"] >= best - TIE, "k"].min())
    rule = f"most stable k with diversity >= {MIN_DIVERSITY} (ties within {TIE} -> smaller k)"
    if not table["eligible"].any():
        rule = "no k reached the diversity bar: the most stable k"
    return TuningResult(table=table, best_k=best_k, rule=rule)


def choose_n_topics(
    n_topics: int | str, training: Any, dictionary: Any, token_lists: Sequence[Sequence[str]], *,
    k_values: Sequence[int], lda_params: dict[str, Any] | None = None,
) -> tuple[int, pd.DataFrame | None]:  # fmt: skip
    """``(k, tuning table)``: ``n_topics`` itself (no table), or for ``"auto"`` the k :func:`tune_k` picks."""
    if n_topics != "auto":
        return int(n_topics), None
    result = tune_k(training, dictionary, token_lists, k_values=k_values, lda_params=lda_params)
    logger.info("chose %d topics (%s)", result.best_k, result.rule)
    return result.best_k, result.table
