"""Chinese words for spaCy: ``rjieba`` (jieba-rs: jieba's dictionary and HMM in Rust, ~10x faster
than ``jieba``) as a spaCy tokenizer, with jieba's own splitting of joined Latin runs restored
(docs/tokenizer_zh.md lists where it still differs from jieba), and the same ``cut(text)`` over a
pipeline built with spaCy's own jieba segmenter."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from topicprofile.errors import ConfigError

__all__ = ["JiebaCut", "RjiebaTokenizer"]


# A Latin letter or digit beside one of the joiners jieba's pattern accepts inside a word.
_JOINED_LATIN = re.compile(r"[a-zA-Z0-9][.\-_+#&%]|[.\-_+#&%][a-zA-Z0-9]")
# jieba's ``finalseg.re_skip``: how its HMM step splits a run of Latin letters, digits and joiners.
_LATIN_PIECE = re.compile(r"([a-zA-Z0-9]+(?:\.\d+)?%?)")


class RjiebaTokenizer:
    """spaCy tokenizer for Chinese: words from ``rjieba`` (jieba's dictionary and HMM, as spaCy's
    ``segmenter="jieba"`` uses them, in Rust).

    Parameters
    ----------
    vocab : spacy.vocab.Vocab
        The pipeline's vocabulary.
    user_words : iterable of str
        Words added to the dictionary (``add_word``), so they are never split: taxonomy seed words,
        a shop's product names.
    """

    def __init__(self, vocab: Any, *, user_words: Iterable[str] = ()) -> None:
        try:
            import rjieba
        except ImportError as e:
            raise ConfigError("Chinese needs the 'rjieba' package: pip install rjieba") from e
        self.vocab = vocab
        self.user_words = tuple(user_words)
        # A dictionary of its own only when words are added (~0.15 s): the shared one stays as is.
        self._cut = rjieba.cut
        if self.user_words:
            jieba = rjieba.Jieba()
            for word in self.user_words:
                jieba.add_word(word, None, None)
            self._cut = jieba.cut

    def cut(self, text: str) -> list[str]:
        """The words of ``text`` (jieba's default mode, HMM on), whitespace runs included."""
        words = self._cut(text, True)
        if not _JOINED_LATIN.search(text):
            return words
        # jieba-rs keeps Latin runs joined by . - _ + # & % whole ("check-in", URLs); jieba splits
        # them into letter/digit pieces (its HMM step's rule); do as jieba did.
        out: list[str] = []
        for word in words:
            if _JOINED_LATIN.search(word):
                out.extend(piece for piece in _LATIN_PIECE.split(word) if piece)
            else:
                out.append(word)
        return out

    def __call__(self, text: str) -> Any:
        from spacy.tokens import Doc
        from spacy.util import get_words_and_spaces

        words, spaces = get_words_and_spaces([w for w in self.cut(text) if w], text)
        return Doc(self.vocab, words=words, spaces=spaces)


class JiebaCut:
    """``cut(text)`` of a pipeline built with spaCy's own jieba segmenter (e.g. a test's reference)."""

    def __init__(self, jieba: Any) -> None:
        self._jieba = jieba

    def cut(self, text: str) -> list[str]:
        return list(self._jieba.cut(text, cut_all=False))
