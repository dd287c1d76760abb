"""Typed placeholders that replace personal data in texts, and how the tokenizer drops them.

This module imports nothing heavy: the tokenizer uses :func:`strip_placeholders` on every text.
The placeholders' words ("email", "phone", "card", "address"…) are ordinary shop words, so they
are removed as whole ``<TYPE>`` tokens before tokenizing, never by stop-listing the words.
"""

from __future__ import annotations

import re

__all__ = ["PLACEHOLDERS", "merge_spans", "placeholder", "strip_placeholders"]

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


def merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``(start, end)`` spans sorted, overlapping ones joined: the stretches a placeholder replaces."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out
