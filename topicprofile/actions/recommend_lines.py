"""The recommender's input: order lines with an item, and the customer x item matrices made from them."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp

from topicprofile.actions.recommend_rank import ITEM
from topicprofile.behavior import CANCELLED_STATUSES
from topicprofile.errors import DataValidationError
from topicprofile.ingest.load import clean_orders
from topicprofile.schema import CUSTOMER_ID, ORDER_ID, ROW, STATUS, TIMESTAMP

__all__ = ["check_lines", "item_lines", "pairs", "sample_customers", "shares_table", "window"]

ITEM_COLUMNS = ("product", "category")


def item_lines(
    raw: pd.DataFrame, *, columns: str | Mapping[str, str] | None = None, item_column: str | None = None
) -> pd.DataFrame:
    """Standardized order lines (:func:`topicprofile.ingest.load.clean_orders`) plus an ``item`` column.

    Input: an orders table as read from the file (any column names; ``columns`` maps them). The item
    is ``item_column``, or ``product`` / ``category``, whichever exists first. Output: the loader's
    columns plus ``item`` (str); cancelled lines and lines without an item are dropped.
    """
    raw = raw.reset_index(drop=True)
    name = item_column or next((c for c in ITEM_COLUMNS if c in raw.columns), None)
    if name is None or name not in raw.columns:
        raise DataValidationError(
            f"orders: no item column ({item_column or 'product or category'}) to recommend from (found: "
            f"{', '.join(map(str, raw.columns))}); add one or name it with --item-column."
        )
    lines = clean_orders(raw, columns=columns, source="orders").data
    lines[ITEM] = raw[name].iloc[lines[ROW].to_numpy() - 1].fillna("").astype(str).str.strip().to_numpy()
    status = lines[STATUS].fillna("").astype(str).str.strip().str.lower()
    return lines[(lines[ITEM] != "") & ~status.isin(CANCELLED_STATUSES)].reset_index(drop=True)


def sample_customers(
    lines: pd.DataFrame, keep: np.ndarray, n_max: int, rng: np.random.Generator
) -> pd.DataFrame:
    """The lines of at most ``n_max`` customers: all of ``keep`` plus a seeded sample of the others.

    The weight choice only compares blends; components fitted on a large sample rank them as
    the full data would, at a bounded cost (the final fit uses every customer).
    """
    customers = pd.Index(lines[CUSTOMER_ID].unique())
    if len(customers) <= n_max:
        return lines
    others = customers[~customers.isin(keep)].sort_values()  # hashed: np.setdiff1d on strings took 10 s
    chosen = others[rng.choice(len(others), max(n_max - len(keep), 0), replace=False)]
    return lines[lines[CUSTOMER_ID].isin(chosen.append(pd.Index(keep)))]


def check_lines(lines: pd.DataFrame, *, allow_empty: bool = False) -> None:
    if not isinstance(lines, pd.DataFrame):
        raise DataValidationError(f"orders must be a pandas DataFrame, got {type(lines).__name__}.")
    missing = [c for c in (CUSTOMER_ID, ORDER_ID, TIMESTAMP, ITEM) if c not in lines.columns]
    if missing:
        raise DataValidationError(
            f"orders: column(s) {', '.join(map(repr, missing))} missing; make the table with item_lines."
        )
    if lines.empty and not allow_empty:
        raise DataValidationError("orders: no order lines with an item; nothing to learn from.")


def shares_table(topic_shares: pd.DataFrame) -> pd.DataFrame:
    table = topic_shares.copy()
    table.index = table.index.astype(str)
    return table.astype("float64")


def window(lines: pd.DataFrame, as_of: pd.Timestamp, exclusion_days: int | None) -> pd.DataFrame:
    """Lines of the exclusion window: the ``exclusion_days`` calendar days ending with ``as_of``'s day."""
    end = as_of.normalize() + pd.Timedelta(days=1)
    stamps = lines[TIMESTAMP]
    if exclusion_days is None:
        return lines[stamps < end]
    return lines[(stamps >= end - pd.Timedelta(days=exclusion_days)) & (stamps < end)]


def pairs(lines: pd.DataFrame, ids: pd.Index, items: pd.Index) -> sp.csr_matrix:
    """Binary ``len(ids) x len(items)`` matrix: who bought what in ``lines`` (others ignored)."""
    rows = ids.get_indexer(lines[CUSTOMER_ID])
    cols = items.get_indexer(lines[ITEM])
    ok = (rows >= 0) & (cols >= 0)
    matrix = sp.csr_matrix((np.ones(ok.sum()), (rows[ok], cols[ok])), shape=(len(ids), len(items)))
    matrix.data[:] = 1.0
    return matrix
