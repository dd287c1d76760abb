"""Reading a saved model's folder with numpy alone: the manifest checks and the plain-data parts.

:mod:`topicprofile.store` writes models and reads them whole through these functions; they import
neither pandas nor any estimator, so a command that needs only some parts (``tag-text``:
:func:`load_text_tagger`) starts fast. The layout is described in :mod:`topicprofile.store`.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from topicprofile.errors import ModelError
from topicprofile.store_versions import KIND, MANIFEST, VERSIONS, one_line, read_json
from topicprofile.tag.tagger import InterestTagger, anchor_matrix
from topicprofile.tag.texts import TextTagger, anchor_counter
from topicprofile.text.counter import WordCounter
from topicprofile.text.phrases import PhraseJoiner
from topicprofile.text.tokenizer import SpacyTokenizer
from topicprofile.topics.infer import TopicInference, check_exp_elog_beta, topic_word

__all__ = [
    "FORMAT_VERSION",
    "KIND",
    "MANIFEST",
    "VERSIONS",
    "load_text_tagger",
    "read_arrays",
    "read_manifest",
]

FORMAT_VERSION = 2
_PARTS = (
    "dictionary/vocabulary.json", "dictionary/dfs.npy", "dictionary/cfs.npy",
    "tfidf/params.json", "tfidf/dfs.npy", "tfidf/idfs.npy",
    "lda/params.json", "lda/alpha.npy", "lda/eta.npy", "lda/sstats.npy", "lda/exp_elog_beta.npy",
    "topics.json", "profiles.parquet",
)  # fmt: skip
_CONVERT = "topicprofile convert-model --trust"
#: TopicProfiler parameter -> InterestTagger parameter, for the rules of tagging a text.
_TAGGER_PARAMS = {"tag_threshold": "threshold", "max_tags": "max_tags", "min_tokens": "min_tokens",
                  "anchor_below": "anchor_below"}  # fmt: skip
#: ``TopicProfiler(anchor_threshold=...)``'s default.
_ANCHOR_THRESHOLD = 0.5


def _read_array(path: Path, dtype: str, *shapes: tuple[int | None, ...]) -> np.ndarray:
    """An ``.npy`` array of exactly ``dtype`` and one of ``shapes`` (None: any length); never unpickles."""
    with open(path, "rb") as f:
        array = np.lib.format.read_array(f, allow_pickle=False)
    fits = [
        array.ndim == len(shape) and all(want is None or got == want for got, want in zip(array.shape, shape))
        for shape in shapes
    ]
    if array.dtype != np.dtype(dtype) or not any(fits):
        wanted = " or ".join(
            "(" + ", ".join("n" if n is None else str(n) for n in shape) + ")" for shape in shapes
        )
        raise ModelError(
            f"{path}: corrupt model part: {array.dtype} array of shape {array.shape}, expected {dtype} "
            f"{wanted}; refit the model"
        )
    return array


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a model's manifest (a model folder or one of its ``versions/<n>``).

    Raises
    ------
    ModelError
        Missing, not a model, corrupt, of a newer format, or of format 1 (pickles: refused, with
        the command that converts it).
    """
    folder = Path(path)
    if not folder.exists():
        raise ModelError(f"{folder}: model directory not found; fit one with `topicprofile fit`")
    if not folder.is_dir():
        raise ModelError(
            f"{folder}: is a file, not a model directory; give the model's folder as --model-dir"
        )
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise ModelError(f"{folder}: not a topicprofile model (manifest.json missing)")
    try:
        manifest = read_json(manifest_path)
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelError(f"{manifest_path}: corrupt manifest ({one_line(e)}); refit the model") from e
    version = manifest.get("format_version") if isinstance(manifest, dict) else None
    if not isinstance(version, int) or manifest.get("kind") != KIND:
        raise ModelError(f"{manifest_path}: corrupt manifest (no format_version or kind); refit the model")
    if version > FORMAT_VERSION:
        made_by = manifest.get("versions", {}).get("topicprofile", "a newer version")
        raise ModelError(
            f"{folder}: model format {version} was written by topicprofile {made_by}; this "
            f"topicprofile reads format {FORMAT_VERSION} — upgrade topicprofile"
        )
    if version == 1:
        raise ModelError(
            f"{folder}: model of format 1, whose parts are pickles that can run code when loaded, so it is "
            f"not loaded; if you made it or trust it, convert it once with: {_CONVERT} {folder}"
        )
    if version < FORMAT_VERSION:
        raise ModelError(f"{folder}: model format {version} is no longer supported; refit the model")
    parts = _parts_folder(folder, manifest)
    missing = [p for p in _PARTS if not (parts / p).is_file()]
    if missing:
        raise ModelError(f"{folder}: corrupt model, missing {', '.join(missing)}; refit the model")
    return manifest


def _parts_folder(folder: Path, manifest: dict[str, Any]) -> Path:
    current = manifest.get("current")
    if current is None:
        return folder
    if not isinstance(current, str) or not re.fullmatch(rf"{VERSIONS}/\d+", current):
        raise ModelError(f"{folder / MANIFEST}: corrupt manifest (current {current!r}); refit the model")
    if not (folder / current).is_dir():
        raise ModelError(
            f"{folder}: corrupt model, its current version {current} is missing; refit the model"
        )
    return folder / current


