"""spaCy tokenization: text -> lists of content-word lemmas.

The default pipeline is ``spacy.blank(lang)`` plus a lookup lemmatizer whose tables come from the
``spacy-lookups-data`` package, so nothing is downloaded at run time. Chinese is segmented into
words by ``rjieba`` (jieba-rs, jieba's dictionary and HMM in Rust, ~10x faster than ``jieba``)
instead of spaCy's per-character default; docs/tokenizer_zh.md lists where it differs from jieba. A trained pipeline (``spacy_model="en_core_web_sm"``)
is used when named; then only content words (by part of speech) are kept.

Stop words (spaCy's list plus a domain list), numbers, punctuation, URLs and e-mail addresses are
removed. Browsing URLs are turned into words before tokenization
(:func:`topicprofile.ingest.values.url_to_words`, where documents are built).
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from topicprofile.errors import ConfigError
from topicprofile.privacy.placeholders import strip_placeholders  # privacy hook (issue 14)
from topicprofile.text.lang import AUTO, AUTO_LANGS, detect_scripts
from topicprofile.text.rules import RulePipeline, load_rules

__all__ = ["SpacyTokenizer", "DEFAULT_DOMAIN_STOP_WORDS", "LEMMA_OVERRIDES", "CONTENT_POS"]

logger = logging.getLogger(__name__)

def _read_word_file(name: str) -> frozenset[str]:
    text = resources.files("topicprofile.data").joinpath(name).read_text(encoding="utf-8")
    return frozenset(w.strip().lower() for w in text.splitlines() if w.strip() and not w.startswith("#"))


#: Words every shop's reviews are full of that say nothing about a customer's interests (shipped
#: as ``topicprofile/data/shop_stop_words_<lang>.txt``). Replace with ``stop_words=`` / ``--stop-words``.
DEFAULT_DOMAIN_STOP_WORDS: dict[str, frozenset[str]] = {
    lang: _read_word_file(f"shop_stop_words_{lang}.txt") for lang in ("en", "zh")
}

def _read_overrides(name: str) -> dict[str, str]:
    text = resources.files("topicprofile.data").joinpath(name).read_text(encoding="utf-8")
    pairs = (line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return {word.strip(): lemma.strip() for word, lemma in pairs}


#: Lemmas that replace a lookup table's where it maps a word onto a different word ("number" ->
#: "numb"), per language (``topicprofile/data/lemma_overrides_<lang>.txt``, which says how the list
#: was made).
LEMMA_OVERRIDES: dict[str, dict[str, str]] = {"en": _read_overrides("lemma_overrides_en.txt")}

#: Parts of speech kept when a trained pipeline provides them.
CONTENT_POS = frozenset({"NOUN", "PROPN", "ADJ", "VERB"})

_HAS_LETTER = re.compile(r"[^\W\d_]")


class SpacyTokenizer:
    """Turn texts into token lists with spaCy, offline.

    Parameters
    ----------
    lang : str, default "en"
        spaCy language code of a blank pipeline ("en", "zh", ...), or ``"auto"``: each document
        goes to the English or the Chinese pipeline by its script (:func:`topicprofile.text.lang.detect_script`).
    spacy_model : str or None
        Name of an installed trained pipeline; when given, tokens are filtered by part of speech.
    stop_words : iterable of str or None
        Domain stop words added to spaCy's list; ``None`` uses :data:`DEFAULT_DOMAIN_STOP_WORDS`.
    min_token_len : int, default 2
        Shorter tokens are dropped (counted in characters).
    batch_size : int, default 1000
        Texts per ``nlp.pipe`` batch.
    user_words : iterable of str or None
        Chinese words the segmenter must keep whole (added to its dictionary), e.g. taxonomy seeds.

    Examples
    --------
    >>> SpacyTokenizer("en").tokenize(["Love these trail shoes, great grip on wet rocks!"])
    [['trail', 'shoe', 'grip', 'wet', 'rock']]
    """

    def __init__(
        self,
        lang: str = "en",
        *,
        spacy_model: str | None = None,
        stop_words: Iterable[str] | None = None,
        min_token_len: int = 2,
        batch_size: int = 1000,
        user_words: Iterable[str] | None = None,
    ) -> None:
        self.lang = lang
        self.spacy_model = spacy_model
        self.stop_words = None if stop_words is None else tuple(sorted(set(stop_words)))
        self.min_token_len = min_token_len
        self.batch_size = batch_size
        self.user_words = None if user_words is None else tuple(sorted(set(user_words)))
        self._nlp: Any = None
        self._stops: frozenset[str] | None = None
        self._filters: dict[str, _WordFilter] | None = None
        self._lemmas: dict[str, dict[str, Any]] | None = None  # lang -> lookup table read directly
        self._rules: RulePipeline | None = None  # spaCy's saved rules, when use_saved_rules() chose them

    # -- configuration ---------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Settings that reproduce this tokenizer (saved with the model)."""
        return {
            "lang": self.lang,
            "spacy_model": self.spacy_model,
            "stop_words": list(self.stop_words) if self.stop_words is not None else None,
            "min_token_len": self.min_token_len,
            "batch_size": self.batch_size,
            "user_words": list(self.user_words) if self.user_words is not None else None,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SpacyTokenizer:
        """Rebuild a tokenizer from :meth:`get_config` output."""
        return cls(
            config["lang"],
            spacy_model=config.get("spacy_model"),
            stop_words=config.get("stop_words"),
            min_token_len=config.get("min_token_len", 2),
            batch_size=config.get("batch_size", 1000),
            user_words=config.get("user_words"),
        )

    def use_saved_rules(self) -> SpacyTokenizer:
        """Tokenize without importing spaCy where its saved rules apply (:mod:`topicprofile.text.rules`:
        the blank English pipeline, while the spaCy version they came from is installed); the
        tokens are the same. For short jobs such as ``tag-text``, where importing spaCy is most of
        the time; a large job is faster through spaCy's compiled tokenizer. Returns ``self``."""
        if self.lang == "en" and not self.spacy_model:
            self._rules = load_rules("en")
        return self

    # -- pipeline --------------------------------------------------------------------------
    @property
    def nlp(self) -> Any:
        """The spaCy ``Language`` object, built on first use (the English one for ``lang="auto"``)."""
        lang = "en" if self.lang == AUTO else self.lang
        return self._initialized(lang, self._pipeline(lang))

    def _initialized(self, lang: str, nlp: Any) -> Any:
        """``nlp`` with its lemmatizer given spaCy's own tables (skipped while only the per-word
        filter, which reads the table itself, is used)."""
        if self._lemmas is not None and self._lemmas.pop(lang, None) is not None:
            nlp.initialize()
        return nlp

    def _languages(self) -> tuple[str, ...]:
        return AUTO_LANGS if self.lang == AUTO else (self.lang,)

    def _pipeline(self, lang: str) -> Any:
        if self._nlp is None:
            self._nlp = {}
        if lang not in self._nlp:
            self._nlp[lang] = self._build_nlp(lang)
        if self._stops is None:
            self._stops = self._stop_words()
        return self._nlp[lang]

    def stop_word_set(self) -> frozenset[str]:
        """All stop words this tokenizer removes (spaCy's and the domain list)."""
        if self._stops is None:
            self._stops = self._stop_words()
        return self._stops

    def _stop_words(self) -> frozenset[str]:
        """spaCy's stop words of every language in use, plus the domain list (shipped or given)."""
        stops: set[str] = set()
        for lang in self._languages():
            stops |= {w.lower() for w in self._spacy_stop_words(lang)}
            if self.stop_words is None:
                stops |= DEFAULT_DOMAIN_STOP_WORDS.get(lang, frozenset())
        if self.stop_words is not None:
            stops |= {w.lower() for w in self.stop_words}
        return frozenset(stops)

    def _spacy_stop_words(self, lang: str) -> Iterable[str]:
        if self._rules is not None:  # the saved rules hold spaCy's list
            return self._rules.stop_words
        from spacy.util import get_lang_class

        try:
            return get_lang_class(lang).Defaults.stop_words
        except ImportError as e:
            raise ConfigError(f"language '{lang}' is not supported by spaCy: {e}") from e

    def _build_nlp(self, lang: str) -> Any:
        import spacy

        if self.spacy_model:
            try:
                return spacy.load(self.spacy_model, exclude=["parser", "ner", "textcat"])
            except OSError as e:
                raise ConfigError(
                    f"spaCy pipeline '{self.spacy_model}' is not installed; install its package "
                    "with pip, or leave out --spacy-model to use the built-in blank pipeline"
                ) from e
        try:
            nlp = spacy.blank(lang)  # zh: the per-character segmenter, replaced below
        except (ImportError, KeyError) as e:
            raise ConfigError(f"language '{lang}' is not supported by spaCy: {e}") from e
        if lang == "zh":
            nlp.tokenizer = RjiebaTokenizer(nlp.vocab, user_words=self.user_words or ())
        self._add_lookup_lemmatizer(nlp, lang)
        return nlp

    def _add_lookup_lemmatizer(self, nlp: Any, lang: str) -> None:
        if lang == "zh":  # Chinese has no inflection to undo
            return
        try:
            lemmatizer = nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
            table = lookup_table(lang) if _plain_lookup(lemmatizer) else None
            if table is not None:
                # spaCy's initialize() would read the same file and hash every entry into its own
                # table (~0.3 s for English); the per-word filter needs only the mapping.
                if self._lemmas is None:
                    self._lemmas = {}
                self._lemmas[lang] = table
                return
            nlp.initialize()
        except (ValueError, OSError, ImportError) as e:
            # Some languages have no lookup table in spacy-lookups-data: tokens stay unlemmatized.
            if "lemmatizer" in nlp.pipe_names:
                nlp.remove_pipe("lemmatizer")
            logger.info("no lookup lemmatizer for '%s' (%s); using surface forms", lang, e)

    # -- tokenization ----------------------------------------------------------------------
    def iter_tokens(self, texts: Iterable[str]) -> Iterator[list[str]]:
        """Yield one token list per text, streaming through the pipeline.

        With ``lang="auto"`` each batch is split by detected script, each part goes through its
        language's pipeline, and the results come back in input order.
        """
        prepared = (_as_text(t, lower=not self.spacy_model) for t in texts)
        if self.lang != AUTO:
            yield from self._lang_tokens(self.lang, prepared)
            return
        batch: list[str] = []
        for text in prepared:
            batch.append(text)
            if len(batch) == self.batch_size:
                yield from self._auto_batch(batch)
                batch = []
        if batch:
            yield from self._auto_batch(batch)

    def _auto_batch(self, texts: list[str]) -> list[list[str]]:
        langs = detect_scripts(texts)
        out: list[list[str]] = [[] for _ in texts]
        for lang in AUTO_LANGS:
            idx = [i for i, detected in enumerate(langs) if detected == lang]
            if not idx:
                continue
            tokens = self._lang_tokens(lang, (texts[i] for i in idx))
            for i, doc_tokens in zip(idx, tokens, strict=True):
                out[i] = doc_tokens
        return out

    def _lang_tokens(self, lang: str, texts: Iterable[str]) -> Iterator[list[str]]:
        """Token lists of already prepared texts, all of language ``lang``."""
        if self._rules is not None:
            return self._rules_filter().iter_tokens(texts)
        nlp = self._pipeline(lang)
        words = self._word_filter(lang, nlp)
        if words is not None:
            return words.iter_tokens(texts)
        nlp = self._initialized(lang, nlp)
        trained = bool(self.spacy_model)
        return (self._doc_tokens(doc, trained) for doc in nlp.pipe(texts, batch_size=self.batch_size))

    def _word_filter(self, lang: str, nlp: Any) -> _WordFilter | None:
        """The per-word filter of ``lang``'s pipeline, or ``None`` where a token's fate depends on
        its context (a trained pipeline tags parts of speech) or on components we don't know."""
        if self.spacy_model:
            return None
        if self._filters is None:
            self._filters = {}
        stops = self.stop_word_set()
        words = self._filters.get(lang)
        if words is None or not words.fits(nlp, stops=stops, min_len=self.min_token_len):
            table = (self._lemmas or {}).get(lang)
            words = _WordFilter.for_pipeline(nlp, stops=stops, min_len=self.min_token_len, lemmas=table)
            if words is None:
                return None
            self._filters[lang] = words
        return words

    def _rules_filter(self) -> _WordFilter:
        """The per-word filter over spaCy's saved rules (see :meth:`use_saved_rules`)."""
        rules = self._rules
        assert rules is not None
        if self._filters is None:
            self._filters = {}
        stops = self.stop_word_set()
        words = self._filters.get("rules")
        if words is None or not words.fits(rules, stops=stops, min_len=self.min_token_len):
            words = _WordFilter(rules, lemmas=lookup_table(rules.lang), jieba=rules.tokenizer, stops=stops,
                                min_len=self.min_token_len)  # fmt: skip
            self._filters["rules"] = words
        return words

    def tokenize(self, texts: Iterable[str]) -> list[list[str]]:
        """Tokenize many texts; see :meth:`iter_tokens`."""
        return list(self.iter_tokens(texts))

    def _doc_tokens(self, doc: Any, trained: bool) -> list[str]:
        stops = self._stops
        assert stops is not None  # set together with the pipeline
        min_len = self.min_token_len
        overrides = LEMMA_OVERRIDES.get(doc.lang_, {})
        out: list[str] = []
        for token in doc:
            if (
                token.is_punct
                or token.is_space
                or token.like_num
                or token.like_url
                or token.like_email
                or token.is_stop
            ):
                continue
            if trained and token.pos_ not in CONTENT_POS:
                continue
            lemma = overrides.get(token.lower_) or (token.lemma_ or token.text).lower()
            if len(lemma) < min_len or lemma in stops or token.lower_ in stops:
                continue
            if not _HAS_LETTER.search(lemma):
                continue
            out.append(lemma)
        return out

    def __getstate__(self) -> dict[str, Any]:
        # The spaCy pipeline is rebuilt from settings in each process instead of being pickled.
        state = self.__dict__.copy()
        state["_nlp"] = None
        state["_stops"] = None
        state["_filters"] = None
        state["_lemmas"] = None
        state["_rules"] = None
        return state

    def __repr__(self) -> str:
        return f"SpacyTokenizer(lang={self.lang!r}, spacy_model={self.spacy_model!r})"


#: Distinct words a :class:`_WordFilter` remembers (about 150 bytes each) before it starts over,
#: so that a long-running process cannot grow without limit.
_MEMO_MAX_WORDS = 200_000


class _WordFilter:
    """The token filter of a blank pipeline, decided once per distinct word.

    Without a tagger, whether a token is kept and what it becomes depends on its text alone: the
    lexeme's flags (punctuation, space, number, URL, e-mail, spaCy stop word), its lowercase form
    and its lemma from the lookup table. So the lemmatizer component is not run: texts only go
    through the tokenizer (jieba, for Chinese, directly), and each word's outcome is remembered,
    ``""`` for a dropped word. The tokens are those of ``nlp.pipe`` + the filter of
    :meth:`SpacyTokenizer._doc_tokens` (``tests/text/test_tokenizer_reference.py`` checks them on real
    reviews).
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
    ) -> _WordFilter | None:
        """A filter for ``nlp``, or ``None`` unless its tokenizer and components are those
        :meth:`SpacyTokenizer._build_nlp` puts together (where the above holds). ``lemmas``: the
        lemmatizer's lookup table when it was read directly (:func:`lookup_table`) instead of by
        ``nlp.initialize()``."""
        from spacy.lang.zh import ChineseTokenizer
        from spacy.tokenizer import Tokenizer

        jieba = None
        if nlp.pipe_names == ["lemmatizer"]:
            lemmatizer = nlp.get_pipe("lemmatizer")
            if not _plain_lookup(lemmatizer):
                return None  # rule-based or a language's own lookup (Dutch) may look beyond the word
            if lemmas is None:
                lemmas = lemmatizer.lookups.get_table("lemma_lookup", {})
        elif nlp.pipe_names:
            return None
        if type(nlp.tokenizer) is RjiebaTokenizer:
            jieba = nlp.tokenizer
        elif type(nlp.tokenizer) is ChineseTokenizer and nlp.tokenizer.segmenter == "jieba":
            jieba = _JiebaCut(nlp.tokenizer.jieba_seg)
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
        return lemma if _HAS_LETTER.search(lemma) else ""


def _plain_lookup(lemmatizer: Any) -> bool:
    """Whether a lemmatizer component is spaCy's lookup lemmatizer as is: a word's lemma is its
    entry in the "lemma_lookup" table, else the word."""
    from spacy.pipeline import Lemmatizer

    return lemmatizer.mode == "lookup" and type(lemmatizer).lookup_lemmatize is Lemmatizer.lookup_lemmatize


def lookup_table(lang: str) -> dict[str, Any] | None:
    """spaCy's "lemma_lookup" table of ``lang`` from the ``spacy-lookups-data`` package, read as
    ``spacy.lookups.load_lookups`` reads it (the file the package names, else its ``.gz``), as a
    plain dict; ``None`` when the package or the table is missing."""
    try:
        import spacy_lookups_data
    except ImportError:
        return None
    tables = getattr(spacy_lookups_data, lang, None)
    if not isinstance(tables, dict) or "lemma_lookup" not in tables:
        return None
    path = Path(str(tables["lemma_lookup"]))
    try:
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))
        with gzip.open(path.with_suffix(path.suffix + ".gz"), "rt", encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _as_text(value: object, *, lower: bool) -> str:
    """Missing values (None, NaN) become empty text and lone surrogates (from bytes decoded with
    ``surrogateescape``) become "?", instead of failing inside spaCy."""
    if not isinstance(value, str):
        return ""
    if not value.isascii():
        value = value.encode("utf-8", "replace").decode("utf-8")
    value = strip_placeholders(value)  # privacy hook (issue 14): <EMAIL>, <PHONE>… are no topic words
    return value.lower() if lower else value


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


class _JiebaCut:
    """``cut(text)`` of a pipeline built with spaCy's own jieba segmenter (e.g. a test's reference)."""

    def __init__(self, jieba: Any) -> None:
        self._jieba = jieba

    def cut(self, text: str) -> list[str]:
        return list(self._jieba.cut(text, cut_all=False))

