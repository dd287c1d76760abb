"""Typed placeholders that replace personal data in texts, and how the tokenizer drops them.

This module imports nothing heavy: the tokenizer uses :func:`strip_placeholders` on every text.
The placeholders' words ("email", "phone", "card", "address"…) are ordinary shop words, so they
are removed as whole ``<TYPE>`` tokens before tokenizing, never by stop-listing the words.
"""

from __future__ import annotations

import re

__all__ = ["PLACEHOLDERS", "placeholder", "strip_placeholders"]

#: Every kind of personal data the scrubber replaces, in the order it is looked for.
PLACEHOLDERS = ("URL", "EMAIL", "IP", "CARD", "PHONE", "ADDRESS", "PERSON")

_PLACEHOLDER = re.compile(r"<(?:" + "|".join(PLACEHOLDERS) + r")>", re.IGNORECASE)


def placeholder(kind: str) -> str:
    """The text that replaces one item of kind ``kind``, e.g. ``"<EMAIL>"``."""
    return f"<{kind}>"


def strip_placeholders(text: str) -> str:
    """``text`` with every placeholder (any case: texts are lowercased before tokenizing) replaced
    by a space, so none becomes a topic word."""
    if "<" not in text:
        return text
    return _PLACEHOLDER.sub(" ", text)
