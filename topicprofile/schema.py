"""Column names of the standardized tables, defined once.

Loaders rename the user's columns to these; every later stage reads only these names.
"""

from __future__ import annotations

# Shared by every input
CUSTOMER_ID = "customer_id"
TEXT = "text"
TIMESTAMP = "timestamp"
ROW = "row"  # 1-based data row number in the source file (header excluded)
SOURCE = "source"  # file name (or "<DataFrame>") the row came from
MONTH = "month"  # a document's calendar month "YYYY-MM" ("" undated): what the monthly interest shares use
DATE = "date"  # a document's day "YYYY-MM-DD" ("" undated): kept with its text, for retention (prune)

# Reviews
RATING = "rating"
PRODUCT = "product"

# Browsing
URL = "url"
TITLE = "title"
QUERY = "query"

# Orders
ORDER_ID = "order_id"
AMOUNT = "amount"
STATUS = "status"

# Document channels (a customer's text comes from reviews and/or browsing)
CHANNEL = "channel"
REVIEWS = "reviews"
BROWSING = "browsing"

# Rejects file
REJECT_COLUMNS = ("source", "row", "column", "reason", "value")

# Output contract of `tag` / `TopicProfiler.profile` (issue #2; more columns may follow)
TOP_INTEREST = "top_interest"
INTEREST_TAGS = "interest_tags"
INTEREST_SCORES = "interest_scores"
N_DOCUMENTS = "n_documents"
KEYWORDS = "keywords"
PROFILE_COLUMNS = (CUSTOMER_ID, TOP_INTEREST, INTEREST_TAGS, INTEREST_SCORES, N_DOCUMENTS, KEYWORDS)

# Added by orders (issue #3): RFM value and segment columns
SEGMENT_ID = "segment_id"
SEGMENT_NAME = "segment_name"
BEHAVIOR_PROFILE_COLUMNS = (
    "recency_days",
    "frequency",
    "monetary",
    "avg_order_value",
    "r_score",
    "f_score",
    "m_score",
    "rfm_segment",
    SEGMENT_ID,
    SEGMENT_NAME,
)
