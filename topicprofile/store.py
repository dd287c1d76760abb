"""The saved model: a directory with ``manifest.json`` and the fitted parts, written atomically.

Layout (format version 1)::

    manifest.json        format version, package versions, parameters, input fingerprint, coherence
    dictionary.gensim    gensim Dictionary
    tfidf.gensim         gensim TfidfModel
    lda/lda.gensim       gensim LdaModel (+ its side files)
    phrases.gensim       gensim FrozenPhrases (absent when phrases are off)
    topics.json          per-topic labels, terms, prevalence, coherence
    profiles.parquet     the customers' profiles at fit time
    documents.parquet    the cleaned texts the model was fitted on (customer, channel, text), for
                         ``explain`` without the input files (absent if the profiler has none)
    segments.json        RFM/topic fusion, segment centres and cards (only when fitted with orders)

The whole directory is first written next to the target and then renamed into place, so a crash
never leaves a half-written model behind; an older model at the same path is replaced only once
the new one is complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from topicprofile.errors import ModelError

__all__ = ["FORMAT_VERSION", "save_model", "load_model", "read_manifest", "atomic_write_text"]

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_PARTS = ("dictionary.gensim", "tfidf.gensim", "lda/lda.gensim", "topics.json", "profiles.parquet")
_VERSIONED = ("topicprofile", "gensim", "spacy", "scikit-learn", "pandas", "numpy")


def _package_versions() -> dict[str, str]:
    versions = {}
    for name in _VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "unknown"
    return versions


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def _manifest(profiler: Any) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "kind": "topicprofile.TopicProfiler",
        "versions": _package_versions(),
        "params": _json_safe(profiler.get_params()),
        "n_segments": len(profiler.segment_cards_),
        "tokenizer": profiler.tokenizer_.get_config(),
        "lda": _json_safe(
            {k: ("seeded by the taxonomy" if hasattr(v, "shape") else v) for k, v in profiler.topics_.resolved_params().items()}
        ),
        "input": {"fingerprint": profiler.input_fingerprint_, "n_documents": profiler.n_documents_},
        "n_customers": int(len(profiler.profiles_)),
        "n_terms": len(profiler.dictionary_),
        "coherence": profiler.coherence_,
        "n_topics": profiler.n_topics_,
        "tuning": None if profiler.tuning_ is None else _json_safe(profiler.tuning_.to_dict(orient="records")),
        "topic_labels": list(profiler.topic_labels_),
    }


def save_model(profiler: Any, path: str | os.PathLike[str]) -> Path:
    """Save a fitted :class:`~topicprofile.TopicProfiler` to directory ``path`` atomically."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and not (target / MANIFEST).is_file() and any(target.iterdir()):
        raise ModelError(f"{target}: exists and is not a topicprofile model; choose another --model-dir")
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.staging-"))
    try:
        _write_parts(profiler, staging)
        _swap_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _write_parts(profiler: Any, folder: Path) -> None:
    profiler.dictionary_.save(str(folder / "dictionary.gensim"))
    profiler.keywords_.tfidf_.save(str(folder / "tfidf.gensim"))
    (folder / "lda").mkdir()
    profiler.topics_.lda_.save(str(folder / "lda" / "lda.gensim"))
    if profiler.phrases_ is not None:
        profiler.phrases_.save(str(folder / "phrases.gensim"))
    topics = profiler.topic_info_.drop(columns=["label"]).to_dict(orient="records")
    (folder / "topics.json").write_text(
        json.dumps(_json_safe(topics), ensure_ascii=False, indent=1), encoding="utf-8"
    )
    profiler.profiles_.to_parquet(folder / "profiles.parquet", index=False)
    if getattr(profiler, "documents_", None) is not None:
        profiler.documents_.write_parquet(folder / "documents.parquet")
    if getattr(profiler, "segmenter_", None) is not None:
        from topicprofile.segment import write_segments

        write_segments(folder, fuser=profiler.fuser_, segmenter=profiler.segmenter_, cards=profiler.segment_cards_)
    # The manifest goes last: a directory with a manifest is a complete model.
    (folder / MANIFEST).write_text(
        json.dumps(_manifest(profiler), ensure_ascii=False, indent=2), encoding="utf-8"
    )


