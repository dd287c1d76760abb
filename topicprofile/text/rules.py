"""spaCy's English tokenizer and lexical attributes from its saved rules, without importing spaCy.

Importing spaCy and building ``spacy.blank("en")`` takes about a second, most of a one-sentence
``tag-text``. The blank English pipeline is rules and nothing else: prefix, suffix and infix
regular expressions, a URL pattern, special cases ("don't" -> "do", "n't"; ":)"), and per-word
attributes (punctuation, number, URL, e-mail, stop word). ``scripts/export_spacy_rules.py`` saves
them from the installed spaCy as ``topicprofile/data/spacy_rules_en.json``; this module applies
them with the algorithm of spaCy's ``Tokenizer.__call__`` (``spacy/tokenizer.pyx``: whitespace
runs, ``_split_affixes``, ``_attach_tokens``, then the special-case matcher) and spaCy's
attribute functions (``spacy/lang/lex_attrs.py``, ``spacy/lang/en/lex_attrs.py``).

The rules are used only while the spaCy version they were exported from is installed
(:func:`load_rules` returns None otherwise, and the tokenizer imports spaCy as before), and
``tests/text/test_tokenizer_rules.py`` checks token for token, attribute for attribute, that they give
spaCy's results on thousands of real reviews.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from importlib import metadata, resources
from typing import Any

__all__ = ["RuleLexeme", "RulePipeline", "RuleTokenizer", "load_rules"]

_NEVER = re.compile("a^")


def _compile(spec: dict[str, Any] | None) -> re.Pattern[str]:
    return _NEVER if spec is None else re.compile(spec["pattern"], spec["flags"])


@functools.cache
def load_rules(lang: str) -> RulePipeline | None:
    """The saved rules of ``lang`` as a :class:`RulePipeline`, or None when there are none or they
    were exported from another spaCy version than the installed one."""
    try:
        text = (
            resources.files("topicprofile.data")
            .joinpath(f"spacy_rules_{lang}.json")
            .read_text(encoding="utf-8")
        )
        installed = metadata.version("spacy")
    except (FileNotFoundError, metadata.PackageNotFoundError):
        return None
    data = json.loads(text)
    if data.get("spacy_version") != installed:
        return None
    return RulePipeline(data)


class RuleTokenizer:
    """spaCy's ``Tokenizer`` (``faster_heuristics`` on) from its rules: ``cut(text)`` gives the
    tokens' texts, whitespace tokens included, as ``[t.text for t in nlp.make_doc(text)]``."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._prefix = _compile(data["prefix"]).search
        self._suffix = _compile(data["suffix"]).search
        self._infix = _compile(data["infix"]).finditer
        self._token_match = None if data["token_match"] is None else _compile(data["token_match"]).match
        self._url_match = None if data["url_match"] is None else _compile(data["url_match"]).match
        self.specials: dict[str, list[str]] = data["special_cases"]
        self._cache: dict[str, list[str]] = {}
        # special cases the matcher looks for across tokens (spaCy's add_special_case): each as the
        # tokens its string gives without special cases, grouped by first token
        self._patterns: dict[str, list[tuple[str, ...]]] = {}
        for words in data["matcher_patterns"].values():
            self._patterns.setdefault(words[0], []).append(tuple(words))

    def _find_prefix(self, text: str) -> int:
        match = self._prefix(text)
        return match.end() - match.start() if match is not None else 0

    def _find_suffix(self, text: str) -> int:
        match = self._suffix(text)
        return match.end() - match.start() if match is not None else 0

    def cut(self, text: str) -> list[str]:
        """The token texts of ``text``."""
        tokens = self._tokenize_affixes(text, with_specials=True)
        return self._apply_special_cases(tokens)

    def _tokenize_affixes(self, text: str, *, with_specials: bool) -> list[tuple[str, bool]]:
        """``(token, followed by a space)`` pairs: runs of whitespace and of other characters, a
        single space after a token being that token's trailing space (``Tokenizer._tokenize_affixes``)."""
        tokens: list[tuple[str, bool]] = []
        if not text:
            return tokens
        start = 0
        in_ws = text[0].isspace()
        for i, char in enumerate(text):
            if char.isspace() != in_ws:
                if start < i:
                    tokens.extend((word, False) for word in self._span(text[start:i], with_specials))
                if char == " ":
                    tokens[-1] = (tokens[-1][0], True)
                    start = i + 1
                else:
                    start = i
                in_ws = not in_ws
        if start < len(text):
            tokens.extend((word, False) for word in self._span(text[start:], with_specials))
            tokens[-1] = (tokens[-1][0], text[-1] == " " and not in_ws)
        return tokens

    def _span(self, span: str, with_specials: bool) -> list[str]:
        if with_specials and span in self.specials:
            return self.specials[span]
        cached = self._cache.get(span) if with_specials else None
        if cached is not None:
            return cached
        prefixes: list[str] = []
        suffixes: list[str] = []
        rest = self._split_affixes(span, prefixes, suffixes, with_specials)
        words = prefixes + self._attach(rest, with_specials) + suffixes[::-1]
        if with_specials and len(self._cache) < 10_000:
            self._cache[span] = words
        return words

    def _split_affixes(self, text: str, prefixes: list[str], suffixes: list[str], with_specials: bool) -> str:
        specials = self.specials if with_specials else {}
        last_size = 0
        while text and len(text) != last_size:
            if self._token_match is not None and self._token_match(text):
                break
            if text in specials:
                break
            last_size = len(text)
            pre_len = self._find_prefix(text)
            if pre_len:
                prefix, minus_pre = text[:pre_len], text[pre_len:]
                if minus_pre and minus_pre in specials:
                    prefixes.append(prefix)
                    return minus_pre
            suf_len = self._find_suffix(text[pre_len:])
            if suf_len:
                suffix, minus_suf = text[-suf_len:], text[:-suf_len]
                if minus_suf and minus_suf in specials:
                    suffixes.append(suffix)
                    return minus_suf
            if pre_len and suf_len and pre_len + suf_len <= len(text):
                text = text[pre_len:-suf_len]
                prefixes.append(prefix)
                suffixes.append(suffix)
            elif pre_len:
                text = minus_pre
                prefixes.append(prefix)
            elif suf_len:
                text = minus_suf
                suffixes.append(suffix)
        return text

    def _attach(self, text: str, with_specials: bool) -> list[str]:
        if not text:
            return []
        if with_specials and text in self.specials:
            return self.specials[text]
        if with_specials and text in self._cache:
            return self._cache[text]
        if (self._token_match is not None and self._token_match(text)) or (
            self._url_match is not None and self._url_match(text)
        ):
            return [text]
        words: list[str] = []
        start = 0
        for match in self._infix(text):
            infix_start, infix_end = match.start(), match.end()
            if infix_start == 0:
                continue
            if infix_start != start:
                words.append(text[start:infix_start])
            if infix_start != infix_end:
                words.append(text[infix_start:infix_end])
            start = infix_end
        if not words:
            return [text]
        if text[start:]:
            words.append(text[start:])
        return words

    def _apply_special_cases(self, tokens: list[tuple[str, bool]]) -> list[str]:
        """spaCy's special-case matcher: multi-token occurrences of special cases, longest first,
        then leftmost, overlapping ones dropped, replaced by the special case's tokens."""
        words = [word for word, _ in tokens]
        patterns = self._patterns
        matches = [
            (start, start + len(pattern))
            for start, word in enumerate(words)
            for pattern in patterns.get(word, ())
            if tuple(words[start : start + len(pattern)]) == pattern
        ]
        if not matches:
            return words
        matches.sort(key=lambda m: (m[1] - m[0], -m[0]))
        seen: set[int] = set()
        kept = []
        for start, end in reversed(matches):
            if start not in seen and end - 1 not in seen:
                kept.append((start, end))
            seen.update(range(start, end))
        out: list[str] = []
        i = 0
        for start, end in sorted(kept):
            out.extend(words[i:start])
            text = (
                "".join(word + (" " if space else "") for word, space in tokens[start : end - 1])
                + words[end - 1]
            )
            out.extend(self.specials.get(text, words[start:end]))
            i = end
        out.extend(words[i:])
        return out


