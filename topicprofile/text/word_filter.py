"""The tokenizer's fast path: a blank pipeline's token filter, decided once per distinct word and
remembered, instead of running spaCy's lemmatizer over every token (:class:`WordFilter`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from topicprofile.text.lexicon import LEMMA_OVERRIDES, plain_lookup
from topicprofile.text.zh_segmenter import JiebaCut, RjiebaTokenizer

__all__ = ["HAS_LETTER", "WordFilter"]

#: A token is kept only if it has a letter (of any script).
HAS_LETTER = re.compile(r"[^\W\d_]")

#: Distinct words a :class:`WordFilter` remembers (about 150 bytes each) before it starts over,
#: so that a long-running process cannot grow without limit.
_MEMO_MAX_WORDS = 200_000


class WordFilter:
    """The token filter of a blank pipeline, decided once per distinct word.

    Without a tagger, whether a token is kept and what it becomes depends on its text alone: the
    lexeme's flags (punctuation, space, number, URL, e-mail, spaCy stop word), its lowercase form
    and its lemma from the lookup table. So the lemmatizer component is not run: texts only go
    through the tokenizer (jieba, for Chinese, directly), and each word's outcome is remembered,
    ``""`` for a dropped word. The tokens are those of ``nlp.pipe`` + the filter of
    :meth:`~topicprofile.text.tokenizer.SpacyTokenizer._doc_tokens`
    (``tests/text/test_tokenizer_reference.py`` checks them on real reviews).
    """

    def __init__(
        self, nlp: Any, *, lemmas: Mapping[str, Any] | None, jieba: Any, stops: frozenset[str], min_len: int
    ) -> None:
        self.nlp = nlp
        self.lemmas = lemmas  # the "lemma_lookup" table, or None: a word is its own lemma
        self.overrides = LEMMA_OVERRIDES.get(nlp.lang, {}) if lemmas is not None else {}
        self.jieba = jieba  # the Chinese segmenter (a ``cut(text)`` -> words), or None
        self.stops = stops
        self.min_len = min_len
        self._memo: dict[int | str, str] = {}  # orth id (or jieba's word) -> token, "" = dropped
        self._made_for = (nlp.tokenizer, tuple(nlp.pipe_names), stops, min_len)

    def fits(self, nlp: Any, *, stops: frozenset[str], min_len: int) -> bool:
        """Whether this filter still matches the pipeline and settings (a caller may change them)."""
        return self._made_for == (nlp.tokenizer, tuple(nlp.pipe_names), stops, min_len)

    @classmethod
    def for_pipeline(
        cls, nlp: Any, *, stops: frozenset[str], min_len: int, lemmas: Mapping[str, Any] | None = None
    ) -> WordFilter | None:
        """A filter for ``nlp``, or ``None`` unless its tokenizer and components are those
        :meth:`~topicprofile.text.tokenizer.SpacyTokenizer._build_nlp` puts together (where the above holds). ``lemmas``: the
        lemmatizer's lookup table when it was read directly (:func:`~topicprofile.text.lexicon.lookup_table`) instead of by
        ``nlp.initialize()``."""
        from spacy.lang.zh import ChineseTokenizer
        from spacy.tokenizer import Tokenizer

        jieba = None
        if nlp.pipe_names == ["lemmatizer"]:
            lemmatizer = nlp.get_pipe("lemmatizer")
            if not plain_lookup(lemmatizer):
                return None  # rule-based or a language's own lookup (Dutch) may look beyond the word
            if lemmas is None:
                lemmas = lemmatizer.lookups.get_table("lemma_lookup", {})
        elif nlp.pipe_names:
            return None
        if type(nlp.tokenizer) is RjiebaTokenizer:
            jieba = nlp.tokenizer
        elif type(nlp.tokenizer) is ChineseTokenizer and nlp.tokenizer.segmenter == "jieba":
            jieba = JiebaCut(nlp.tokenizer.jieba_seg)
        elif type(nlp.tokenizer) is not Tokenizer:  # others (Japanese, Korean) may set lemmas
            return None
        return cls(nlp, lemmas=lemmas, jieba=jieba, stops=stops, min_len=min_len)

    def iter_tokens(self, texts: Iterable[str]) -> Iterator[list[str]]:
        """One token list per (prepared) text."""
        nlp = self.nlp
        if self.jieba is None:
            from spacy.attrs import ORTH

            for text in texts:
                yield self._kept(nlp.make_doc(text).to_array(ORTH).tolist())
            return
        cut = self.jieba.cut
        for text in texts:
            if len(text) > nlp.max_length:
                nlp.make_doc(text)  # raises spaCy's "text too long" error, as nlp.pipe does
            # spaCy builds its Doc from the same words; whitespace words become spaces or
            # whitespace tokens, which are dropped either way
            yield self._kept(cut(text))

    def _kept(self, keys: list[Any]) -> list[str]:
        memo = self._memo
        words = [memo.get(key) for key in keys]
        if None in words:
            words = [self._learn(key) if word is None else word for key, word in zip(keys, words)]
        return [word for word in words if word]

    def _learn(self, key: int | str) -> str:
        text = key if isinstance(key, str) else self.nlp.vocab.strings[key]
        if len(self._memo) >= _MEMO_MAX_WORDS:
            self._memo.clear()
        word = self._memo[key] = self._decide(text)
        return word

    def _decide(self, text: str) -> str:
        """What a token with this text becomes: its lowercased lemma, or "" when dropped."""
        if not text:
            return ""
        lex = self.nlp.vocab[text]
        if lex.is_punct or lex.is_space or lex.like_num or lex.like_url or lex.like_email or lex.is_stop:
            return ""
        lemma = text if self.lemmas is None else self.overrides.get(text) or self.lemmas.get(text, text)
        if not isinstance(lemma, str):  # a table may list several lemmas; spaCy takes the first
            lemma = lemma[0]
        lemma = (lemma or text).lower()
        if len(lemma) < self.min_len or lemma in self.stops or lex.lower_ in self.stops:
            return ""
        return lemma if HAS_LETTER.search(lemma) else ""
