"""Campaign A/B evaluation: a reproducible control group, then treated vs control after the send.

::

    groups = assign_holdout(audience_ids, fraction=0.1, strata=segments, random_state=7)
    ... send the campaign to groups[groups.group == "treated"] ...
    report = evaluate_campaign(treated_ids, control_ids, orders_after, since="2025-03-01")
    print(report["verdict"])

Statistics (two metrics per customer, both tested):

* **conversion** (bought at least once since ``since``): difference of proportions with the Newcombe
  hybrid score interval (Wilson intervals of each arm combined; Newcombe 1998, method 10); p-value from
  the two-proportion z-test, or Fisher's exact test when an expected cell count is below 5.
* **revenue per customer** (non-buyers count as 0): Welch's t-test and its interval for the difference
  of means; optionally a seeded percentile bootstrap interval too (revenue is skewed).

Two metrics give two chances of a false alarm, so the verdict uses Holm-adjusted p-values (family-wise
error at ``alpha``). The verdict says plainly when neither difference is significant.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from topicprofile.behavior import CANCELLED_STATUSES, REFUNDED_STATUSES
from topicprofile.errors import ConfigError, DataValidationError
from topicprofile.ingest.dates import parse_date
from topicprofile.schema import AMOUNT, CUSTOMER_ID, ORDER_ID, STATUS, TIMESTAMP

__all__ = ["assign_holdout", "campaign_outcomes", "compare_arms", "evaluate_campaign"]

GROUP = "group"
TREATED = "treated"
CONTROL = "control"


def assign_holdout(
    customer_ids: Iterable[str],
    *,
    fraction: float,
    strata: Mapping[str, Any] | pd.Series | None = None,
    random_state: int,
) -> pd.DataFrame:
    """Split customers into ``treated`` and a random ``control`` group, stratum by stratum.

    Input: customer ids (duplicates ignored; their order does not matter) and optionally a stratum per
    id (e.g. the segment; ids without one form their own stratum). Output: one row per customer,
    index ``customer_id`` (sorted), columns ``group`` (``"treated"`` / ``"control"``) and ``stratum``.
    In each stratum of ``n`` customers exactly ``round(fraction * n)`` go to control, so every segment
    is held out at the same rate. The same ids, strata and seed always give the same split, and a
    customer's draw does not depend on which other customers are in the list's order.

    Raises
    ------
    ConfigError
        ``fraction`` outside (0, 1).
    DataValidationError
        No customer ids.
    """
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"holdout fraction must be between 0 and 1 (e.g. 0.1 for 10%), got {fraction}.")
    ids = pd.Index(pd.unique(pd.Series(list(customer_ids), dtype="str")), name=CUSTOMER_ID).sort_values()
    if len(ids) == 0:
        raise DataValidationError("holdout: no customer ids given.")
    if strata is None:
        stratum = pd.Series("all", index=ids)
    else:
        stratum = pd.Series(strata).rename(index=str).reindex(ids).fillna("(none)").astype(str)
    key = np.random.default_rng(random_state).random(len(ids))  # one draw per sorted id
    frame = pd.DataFrame({"stratum": stratum.to_numpy(), "_key": key}, index=ids)
    rank = frame.groupby("stratum")["_key"].rank(method="first").to_numpy()
    size = frame.groupby("stratum")["_key"].transform("size").to_numpy()
    frame[GROUP] = np.where(rank <= np.round(fraction * size), CONTROL, TREATED)
    return frame[[GROUP, "stratum"]]


def campaign_outcomes(
    customer_ids: Iterable[str],
    orders: pd.DataFrame,
    *,
    since: str | pd.Timestamp | None = None,
    until: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Per customer: ``converted`` (bool) and ``revenue`` (float) from orders in ``[since, until)``.

    Input: ids and standardized order lines (``customer_id``, ``order_id``, ``timestamp``, ``amount``,
    optional ``status``). Cancelled lines are ignored; refunded lines add no revenue and an order
    whose lines are all refunded does not convert. Output index ``customer_id`` in the given order.
    """
    missing = [c for c in (CUSTOMER_ID, TIMESTAMP, AMOUNT) if c not in orders.columns]
    if missing:
        raise DataValidationError(
            f"orders: required column(s) {', '.join(map(repr, missing))} missing; load them with "
            "topicprofile.ingest.load.load_orders."
        )
    ids = pd.Index(pd.Series(list(customer_ids), dtype="str"), name=CUSTOMER_ID)
    stamps = orders[TIMESTAMP]
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_localize(None)
    keep = pd.Series(True, index=orders.index)
    if since is not None:
        keep &= stamps >= _date(since, "since")
    if until is not None:
        keep &= stamps < _date(until, "until")
    status = (
        orders[STATUS].fillna("").astype(str).str.strip().str.lower()
        if STATUS in orders.columns
        else pd.Series("", index=orders.index)
    )
    keep &= ~status.isin(CANCELLED_STATUSES)
    counted = ~status.isin(REFUNDED_STATUSES)
    lines = pd.DataFrame({
        CUSTOMER_ID: orders[CUSTOMER_ID].astype(str),
        "revenue": np.where(counted, orders[AMOUNT].astype("float64"), 0.0),
        "counted": counted,
    })[keep]  # fmt: skip
    per = lines.groupby(CUSTOMER_ID).agg(revenue=("revenue", "sum"), converted=("counted", "any"))
    per = per.reindex(ids).fillna({"revenue": 0.0, "converted": False})
    return pd.DataFrame({"converted": per["converted"].astype(bool), "revenue": per["revenue"].astype("float64")})


