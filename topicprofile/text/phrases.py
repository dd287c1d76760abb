"""Multi-word phrases (``hiking_boots``) learned with gensim ``Phrases``."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from topicprofile.errors import ModelError

__all__ = ["PhraseDetector", "PhraseJoiner", "MAX_VOCAB_SIZE"]

#: Version of the JSON written by :meth:`PhraseDetector.save`.
PHRASES_FORMAT = 1
#: gensim's scorers by the name ``Phrases(scoring=...)`` takes; a phrase model scored by another
#: function cannot be saved as data.
_SCORERS = {"default": "original_scorer", "npmi": "npmi_scorer"}

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
        self.phrases_: Any = self._phrases(token_lists).freeze()
        return self

    def count(self, token_lists: Iterable[Sequence[str]]) -> tuple[dict[str, int], int, bool]:
        """The word and word-pair counts :meth:`fit` learns from (in first-appearance order), the
        number of words, and whether gensim pruned the counts (more than ``max_vocab_size`` keys).
        Unpruned counts of consecutive parts of a corpus, added up in order, are the whole
        corpus's, and if those have at most ``max_vocab_size`` keys :meth:`fit_counts` learns the
        same phrases as :meth:`fit` (a cluster counts partitions this way)."""
        from gensim.models.phrases import Phrases

        min_reduce, vocab, total = Phrases._learn_vocab(
            token_lists, max_vocab_size=self.max_vocab_size, delimiter="_", connector_words=frozenset(),
            progress_per=10_000,
        )  # fmt: skip
        return vocab, total, min_reduce > 1

    def fit_counts(self, vocab: dict[str, int], total_words: int) -> PhraseDetector:
        """Learn phrases from :meth:`count`'s counts (of the whole corpus, not pruned); returns ``self``."""
        phrases = self._phrases(None)
        phrases.vocab, phrases.corpus_word_count = vocab, total_words
        self.phrases_ = phrases.freeze()
        return self

    def _phrases(self, token_lists: Iterable[Sequence[str]] | None) -> Any:
        from gensim.models.phrases import Phrases

        return Phrases(
            token_lists, min_count=self.min_count, threshold=self.threshold, delimiter="_",
            max_vocab_size=self.max_vocab_size,
        )  # fmt: skip

    @property
    def phrasegrams_(self) -> dict[str, float]:
        """The learned phrases and their scores."""
        return dict(self.phrases_.phrasegrams)

    def transform(self, token_lists: Iterable[Sequence[str]]) -> list[list[str]]:
        """Join learned phrases in each token list (:class:`PhraseJoiner`, as gensim's ``FrozenPhrases``)."""
        return self.joiner().transform(token_lists)

    def joiner(self) -> PhraseJoiner:
        """The :class:`PhraseJoiner` of the learned phrases (sharing their dictionary)."""
        frozen = self.phrases_
        cached = getattr(self, "_joiner", None)
        if cached is None or cached[0] is not frozen:
            cached = (frozen, PhraseJoiner(frozen.phrasegrams, frozenset(frozen.connector_words),
                                           delimiter=frozen.delimiter, threshold=frozen.threshold))  # fmt: skip
            self._joiner = cached
        return cached[1]

    def to_state(self) -> dict[str, Any]:
        """The learned phrases as plain data (settings and ``[phrase, score]`` pairs)."""
        phrases = self.phrases_
        scoring = _scoring_name(phrases.scoring)
        if scoring is None:
            raise ValueError(f"phrases scored by {phrases.scoring!r} cannot be saved (only {', '.join(_SCORERS)})")
        return {
            "format_version": PHRASES_FORMAT,
            "min_count": phrases.min_count,
            "threshold": phrases.threshold,
            "delimiter": phrases.delimiter,
            "scoring": scoring,
            "connector_words": sorted(phrases.connector_words),
            "max_vocab_size": self.max_vocab_size,
            "phrasegrams": [[phrase, float(score)] for phrase, score in phrases.phrasegrams.items()],
        }

    @classmethod
    def from_state(cls, state: Any) -> PhraseDetector:
        """Rebuild the gensim ``FrozenPhrases`` from :meth:`to_state`'s data (values checked,
        never executed); raises KeyError, TypeError or ValueError when it is not such data."""
        from gensim.models.phrases import Phrases

        joiner = PhraseJoiner.from_state(state)
        detector = cls(min_count=int(state["min_count"]), threshold=float(state["threshold"]),
                       max_vocab_size=int(state["max_vocab_size"]))  # fmt: skip
        # an empty Phrases with the saved settings, frozen, then given the saved phrases
        frozen = Phrases(
            min_count=state["min_count"], threshold=state["threshold"], delimiter=state["delimiter"],
            scoring=state["scoring"], connector_words=joiner.connector_words,
        ).freeze()
        frozen.phrasegrams = joiner.phrasegrams
        detector.phrases_ = frozen
        return detector

    @classmethod
    def from_frozen(cls, frozen: Any) -> PhraseDetector:
        """A detector of an already learned gensim ``FrozenPhrases`` (its settings taken from it)."""
        detector = cls(min_count=frozen.min_count, threshold=frozen.threshold)
        detector.phrases_ = frozen
        return detector

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the learned phrases as JSON (:meth:`to_state`; no pickle)."""
        state = self.to_state()
        with open(path, "w", encoding="utf-8") as f:
            json.dump(state, f, ensure_ascii=False)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PhraseDetector:
        """Read phrases written by :meth:`save` and rebuild the gensim ``FrozenPhrases``.

        Raises
        ------
        ModelError
            The file is not a phrases file of this format (its values are checked, never executed).
        """
        try:
            with open(path, encoding="utf-8") as f:
                return cls.from_state(json.load(f))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            raise ModelError(f"{path}: corrupt phrases file ({type(e).__name__}: {e}); refit the model") from e


class PhraseJoiner:
    """Applies learned phrases: joins each learned word pair in a token list with the delimiter.

    The rule is gensim's ``FrozenPhrases`` (``_PhrasesTransformation.analyze_sentence``), written
    out so that applying phrases needs no gensim: a word that is not a connector word starts a
    candidate; connector words in between are kept; the next such word ends it, and the candidate
    becomes one token when its phrase scores above ``threshold``, else its words stay as they were
    and the end word starts the next candidate. ``tests/tag/test_tag_text_light.py`` checks it against
    gensim on real reviews.

    Parameters
    ----------
    phrasegrams : mapping of str to float
        Learned phrases (words joined by ``delimiter``) and their scores.
    connector_words : frozenset of str
        Words that may sit inside a phrase (gensim's connector words; none by default here).
    delimiter : str, default "_"
    threshold : float
        A phrase is joined when its score is above this.
    """

    def __init__(
        self, phrasegrams: Mapping[str, float], connector_words: frozenset[str] = frozenset(), *,
        delimiter: str = "_", threshold: float,
    ) -> None:  # fmt: skip
        self.phrasegrams = phrasegrams
        self.connector_words = connector_words
        self.delimiter = delimiter
        self.threshold = threshold

    @classmethod
    def from_state(cls, state: Any) -> PhraseJoiner:
        """The joiner of :meth:`PhraseDetector.to_state`'s data (values checked, never executed);
        raises KeyError, TypeError or ValueError when it is not such data."""
        if not isinstance(state, dict) or state.get("format_version") != PHRASES_FORMAT:
            raise ValueError(f"not a phrases file of format {PHRASES_FORMAT}")
        phrasegrams = {str(phrase): float(score) for phrase, score in state["phrasegrams"]}
        connector_words = frozenset(str(w) for w in state["connector_words"])
        if state["scoring"] not in _SCORERS or not isinstance(state["delimiter"], str):
            raise ValueError(f"unknown scoring {state['scoring']!r} or delimiter")
        return cls(phrasegrams, connector_words, delimiter=state["delimiter"], threshold=float(state["threshold"]))

    def transform(self, token_lists: Iterable[Sequence[str]]) -> list[list[str]]:
        """Each token list with its learned phrases joined."""
        return [self.join(tokens) for tokens in token_lists]

    def join(self, tokens: Iterable[str]) -> list[str]:
        """One token list with its learned phrases joined."""
        connectors, phrasegrams, threshold = self.connector_words, self.phrasegrams, self.threshold
        out: list[str] = []
        start: str | None = None
        between: list[str] = []
        for word in tokens:
            if word in connectors:
                if start:
                    between.append(word)
                else:
                    out.append(word)
                continue
            if start:
                phrase = self.delimiter.join([start, *between, word])
                if phrasegrams.get(phrase, -math.inf) > threshold:
                    out.append(phrase)
                    start, between = None, []
                    continue
                out.append(start)
                out.extend(between)
            start, between = word, []
        if start:
            out.append(start)
            out.extend(between)
        return out


def _scoring_name(scoring: Any) -> str | None:
    """``"default"`` / ``"npmi"`` for gensim's own scorers (given by name or as the function), else None."""
    if isinstance(scoring, str):
        return scoring if scoring in _SCORERS else None
    if getattr(scoring, "__module__", None) != "gensim.models.phrases":
        return None
    return next((name for name, function in _SCORERS.items() if scoring.__name__ == function), None)
