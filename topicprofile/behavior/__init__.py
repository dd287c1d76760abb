"""Purchase behaviour: the RFM table (a pure function) plus RFM scores and named segments.

The stages are separate so each can be checked or replaced on its own::

    rfm = rfm_table(orders)            # one row per customer: recency, frequency, monetary, ...
    scores = rfm_scores(rfm)           # + r_score, f_score, m_score in 1..5 (5 = best)
    segments = rfm_segments(scores)    # "Champions", "Lost", ...
    compute_rfm(orders)                # all three in one table

* :mod:`~topicprofile.behavior.table`: ``rfm_table``, the order statuses that do not count, the RFM columns.
* :mod:`~topicprofile.behavior.scores`: ``rfm_scores``, ``rfm_segments`` (the R x FM grid), ``compute_rfm``.
"""

from topicprofile.behavior.scores import (
    DEFAULT_SEGMENT_MAP,
    F_SCORE,
    M_SCORE,
    R_SCORE,
    RFM_SEGMENT,
    SEGMENT_NAMES,
    compute_rfm,
    rfm_scores,
    rfm_segments,
)
from topicprofile.behavior.table import (
    AVG_ORDER_VALUE,
    CANCELLED_STATUSES,
    FIRST_ORDER,
    FREQUENCY,
    LAST_ORDER,
    MONETARY,
    RECENCY_DAYS,
    REFUNDED_STATUSES,
    RFM_COLUMNS,
    TENURE_DAYS,
    rfm_table,
)

__all__ = [
    "AVG_ORDER_VALUE",
    "CANCELLED_STATUSES",
    "DEFAULT_SEGMENT_MAP",
    "FIRST_ORDER",
    "FREQUENCY",
    "F_SCORE",
    "LAST_ORDER",
    "MONETARY",
    "M_SCORE",
    "RECENCY_DAYS",
    "REFUNDED_STATUSES",
    "RFM_COLUMNS",
    "RFM_SEGMENT",
    "R_SCORE",
    "SEGMENT_NAMES",
    "TENURE_DAYS",
    "compute_rfm",
    "rfm_scores",
    "rfm_segments",
    "rfm_table",
]
