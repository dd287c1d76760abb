"""Topic shares and purchase behaviour fused into one numeric vector per customer: what segments cluster on.

:class:`FeatureFuser` builds the vector over the *union* of customers who wrote something and customers
who ordered::

      [topic shares × text_weight]  ⊕  [standardized log1p(recency, frequency, monetary) × behavior_weight]

Average order value is left out of the vector (it stays in the profile): log AOV ≈ log M − log F, so
it would count the frequency/monetary contrast twice. On the sample shop, R, F, M alone gave
segments that match the planted value groups far better (ARI 0.92 vs 0.51 at k=6).

Customers with only one side
----------------------------
Nobody is dropped and nothing is NaN. The vector feeds a distance-based clustering, so its fill values
differ on purpose from those of the profile row, which is read by people (see
:mod:`topicprofile.segments.join`):

=====================  ======================================
customer               fused vector (:class:`FeatureFuser`)
=====================  ======================================
text, no orders        behavior part = "never bought":
                       frequency 0, monetary 0,
                       recency = the largest recency seen
                       at fit; ``has_orders = 0``
orders, no text        topic part = the base's mean topic
                       shares (learned at fit);
                       ``has_text = 0``
=====================  ======================================

Why these choices:

* *Mean topic shares* for customers without text: "no evidence, assume the average customer". It is the
  point that moves them least in the topic block (it minimises the expected squared distance to the
  base), keeps the row a distribution, and lets their purchase behaviour alone decide their segment.
  A zero vector instead would put them where no real customer is (every share vector sums to 1), at
  the same distance from every interest, and KMeans would tend to give them a segment of their own.
* *Never bought* = frequency and monetary 0 (true) and recency as large as the largest observed
  one: "as lapsed as anybody we know". A finite value keeps the standardization meaningful (infinite
  or invented huge recencies would dominate the distance); learning it at fit time keeps
  :meth:`FeatureFuser.transform` row-wise, so a new customer's vector never depends on the batch.

A customer who placed orders that were all cancelled or refunded is in the RFM table with frequency 0
(see :mod:`topicprofile.behavior`); they count as *having orders* (``has_orders = 1``) with their real
recency.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError as _SklearnNotFitted
from sklearn.utils.validation import check_is_fitted

from topicprofile import schema
from topicprofile.behavior import FREQUENCY, MONETARY, RECENCY_DAYS
from topicprofile.errors import ConfigError, DataValidationError, NotFittedError
from topicprofile.segments.columns import TOPIC_PREFIX, require_columns, topic_columns
from topicprofile.tag.table import CustomerTags

__all__ = [
    "BEHAVIOR_FEATURES",
    "HAS_ORDERS",
    "HAS_TEXT",
    "FeatureFuser",
    "shares_frame",
    "topic_shares",
]

logger = logging.getLogger(__name__)

#: RFM columns the fused vector uses (log1p, then standardized).
BEHAVIOR_FEATURES: tuple[str, ...] = (RECENCY_DAYS, FREQUENCY, MONETARY)
HAS_TEXT = "has_text"
HAS_ORDERS = "has_orders"
_FUSED_PREFIX = "log_"  # fused behavior columns: log_recency_days, ...


def topic_shares(profiles: pd.DataFrame) -> pd.DataFrame:
    """The ``topic_0 … topic_{K-1}`` columns of a profile table, indexed by ``customer_id``.

    Input: the output of :meth:`TopicProfiler.profile` (one row per customer who has text).
    Output: n_customers × K floats, index ``customer_id`` (str, sorted), ready for :class:`FeatureFuser`.
    """
    require_columns(profiles, (schema.CUSTOMER_ID,), "profiles")
    columns = topic_columns(profiles)
    if not columns:
        raise DataValidationError(
            "profiles: no topic_0, topic_1, ... columns (found: "
            f"{', '.join(map(str, profiles.columns))}); pass the table TopicProfiler.profile returns."
        )
    shares = profiles.set_index(profiles[schema.CUSTOMER_ID].astype(str))[columns].astype("float64")
    shares.index.name = schema.CUSTOMER_ID
    return shares.sort_index()


def shares_frame(tags: CustomerTags | None) -> pd.DataFrame | None:
    """The customers' topic shares (numbers) as the fuser's input: n_customers × K, columns
    ``topic_0 … topic_{K-1}``, index ``customer_id``; None without customers with text."""
    if tags is None or tags.shares is None:
        return None
    columns = [f"{TOPIC_PREFIX}{k}" for k in range(tags.shares.shape[1])]
    index = pd.Index(tags.customer_ids, name=schema.CUSTOMER_ID)
    return pd.DataFrame(tags.shares, index=index, columns=columns, copy=False)


class FeatureFuser(BaseEstimator):  # type: ignore[misc]
    """Fuse topic shares and RFM behaviour into one vector per customer.

    ``vector = [topic shares × text_weight] ⊕ [(log1p(rfm) - center) / scale × behavior_weight]``
    for the RFM columns :data:`BEHAVIOR_FEATURES`; ``center`` and ``scale`` (mean and standard
    deviation) are learned at fit over the customers *with* orders. Customers present on one side
    only get the fill values described in the module docstring; the output is never NaN.

    Scale of the blocks: the behaviour block has total variance 3 × ``behavior_weight²`` (three
    standardized features); the topic block's is the spread of the shares, about 0.3 × ``text_weight²``
    on the sample shop (8 topics). So with the default weights segments follow purchase behaviour
    first and interests second; ``text_weight=3`` makes both blocks weigh about the same.

    Parameters
    ----------
    text_weight : float, default 1.0
        Multiplies the topic block; 0 clusters on behaviour alone.
    behavior_weight : float, default 1.0
        Multiplies the standardized RFM block; 0 clusters on interests alone.

    Attributes
    ----------
    topic_columns_ : list of str
        Topic columns seen at fit (empty when fitted without text).
    topic_mean_ : pandas.Series
        Mean topic shares of the customers with text: the topic part of customers without text.
    center_, scale_ : pandas.Series
        Mean and standard deviation of log1p of each RFM feature over the customers with orders
        (a constant feature gets scale 1).
    never_bought_ : pandas.Series
        Raw RFM values used for customers without orders (recency = largest recency seen at fit).
    n_customers_ : int
        Customers seen at fit (union of both inputs).

    Examples
    --------
    >>> shares = pd.DataFrame({"topic_0": [0.9, 0.2], "topic_1": [0.1, 0.8]}, index=["a", "b"])
    >>> rfm = pd.DataFrame({"recency_days": [3, 40], "frequency": [5, 1], "monetary": [200.0, 20.0],
    ...     "avg_order_value": [40.0, 20.0]}, index=["a", "c"])
    >>> fused = FeatureFuser().fit(shares, rfm).transform(shares, rfm)
    >>> fused.index.tolist(), fused["has_text"].tolist(), fused["has_orders"].tolist()
    (['a', 'b', 'c'], [1, 1, 0], [1, 0, 1])
    """

    def __init__(self, *, text_weight: float = 1.0, behavior_weight: float = 1.0) -> None:
        self.text_weight = text_weight
        self.behavior_weight = behavior_weight

    def fit(self, topic_shares: pd.DataFrame | None, rfm: pd.DataFrame | None) -> FeatureFuser:
        """Learn the mean topic shares and the log1p standardization of the RFM features.

        Parameters
        ----------
        topic_shares : pandas.DataFrame or None
            n_customers × K topic shares (rows sum to 1), index ``customer_id``
            (see :func:`topic_shares`). None when there is no text: the vector is behaviour only.
        rfm : pandas.DataFrame or None
            RFM table, index ``customer_id``, with the columns :data:`BEHAVIOR_FEATURES`
            (as from :func:`~topicprofile.behavior.rfm_table`). None when there are no orders.

        Returns
        -------
        self

        Raises
        ------
        ConfigError
            A weight is negative or not a number, or both are 0.
        DataValidationError
            Both inputs are None or empty, a column is missing, a value is NaN or negative.
        """
        self._check_weights()
        shares = _checked_shares(topic_shares)
        behavior = _checked_rfm(rfm)
        if shares is None and behavior is None:
            raise DataValidationError(
                "nothing to fuse: give topic shares (text) and/or an RFM table (orders)."
            )
        self.topic_columns_ = [] if shares is None else list(shares.columns)
        self.topic_mean_ = pd.Series(dtype="float64") if shares is None else shares.mean(axis=0)
        if behavior is None:
            self.center_ = self.scale_ = self.never_bought_ = pd.Series(dtype="float64")
        else:
            logged = np.log1p(behavior)
            self.center_ = logged.mean(axis=0)
            scale = logged.std(axis=0, ddof=0)
            self.scale_ = scale.where(scale > 1e-12, 1.0)
            self.never_bought_ = pd.Series(0.0, index=list(BEHAVIOR_FEATURES))
            self.never_bought_[RECENCY_DAYS] = float(behavior[RECENCY_DAYS].max())
        self.n_customers_ = len(_union(shares, behavior))
        return self

    def transform(self, topic_shares: pd.DataFrame | None, rfm: pd.DataFrame | None) -> pd.DataFrame:
        """Fused vectors of every customer in either input.

        Parameters
        ----------
        topic_shares, rfm : pandas.DataFrame or None
            As for :meth:`fit` (same topic columns); may hold customers not seen at fit.

        Returns
        -------
        pandas.DataFrame
            Index ``customer_id``: the sorted union of both inputs' customers. Columns: the topic
            columns (× ``text_weight``), ``log_recency_days``, ``log_frequency``, ``log_monetary``
            (standardized, × ``behavior_weight``), then the 0/1 indicators
            ``has_text`` and ``has_orders``. Cluster on :meth:`get_feature_names_out` (the fused
            columns without the indicators). No NaN.
        """
        self._check_fitted()
        self._check_weights()
        shares = _checked_shares(topic_shares)
        behavior = _checked_rfm(rfm)
        if shares is not None and list(shares.columns) != self.topic_columns_:
            raise DataValidationError(
                f"topic shares: columns {list(shares.columns)} differ from those seen at fit "
                f"{self.topic_columns_}; use the same topic model for fit and transform."
            )
        index = _union(shares, behavior)
        parts = []
        if self.topic_columns_:
            text = pd.DataFrame(
                np.tile(self.topic_mean_.to_numpy(), (len(index), 1)),
                index=index,
                columns=self.topic_columns_,
            )
            if shares is not None:
                text.loc[shares.index] = shares.to_numpy()
            parts.append(text * float(self.text_weight))
        if len(self.center_):
            raw = pd.DataFrame(
                np.tile(self.never_bought_.to_numpy(), (len(index), 1)),
                index=index,
                columns=list(BEHAVIOR_FEATURES),
            )
            if behavior is not None:
                raw.loc[behavior.index] = behavior.to_numpy()
            z = (np.log1p(raw) - self.center_) / self.scale_ * float(self.behavior_weight)
            parts.append(z.add_prefix(_FUSED_PREFIX))
        fused = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=index)
        fused[HAS_TEXT] = index.isin([] if shares is None else shares.index).astype("int64")
        fused[HAS_ORDERS] = index.isin([] if behavior is None else behavior.index).astype("int64")
        logger.debug(
            "fused %d customers: %d without text, %d without orders",
            len(fused), int((fused[HAS_TEXT] == 0).sum()), int((fused[HAS_ORDERS] == 0).sum()),
        )  # fmt: skip
        return fused

    def fit_transform(self, topic_shares: pd.DataFrame | None, rfm: pd.DataFrame | None) -> pd.DataFrame:
        """``fit(topic_shares, rfm).transform(topic_shares, rfm)``."""
        return self.fit(topic_shares, rfm).transform(topic_shares, rfm)

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> np.ndarray:
        """Names of the fused columns to cluster on (topic columns, then ``log_*``; no indicators)."""
        self._check_fitted()
        behavior = [f"{_FUSED_PREFIX}{c}" for c in BEHAVIOR_FEATURES] if len(self.center_) else []
        return np.asarray(self.topic_columns_ + behavior, dtype=object)

    def to_state(self) -> dict[str, Any]:
        """The fitted fuser as plain data (JSON-ready; floats at full precision)."""
        self._check_fitted()
        return {
            "params": self.get_params(),
            "topic_columns": list(self.topic_columns_),
            "topic_mean": self.topic_mean_.tolist(),
            "center": self.center_.to_dict(),
            "scale": self.scale_.to_dict(),
            "never_bought": self.never_bought_.to_dict(),
            "n_customers": self.n_customers_,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> FeatureFuser:
        """Rebuild from :meth:`to_state`'s data; raises KeyError, TypeError or ValueError when it is not such data."""
        fuser = cls(**state["params"])
        fuser.topic_columns_ = list(state["topic_columns"])
        fuser.topic_mean_ = pd.Series(state["topic_mean"], index=fuser.topic_columns_, dtype="float64")
        for name in ("center", "scale", "never_bought"):
            setattr(fuser, f"{name}_", pd.Series(state[name], dtype="float64"))
        fuser.n_customers_ = int(state["n_customers"])
        return fuser

    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self, "center_")
        except _SklearnNotFitted as e:
            raise NotFittedError("this FeatureFuser is not fitted yet: call fit() first") from e

    def _check_weights(self) -> None:
        for name in ("text_weight", "behavior_weight"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float, np.number))
                or not (np.isfinite(value) and value >= 0)
            ):
                raise ConfigError(f"{name} must be a number >= 0, got {value!r}.")
        if self.text_weight == 0 and self.behavior_weight == 0:
            raise ConfigError(
                "text_weight and behavior_weight are both 0: nothing left to compare customers on."
            )