def _date(value: str | pd.Timestamp, what: str) -> pd.Timestamp:
    stamp = parse_date(value, what=what)
    return stamp.tz_localize(None) if stamp.tzinfo is not None else stamp


def _wilson(successes: int, n: int, z: float) -> tuple[float, float]:
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def _conversion(k_t: int, n_t: int, k_c: int, n_c: int, alpha: float) -> dict[str, Any]:
    z = stats.norm.ppf(1 - alpha / 2)
    p_t, p_c = k_t / n_t, k_c / n_c
    (l_t, u_t), (l_c, u_c) = _wilson(k_t, n_t, z), _wilson(k_c, n_c, z)
    diff = p_t - p_c
    low = diff - math.sqrt((p_t - l_t) ** 2 + (u_c - p_c) ** 2)
    high = diff + math.sqrt((u_t - p_t) ** 2 + (p_c - l_c) ** 2)
    table = np.array([[k_t, n_t - k_t], [k_c, n_c - k_c]])
    pooled = (k_t + k_c) / (n_t + n_c)
    expected = np.outer([n_t, n_c], [pooled, 1 - pooled])
    if expected.min() < 5:
        test, p_value = "Fisher exact", float(stats.fisher_exact(table).pvalue)
    else:
        se = math.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))
        test, p_value = "two-proportion z", float(2 * stats.norm.sf(abs(diff) / se))
    return {"treated": p_t, "control": p_c, "difference": diff, "ci": [low, high], "p_value": p_value, "test": test}


def _revenue(
    rev_t: np.ndarray, rev_c: np.ndarray, alpha: float, n_boot: int, random_state: int
) -> dict[str, Any]:
    diff = float(rev_t.mean() - rev_c.mean())
    if rev_t.std() == 0 and rev_c.std() == 0:  # e.g. nobody bought in either arm
        p_value, ci = (1.0 if diff == 0 else 0.0), [diff, diff]
    else:
        welch = stats.ttest_ind(rev_t, rev_c, equal_var=False)
        interval = welch.confidence_interval(confidence_level=1 - alpha)
        p_value, ci = float(welch.pvalue), [float(interval.low), float(interval.high)]
    out = {"treated": float(rev_t.mean()), "control": float(rev_c.mean()), "difference": diff,
           "ci": ci, "p_value": p_value, "test": "Welch t"}  # fmt: skip
    if n_boot:
        rng = np.random.default_rng(random_state)
        diffs = np.empty(n_boot)
        block = max(1, 2_000_000 // max(len(rev_t) + len(rev_c), 1))  # bounded memory per chunk
        for start in range(0, n_boot, block):
            b = min(block, n_boot - start)
            means_t = rev_t[rng.integers(0, len(rev_t), (b, len(rev_t)))].mean(axis=1)
            means_c = rev_c[rng.integers(0, len(rev_c), (b, len(rev_c)))].mean(axis=1)
            diffs[start : start + b] = means_t - means_c
        out["bootstrap_ci"] = [float(np.quantile(diffs, alpha / 2)), float(np.quantile(diffs, 1 - alpha / 2))]
    return out


def compare_arms(
    treated: pd.DataFrame,
    control: pd.DataFrame,
    *,
    alpha: float = 0.05,
    n_boot: int = 0,
    random_state: int = 0,
) -> dict[str, Any]:
    """Statistics of two arms of :func:`campaign_outcomes` tables (see the module docstring)."""
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must be between 0 and 1, got {alpha}.")
    n_t, n_c = len(treated), len(control)
    if n_t == 0 or n_c == 0:
        raise DataValidationError(f"campaign: an arm is empty (treated {n_t}, control {n_c} customers).")
    k_t, k_c = int(treated["converted"].sum()), int(control["converted"].sum())
    conversion = _conversion(k_t, n_t, k_c, n_c, alpha)
    revenue = _revenue(
        treated["revenue"].to_numpy(float), control["revenue"].to_numpy(float), alpha, n_boot, random_state
    )
    raw = np.array([conversion["p_value"], revenue["p_value"]])
    order = np.argsort(raw)  # Holm: smallest p times 2, next times 1, kept monotone
    adjusted = np.empty(2)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(raw[order] * np.array([2, 1])))
    for metric, p_adj in zip((conversion, revenue), adjusted):
        metric["p_adjusted"] = float(p_adj)
        metric["significant"] = bool(p_adj < alpha)
    result = {
        "alpha": alpha,
        "arms": {"treated": {"customers": n_t, "converted": k_t, "revenue": float(treated["revenue"].sum())},
                 "control": {"customers": n_c, "converted": k_c, "revenue": float(control["revenue"].sum())}},
        "conversion": conversion,
        "revenue_per_customer": revenue,
    }  # fmt: skip
    result["verdict"] = _verdict(result)
    return result