def _check_vocabulary(folder: Path, vocabulary: dict[str, Any]) -> int:
    tokens, ids = vocabulary["tokens"], vocabulary["ids"]
    n_terms = len(tokens)
    if (
        not all(isinstance(t, str) for t in tokens) or len(set(tokens)) != n_terms
        or sorted(ids) != list(range(n_terms)) or not all(type(i) is int for i in ids)
    ):  # fmt: skip
        raise ModelError(
            f"{folder / 'vocabulary.json'}: corrupt vocabulary (tokens and ids do not match); refit the model"
        )
    return n_terms


def _read_lda(folder: Path, n_terms: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    params = read_json(folder / "params.json")
    k = int(params["num_topics"])
    arrays = {
        "alpha": _read_array(folder / "alpha.npy", "float64", (k,)),
        "eta": _read_array(folder / "eta.npy", "float64", (n_terms,), (k, n_terms)),
        "sstats": _read_array(folder / "sstats.npy", "float64", (k, n_terms)),
        "exp_elog_beta": _read_array(folder / "exp_elog_beta.npy", "float64", (k, n_terms)),
    }
    return params, arrays


def read_arrays(folder: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The model's numeric parts in ``folder`` (arrays checked for dtype and shape): ``manifest``,
    ``encoder`` (tokenizer config, phrases, dictionary and TF-IDF data) and ``lda`` (settings, arrays)."""
    vocabulary = read_json(folder / "dictionary" / "vocabulary.json")
    n_terms = _check_vocabulary(folder / "dictionary", vocabulary)
    pairs = {}
    for name in ("dfs", "cfs"):
        pairs[name] = _read_array(folder / "dictionary" / f"{name}.npy", "int64", (None, 2))
        if pairs[name].size and (pairs[name][:, 0].min() < 0 or pairs[name][:, 0].max() >= n_terms):
            raise ModelError(f"{folder / 'dictionary' / name}.npy: term ids out of range; refit the model")
    dfs = _read_array(folder / "tfidf" / "dfs.npy", "int64", (None, 2))
    tfidf = {"dfs": dfs, "idfs": _read_array(folder / "tfidf" / "idfs.npy", "float64", (dfs.shape[0],))}
    phrases = folder / "phrases.json"
    encoder = {
        "tokenizer": manifest["tokenizer"],
        "phrases": read_json(phrases) if phrases.is_file() else None,
        "dictionary": (vocabulary, pairs),
        "tfidf": (read_json(folder / "tfidf" / "params.json"), tfidf),
    }
    return {"manifest": manifest, "encoder": encoder, "lda": _read_lda(folder / "lda", n_terms)}


def load_text_tagger(path: str | os.PathLike[str]) -> TextTagger:
    """The :class:`~topicprofile.tag.texts.TextTagger` of the model at ``path``: what tagging free
    text needs (tokenizer settings, phrases, vocabulary, LDA inference arrays, tag rules and labels),
    read and checked as :func:`topicprofile.store.load_model` reads them, without building the
    gensim objects or reading the profile tables. It tags exactly as ``TopicProfiler.tag_text``.

    Raises
    ------
    ModelError
        Missing, corrupt (one line naming the problem), or of format 1 (pickles, refused).
    """
    folder = Path(path)
    manifest = read_manifest(folder)
    try:
        return _text_tagger(
            read_arrays(_parts_folder(folder, manifest), manifest), _parts_folder(folder, manifest)
        )
    except ModelError:
        raise
    except Exception as e:  # a JSON / value error means the files are damaged
        raise ModelError(
            f"{folder}: corrupt model ({type(e).__name__}: {one_line(e)}); refit the model"
        ) from e


def _text_tagger(parts: dict[str, Any], folder: Path) -> TextTagger:
    manifest, encoder = parts["manifest"], parts["encoder"]
    params, arrays = parts["lda"]
    n_topics = int(params["num_topics"])
    topics = read_json(folder / "topics.json")
    labels = manifest["topic_labels"]
    if not isinstance(topics, list) or len(topics) != n_topics or len(labels) != n_topics:
        raise ModelError(
            f"{folder}: corrupt model (topics.json, manifest and LDA disagree on the topics); refit the model"
        )
    check_exp_elog_beta(arrays["exp_elog_beta"], sstats=arrays["sstats"], eta=arrays["eta"])
    vocabulary = encoder["dictionary"][0]
    counter = WordCounter(
        SpacyTokenizer.from_config(encoder["tokenizer"]).use_saved_rules(),
        phrases=None if encoder["phrases"] is None else PhraseJoiner.from_state(encoder["phrases"]),
        token2id=dict(zip(vocabulary["tokens"], vocabulary["ids"], strict=True)),
    )
    inference = params["inference"]
    model = manifest["params"]
    anchors = None
    # a parameter missing from an older manifest takes the constructor's default, as TopicProfiler.from_state
    # does (InterestTagger's defaults are TopicProfiler's)
    anchor_threshold = model.get("anchor_threshold", _ANCHOR_THRESHOLD)
    if anchor_threshold > 0:
        prevalence = np.array([topic["prevalence"] for topic in topics], dtype=np.float64)
        anchors = anchor_matrix(topic_word(arrays["sstats"], arrays["eta"]), prevalence, anchor_threshold)
    return TextTagger(
        counter,
        topics=TopicInference(
            alpha=arrays["alpha"], exp_elog_beta=arrays["exp_elog_beta"], random_state=int(inference["random_state"]),
            iterations=int(inference["infer_iterations"]), threshold=float(inference["gamma_threshold"]),
        ),
        anchors=anchor_counter(anchors),
        tagger=InterestTagger(**{name: model[key] for key, name in _TAGGER_PARAMS.items() if key in model}),
        labels=list(labels),
    )  # fmt: skip
