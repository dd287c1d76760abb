"""Limits on what the tool accepts as one text (no pandas here: ``tag-text`` checks its texts with it)."""

from __future__ import annotations

from topicprofile.errors import DataValidationError

__all__ = ["MAX_TEXT_CHARS", "check_text_lengths"]

#: Longest text a review or browsing event may have after cleaning; longer rows are rejected
#: (a whole book pasted into one review is not a review, and the tokenizer refuses 1M characters).
MAX_TEXT_CHARS = 100_000


def check_text_lengths(texts: list[str]) -> None:
    """Refuse a text longer than `MAX_TEXT_CHARS` (free text given directly, as to ``tag_text``).

    Raises
    ------
    DataValidationError
        Names the first text over the limit, its position (1-based) and length.
    """
    for i, text in enumerate(texts, start=1):
        if len(text) > MAX_TEXT_CHARS:
            raise DataValidationError(
                f"text {i} is {len(text):,} characters long, longer than {MAX_TEXT_CHARS:,} characters. "
                "Split it into the reviews it holds."
            )
