"""RFM scores and named segments: an RFM table scored 1..5 per dimension, then a name per customer.

    scores = rfm_scores(rfm)           # + r_score, f_score, m_score in 1..5 (5 = best)
    segments = rfm_segments(scores)    # "Champions", "Lost", ...
    compute_rfm(orders)                # rfm_table, scores and segment in one table

The RFM table itself (orders -> recency, frequency, monetary) is :mod:`topicprofile.behavior.table`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import pandas as pd

from topicprofile.behavior.table import FREQUENCY, MONETARY, RECENCY_DAYS, require_columns, rfm_table
from topicprofile.errors import ConfigError, DataValidationError

__all__ = [
    "DEFAULT_SEGMENT_MAP",
    "F_SCORE",
    "M_SCORE",
    "RFM_SEGMENT",
    "R_SCORE",
    "SEGMENT_NAMES",
    "compute_rfm",
    "rfm_scores",
    "rfm_segments",
]

# Output columns of this step (candidates for topicprofile.schema once the names settle).
R_SCORE = "r_score"
F_SCORE = "f_score"
M_SCORE = "m_score"
RFM_SEGMENT = "rfm_segment"

SEGMENT_NAMES: tuple[str, ...] = (
    "Champions", "Loyal", "Potential Loyalist", "New", "Promising", "Need Attention",
    "About to Sleep", "At Risk", "Can't Lose", "Hibernating", "Lost",
)  # fmt: skip

# Rows are fm_score 5..1, columns r_score 1..5 (drawn as a table in rfm_segments' docstring).
_GRID = {
    5: ("Can't Lose", "Can't Lose", "Loyal", "Champions", "Champions"),
    4: ("Can't Lose", "At Risk", "Loyal", "Loyal", "Champions"),
    3: ("At Risk", "At Risk", "Need Attention", "Potential Loyalist", "Potential Loyalist"),
    2: ("Lost", "Hibernating", "About to Sleep", "Potential Loyalist", "Potential Loyalist"),
    1: ("Lost", "Hibernating", "About to Sleep", "Promising", "New"),
}
DEFAULT_SEGMENT_MAP: Mapping[tuple[int, int], str] = MappingProxyType(
    {(r, fm): row[r - 1] for fm, row in _GRID.items() for r in range(1, 6)}
)
"""Read-only ``{(r_score, fm_score): segment name}`` for 5 score bins: 25 cells, 11 names.