def _swap_into_place(staging: Path, target: Path) -> None:
    if not target.exists():
        os.replace(staging, target)
        return
    retired = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
    os.rmdir(retired)
    os.replace(target, retired)
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(retired, target)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a model's manifest; raises :class:`ModelError` with what to do."""
    folder = Path(path)
    if not folder.exists():
        raise ModelError(f"{folder}: model directory not found; fit one with `topicprofile fit`")
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise ModelError(f"{folder}: not a topicprofile model (manifest.json missing)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelError(f"{manifest_path}: corrupt manifest ({e}); refit the model") from e
    version = manifest.get("format_version") if isinstance(manifest, dict) else None
    if not isinstance(version, int):
        raise ModelError(f"{manifest_path}: corrupt manifest (no format_version); refit the model")
    if version > FORMAT_VERSION:
        made_by = manifest.get("versions", {}).get("topicprofile", "a newer version")
        raise ModelError(
            f"{folder}: model format {version} was written by topicprofile {made_by}; this "
            f"topicprofile reads format {FORMAT_VERSION} — upgrade topicprofile"
        )
    if version < FORMAT_VERSION:
        raise ModelError(f"{folder}: model format {version} is no longer supported; refit the model")
    missing = [p for p in _PARTS if not (folder / p).is_file()]
    if missing:
        raise ModelError(f"{folder}: corrupt model, missing {', '.join(missing)}; refit the model")
    return manifest


def load_model(path: str | os.PathLike[str]) -> Any:
    """Load a model saved by :func:`save_model` into a fitted :class:`~topicprofile.TopicProfiler`."""
    from topicprofile.profiler import TopicProfiler

    folder = Path(path)
    manifest = read_manifest(folder)
    try:
        return _build_profiler(TopicProfiler, folder, manifest)
    except ModelError:
        raise
    except Exception as e:  # any unpickling / parquet / shape error means the files are damaged
        raise ModelError(f"{folder}: corrupt model ({type(e).__name__}: {e}); refit the model") from e


def _build_profiler(cls: Any, folder: Path, manifest: dict[str, Any]) -> Any:
    from gensim.corpora import Dictionary
    from gensim.models import LdaModel, TfidfModel

    from topicprofile.corpus import DocumentStore
    from topicprofile.phrases import PhraseDetector
    from topicprofile.tokenizer import SpacyTokenizer
    from topicprofile.topics import LdaTopics
    from topicprofile.vectorize import TfidfKeywords

    params = dict(manifest["params"])
    if params.get("k_values") is not None:
        params["k_values"] = tuple(params["k_values"])
    if params.get("segment_k_range") is not None:
        params["segment_k_range"] = tuple(params["segment_k_range"])
    if params.get("topic_labels"):
        params["topic_labels"] = {int(k): v for k, v in params["topic_labels"].items()}
    profiler = cls(**params)
    profiler.tokenizer_ = SpacyTokenizer.from_config(manifest["tokenizer"])
    profiler.dictionary_ = Dictionary.load(str(folder / "dictionary.gensim"))
    keywords = TfidfKeywords()
    keywords.tfidf_ = TfidfModel.load(str(folder / "tfidf.gensim"))
    keywords.dictionary_ = profiler.dictionary_
    profiler.keywords_ = keywords
    lda = LdaModel.load(str(folder / "lda" / "lda.gensim"))
    profiler.topics_ = LdaTopics.from_gensim(lda, random_state=profiler.random_state)
    profiler.n_topics_ = lda.num_topics
    tuning = manifest.get("tuning")
    profiler.tuning_ = pd.DataFrame(tuning) if tuning else None
    phrases = folder / "phrases.gensim"
    profiler.phrases_ = PhraseDetector.load(str(phrases)) if phrases.is_file() else None
    topics = json.loads((folder / "topics.json").read_text(encoding="utf-8"))
    profiler.topic_info_ = pd.DataFrame(topics)
    profiler.auto_labels_ = profiler.topic_info_["auto_label"].tolist()
    profiler.coherence_ = manifest["coherence"]
    profiler.n_documents_ = manifest["input"]["n_documents"]
    profiler.input_fingerprint_ = manifest["input"]["fingerprint"]
    profiler.profiles_ = pd.read_parquet(folder / "profiles.parquet")
    documents = folder / "documents.parquet"
    profiler.documents_ = DocumentStore.open(documents) if documents.is_file() else None
    profiler.fuser_, profiler.segmenter_, profiler.segment_cards_ = None, None, []
    if (folder / "segments.json").is_file():
        from topicprofile.segment import load_segments

        profiler.fuser_, profiler.segmenter_, profiler.segment_cards_ = load_segments(folder)
    # profiles.parquet and segments.json were written with these labels: no relabelling needed
    profiler.topic_labels_ = list(manifest["topic_labels"])
    profiler.topic_info_["label"] = profiler.topic_labels_
    return profiler
