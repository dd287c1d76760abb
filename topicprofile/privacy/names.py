"""Names of people -> ``<PERSON>``: Microsoft Presidio over a spaCy pipeline loaded from a folder
(the ``topicprofile[privacy]`` extra; nothing is downloaded, and tldextract is told not to fetch).

:func:`name_scrubber` loads one :class:`NameScrubber` per pipeline folder; :func:`names_record` is
what a run's ``privacy`` record says (the pipeline's name and version, not its folder). The
scrubber is handed to :func:`topicprofile.privacy.scrub.scrub_texts` as ``names=``.
"""

from __future__ import annotations

import functools
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from topicprofile.errors import ConfigError
from topicprofile.privacy.placeholders import merge_spans, placeholder

__all__ = ["NameScrubber", "name_scrubber", "names_record"]


class NameScrubber:
    """Names of people -> ``<PERSON>`` with Microsoft Presidio over a spaCy pipeline from a folder.

    Parameters
    ----------
    model_path : str or Path
        Folder of a saved spaCy pipeline with a named-entity recognizer (``nlp.to_disk`` output,
        e.g. the data folder inside an installed ``en_core_web_sm`` package). Never downloaded.
    lang : str
        Language code of the pipeline.
    min_score : float
        Presidio's confidence below which a PERSON finding is ignored.

    Raises
    ------
    ConfigError
        When the ``privacy`` extra is not installed or the folder holds no spaCy pipeline.
    """

    def __init__(self, model_path: str | Path, *, lang: str = "en", min_score: float = 0.5) -> None:
        self.model_path = Path(model_path)
        self.lang = lang
        self.min_score = min_score
        self._engine: Any = None

    def load(self) -> NameScrubber:
        """Load Presidio and the pipeline now (a missing extra or folder fails before any work); returns self."""
        self._analyzer()
        return self

    def _analyzer(self) -> Any:
        if self._engine is not None:
            return self._engine
        _pipeline_meta(self.model_path)
        # tldextract (a Presidio dependency) fetches the public-suffix list unless told not to.
        os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
        try:
            from presidio_analyzer import AnalyzerEngine
            from presidio_analyzer.nlp_engine import NlpEngineProvider
        except ImportError as e:
            raise ConfigError(
                "scrubbing names needs the privacy extra: pip install 'topicprofile[privacy]'"
            ) from e
        config = {"nlp_engine_name": "spacy", "models": [{"lang_code": self.lang, "model_name": str(self.model_path)}]}
        engine = NlpEngineProvider(nlp_configuration=config).create_engine()
        self._engine = AnalyzerEngine(nlp_engine=engine, supported_languages=[self.lang])
        return self._engine

    def scrub(self, texts: list[str], counts: Counter[str]) -> list[str]:
        """Replace names in each text by ``<PERSON>``; adds the number replaced to ``counts["PERSON"]``."""
        analyzer = self._analyzer()
        out = []
        for text in texts:
            if not isinstance(text, str) or not text:
                out.append(text)
                continue
            found = analyzer.analyze(text, language=self.lang, entities=["PERSON"], score_threshold=self.min_score)
            spans = merge_spans([(r.start, r.end) for r in found])
            for start, end in reversed(spans):
                text = text[:start] + placeholder("PERSON") + text[end:]
            counts["PERSON"] += len(spans)
            out.append(text)
        return out


def _pipeline_meta(model_path: str | Path) -> dict[str, Any]:
    """The ``meta.json`` of the spaCy pipeline saved in ``model_path`` (ConfigError when there is none)."""
    meta = Path(model_path) / "meta.json"
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    if not isinstance(data, dict):
        raise ConfigError(
            f"{model_path}: not a saved spaCy pipeline (no meta.json); give the folder of a "
            "pipeline with a named-entity recognizer to --scrub-names-model"
        )
    return data


def names_record(model_path: str | Path) -> dict[str, Any]:
    """What a run's ``privacy`` record says about names: scrubbed, and with which pipeline (its
    ``meta.json`` name and version, e.g. ``"en_core_web_sm 3.8.0"``; the folder is in the model's params)."""
    meta = _pipeline_meta(model_path)
    name = f"{meta.get('lang', '')}_{meta.get('name', '')}".strip("_") or Path(model_path).name
    return {"scrub_names": True, "names_pipeline": f"{name} {meta.get('version', '')}".strip()}


@functools.lru_cache(maxsize=2)
def _cached_scrubber(model_path: str) -> NameScrubber:
    return NameScrubber(model_path, lang=str(_pipeline_meta(model_path).get("lang") or "en")).load()


def name_scrubber(model_path: str | os.PathLike[str] | None) -> NameScrubber | None:
    """A loaded :class:`NameScrubber` for the pipeline in ``model_path`` (its language from its
    ``meta.json``), shared by the calls that name the same folder; None when ``model_path`` is None.

    Raises
    ------
    ConfigError
        The ``privacy`` extra is not installed, or the folder holds no spaCy pipeline.
    """
    if model_path is None:
        return None
    return _cached_scrubber(str(Path(model_path).resolve()))