def _verdict(result: Mapping[str, Any]) -> str:
    conv, rev, alpha = result["conversion"], result["revenue_per_customer"], result["alpha"]
    level = f"{1 - alpha:.0%}"
    lines = [
        (
            f"Conversion {conv['treated']:.1%} treated vs {conv['control']:.1%} control: "
            f"{conv['difference'] * 100:+.1f} points ({level} CI {conv['ci'][0] * 100:+.1f} to "
            f"{conv['ci'][1] * 100:+.1f}; p={conv['p_value']:.3g}, {conv['test']})."
        ),
        (
            f"Revenue per customer {rev['treated']:.2f} vs {rev['control']:.2f}: {rev['difference']:+.2f} "
            f"({level} CI {rev['ci'][0]:+.2f} to {rev['ci'][1]:+.2f}; p={rev['p_value']:.3g}, Welch t)."
        ),
    ]
    found = [(name, m) for name, m in (("conversion", conv), ("revenue per customer", rev)) if m["significant"]]
    if not found:
        lines.append(
            "Not significant: neither difference can be told apart from chance at this sample size "
            f"(Holm-adjusted, alpha {alpha:g}); do not credit the campaign with an effect."
        )
    for name, m in found:
        direction = "raised" if m["difference"] > 0 else "lowered"
        lines.append(f"Significant: the campaign {direction} {name} (Holm-adjusted p={m['p_adjusted']:.3g}).")
    return " ".join(lines)


def evaluate_campaign(
    treated_ids: Iterable[str],
    control_ids: Iterable[str],
    orders: pd.DataFrame,
    *,
    since: str | pd.Timestamp | None = None,
    until: str | pd.Timestamp | None = None,
    alpha: float = 0.05,
    n_boot: int = 2000,
    random_state: int = 0,
) -> dict[str, Any]:
    """Treated vs control after a campaign: conversion and revenue per customer, CIs, p-values, verdict.

    Parameters
    ----------
    treated_ids, control_ids : iterables of str
        Customers who got the campaign and the held-out ones (no id in both).
    orders : pandas.DataFrame
        Standardized order lines (see :func:`campaign_outcomes`).
    since, until : date, optional
        Orders on or after ``since`` (the send date) and before ``until`` count.
    alpha : float, default 0.05
        Error rate: ``1 - alpha`` intervals; significance on Holm-adjusted p-values.
    n_boot : int, default 2000
        Bootstrap resamples for a second revenue interval (0 = none); seeded by ``random_state``.

    Returns
    -------
    dict
        ``arms`` (counts and totals), ``conversion`` and ``revenue_per_customer`` (each ``treated``,
        ``control``, ``difference``, ``ci``, ``p_value``, ``p_adjusted``, ``significant``, ``test``),
        ``verdict`` (plain-language sentences), ``since``, ``until``.
    """
    treated = pd.unique(pd.Series(list(treated_ids), dtype="str"))
    control = pd.unique(pd.Series(list(control_ids), dtype="str"))
    overlap = np.intersect1d(treated, control)
    if len(overlap):
        raise DataValidationError(
            f"campaign: {len(overlap)} customer(s) are in both groups (e.g. {overlap[0]!r}); "
            "each customer must be treated or control, not both."
        )
    if ORDER_ID not in orders.columns:
        raise DataValidationError("orders: required column 'order_id' missing; load them with load_orders.")
    outcomes = campaign_outcomes(np.concatenate([treated, control]), orders, since=since, until=until)
    result = compare_arms(
        outcomes.iloc[: len(treated)], outcomes.iloc[len(treated) :],
        alpha=alpha, n_boot=n_boot, random_state=random_state,
    )  # fmt: skip
    result["since"] = None if since is None else str(_date(since, "since").date())
    result["until"] = None if until is None else str(_date(until, "until").date())
    return result
