"""The fitted preprocessing applied to new text: tokens, phrases, in-vocabulary word counts.

:class:`WordCounter` holds only what applying it needs (the tokenizer, the phrase joiner, the
vocabulary as a ``token -> id`` mapping), so tagging a text loads no gensim; a fitted
:class:`~topicprofile.text.encoder.TextEncoder` applies its parts through one of these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import sparse

from topicprofile.text.tokenizer import SpacyTokenizer
from topicprofile.text.vectorize import bows_to_csr, vocabulary_bows

__all__ = ["WordCounter"]


class WordCounter:
    """Text -> tokens -> phrases -> bags of words and counts over a fitted vocabulary.

    Parameters
    ----------
    tokenizer : SpacyTokenizer
    phrases : object with ``transform(token_lists)``, or None
        The learned phrases (:class:`~topicprofile.text.phrases.PhraseJoiner` or a fitted
        :class:`~topicprofile.text.phrases.PhraseDetector`).
    token2id : mapping of str to int
        The vocabulary; ids are ``0 .. len - 1``.
    """

    def __init__(self, tokenizer: SpacyTokenizer, *, phrases: Any, token2id: Mapping[str, int]) -> None:
        self.tokenizer = tokenizer
        self.phrases = phrases
        self.token2id = token2id

    @property
    def n_terms(self) -> int:
        return len(self.token2id)

    def tokens(self, texts: Sequence[str]) -> list[list[str]]:
        """Exactly the fit-time preprocessing: tokens, then phrases."""
        tokens = self.tokenizer.tokenize(texts)
        return self.phrases.transform(tokens) if self.phrases is not None else tokens

    def encode(self, texts: Sequence[str]) -> tuple[list[list[tuple[int, int]]], np.ndarray]:
        """Bags of words of texts and their in-vocabulary token counts."""
        bows = vocabulary_bows(self.token2id, self.tokens(texts))
        return bows, np.array([sum(c for _, c in b) for b in bows], dtype=np.int64)

    def counts(self, bows: Sequence[Sequence[tuple[int, float]]]) -> sparse.csr_matrix:
        """Bags of words as a ``n_docs × n_terms`` count matrix."""
        return bows_to_csr(bows, self.n_terms)
