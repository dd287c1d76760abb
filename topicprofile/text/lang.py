"""Language codes and detection: per-document routing for ``--lang auto`` (Chinese vs English by
script ratio), the check of a ``--lang`` code, and a warning when the texts do not look like it."""

from __future__ import annotations

import functools
import itertools
import logging
import re
from collections.abc import Iterable

from topicprofile.errors import ConfigError

__all__ = [
    "AUTO",
    "AUTO_LANGS",
    "LANG_SAMPLE",
    "check_lang",
    "detect_script",
    "language_mismatch",
    "supported_langs",
    "warn_language_mismatch",
]  # fmt: skip

logger = logging.getLogger(__name__)

AUTO = "auto"
#: The languages ``--lang auto`` routes between.
AUTO_LANGS = ("en", "zh")

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
#: A document is Chinese when Han characters make up at least this share of its letters.
#: Han characters carry a word's meaning each, Latin letters a fraction of one, hence a low bar:
#: "这个iPhone手机壳很好看 love it" (7 Han, 16 Latin) is Chinese.
ZH_SHARE = 0.2


def detect_script(text: str) -> str:
    """``"zh"`` if Han characters are at least :data:`ZH_SHARE` of the letters, else ``"en"``.

    Empty text, digits or emoji only count as English (they tokenize to nothing either way).

    Examples
    --------
    >>> detect_script("酒店房间很干净"), detect_script("great tent"), detect_script("这个iPhone手机壳很好看 love it")
    ('zh', 'en', 'zh')
    """
    if not isinstance(text, str) or not text:
        return "en"
    han = len(_CJK.findall(text))
    if han == 0:
        return "en"
    latin = len(_LATIN.findall(text))
    return "zh" if han >= ZH_SHARE * (han + latin) else "en"


def detect_scripts(texts: Iterable[str]) -> list[str]:
    """:func:`detect_script` of each text."""
    return [detect_script(t) for t in texts]


#: spaCy's multi-language class: no stop words and no lemmas, so every topic would be stop words.
_NOT_FOR_TOPICS = frozenset({"xx"})


@functools.lru_cache(maxsize=1)
def supported_langs() -> tuple[str, ...]:
    """``auto``, ``en``, ``zh``, then every other language spaCy ships (``spacy.lang`` packages)."""
    import pkgutil

    import spacy.lang

    codes = {m.name for m in pkgutil.iter_modules(spacy.lang.__path__) if m.ispkg} - _NOT_FOR_TOPICS
    return (AUTO, *AUTO_LANGS, *sorted(codes - set(AUTO_LANGS)))


def check_lang(lang: object) -> None:
    """Raise ConfigError unless ``lang`` is ``auto`` or a language spaCy supports (not ``xx``).

    Examples
    --------
    >>> check_lang("de")
    >>> check_lang("klingon")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    topicprofile.errors.ConfigError: unknown language 'klingon'; use one of: auto, en, zh, af, ...
    """
    if isinstance(lang, str) and (lang == AUTO or lang in AUTO_LANGS):
        return
    if isinstance(lang, str) and lang not in _NOT_FOR_TOPICS:
        from spacy.util import get_lang_class

        try:
            get_lang_class(lang)
            return
        except (ImportError, KeyError, ValueError):
            pass
    raise ConfigError(f"unknown language {lang!r}; use one of: {', '.join(supported_langs())}.")


#: Texts whose letters are at least this share Han are Chinese for the mismatch check.
_HAN_TEXTS = 0.5
#: English stop words at least this share of the sample's words, and at least twice the chosen
#: language's share, make English texts (English prose runs at 40-55%; German on English 5-15%).
_EN_STOP_SHARE = 0.2
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def language_mismatch(texts: Iterable[str], lang: str) -> str | None:
    """One line saying the texts look like another language than ``lang``, or None when they fit.

    Two signals on the given sample: the script (share of Han characters among the letters: a
    Chinese sample under a non-CJK ``lang``, or a non-Chinese one under ``zh``) and the stop-word
    share (the share of words that are English stop words vs stop words of ``lang``).

    Examples
    --------
    >>> language_mismatch(["the tent is great and it was easy to set up"] * 5, "de")  # doctest: +ELLIPSIS
    'texts look English but --lang de was given: ...'
    >>> language_mismatch(["the tent is great and it was easy to set up"] * 5, "en") is None
    True
    """
    if lang == AUTO:
        return None
    sample = [t for t in texts if isinstance(t, str) and t]
    han = sum(len(_CJK.findall(t)) for t in sample)
    latin = sum(len(_LATIN.findall(t)) for t in sample)
    if han + latin == 0:
        return None
    han_share = han / (han + latin)
    if han_share >= _HAN_TEXTS and lang not in ("zh", "ja", "ko"):
        return (
            f"texts look Chinese but --lang {lang} was given: {han_share:.0%} of their letters are Han "
            "characters; use --lang zh (or --lang auto for a mix)."
        )
    if lang == "zh":
        if han_share < ZH_SHARE:
            return (
                f"texts do not look Chinese but --lang zh was given: only {han_share:.0%} of their letters are "
                "Han characters; use --lang en (or --lang auto for a mix)."
            )
        return None
    if lang == "en":
        return None
    words = [w.lower() for t in sample for w in _WORD.findall(t)]
    if len(words) < 20:
        return None
    en_share = _stop_share(words, "en")
    lang_share = _stop_share(words, lang)
    if en_share >= _EN_STOP_SHARE and en_share >= 2 * lang_share:
        return (
            f"texts look English but --lang {lang} was given: {en_share:.0%} of their words are English stop "
            f"words and {lang_share:.0%} are {lang} ones, so topics would be made of stop words; use --lang en."
        )
    return None


def _stop_share(words: list[str], lang: str) -> float:
    from spacy.util import get_lang_class

    try:
        stops = {w.lower() for w in get_lang_class(lang).Defaults.stop_words}
    except (ImportError, KeyError, ValueError):
        return 0.0
    return sum(w in stops for w in words) / len(words)


#: The fit checks ``lang`` on this many texts (the first ones, in order).
LANG_SAMPLE = 2_000


def warn_language_mismatch(texts: Iterable[str], lang: str, *, sample: int = LANG_SAMPLE) -> None:
    """Log :func:`language_mismatch` of the first ``sample`` texts as a warning (the fit's check of ``lang``)."""
    mismatch = language_mismatch(itertools.islice(texts, sample), lang)
    if mismatch:
        logger.warning("%s", mismatch)
