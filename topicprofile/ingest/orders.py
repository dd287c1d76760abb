"""Validate and standardize order lines into a `LoadResult` (one rejects row per unusable line).

Orders are only standardized here: line items are not aggregated and cancelled orders are kept
(the RFM stage decides). A shared order id across customers and implausible amount outliers are
reported.
"""

from __future__ import annotations

import logging
import numbers
from collections.abc import Mapping

import pandas as pd

from topicprofile.errors import ConfigError
from topicprofile.ingest.clean import IN_MEMORY_SOURCE, LoadResult, TableInput
from topicprofile.ingest.columns import ORDERS_SPEC
from topicprofile.ingest.dates import as_day, latest_today
from topicprofile.ingest.rejects import ChunkState
from topicprofile.ingest.values import parse_amounts, to_text
from topicprofile.schema import AMOUNT, CUSTOMER_ID, ORDER_ID, STATUS, TIMESTAMP

__all__ = ["clean_orders", "OUTLIER_RATIO"]

logger = logging.getLogger(__name__)


def clean_orders(
    df: pd.DataFrame,
    *,
    columns: str | Mapping[str, str] | None = None,
    source: str = IN_MEMORY_SOURCE,
    chunk: ChunkState | None = None,
    date_format: str | None = None,
    max_amount: float | None = None,
    as_of: str | pd.Timestamp | None = None,
    today: str | pd.Timestamp | None = None,
) -> LoadResult:
    """Standardize an orders table (one row per order or per line item).

    Output columns: ``customer_id``, ``order_id`` (str), ``timestamp`` (datetime64[ns],
    never NaT), ``amount`` (float, >= 0; currency symbols and thousands separators
    removed), ``status`` (str, lowercased, ``""`` when absent), ``row``, ``source``. Line
    items are not aggregated and cancelled orders are kept.

    Orders that would skew RFM are rejected: a line dated after ``today`` (one future date
    would move the as-of day and every customer's recency) or after ``as_of``, a line above
    ``max_amount``, and every line of an order id found under more than one customer (which
    customer placed it cannot be told; reason ``order id also under customer X``). Amounts
    more than :data:`OUTLIER_RATIO` times the median positive amount are kept but reported in
    one warning with their count, so that a typo such as 1e9 is seen.

    Parameters
    ----------
    df, columns, source, chunk, date_format
        As for `clean_reviews`. With ``chunk`` the order id and outlier checks see one chunk.
    max_amount : float, optional
        Lines with a larger amount are rejected (``--max-amount``).
    as_of : date, optional
        Lines dated after this day are rejected (``--as-of``).
    today : date, optional
        Lines dated after this day are rejected. Default: the current date where it is latest
        on Earth (UTC+14), so that no order placed today anywhere is refused.

    Reject reasons: missing customer id, missing order id, missing timestamp, unparseable
    timestamp, non-numeric amount (also empty), negative amount, amount above --max-amount,
    dated after today / after --as-of, duplicate of row N (the whole row identical, extra
    columns such as product or quantity included), order id also under customer X.

    Raises
    ------
    DataValidationError
        As for `clean_reviews`, or the numeric dates are ambiguous (see ``date_format``).
    ConfigError
        ``max_amount`` is not a positive number, ``as_of`` or ``today`` not a date, or
        ``date_format`` not a strftime format.
    """
    if max_amount is not None and (
        isinstance(max_amount, bool) or not isinstance(max_amount, numbers.Real) or not max_amount > 0
    ):
        raise ConfigError(f"max amount must be a positive number, got {max_amount!r}.")
    last_day = as_day(today, what="today") if today is not None else latest_today()
    as_of_day = as_day(as_of, what="as-of") if as_of is not None else None
    inp = TableInput(df, ORDERS_SPEC, columns, source, chunk, date_format)
    customer_ids, order_ids = inp.text(CUSTOMER_ID), inp.text(ORDER_ID)
    inp.reject(customer_ids == "", CUSTOMER_ID, "missing customer id")
    inp.reject(order_ids == "", ORDER_ID, "missing order id")
    timestamps = inp.timestamps(reject_empty=True)
    amounts = parse_amounts(inp.raw(AMOUNT))
    inp.reject(amounts.isna(), AMOUNT, "non-numeric amount")
    inp.reject(amounts < 0, AMOUNT, "negative amount")
    if max_amount is not None:
        inp.reject(amounts > max_amount, AMOUNT, f"amount above --max-amount {max_amount:g}")
    days = timestamps.dt.normalize()
    inp.reject(days > last_day, TIMESTAMP, f"dated after today ({last_day.date()})")
    if as_of_day is not None:
        inp.reject(days > as_of_day, TIMESTAMP, f"dated after --as-of {as_of_day.date()}")
    data = pd.DataFrame({
        CUSTOMER_ID: customer_ids, ORDER_ID: order_ids, TIMESTAMP: timestamps, AMOUNT: amounts,
        STATUS: inp.text(STATUS).str.lower(),
    })  # fmt: skip
    extras = inp.extras().apply(to_text).add_prefix("extra:")
    inp.reject_duplicates(pd.concat([data, extras], axis=1), ORDER_ID)
    _reject_shared_order_ids(inp, customer_ids, order_ids)
    note = _outlier_note(amounts[inp.rejector.ok], first_row=1 if chunk is None else chunk.first_row)
    return inp.finish(data, [note] if note else None)


#: An amount more than this many times the median positive amount is reported as a likely typo.
#: A ratio to the median, not median + k * MAD: order amounts are skewed, and on a shop with a
#: median of 40 and a MAD of 20 a MAD rule would flag every 300 order; 100x flags 4,000+.
OUTLIER_RATIO = 100


def _reject_shared_order_ids(inp: TableInput, customer_ids: pd.Series, order_ids: pd.Series) -> None:
    """Reject every line of an order id that appears under more than one customer."""
    known = (customer_ids != "") & (order_ids != "")
    pairs = pd.DataFrame({"o": order_ids[known], "c": customer_ids[known]}).drop_duplicates()
    owners = pairs.groupby("o", sort=False)["c"].agg(list)
    shared = owners[owners.str.len() > 1]
    if shared.empty:
        return
    hit = known & order_ids.isin(shared.index)
    others = order_ids[hit].map(shared)
    reasons = pd.Series("", index=order_ids.index, dtype=object)
    reasons[hit] = [
        "order id also under customer " + ", ".join(c for c in owners_[:4] if c != own)
        + (f" (+{len(owners_) - 4} more)" if len(owners_) > 4 else "")
        for own, owners_ in zip(customer_ids[hit], others)
    ]
    inp.rejector.flag(hit, inp.label(ORDER_ID), reasons, inp.raw(ORDER_ID), kind="order id under several customers")


def _outlier_note(amounts: pd.Series, *, first_row: int) -> str | None:
    """One line on the kept amounts above ``OUTLIER_RATIO`` x the median positive amount, or None."""
    positive = amounts[amounts > 0]
    if positive.empty:
        return None
    median = float(positive.median())
    high = amounts > OUTLIER_RATIO * median
    if not high.any():
        return None
    n, largest = int(high.sum()), amounts[high].idxmax()
    return (
        f"{n} amount{'s are' if n != 1 else ' is'} more than {OUTLIER_RATIO}x the median amount {median:,.2f} "
        f"(largest {amounts[largest]:,.2f} in row {largest + first_row}); kept - check "
        f"{'them' if n != 1 else 'it'}, or reject such lines with --max-amount"
    )
