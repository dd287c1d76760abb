"""The RFM table: orders in, one row per customer out (recency, frequency, monetary...), a pure function.

Scoring the table and naming segments is :mod:`topicprofile.behavior.scores`.

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

import numpy as np
import pandas as pd

from topicprofile.errors import DataValidationError
from topicprofile.ingest.dates import parse_date
from topicprofile.schema import AMOUNT, CUSTOMER_ID, ORDER_ID, ROW, STATUS, TIMESTAMP

__all__ = [
    "AVG_ORDER_VALUE",
    "CANCELLED_STATUSES",
    "FIRST_ORDER",
    "FREQUENCY",
    "LAST_ORDER",
    "MONETARY",
    "RECENCY_DAYS",
    "REFUNDED_STATUSES",
    "RFM_COLUMNS",
    "TENURE_DAYS",
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

CANCELLED_STATUSES: frozenset[str] = frozenset({"cancelled", "canceled", "void", "failed"})
REFUNDED_STATUSES: frozenset[str] = frozenset({"refunded", "returned"})

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


def _validated_lines(orders: pd.DataFrame) -> pd.DataFrame:
    """Required columns of ``orders`` checked, plus a normalized ``_status`` column."""
    if not isinstance(orders, pd.DataFrame):
        raise DataValidationError(f"orders must be a pandas DataFrame, got {type(orders).__name__}.")
    require_columns(orders, _REQUIRED, "orders")
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
    stamp = parse_date(as_of, what="as-of")
    data_tz = getattr(dtype, "tz", None)
    if stamp.tzinfo is not None:
        stamp = (stamp.tz_convert(data_tz) if data_tz is not None else stamp).tz_localize(None)
    as_of_day = stamp.normalize()
    if as_of_day < last_day:
        raise DataValidationError(
            f"as-of {as_of_day.date()} is before the last order ({last_day.date()}); choose a later --as-of."
        )
    return as_of_day


def require_columns(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    """``frame`` must hold ``columns``; else one DataValidationError naming what is missing and what was found."""
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
