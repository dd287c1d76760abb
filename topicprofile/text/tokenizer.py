"""spaCy tokenization: text -> lists of content-word lemmas.

The default pipeline is ``spacy.blank(lang)`` plus a lookup lemmatizer whose tables come from the
``spacy-lookups-data`` package, so nothing is downloaded at run time. Chinese is segmented into
words by ``rjieba`` (jieba-rs, jieba's dictionary and HMM in Rust, ~10x faster than ``jieba``)
instead of spaCy's per-character default; docs/tokenizer_zh.md lists where it differs from jieba. A trained pipeline (``spacy_model="en_core_web_sm"``)
is used when named; then only content words (by part of speech) are kept.

Stop words (spaCy's list plus a domain list), numbers, punctuation, URLs and e-mail addresses are
removed. Browsing URLs are turned into words before tokenization
(:func:`topicprofile.ingest.values.url_to_words`, where documents are built).

Its parts: the shipped word lists and spaCy's lemma table in :mod:`topicprofile.text.lexicon`, the
Chinese segmenter in :mod:`topicprofile.text.zh_segmenter`, and the per-word fast path of blank
pipelines in :mod:`topicprofile.text.word_filter`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from topicprofile.errors import ConfigError
from topicprofile.privacy.placeholders import strip_placeholders  # privacy hook (issue 14)
from topicprofile.text.lang import AUTO, AUTO_LANGS, detect_scripts
from topicprofile.text.lexicon import DEFAULT_DOMAIN_STOP_WORDS, LEMMA_OVERRIDES, lookup_table, plain_lookup
from topicprofile.text.rules import RulePipeline, load_rules
from topicprofile.text.word_filter import HAS_LETTER, WordFilter
from topicprofile.text.zh_segmenter import RjiebaTokenizer

__all__ = [
    "CONTENT_POS",
    "DEFAULT_DOMAIN_STOP_WORDS",
    "LEMMA_OVERRIDES",
    "RjiebaTokenizer",
    "SpacyTokenizer",
    "lookup_table",
]

logger = logging.getLogger(__name__)

#: Parts of speech kept when a trained pipeline provides them.
CONTENT_POS = frozenset({"NOUN", "PROPN", "ADJ", "VERB"})


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
        self._filters: dict[str, WordFilter] | None = None
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
            table = lookup_table(lang) if plain_lookup(lemmatizer) else None
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

    def _word_filter(self, lang: str, nlp: Any) -> WordFilter | None:
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
            words = WordFilter.for_pipeline(nlp, stops=stops, min_len=self.min_token_len, lemmas=table)
            if words is None:
                return None
            self._filters[lang] = words
        return words

    def _rules_filter(self) -> WordFilter:
        """The per-word filter over spaCy's saved rules (see :meth:`use_saved_rules`)."""
        rules = self._rules
        assert rules is not None
        if self._filters is None:
            self._filters = {}
        stops = self.stop_word_set()
        words = self._filters.get("rules")
        if words is None or not words.fits(rules, stops=stops, min_len=self.min_token_len):
            words = WordFilter(rules, lemmas=lookup_table(rules.lang), jieba=rules.tokenizer, stops=stops,
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
            if not HAS_LETTER.search(lemma):
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


def _as_text(value: object, *, lower: bool) -> str:
    """Missing values (None, NaN) become empty text and lone surrogates (from bytes decoded with
    ``surrogateescape``) become "?", instead of failing inside spaCy."""
    if not isinstance(value, str):
        return ""
    if not value.isascii():
        value = value.encode("utf-8", "replace").decode("utf-8")
    value = strip_placeholders(value)  # privacy hook (issue 14): <EMAIL>, <PHONE>… are no topic words
    return value.lower() if lower else value
