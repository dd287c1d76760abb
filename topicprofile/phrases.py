"""Multi-word phrases (``hiking_boots``) learned with gensim ``Phrases``."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["PhraseDetector"]


class PhraseDetector:
    """Learn frequent collocations and join them with ``_``.

    A thin estimator over :class:`gensim.models.phrases.Phrases`; the fitted model is frozen
    (``FrozenPhrases``) so applying it is fast and it saves small.

    Parameters
    ----------
    min_count : int, default 5
        Ignore word pairs seen fewer times.
    threshold : float, default 10.0
        gensim's "default" (Mikolov) score a pair must exceed to become a phrase.

    Examples
    --------
    >>> docs = [["hiking", "boot", "trail"]] * 6 + [["hiking", "pole"], ["boot", "lace"]]
    >>> PhraseDetector(min_count=1, threshold=0.5).fit(docs).transform([["hiking", "boot"]])
    [['hiking_boot']]
    """

    def __init__(self, *, min_count: int = 5, threshold: float = 10.0) -> None:
        self.min_count = min_count
        self.threshold = threshold

    def fit(self, token_lists: Iterable[Sequence[str]]) -> PhraseDetector:
        """Learn phrases from token lists; returns ``self``."""
        from gensim.models.phrases import Phrases

        phrases = Phrases(
            token_lists, min_count=self.min_count, threshold=self.threshold, delimiter="_"
        )
        self.phrases_: Any = phrases.freeze()
        return self

    @property
    def phrasegrams_(self) -> dict[str, float]:
        """The learned phrases and their scores."""
        return dict(self.phrases_.phrasegrams)

    def transform(self, token_lists: Iterable[Sequence[str]]) -> list[list[str]]:
        """Join learned phrases in each token list."""
        phrases = self.phrases_
        return [phrases[list(tokens)] for tokens in token_lists]

    def save(self, path: str) -> None:
        """Write the frozen phrase model (gensim format)."""
        self.phrases_.save(path)

    @classmethod
    def load(cls, path: str, *, min_count: int = 5, threshold: float = 10.0) -> PhraseDetector:
        """Read a phrase model written by :meth:`save`."""
        from gensim.models.phrases import FrozenPhrases

        detector = cls(min_count=min_count, threshold=threshold)
        # gensim warns that a FrozenPhrases has no corpus_word_count: true, and irrelevant for
        # applying it (only default scoring while *learning* uses it). Keep the library quiet.
        phrases_logger = logging.getLogger("gensim.models.phrases")
        level = phrases_logger.level
        phrases_logger.setLevel(logging.ERROR)
        try:
            detector.phrases_ = FrozenPhrases.load(path)
        finally:
            phrases_logger.setLevel(level)
        return detector