# -- helpers -------------------------------------------------------------------------------------
def _checked_shares(shares: pd.DataFrame | None) -> pd.DataFrame | None:
    if shares is None:
        return None
    if not isinstance(shares, pd.DataFrame):
        raise DataValidationError(f"topic shares must be a pandas DataFrame, got {type(shares).__name__}.")
    if shares.empty:
        return None
    values = shares.apply(pd.to_numeric, errors="coerce").astype("float64")
    bad = values.isna() | (values < 0)
    if bad.to_numpy().any():
        rows = ", ".join(map(str, values.index[bad.any(axis=1)][:5]))
        raise DataValidationError(
            f"topic shares: {int(bad.any(axis=1).sum())} customers have missing, non-numeric or negative "
            f"shares (customers {rows}); pass the topic_* columns of a profile table."
        )
    return _unique_index(values, "topic shares")


def _checked_rfm(rfm: pd.DataFrame | None) -> pd.DataFrame | None:
    if rfm is None:
        return None
    require_columns(rfm, BEHAVIOR_FEATURES, "RFM table")
    if rfm.empty:
        return None
    values = rfm.loc[:, list(BEHAVIOR_FEATURES)].apply(pd.to_numeric, errors="coerce").astype("float64")
    bad = values.isna() | (values < 0) | ~np.isfinite(values)
    if bad.to_numpy().any():
        rows = ", ".join(map(str, values.index[bad.any(axis=1)][:5]))
        raise DataValidationError(
            f"RFM table: {int(bad.any(axis=1).sum())} customers have missing or negative values "
            f"(customers {rows}); build the table with topicprofile.behavior.rfm_table."
        )
    return _unique_index(values, "RFM table")


def _unique_index(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    frame = frame.set_axis(frame.index.astype(str))
    if frame.index.has_duplicates:
        dup = ", ".join(map(str, frame.index[frame.index.duplicated()][:5]))
        raise DataValidationError(
            f"{what}: customer ids must be unique (repeated: {dup}); one row per customer."
        )
    frame.index.name = schema.CUSTOMER_ID
    return frame


def _union(shares: pd.DataFrame | None, behavior: pd.DataFrame | None) -> pd.Index:
    index = pd.Index([], dtype=object, name=schema.CUSTOMER_ID)
    for frame in (shares, behavior):
        if frame is not None:
            index = index.union(frame.index)
    return index.sort_values().rename(schema.CUSTOMER_ID)
