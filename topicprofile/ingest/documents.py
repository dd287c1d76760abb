"""Cleaned reviews and browsing events -> one table of text documents per customer and channel."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pandas as pd

from topicprofile import schema
from topicprofile.errors import DataValidationError
from topicprofile.ingest.load import LoadResult, clean_browsing, clean_reviews
from topicprofile.ingest.values import url_to_words
from topicprofile.privacy.names import NameScrubber
from topicprofile.privacy.scrub import SCRUB_COUNTS_ATTR, scrub_documents  # privacy (#14)

__all__ = ["Input", "as_loaded", "build_documents", "fingerprint"]

#: What the API accepts for an input: a user's DataFrame (cleaned here) or a loader's result.
Input = pd.DataFrame | LoadResult | None

DOC_COLUMNS = [
    schema.CUSTOMER_ID,
    schema.CHANNEL,
    schema.TEXT,
    schema.SOURCE,
    schema.ROW,
    schema.MONTH,
    schema.DATE,
    schema.RATING,
]


def as_loaded(
    data: Input, cleaner: Callable[..., LoadResult], *, name: str
) -> LoadResult | None:
    """Clean a user's DataFrame with ``cleaner``; pass a :class:`LoadResult` through unchanged."""
    if data is None or isinstance(data, LoadResult):
        return data
    if not isinstance(data, pd.DataFrame):
        raise DataValidationError(f"{name} must be a pandas DataFrame, got {type(data).__name__}")
    return cleaner(data, source=f"<{name} DataFrame>")


def build_documents(
    reviews: Input = None, browsing: Input = None, *, scrub: bool = True, names: NameScrubber | None = None
) -> pd.DataFrame:
    """One row per text document.

    Parameters
    ----------
    reviews, browsing : DataFrame, LoadResult or None
        Raw user tables (standard column names) or loader results; at least one is needed.

    Returns
    -------
    DataFrame
        Columns ``customer_id, channel, text, source, row, month, date, rating``; reviews first, then
        browsing, each in input order. ``month`` is the calendar month of the timestamp (``"2025-03"``,
        ``""`` when undated), all the interests-over-time report needs; ``date`` its day (``"2025-03-14"``),
        kept with a document's text so that retention (``prune --retain-days``) can drop old texts:
        no time of day is kept. ``rating`` (float, NaN when none) helps choose the reviews segment cards
        quote. Browsing text is its text/title/query plus the words of its URL. With
        ``scrub`` (the default) personal data in the text is replaced by typed placeholders
        (:func:`topicprofile.privacy.scrub.scrub_documents`); the counts per kind are in
        ``docs.attrs["scrub_counts"]``; with ``names`` too, names of people become ``<PERSON>``.
    """
    loaded_reviews = as_loaded(reviews, clean_reviews, name="reviews")
    loaded_browsing = as_loaded(browsing, clean_browsing, name="browsing")
    if loaded_reviews is None and loaded_browsing is None:
        raise DataValidationError("no input: give reviews and/or browsing")
    parts = []
    if loaded_reviews is not None:
        parts.append(loaded_reviews.data.assign(**{schema.CHANNEL: schema.REVIEWS}))
    if loaded_browsing is not None:
        events = loaded_browsing.data
        url_words = events[schema.URL].map(url_to_words)
        text = (events[schema.TEXT] + " " + url_words).str.strip()
        parts.append(events.assign(**{schema.TEXT: text, schema.CHANNEL: schema.BROWSING}))
    docs = pd.concat([_with_dates(p)[DOC_COLUMNS] for p in parts], ignore_index=True)
    docs[schema.CUSTOMER_ID] = docs[schema.CUSTOMER_ID].astype(str)
    if scrub:  # privacy hook (issue 14): before anything is stored or tokenised
        docs, counts = scrub_documents(docs, names=names)
        docs.attrs[SCRUB_COUNTS_ATTR] = counts
    return docs


def _with_dates(table: pd.DataFrame) -> pd.DataFrame:
    stamps = pd.to_datetime(table[schema.TIMESTAMP], errors="coerce") if schema.TIMESTAMP in table else None
    month = "" if stamps is None else stamps.dt.strftime("%Y-%m").fillna("")
    day = "" if stamps is None else stamps.dt.strftime("%Y-%m-%d").fillna("")
    rating = table[schema.RATING] if schema.RATING in table else float("nan")
    return table.assign(**{schema.MONTH: month, schema.DATE: day, schema.RATING: rating})


def fingerprint(docs: pd.DataFrame) -> str:
    """SHA-256 of the documents' customer, channel and text, in order (identifies a model's input)."""
    digest = hashlib.sha256()
    update_fingerprint(digest, docs)
    return digest.hexdigest()


def update_fingerprint(digest: Any, docs: pd.DataFrame) -> None:
    """Feed documents to a running :func:`fingerprint` digest (chunk by chunk gives the same hash)."""
    for row in docs[[schema.CUSTOMER_ID, schema.CHANNEL, schema.TEXT]].astype(str).itertuples(index=False):
        digest.update("\x1f".join(row).encode("utf-8"))
        digest.update(b"\x1e")
