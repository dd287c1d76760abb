"""Format 1 (gensim pickles): converted to the current format only when the user vouches for the model.

Loading pickles runs whatever code they hold, so nothing else in topicprofile reads them: a format-1
model is refused by :func:`topicprofile.store.read_manifest` with the command that converts it
(``topicprofile convert-model --trust``), which calls :func:`convert_model`.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from topicprofile.errors import ModelError
from topicprofile.profiler import TopicProfiler
from topicprofile.store import LEGACY_FILES, MANIFEST, model_lock, read_manifest, read_tables, save_model
from topicprofile.text.phrases import PhraseDetector
from topicprofile.text.vectorize import TfidfKeywords, dictionary_to_state
from topicprofile.topics import LdaTopics

__all__ = ["convert_model"]


def convert_model(path: str | os.PathLike[str], *, trust: bool) -> bool:
    """Rewrite a format-1 model (gensim pickles) at ``path`` in the current format, in place.

    Loading pickles runs whatever code they hold, so this reads them only with ``trust=True``:
    pass it only for a model you made or vouch for. The converted model gives the same output; the
    pickles are deleted once the new version is published. Returns False when the model already
    has the current format (nothing done).

    Raises
    ------
    ModelError
        ``trust`` is False, or ``path`` is not a format-1 or current model.
    """
    folder = Path(path)
    if not trust:
        raise ModelError(
            f"{folder}: converting reads the model's pickles, which can run any code; pass --trust only "
            "for a model you made or vouch for"
        )
    with model_lock(folder):
        manifest = _legacy_manifest(folder)
        if manifest is None:
            read_manifest(folder)  # current format: checks it, nothing to do
            return False
        try:
            profiler = TopicProfiler.from_state(_legacy_state(folder, manifest))
        except ModelError:
            raise
        except Exception as e:
            one_line = " ".join(str(e).split())
            raise ModelError(f"{folder}: corrupt format-1 model ({type(e).__name__}: {one_line}); refit it") from e
        save_model(profiler.to_state(), folder)
    return True


def _legacy_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of a format-1 model at ``folder``, None for a current one; ModelError otherwise."""
    try:
        read_manifest(folder)
        return None
    except ModelError as e:
        if "model of format 1" not in str(e):
            raise
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    missing = [p for p in ("dictionary.gensim", "tfidf.gensim", "lda/lda.gensim", *LEGACY_FILES[:2]) if not (folder / p).is_file()]
    if missing:
        raise ModelError(f"{folder}: corrupt format-1 model, missing {', '.join(missing)}; refit it")
    return manifest


def _legacy_state(folder: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The plain data of a format-1 model (as :func:`topicprofile.store.read_state` gives), from its pickles."""
    from gensim.corpora import Dictionary
    from gensim.models import LdaModel, TfidfModel
    from gensim.models.phrases import FrozenPhrases

    dictionary = Dictionary.load(str(folder / "dictionary.gensim"))
    tfidf = TfidfModel.load(str(folder / "tfidf.gensim"))
    lda = LdaModel.load(str(folder / "lda" / "lda.gensim"))
    phrases = None
    if (folder / "phrases.gensim").is_file():
        phrases_logger = logging.getLogger("gensim.models.phrases")  # a frozen model warns of no corpus_word_count
        level = phrases_logger.level
        phrases_logger.setLevel(logging.ERROR)
        try:
            phrases = PhraseDetector.from_frozen(FrozenPhrases.load(str(folder / "phrases.gensim"))).to_state()
        finally:
            phrases_logger.setLevel(level)
    topics = LdaTopics.from_gensim(lda, random_state=manifest["params"]["random_state"])
    encoder = {
        "tokenizer": manifest["tokenizer"],
        "phrases": phrases,
        "dictionary": dictionary_to_state(dictionary),
        "tfidf": TfidfKeywords.from_model(tfidf, dictionary).to_state(),
    }
    lda_state = topics.to_state()
    return {"manifest": manifest, "encoder": encoder, "lda": lda_state,
            **read_tables(folder, manifest, n_topics=topics.n_topics)}  # fmt: skip