class RuleLexeme:
    """The attributes of a word the token filter reads, as spaCy's lexical attribute getters set them."""

    __slots__ = ("is_punct", "is_space", "is_stop", "like_email", "like_num", "like_url", "lower_")

    def __init__(self, text: str, attrs: _EnglishAttrs) -> None:
        self.is_punct = all(unicodedata.category(char).startswith("P") for char in text)
        self.is_space = text.isspace()
        self.like_num = attrs.like_num(text)
        self.like_url = attrs.like_url(text)
        self.like_email = bool(attrs.email(text))
        self.is_stop = text.lower() in attrs.stop_words
        self.lower_ = text.lower()


class _EnglishAttrs:
    """``like_num`` (English), ``like_url``, ``like_email`` and the stop words, from the saved data."""

    def __init__(self, data: dict[str, Any]) -> None:
        lex = data["lex_attrs"]
        self.email = _compile(lex["email"]).match
        self.url_match = _compile(lex["url"]).match
        self.tlds = frozenset(lex["tlds"])
        self.num_words = frozenset(lex["num_words"])
        self.ordinal_words = frozenset(lex["ordinal_words"])
        self.stop_words = frozenset(data["stop_words"])

    def like_num(self, text: str) -> bool:
        if text.startswith(("+", "-", "±", "~")):
            text = text[1:]
        text = text.replace(",", "").replace(".", "")
        if text.isdigit():
            return True
        if text.count("/") == 1:
            num, denom = text.split("/")
            if num.isdigit() and denom.isdigit():
                return True
        lower = text.lower()
        if lower in self.num_words or lower in self.ordinal_words:
            return True
        return lower.endswith(("st", "nd", "rd", "th")) and lower[:-2].isdigit()

    def like_url(self, text: str) -> bool:
        if text.startswith(("http://", "https://")):
            return True
        if text.startswith("www.") and len(text) >= 5:
            return True
        if text[0] == "." or text[-1] == ".":
            return False
        if "@" in text or "." not in text:
            return False
        tld = text.rsplit(".", 1)[1].split(":", 1)[0]
        if tld.endswith("/"):
            return True
        if tld.isalpha() and tld in self.tlds:
            return True
        return bool(self.url_match(text))


class _RuleVocab:
    def __init__(self, attrs: _EnglishAttrs) -> None:
        self._attrs = attrs

    def __getitem__(self, text: str) -> RuleLexeme:
        return RuleLexeme(text, self._attrs)


class RulePipeline:
    """What the token filter uses of a blank spaCy pipeline (``lang``, ``max_length``, ``vocab[word]``,
    ``make_doc`` for the length check), from saved rules; :attr:`tokenizer` cuts texts into words."""

    pipe_names: tuple[str, ...] = ()

    def __init__(self, data: dict[str, Any]) -> None:
        self.lang: str = data["lang"]
        self.max_length: int = data["max_length"]
        self.tokenizer = RuleTokenizer(data)
        self.attrs = _EnglishAttrs(data)
        self.vocab = _RuleVocab(self.attrs)
        self.stop_words = self.attrs.stop_words

    def make_doc(self, text: str) -> None:
        if len(text) > self.max_length:  # spaCy's E088, in its words
            raise ValueError(
                f"[E088] Text of length {len(text)} exceeds maximum of {self.max_length}. The parser and NER "
                "models require roughly 1GB of temporary memory per 100,000 characters in the input."
            )
