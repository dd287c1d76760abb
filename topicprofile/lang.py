"""Per-document language detection for ``--lang auto`` (Chinese vs English by script ratio)."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["detect_script", "AUTO", "AUTO_LANGS"]

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
