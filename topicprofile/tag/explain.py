"""Why a customer carries a tag: the words that carried it and the texts that support it most.

A customer's score for topic ``k`` is the weighted mean of their documents' topic shares
(:class:`~topicprofile.tag.tagger.InterestTagger`). Each document's share of ``k`` comes from its words:
LDA's E-step gives every occurrence of word ``v`` in document ``d`` a responsibility for ``k``,

    r(d, v, k) = theta(d, k) * phi(k, v) / sum_j theta(d, j) * phi(j, v),

and ``theta(d, k)`` is (up to the prior) the count-weighted mean of those responsibilities. So the
words that *carried* a tag are the customer's words ranked by their summed responsibility for it,
``sum_d w(d) * n(d, v) * r(d, v, k)`` with the same channel weights ``w`` as the score, shown as a
share of the tag's total. The texts that *support* a tag most are the customer's documents ranked
by the mass they give it, ``w(d) * n_tokens(d) * theta(d, k)``: a long review mostly about the
topic outranks a one-word query that is all about it, as it does in the score.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from topicprofile import schema
from topicprofile.errors import DataValidationError
from topicprofile.ingest.docstore import STORED_FIELDS, DocumentStore
from topicprofile.ingest.documents import Input, build_documents
from topicprofile.privacy.minimize import pick_snippets
from topicprofile.privacy.names import NameScrubber
from topicprofile.tag.aggregate import aggregate_topics
from topicprofile.tag.table import tag_topic_ids
from topicprofile.tag.tagger import InterestTagger
from topicprofile.text.corpus import CountedCorpus
from topicprofile.text.encoder import TextEncoder

__all__ = ["SNIPPET_CHARS", "customer_documents", "explain_customer", "explain_tags", "kept_documents"]

#: Snippets longer than this are cut at a word boundary and end with "…".
SNIPPET_CHARS = 200


def _snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(" ,.;:") + "…"


def explain_tags(
    tags: Sequence[tuple[int, float]],
    *,
    labels: Sequence[str],
    bows: Sequence[Sequence[tuple[int, int]]],
    doc_topics: np.ndarray,
    topic_word: np.ndarray,
    dictionary: Mapping[int, str],
    texts: Sequence[str],
    channels: Sequence[str],
    channel_weights: Mapping[str, float],
    n_words: int = 8,
    n_snippets: int = 3,
) -> list[dict[str, Any]]:
    """Evidence for each of one customer's tags.

    Parameters
    ----------
    tags : list of (topic, score)
        The customer's tags, strongest first (as in the profile).
    labels : list of str
        Topic labels.
    bows, doc_topics, texts, channels
        The customer's documents: bags of words, topic distributions (``n_docs × n_topics``), the
        cleaned texts and their channels.
    topic_word : ndarray
        ``n_topics × n_terms`` topic-word probabilities (rows sum to 1).
    dictionary : mapping
        Term id -> word.
    channel_weights : mapping
        Channel -> weight, as used for the score.
    n_words, n_snippets : int
        How many words and snippets to return per tag.

    Returns
    -------
    list of dict
        Per tag: ``label, topic, score, words`` (list of ``{"word", "share"}``, share of the tag's
        word mass in this customer's text) and ``snippets`` (list of ``{"text", "channel",
        "topic_share"}``, the documents that give the tag the most mass).
    """
    weights = np.array([float(channel_weights.get(c, 1.0)) for c in channels], dtype=np.float64)
    lengths = np.array([sum(c for _, c in b) for b in bows], dtype=np.float64)
    explained = []
    for topic, score in tags:
        word_mass: dict[int, float] = {}
        for d, bow in enumerate(bows):
            if not bow:
                continue
            ids = np.fromiter((i for i, _ in bow), dtype=np.int64, count=len(bow))
            counts = np.fromiter((c for _, c in bow), dtype=np.float64, count=len(bow))
            joint = doc_topics[d][:, None] * topic_word[:, ids]  # n_topics × n_words_in_doc
            resp = joint[topic] / np.maximum(joint.sum(axis=0), 1e-300)
            for i, mass in zip(ids.tolist(), (weights[d] * counts * resp).tolist(), strict=True):
                word_mass[i] = word_mass.get(i, 0.0) + mass
        total = sum(word_mass.values()) or 1.0
        top_words = sorted(word_mass.items(), key=lambda item: (-item[1], dictionary[item[0]]))[:n_words]
        support = weights * lengths * doc_topics[:, topic]
        order = sorted((d for d in range(len(texts)) if support[d] > 0), key=lambda d: (-support[d], d))
        explained.append(
            {
                "label": labels[topic],
                "topic": int(topic),
                "score": float(score),
                "words": [
                    {"word": dictionary[i].replace("_", " "), "share": round(m / total, 3)} for i, m in top_words
                ],
                "snippets": [
                    {
                        "text": _snippet(texts[d]),
                        "channel": channels[d],
                        "topic_share": round(float(doc_topics[d, topic]), 3),
                    }
                    for d in order[:n_snippets]
                ],
            }
        )
    return explained


def customer_documents(
    customer_id: str, *, reviews: Input = None, browsing: Input = None, scrub: bool = True,
    names: NameScrubber | None = None, stored: DocumentStore | None = None, profiles: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, str, tuple[list[tuple[int, float]], int, int] | None]:  # fmt: skip
    """One customer's documents for :func:`explain_customer`: ``(documents, source, known)``.

    From ``reviews``/``browsing`` when given (``source`` "input"), else from the model's ``stored``
    documents ("model"). ``profiles`` (given when the model keeps only the evidence it shows, not
    every text) supply the saved profile's tags as ``known``; otherwise ``known`` is None and the
    tags are found again from the documents. A customer found nowhere is a
    :class:`~topicprofile.errors.DataValidationError`.
    """
    if reviews is not None or browsing is not None:
        docs = build_documents(reviews, browsing, scrub=scrub, names=names)
        source, where = "input", "the given files"
        mine = docs[docs[schema.CUSTOMER_ID] == customer_id].reset_index(drop=True)
    elif stored is not None:
        source, where = "model", "the data this model was fitted on; give the files with their reviews/browsing"
        mine = stored.customer(customer_id)
    else:
        raise DataValidationError("this model was saved without its documents; give the customer's reviews/browsing files")
    known = profiles[profiles[schema.CUSTOMER_ID] == customer_id] if source == "model" and profiles is not None else None
    if mine.empty and (known is None or known.empty):
        raise DataValidationError(f"customer {customer_id!r} is not in {where}")
    if known is None or known.empty:
        return mine, source, None
    row = known.iloc[0]
    tags = [(int(k), float(row[f"topic_{k}"])) for k in str(row["interest_topics"]).split(";") if k]
    return mine, source, (tags, int(row[schema.N_DOCUMENTS]), int(row["n_tokens"]))


def explain_customer(
    documents: pd.DataFrame, *, customer_id: str, source: str, encoder: TextEncoder, topics: Any,
    tagger: InterestTagger, anchors: Callable[[Any], np.ndarray | None], labels: Sequence[str],
    n_words: int = 8, n_snippets: int = 3, known: tuple[list[tuple[int, float]], int, int] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Evidence for one customer's tags, from their ``documents`` (``channel, text``).

    The customer's tags are ``known`` (``(tags, n_documents, n_tokens)`` of the saved profile, when
    the documents are only the evidence the model kept) or found as in the profile (``encoder`` ->
    ``topics`` -> per-customer aggregate -> ``tagger`` with ``anchors``, the anchor-word counts of
    a count matrix), then
    :func:`explain_tags` gives each its words and snippets. Returns the dict of
    :meth:`topicprofile.TopicProfiler.explain` (``source``: where the documents came from).
    """
    texts = documents[schema.TEXT].tolist()
    bows, _ = encoder.encode(texts)
    counts = encoder.counts(bows)
    doc_topics = topics.transform_counts(counts)
    if known is not None:  # the saved profile's tags: the documents are only the evidence kept
        tags, n_documents, n_tokens = known
    else:
        customer = aggregate_topics([(documents, counts)], topics=topics, channel_weights=tagger.weights(),
                                    report=lambda *_: None, total=None, aggregation=tagger.aggregation)[0]  # fmt: skip
        (topic_tags,) = tagger.customer_tags(customer.shares, customer.n_tokens, anchors(customer.counts))
        tags = [(int(k), float(customer.shares[0, k])) for k, _ in topic_tags]
        n_documents, n_tokens = int(customer.n_documents[0]), int(customer.n_tokens[0])
    return {
        schema.CUSTOMER_ID: customer_id,
        "source": source,
        schema.N_DOCUMENTS: n_documents,
        "n_tokens": n_tokens,
        schema.TOP_INTEREST: labels[tags[0][0]] if tags else "",
        "tags": explain_tags(
            tags,
            labels=labels,
            bows=bows,
            doc_topics=doc_topics,
            topic_word=topics.topic_word_,
            dictionary=encoder.dictionary_,
            texts=texts,
            channels=documents[schema.CHANNEL].tolist(),
            channel_weights=tagger.weights(),
            n_words=n_words,
            n_snippets=n_snippets,
        ),
    }


def kept_documents(
    keep_texts: str, corpus: CountedCorpus, *, profiles: pd.DataFrame, channel_weights: Mapping[str, float],
    doc_topics: Callable[[Any], np.ndarray], chunk_rows: int,
) -> DocumentStore | None:  # fmt: skip
    """The documents a fitted model keeps for :func:`customer_documents` (``keep_texts``, see
    :mod:`topicprofile.privacy.minimize`): all (the fit's store), none, or ``"snippets"``: the
    evidence :func:`explain_tags` shows for each tag in the ``profiles`` (:func:`~topicprofile.privacy.minimize.pick_snippets`)."""
    if keep_texts != "snippets":
        return corpus.store if keep_texts == "all" else None
    kept = pick_snippets(corpus.iter_chunks(), tags=tag_topic_ids(profiles), channel_weights=channel_weights,
                         doc_topics=doc_topics, columns=STORED_FIELDS)  # fmt: skip
    return DocumentStore.from_frame(kept.fillna(""), chunk_rows=chunk_rows)