``fm_score = (f_score + m_score + 1) // 2``; see :func:`rfm_segments`. To change a few cells:
``{**DEFAULT_SEGMENT_MAP, (2, 3): "Hibernating"}``.
"""


def rfm_scores(rfm: pd.DataFrame, *, n_bins: int = 5) -> pd.DataFrame:
    """Score recency, frequency and monetary value from 1 to ``n_bins`` (``n_bins`` = best).

    Input: an RFM table with at least ``recency_days``, ``frequency`` and ``monetary`` (one row per
    customer, as from :func:`rfm_table`). Output: a copy with ``r_score``, ``f_score`` and
    ``m_score`` (int64) added; ``r_score`` is highest for the smallest recency.

    Scores are rank-based quantile bins: each customer's mid-rank percentile
    ``p = (rank - 0.5) / n`` (``rank`` with ``method="average"``, so tied values share one rank) is
    mapped to ``ceil(p * n_bins)``, computed in exact integer arithmetic. The extremes of the data are
    then pinned to the extremes of the scale: the worst value always scores 1 and the best
    ``n_bins``, however many customers share it. Without the pin, the half of a shop's customers who
    ordered once would share a mid-rank near the 25th percentile and score 2, so F = 1 (and the "New"
    and "Promising" segments) would never occur. Consequences:

    * equal values always get equal scores, however many ties;
    * a better value never gets a lower score (monotonic);
    * no bin edges to collide, so any number of customers works: 1 customer, or all customers tied,
      get the middle score ``(n_bins + 1) // 2`` (3 of 5: no evidence either way); 2 distinct
      customers get 1 and 5, 3 get 1, 3 and 5; distinct values in multiples of ``n_bins`` give
      exact quantiles.

    Parameters
    ----------
    rfm : pandas.DataFrame
        RFM table.
    n_bins : int, default 5
        Number of score levels.

    Returns
    -------
    pandas.DataFrame
        ``rfm`` plus the three score columns.

    Raises
    ------
    DataValidationError
        A required column is missing or holds NaN.
    ConfigError
        ``n_bins`` is not a positive integer.

    Examples
    --------
    >>> rfm = pd.DataFrame({"recency_days": [1, 30, 300], "frequency": [1, 1, 4],
    ...     "monetary": [10.0, 20.0, 99.0]})
    >>> rfm_scores(rfm)[["r_score", "f_score", "m_score"]].to_numpy().tolist()
    [[5, 1, 1], [3, 1, 3], [1, 5, 5]]
    """
    _check_n_bins(n_bins)
    require_columns(rfm, (RECENCY_DAYS, FREQUENCY, MONETARY), "RFM table")
    scored = rfm.copy()
    for column, score, higher_is_better in (
        (RECENCY_DAYS, R_SCORE, False),
        (FREQUENCY, F_SCORE, True),
        (MONETARY, M_SCORE, True),
    ):
        values = rfm[column]
        if values.isna().any():
            raise DataValidationError(
                f"RFM table: column {column!r} has {int(values.isna().sum())} missing values; "
                "build the table with rfm_table, which never leaves NaN."
            )
        scored[score] = _rank_scores(values, n_bins=n_bins, higher_is_better=higher_is_better)
    scored.attrs["rfm_n_bins"] = n_bins
    return scored


def rfm_segments(
    scores: pd.DataFrame, *, segment_map: Mapping[tuple[int, int], str] | None = None
) -> pd.Series:
    """Name each customer's RFM segment from an R-score x FM-score grid.

    Input: a table with ``r_score``, ``f_score`` and ``m_score`` (one row per customer, as from
    :func:`rfm_scores`). Output: a string Series ``rfm_segment`` with the same index.

    ``fm_score = (f_score + m_score + 1) // 2``, the mean of F and M rounded half up; the segment is
    ``segment_map[(r_score, fm_score)]``. The default, :data:`DEFAULT_SEGMENT_MAP`, follows the widely
    used 11-segment R x FM chart for 5 score bins (Champions top right, Lost bottom left); every one of
    the 125 (r, f, m) combinations lands in exactly one segment::

        FM \\ R |  1            2            3               4                   5
           5   |  Can't Lose   Can't Lose   Loyal           Champions           Champions
           4   |  Can't Lose   At Risk      Loyal           Loyal               Champions
           3   |  At Risk      At Risk      Need Attention  Potential Loyalist  Potential Loyalist
           2   |  Lost         Hibernating  About to Sleep  Potential Loyalist  Potential Loyalist
           1   |  Lost         Hibernating  About to Sleep  Promising           New

    Parameters
    ----------
    scores : pandas.DataFrame
        Scored RFM table.
    segment_map : Mapping[tuple[int, int], str], optional
        ``{(r_score, fm_score): name}`` replacing the default entirely; it must cover every
        (r, fm) pair present in ``scores``. Required when the scores were made with ``n_bins != 5``.

    Returns
    -------
    pandas.Series
        Segment name per customer, named ``rfm_segment``.

    Raises
    ------
    DataValidationError
        A score column is missing.
    ConfigError
        ``segment_map`` is malformed or misses a score pair that occurs, or the default map is used
        with scores that were not made with 5 bins.

    Examples
    --------
    >>> scores = pd.DataFrame({"r_score": [5, 1], "f_score": [5, 1], "m_score": [4, 1]})
    >>> rfm_segments(scores).tolist()
    ['Champions', 'Lost']
    """
    require_columns(scores, (R_SCORE, F_SCORE, M_SCORE), "RFM scores")
    if segment_map is None:
        n_bins = scores.attrs.get("rfm_n_bins", 5)
        if n_bins != 5:
            raise ConfigError(
                f"the default segment map is for 5 score bins, but these scores have {n_bins}; "
                "pass segment_map={(r_score, fm_score): name, ...} for your bins."
            )
        segment_map = DEFAULT_SEGMENT_MAP
    lookup = _segment_lookup(segment_map)
    for column in (R_SCORE, F_SCORE, M_SCORE):
        if not pd.api.types.is_integer_dtype(scores[column]):
            raise DataValidationError(
                f"RFM scores: column {column!r} must hold whole numbers, not {scores[column].dtype}; "
                "make the scores with rfm_scores."
            )
    r = scores[R_SCORE].to_numpy(dtype="int64")
    fm = (scores[F_SCORE].to_numpy(dtype="int64") + scores[M_SCORE].to_numpy(dtype="int64") + 1) // 2
    names = lookup.reindex(pd.MultiIndex.from_arrays([r, fm]))
    if names.isna().any():
        missing = sorted({(int(a), int(b)) for a, b in names.index[names.isna().to_numpy()]})
        raise ConfigError(
            f"segment_map has no segment for (r_score, fm_score) {', '.join(map(str, missing[:10]))}; "
            "add these pairs (every pair that occurs needs a name)."
        )
    return pd.Series(names.to_numpy(), index=scores.index, name=RFM_SEGMENT)


def compute_rfm(
    orders: pd.DataFrame,
    *,
    as_of: str | pd.Timestamp | None = None,
    segment_map: Mapping[tuple[int, int], str] | None = None,
    n_bins: int = 5,
) -> pd.DataFrame:
    """RFM table, scores and segment of every customer in one call.

    Input: the standardized orders table (see :func:`rfm_table`). Output: one row per customer,
    index ``customer_id`` (sorted): the columns of :func:`rfm_table`, then ``r_score``, ``f_score``,
    ``m_score`` and ``rfm_segment``.

    Parameters
    ----------
    orders : pandas.DataFrame
        Standardized orders table.
    as_of : str or pandas.Timestamp, optional
        See :func:`rfm_table`.
    segment_map : Mapping[tuple[int, int], str], optional
        See :func:`rfm_segments`; required when ``n_bins != 5``.
    n_bins : int, default 5
        See :func:`rfm_scores`.

    Returns
    -------
    pandas.DataFrame
        The combined table.

    Raises
    ------
    DataValidationError, ConfigError
        As the three steps do; settings are checked before the data is read.
    """
    _check_n_bins(n_bins)
    if segment_map is None and n_bins != 5:
        raise ConfigError(f"n_bins={n_bins} needs a segment_map; the default one is for 5 bins.")
    if segment_map is not None:
        _segment_lookup(segment_map)
    scores = rfm_scores(rfm_table(orders, as_of=as_of), n_bins=n_bins)
    scores[RFM_SEGMENT] = rfm_segments(scores, segment_map=segment_map)
    return scores


def _rank_scores(values: pd.Series, *, n_bins: int, higher_is_better: bool) -> np.ndarray:
    """Mid-rank quantile bin ``ceil((rank - 0.5) / n * n_bins)``, extremes pinned to 1 and ``n_bins``."""
    n = len(values)
    if n == 0:
        return np.empty(0, dtype="int64")
    raw = values.to_numpy()
    low, high = raw.min(), raw.max()
    if low == high:
        return np.full(n, (n_bins + 1) // 2, dtype="int64")
    # Average ranks are multiples of 0.5, so twice the rank is an exact integer: no float ceil error.
    ranks = values.rank(method="average", ascending=higher_is_better).to_numpy()
    numerator = (np.rint(2 * ranks).astype("int64") - 1) * n_bins
    scores = -(-numerator // (2 * n))
    scores[raw == (low if higher_is_better else high)] = 1
    scores[raw == (high if higher_is_better else low)] = n_bins
    return scores


def _segment_lookup(segment_map: Mapping[tuple[int, int], str]) -> pd.Series:
    """``segment_map`` checked and turned into a Series on an (r_score, fm_score) MultiIndex."""
    if not isinstance(segment_map, Mapping) or not segment_map:
        raise ConfigError("segment_map must be a non-empty mapping {(r_score, fm_score): name}.")
    for key, name in segment_map.items():
        valid_key = (
            isinstance(key, tuple)
            and len(key) == 2
            and all(isinstance(k, (int, np.integer)) and not isinstance(k, bool) for k in key)
        )
        if not valid_key or not isinstance(name, str) or not name:
            raise ConfigError(
                f"segment_map entry {key!r}: {name!r} is invalid; keys are (r_score, fm_score) pairs of "
                "ints and values non-empty segment names, e.g. {(5, 5): 'Champions'}."
            )
    index = pd.MultiIndex.from_tuples([(int(r), int(fm)) for r, fm in segment_map])
    return pd.Series(list(segment_map.values()), index=index, dtype=object)


def _check_n_bins(n_bins: int) -> None:
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ConfigError(f"n_bins must be a positive integer, got {n_bins!r}.")
