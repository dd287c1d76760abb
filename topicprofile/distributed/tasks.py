"""What the workers run. Plain functions of plain data (arrays, Parquet paths, model states), so a
task that dies with its worker is simply run again elsewhere, from the same inputs, to the same result.

A worker process builds a model once (:func:`_model`) and keeps it for the later tasks of the run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from topicprofile import schema
from topicprofile.text.encoder import TextEncoder
from topicprofile.text.tokenizer import SpacyTokenizer
from topicprofile.topics.lda import LdaTopics

__all__ = ["block_sstats", "hold", "infer_chunk", "load_block", "tag_chunk", "tokenize_chunk"]

#: Models built on this worker, by the run's key (a worker serves one run at a time; the few
#: kept bound the memory).
_MODELS: dict[str, tuple[TextEncoder, LdaTopics]] = {}
_KEEP_MODELS = 2
_TOKENIZERS: dict[str, SpacyTokenizer] = {}


def hold(value: Any) -> Any:
    """A value kept on the cluster as a task result: recomputed from the task if its worker dies."""
    return value


def load_block(source: str | tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]]) -> sparse.csr_matrix:
    """A block of the training matrix, from an ``.npz`` file (workers sharing the driver's files)
    or from its CSR arrays."""
    if isinstance(source, str):
        return sparse.load_npz(source).tocsr()
    data, indices, indptr, shape = source
    return sparse.csr_matrix((data, indices, indptr), shape=shape)


def block_sstats(counts: sparse.csr_matrix, state: dict[str, Any], first: int, pass_: int) -> np.ndarray:
    """:meth:`LdaTopics.block_sstats` of one block with the pass's broadcast model ``state``."""
    topics = LdaTopics(state["n_topics"], random_state=state["random_state"])
    topics.alpha_, topics.exp_elog_beta_ = state["alpha"], state["exp_elog_beta"]
    topics.train_iterations_, topics.train_threshold_ = state["iterations"], state["threshold"]
    return topics.block_sstats(counts, first=first, pass_=pass_)


def _model(model: dict[str, Any]) -> tuple[TextEncoder, LdaTopics]:
    built = _MODELS.get(model["key"])
    if built is None:
        encoder = TextEncoder.from_state(model["encoder"])
        built = (encoder, LdaTopics.from_state(*model["lda"], encoder.dictionary_))
        while len(_MODELS) >= _KEEP_MODELS:
            _MODELS.pop(next(iter(_MODELS)))
        _MODELS[model["key"]] = built
    return built


def tag_chunk(
    model: dict[str, Any], source: str | pd.DataFrame
) -> tuple[pd.DataFrame, sparse.csr_matrix, np.ndarray]:
    """One chunk of documents (a Parquet shard's path, or the frame) -> its customer and channel
    columns, word counts (``n_docs × n_terms``) and topic distributions (``n_docs × n_topics``)."""
    encoder, topics = _model(model)
    frame = pd.read_parquet(source) if isinstance(source, str) else source
    ((_, counts),) = encoder.iter_counts([frame], n_docs=len(frame), workers=1)
    return frame[[schema.CUSTOMER_ID, schema.CHANNEL]], counts, topics.transform_counts(counts)


def tokenize_chunk(tokenizer: dict[str, Any], source: str | pd.DataFrame) -> list[list[str]]:
    """The tokens of one chunk's texts (a Parquet shard's path, or the frame), by the fit's tokenizer
    (``{"key", "config"}``: built once per worker from its config)."""
    built = _TOKENIZERS.get(tokenizer["key"])
    if built is None:
        _TOKENIZERS.clear()
        built = _TOKENIZERS[tokenizer["key"]] = SpacyTokenizer.from_config(tokenizer["config"])
    frame = pd.read_parquet(source, columns=[schema.TEXT]) if isinstance(source, str) else source
    return built.tokenize(frame[schema.TEXT].tolist())


def infer_chunk(state: dict[str, Any], counts: sparse.csr_matrix) -> np.ndarray:
    """Topic distributions (``n_docs × n_topics``) of a count matrix, by the fitted topics' inference
    (``state``: what :meth:`LdaTopics.transform_counts` uses)."""
    topics = LdaTopics(
        state["n_topics"], random_state=state["random_state"], infer_iterations=state["infer_iterations"],
        gamma_threshold=state["gamma_threshold"],
    )  # fmt: skip
    topics.alpha_, topics.exp_elog_beta_ = state["alpha"], state["exp_elog_beta"]
    return topics.transform_counts(counts)
