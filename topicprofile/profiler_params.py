"""A :class:`~topicprofile.TopicProfiler`'s parameters: their checks, and each stage's parts made from them.

The estimator stores its constructor parameters unchanged (scikit-learn's contract); ``fit`` checks
them here (:func:`check_params`) before any work, each stage's settings by that stage's rules
(:class:`~topicprofile.config.TopicsConfig`, :class:`~topicprofile.config.TagConfig`). Run options
given the old way, as constructor keywords (``workers``, ``chunk_rows``, ``cache_dir``), are
sorted out by :func:`legacy_run_options`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, Self

from topicprofile.config import RunOptions, TagConfig, TopicsConfig
from topicprofile.errors import ConfigError
from topicprofile.privacy.minimize import KEEP_TEXTS
from topicprofile.segments.cluster import CustomerSegmenter
from topicprofile.segments.fuse import FeatureFuser
from topicprofile.tag.tagger import InterestTagger
from topicprofile.text.encoder import TextEncoder, make_tokenizer
from topicprofile.text.lang import check_lang
from topicprofile.text.tokenizer import SpacyTokenizer
from topicprofile.topics.train import check_topic_params

__all__ = ["RUN_KEYWORDS", "RunKeywordsMixin", "check_cluster_params", "check_params", "encoder_of", "legacy_run_options",
           "segmenters_of", "tagger_of", "tokenizer_of"]  # fmt: skip

#: Former constructor keywords that are run options now (:class:`~topicprofile.config.RunOptions`).
RUN_KEYWORDS = ("workers", "chunk_rows", "cache_dir")


def legacy_run_options(options: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Run options given the old way (as estimator parameters), with a DeprecationWarning;
    any other keyword is a TypeError, as Python gives for an unknown argument."""
    unknown = sorted(set(options) - set(RUN_KEYWORDS))
    if unknown:
        raise TypeError(f"{where} got an unexpected keyword argument {unknown[0]!r}")
    if options:
        names = ", ".join(f"{k}=" for k in options)
        warnings.warn(
            f"TopicProfiler {names} is deprecated: these are run options, pass run=RunOptions({names}...) "
            "to fit/profile (topicprofile.config.RunOptions); they are not saved with the model",
            DeprecationWarning,
            stacklevel=3,
        )
    return dict(options)


class RunKeywordsMixin:
    """The deprecated run keywords of an estimator: ``workers``, ``chunk_rows`` and ``cache_dir``
    given to its constructor (``self._run_options``, from :func:`legacy_run_options`) or to
    ``set_params`` become the default :class:`~topicprofile.config.RunOptions` of its calls."""

    _run_options: dict[str, Any]

    def set_params(self, **params: Any) -> Self:
        """sklearn's ``set_params``; the deprecated run keywords set the default run options."""
        legacy = legacy_run_options({k: params.pop(k) for k in RUN_KEYWORDS if k in params}, "set_params()")
        self._run_options = {**getattr(self, "_run_options", {}), **legacy}
        return super().set_params(**params)  # type: ignore[misc]

    def run_options(self, run: RunOptions | None = None) -> RunOptions:
        """The call's run options: ``run``, else those given the deprecated way, else the defaults."""
        return run if run is not None else RunOptions(**getattr(self, "_run_options", {}))


def check_params(params: Mapping[str, Any], *, cluster: bool = False) -> None:
    """Raise :class:`~topicprofile.errors.ConfigError` naming the first parameter out of range (with
    ``cluster``, also one a Dask cluster cannot train with: :func:`check_cluster_params`)."""
    check_topic_params(TopicsConfig.from_params(params))
    TagConfig.from_params(params).check()
    if params["keep_texts"] not in KEEP_TEXTS:
        raise ConfigError(f"keep_texts must be one of {', '.join(KEEP_TEXTS)}, got {params['keep_texts']!r}")
    check_lang(params["lang"])
    if params.get("scrub_names") and not params["scrub"]:
        raise ConfigError("scrub_names (--scrub-names-model) scrubs names on top of scrubbing: it needs scrub=True "
                          "(not --no-scrub)")  # fmt: skip
    if cluster:
        check_cluster_params(params)


def check_cluster_params(params: Mapping[str, Any]) -> None:
    """What a Dask cluster can train identically: batch variational LDA without a seeded prior."""
    if params["trainer"] in ("gibbs", "review"):
        raise ConfigError(
            f"the {params['trainer']} trainer cannot run on a Dask cluster (its sampler is sequential); use "
            "--trainer vb, which trains the same model on the cluster as on one machine"
        )
    if params["taxonomy"] or (params["update_every"] or 0) > 0:
        raise ConfigError(
            "a Dask cluster trains batch LDA without --taxonomy (update_every 0): fit those locally"
        )


def tokenizer_of(params: Mapping[str, Any]) -> SpacyTokenizer:
    """The tokenizer a fit with these parameters uses (:func:`~topicprofile.text.encoder.make_tokenizer`)."""
    return make_tokenizer(params["lang"], spacy_model=params["spacy_model"], stop_words=params["stop_words"],
                          taxonomy=params["taxonomy"])  # fmt: skip


def tagger_of(params: Mapping[str, Any]) -> InterestTagger:
    """The tag rules of these parameters; a taxonomy's interests (the seeded topics 0..n-1) come first."""
    return InterestTagger(threshold=params["tag_threshold"], max_tags=params["max_tags"],
                          min_tokens=params["min_tokens"], anchor_below=params["anchor_below"],
                          channel_weights=params["channel_weights"], aggregation=params["aggregation"],
                          preferred=len(params["taxonomy"] or {}))  # fmt: skip


def encoder_of(params: Mapping[str, Any]) -> TextEncoder:
    """The unfitted text encoder of a fit: tokenizer, phrases and the vocabulary filter."""
    return TextEncoder(tokenizer_of(params), phrases=params["phrases"], no_below=params["no_below"],
                       no_above=params["no_above"], keep_n=params["keep_n"])  # fmt: skip


def segmenters_of(params: Mapping[str, Any]) -> tuple[FeatureFuser, CustomerSegmenter]:
    """The unfitted segments stage: the fuser of topic shares and RFM, and the clustering."""
    fuser = FeatureFuser(text_weight=params["text_weight"], behavior_weight=params["behavior_weight"])
    segmenter = CustomerSegmenter(n_segments=params["n_segments"], k_range=params["segment_k_range"],
                                  random_state=params["random_state"])  # fmt: skip
    return fuser, segmenter
