"""Purchase behaviour: the RFM table (a pure function) plus RFM scores and named segments.

The stages are separate so each can be checked or replaced on its own::

    rfm = rfm_table(orders)            # one row per customer: recency, frequency, monetary, ...
    scores = rfm_scores(rfm)           # + r_score, f_score, m_score in 1..5 (5 = best)
    segments = rfm_segments(scores)    # "Champions", "Lost", ...
    compute_rfm(orders)                # all three in one table

Order statuses
--------------
Statuses are compared after ``strip().lower()``; any status not listed below (including ``""``)
is an ordinary, counted sale.

* ``CANCELLED_STATUSES``: the line never happened. It adds no revenue and cannot make an order count.
* ``REFUNDED_STATUSES``: the money went back. The line adds 0 revenue, and an order whose every
  remaining line is refunded does not count as an order.

A customer none of whose orders count (all cancelled and/or refunded) is kept, with frequency 0 and
monetary 0; their recency, first and last order come from the orders they *placed* (any status), so
no numeric output is ever NaN.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import pandas as pd

from topicprofile.errors import ConfigError, DataValidationError
from topicprofile.schema import AMOUNT, CUSTOMER_ID, ORDER_ID, ROW, STATUS, TIMESTAMP

__all__ = [
    "CANCELLED_STATUSES",
    "DEFAULT_SEGMENT_MAP",
    "REFUNDED_STATUSES",
    "SEGMENT_NAMES",
    "compute_rfm",
    "rfm_scores",
    "rfm_segments",
    "rfm_table",
]

logger = logging.getLogger(__name__)

# Output columns of this stage (candidates for topicprofile.schema once the names settle).
RECENCY_DAYS = "recency_days"
FREQUENCY = "frequency"
MONETARY = "monetary"
AVG_ORDER_VALUE = "avg_order_value"
FIRST_ORDER = "first_order"
LAST_ORDER = "last_order"
TENURE_DAYS = "tenure_days"
RFM_COLUMNS = (RECENCY_DAYS, FREQUENCY, MONETARY, AVG_ORDER_VALUE, FIRST_ORDER, LAST_ORDER, TENURE_DAYS)
R_SCORE = "r_score"
F_SCORE = "f_score"
M_SCORE = "m_score"
RFM_SEGMENT = "rfm_segment"

CANCELLED_STATUSES: frozenset[str] = frozenset({"cancelled", "canceled", "void", "failed"})
REFUNDED_STATUSES: frozenset[str] = frozenset({"refunded", "returned"})

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

_REQUIRED = (CUSTOMER_ID, ORDER_ID, TIMESTAMP, AMOUNT)


def rfm_table(orders: pd.DataFrame, *, as_of: str | pd.Timestamp | None = None) -> pd.DataFrame:
    """Recency, frequency and monetary value of every customer in an orders table.

    Input: one row per order line, columns ``customer_id``, ``order_id``, ``timestamp``
    (datetime64, any unit; tz-aware stamps are read as local wall time), ``amount`` (float >= 0)
    and optionally ``status`` (missing means every line is a sale); other columns are ignored.
    Output: one row per customer, index ``customer_id`` (sorted), columns ``recency_days`` (int),
    ``frequency`` (int), ``monetary`` (float), ``avg_order_value`` (float), ``first_order`` and
    ``last_order`` (timestamps), ``tenure_days`` (int).

    An order is keyed by ``(customer_id, order_id)``, so the same order id under two customers is two
    orders here (the loaders reject such lines, and lines dated in the future or after ``as_of``,
    before they reach this pure function: see :func:`topicprofile.ingest.load.clean_orders`); its lines
    add up to one order, dated by its earliest line (any status). An order
    *counts* when at least one line is neither cancelled nor refunded (see the module docstring).
    ``frequency`` is the number of counted orders, ``monetary`` the sum of their non-refunded line
    amounts, ``avg_order_value = monetary / frequency`` (0.0 when frequency is 0). ``first_order`` and
    ``last_order`` are the dates of the first and last counted order, or of any placed order for a
    customer with none that count. ``recency_days`` and ``tenure_days`` are whole calendar days from
    ``last_order`` and ``first_order`` to ``as_of`` (time of day ignored).

    Parameters
    ----------
    orders : pandas.DataFrame
        Standardized orders table (see :func:`topicprofile.ingest.load.load_orders`).
    as_of : str or pandas.Timestamp, optional
        The day recency is measured from. Default: the latest order date in ``orders``.

    Returns
    -------
    pandas.DataFrame
        The RFM table described above; no NaN anywhere.

    Raises
    ------
    DataValidationError
        A required column is missing, the table is empty, a value is null or negative, or ``as_of``
        is before the last order.
    ConfigError
        ``as_of`` is not a date.

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a", "a", "b"], "order_id": ["1", "2", "3"],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-03"]),
    ...     "amount": [10.0, 5.0, 7.5], "status": ["", "", "refunded"]})
    >>> rfm = rfm_table(orders)
    >>> rfm["recency_days"].to_dict(), rfm["frequency"].to_dict(), rfm["monetary"].to_dict()
    ({'a': 0, 'b': 2}, {'a': 2, 'b': 0}, {'a': 15.0, 'b': 0.0})
    """
    lines = _validated_lines(orders)
    lines = lines.assign(_counted=~lines["_status"].isin(CANCELLED_STATUSES | REFUNDED_STATUSES))
    lines["_net"] = lines[AMOUNT].where(lines["_counted"], 0.0)
    per_order = lines.groupby([CUSTOMER_ID, ORDER_ID], sort=False, observed=True).agg(
        date=(TIMESTAMP, "min"), counted=("_counted", "any"), net=("_net", "sum")
    )
    by_customer = per_order.groupby(level=CUSTOMER_ID, sort=True, observed=True)
    placed = by_customer["date"].agg(["min", "max"])
    counted = per_order[per_order["counted"]].groupby(level=CUSTOMER_ID, observed=True)
    summary = counted.agg(
        frequency=("date", "size"), monetary=("net", "sum"), first=("date", "min"), last=("date", "max")
    ).reindex(placed.index)
    first = summary["first"].fillna(placed["min"])
    last = summary["last"].fillna(placed["max"])
    as_of_day = _resolve_as_of(as_of, placed["max"].max(), orders[TIMESTAMP].dtype)

    frequency = summary["frequency"].fillna(0).astype("int64")
    monetary = summary["monetary"].fillna(0.0).astype("float64")
    rfm = pd.DataFrame(
        {
            RECENCY_DAYS: (as_of_day - last.dt.normalize()).dt.days.astype("int64"),
            FREQUENCY: frequency,
            MONETARY: monetary,
            AVG_ORDER_VALUE: (monetary / frequency.where(frequency > 0, 1)).astype("float64"),
            FIRST_ORDER: first,
            LAST_ORDER: last,
            TENURE_DAYS: (as_of_day - first.dt.normalize()).dt.days.astype("int64"),
        },
        index=placed.index,
    )
    logger.debug(
        "RFM table: %d customers (%d without a counted order) from %d orders, as of %s",
        len(rfm), int((frequency == 0).sum()), len(per_order), as_of_day.date(),
    )  # fmt: skip
    return rfm


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
    _require_columns(rfm, (RECENCY_DAYS, FREQUENCY, MONETARY), "RFM table")
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
    _require_columns(scores, (R_SCORE, F_SCORE, M_SCORE), "RFM scores")
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


def _validated_lines(orders: pd.DataFrame) -> pd.DataFrame:
    """Required columns of ``orders`` checked, plus a normalized ``_status`` column."""
    if not isinstance(orders, pd.DataFrame):
        raise DataValidationError(f"orders must be a pandas DataFrame, got {type(orders).__name__}.")
    _require_columns(orders, _REQUIRED, "orders")
    if orders.empty:
        raise DataValidationError("orders: the table has no rows; RFM needs at least one order.")
    if not pd.api.types.is_datetime64_any_dtype(orders[TIMESTAMP]):
        raise DataValidationError(
            f"orders: column 'timestamp' must hold datetimes, not {orders[TIMESTAMP].dtype}; "
            "load the file with topicprofile.ingest.load or convert it with pandas.to_datetime."
        )
    if not pd.api.types.is_numeric_dtype(orders[AMOUNT]) or pd.api.types.is_bool_dtype(orders[AMOUNT]):
        raise DataValidationError(f"orders: column 'amount' must be numeric, not {orders[AMOUNT].dtype}.")
    for column in _REQUIRED:
        _reject(orders, orders[column].isna(), f"an empty {column!r}")
    amount = orders[AMOUNT].astype("float64")
    _reject(orders, ~np.isfinite(amount) | (amount < 0), "a negative or infinite 'amount'")

    timestamp = orders[TIMESTAMP]
    if getattr(timestamp.dt, "tz", None) is not None:
        timestamp = timestamp.dt.tz_localize(None)  # local wall time decides the calendar day
    if STATUS in orders.columns:
        status = orders[STATUS].fillna("").astype(str).str.strip().str.lower()
    else:
        status = pd.Series("", index=orders.index)
    return pd.DataFrame(
        {
            CUSTOMER_ID: orders[CUSTOMER_ID],
            ORDER_ID: orders[ORDER_ID],
            TIMESTAMP: timestamp,
            AMOUNT: amount,
            "_status": status,
        }
    )


def _resolve_as_of(as_of: str | pd.Timestamp | None, last_order: pd.Timestamp, dtype: object) -> pd.Timestamp:
    """The reference day (midnight, tz-naive), checked to be on or after the last order day."""
    last_day = last_order.normalize()
    if as_of is None:
        return last_day
    try:
        stamp = pd.Timestamp(as_of)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"as-of {as_of!r} is not a date; use YYYY-MM-DD.") from e
    if pd.isna(stamp):
        raise ConfigError(f"as-of {as_of!r} is not a date; use YYYY-MM-DD.")
    data_tz = getattr(dtype, "tz", None)
    if stamp.tzinfo is not None:
        stamp = (stamp.tz_convert(data_tz) if data_tz is not None else stamp).tz_localize(None)
    as_of_day = stamp.normalize()
    if as_of_day < last_day:
        raise DataValidationError(
            f"as-of {as_of_day.date()} is before the last order ({last_day.date()}); choose a later --as-of."
        )
    return as_of_day


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


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns)) or "no columns"
        raise DataValidationError(
            f"{what}: required column {', '.join(map(repr, missing))} is missing (found: {found})."
        )


def _reject(orders: pd.DataFrame, bad: pd.Series, problem: str) -> None:
    """Raise naming the first offending rows (their ``row`` numbers when the loader kept them)."""
    if not bad.any():
        return
    where = orders[ROW] if ROW in orders.columns else orders.index.to_series(index=orders.index)
    examples = ", ".join(map(str, where[bad.to_numpy()].iloc[:5]))
    raise DataValidationError(
        f"orders: {int(bad.sum())} rows have {problem} (rows {examples}); clean them or load the file "
        "with topicprofile.ingest.load, which rejects such rows."
    )


def _check_n_bins(n_bins: int) -> None:
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ConfigError(f"n_bins must be a positive integer, got {n_bins!r}.")
