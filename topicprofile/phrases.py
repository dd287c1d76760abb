"""Multi-word phrases (``hiking_boots``) learned with gensim ``Phrases``."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["PhraseDetector", "MAX_VOCAB_SIZE"]

#: Default bound on the words and pairs counted while learning phrases (gensim: about 90 bytes each).
MAX_VOCAB_SIZE = 4_000_000


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
    max_vocab_size : int, default MAX_VOCAB_SIZE
        Words and word pairs counted at most while learning; beyond it gensim drops the rarest
        (counts below a rising cut-off). gensim's own default, 40 million, can take 3-4 GB on a
        large shop's reviews; this bound keeps learning phrases within a few hundred MB. It only
        matters for corpora with millions of distinct pairs, whose pruned pairs are the rarest
        (too rare to pass ``min_count`` anyway, or nearly so).

    Examples
    --------
    >>> docs = [["hiking", "boot", "trail"]] * 6 + [["hiking", "pole"], ["boot", "lace"]]
    >>> PhraseDetector(min_count=1, threshold=0.5).fit(docs).transform([["hiking", "boot"]])
    [['hiking_boot']]
    """

    def __init__(self, *, min_count: int = 5, threshold: float = 10.0, max_vocab_size: int = MAX_VOCAB_SIZE) -> None:
        self.min_count = min_count
        self.threshold = threshold
        self.max_vocab_size = max_vocab_size

    def fit(self, token_lists: Iterable[Sequence[str]]) -> PhraseDetector:
        """Learn phrases from token lists; returns ``self``."""
        from gensim.models.phrases import Phrases

        phrases = Phrases(
            token_lists, min_count=self.min_count, threshold=self.threshold, delimiter="_",
            max_vocab_size=self.max_vocab_size,
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
