"""Vocabulary and bags of words (gensim ``Dictionary``) plus TF-IDF keywords (gensim ``TfidfModel``)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy import sparse

from topicprofile.errors import DataValidationError

__all__ = [
    "build_dictionary", "count_words", "filter_dictionary", "default_no_below", "in_vocabulary", "to_bows", "vocabulary_bows", "pool_bows", "bows_to_csr",
    "TfidfKeywords",
    "dictionary_to_state", "dictionary_from_state",
]  # fmt: skip

#: What joins the words of a phrase (``PhraseDetector``'s delimiter): ``hike_boot``.
PHRASE_DELIMITER = "_"


def build_dictionary(
    token_lists: Iterable[Sequence[str]],
    *,
    no_below: int | None = None,
    no_above: float = 0.5,
    keep_n: int = 50_000,
) -> Any:
    """Build a gensim ``Dictionary`` and drop rare and ubiquitous words.

    A word inside a phrase counts towards the word's frequency too (``hike_boot`` is a document
    with ``hike`` and ``boot``): the vocabulary is what a phrase outside it falls back to
    (:func:`in_vocabulary`), and a word that mostly occurs in one phrase ("espresso" in
    ``espresso_machine``) is still a word of the shop.

    ``prune_at=None`` so gensim never prunes silently while building (see NOTES.md); ids follow
    first appearance, so the same documents in the same order give the same ids.

    Parameters
    ----------
    token_lists : iterable of list of str
        Tokenized documents, in a fixed order.
    no_below : int or None
        Keep words in at least this many documents; ``None`` uses :func:`default_no_below`.
        Lowered automatically for tiny corpora so a handful of documents still has a vocabulary.
    no_above : float
        Keep words in at most this share of documents.
    keep_n : int
        Keep at most this many words, most frequent first.

    Raises
    ------
    DataValidationError
        If no word survives the filter.
    """
    return filter_dictionary(count_words(token_lists), no_below=no_below, no_above=no_above, keep_n=keep_n)


def count_words(token_lists: Iterable[Sequence[str]]) -> Any:
    """The unfiltered gensim ``Dictionary`` of the documents (words of phrases counted too), which
    :func:`build_dictionary` filters. Partitions' dictionaries merged in partition order equal the
    whole corpus's (:mod:`topicprofile.distributed.vocabulary`)."""
    from gensim.corpora import Dictionary

    dictionary = Dictionary(prune_at=None)
    dictionary.add_documents((_with_phrase_words(tokens) for tokens in token_lists), prune_at=None)
    return dictionary


def filter_dictionary(dictionary: Any, *, no_below: int | None, no_above: float, keep_n: int) -> Any:
    """:func:`build_dictionary`'s filter of the counted ``dictionary`` (changed in place, returned)."""
    n_docs = dictionary.num_docs
    wanted = default_no_below(n_docs) if no_below is None else no_below
    effective_no_below = max(1, min(wanted, n_docs // 20 or 1))
    # In a tiny corpus every word is in a large share of documents; don't empty the vocabulary.
    effective_no_above = no_above if n_docs >= 20 else 1.0
    dictionary.filter_extremes(no_below=effective_no_below, no_above=effective_no_above, keep_n=keep_n)
    dictionary.compactify()
    if len(dictionary) == 0:
        raise DataValidationError(
            f"no words left after filtering {n_docs} documents (no_below={effective_no_below}, "
            f"no_above={effective_no_above}); add more text or lower --no-below"
        )
    return dictionary


def _with_phrase_words(tokens: Sequence[str]) -> Sequence[str]:
    """The tokens, then the words of each phrase among them (for counting only)."""
    delimiter = PHRASE_DELIMITER
    parts = [word for token in tokens if delimiter in token for word in token.split(delimiter) if word]
    return [*tokens, *parts] if parts else tokens


def default_no_below(n_docs: int) -> int:
    """Minimum document frequency of a vocabulary word: 0.3% of the documents, at least 3.

    Rare words (product code names, people's names, typos) make short-text topics incoherent:
    they rank high in small topics yet never co-occur with the topic's other words. Measured on
    the 13,905 Rotten Tomatoes texts (k=10, pooled by movie, seed 0): mean c_npmi +0.001 with
    ``no_below=3``, -0.047 with 20, +0.022 with 42 (this rule); over three seeds and on Chinese
    reviews too the rule is best or tied (docs/lda_defaults.md, docs/pooling_and_vocabulary.md).
    """
    return max(3, math.ceil(0.003 * n_docs))


def in_vocabulary(tokens: Sequence[str], token2id: Mapping[str, int]) -> Sequence[str]:
    """The tokens with each phrase outside the vocabulary replaced by its words that are in it.

    A phrase learned from the corpus can still miss the vocabulary (too rare, or filtered), while
    its words are in it: without this, "hiking boots" -> ``hike_boot`` would keep neither ``hike``
    nor ``boot`` (measured: 4.5% of the sample's and 5.8% of movie reviews' occurrences of
    vocabulary words were lost so; docs/pooling_and_vocabulary.md). Other tokens are unchanged,
    so the result may still hold words outside the vocabulary.

    Examples
    --------
    >>> in_vocabulary(["hike_boot", "grip", "trail_shoe"], {"hike": 0, "boot": 1, "trail_shoe": 2})
    ['hike', 'boot', 'grip', 'trail_shoe']
    """
    delimiter = PHRASE_DELIMITER
    if all(token in token2id or delimiter not in token for token in tokens):
        return tokens  # the common case: nothing to split
    out: list[str] = []
    for token in tokens:
        if token in token2id or delimiter not in token:
            out.append(token)
        else:
            out.extend(word for word in token.split(delimiter) if word in token2id)
    return out


def to_bows(dictionary: Any, token_lists: Iterable[Sequence[str]]) -> list[list[tuple[int, int]]]:
    """Bag of words per document; a phrase outside the vocabulary counts as its words that are in
    it (:func:`in_vocabulary`), other words outside it are ignored. The one path from tokens to
    counts: fit, tag, ``tag_text`` and explain all use it (:func:`vocabulary_bows` with the
    dictionary's ``token2id``)."""
    return vocabulary_bows(dictionary.token2id, token_lists)


def vocabulary_bows(token2id: Mapping[str, int], token_lists: Iterable[Sequence[str]]) -> list[list[tuple[int, int]]]:
    """:func:`to_bows` with the vocabulary as a plain ``token -> id`` mapping: per document, the
    ``(term id, count)`` pairs of its in-vocabulary tokens in ascending id order (gensim's
    ``Dictionary.doc2bow``)."""
    out = []
    for tokens in token_lists:
        counts: dict[str, int] = {}
        for token in in_vocabulary(tokens, token2id):
            counts[token] = counts.get(token, 0) + 1
        out.append(sorted((token2id[token], n) for token, n in counts.items() if token in token2id))
    return out


def pool_bows(
    bows: Sequence[Sequence[tuple[int, int]]], groups: Sequence[str]
) -> list[list[tuple[int, int]]]:
    """Add up the bags of words of each group (e.g. customer): one pooled bag per group, groups sorted.

    Short texts are too sparse for LDA's word co-occurrence statistics; pooling each customer's
    reviews and browsing into one document is the standard remedy (Hong & Davison 2010;
    Mehrotra et al. 2013).
    """
    pooled: dict[str, dict[int, int]] = {}
    for group, bow in zip(groups, bows, strict=True):
        counts = pooled.setdefault(group, {})
        for term_id, count in bow:
            counts[term_id] = counts.get(term_id, 0) + count
    return [sorted(pooled[g].items()) for g in sorted(pooled)]


def bows_to_csr(bows: Sequence[Sequence[tuple[int, float]]], n_terms: int) -> sparse.csr_matrix:
    """Stack bags of words into an ``n_docs × n_terms`` CSR matrix of counts (float64)."""
    indptr = np.zeros(len(bows) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(b) for b in bows])
    indices = np.fromiter((i for b in bows for i, _ in b), dtype=np.int32, count=int(indptr[-1]))
    data = np.fromiter((c for b in bows for _, c in b), dtype=np.float64, count=int(indptr[-1]))
    return sparse.csr_matrix((data, indices, indptr), shape=(len(bows), n_terms))


def document_frequencies(counts: sparse.csr_matrix) -> tuple[np.ndarray, int]:
    """Each term's document frequency in a count matrix, as ``(term id, frequency)`` rows in the order
    the terms first appear (row by row, as gensim's TF-IDF pass meets them), and the non-zeros."""
    terms, first = np.unique(counts.indices, return_index=True)
    order = np.argsort(first, kind="stable")
    frequency = np.bincount(counts.indices, minlength=counts.shape[1])
    pairs = np.column_stack([terms[order], frequency[terms[order]]]).astype(np.int64)
    return pairs.reshape(-1, 2), int(counts.nnz)


class TfidfKeywords:
    """The most distinctive words of a group of documents, by TF-IDF.

    Examples
    --------
    >>> from gensim.corpora import Dictionary
    >>> docs = [["tent", "trail"], ["tent", "stove"], ["knife", "pan"]]
    >>> d = Dictionary(docs)
    >>> kw = TfidfKeywords().fit([d.doc2bow(t) for t in docs], d)
    >>> kw.keywords([d.doc2bow(["tent", "knife", "knife"])], n=1)
    ['knife']
    """

    def fit(self, bows: Iterable[Sequence[tuple[int, int]]], dictionary: Any) -> TfidfKeywords:
        """Learn inverse document frequencies; returns ``self``."""
        from gensim.models import TfidfModel

        self.tfidf_: Any = TfidfModel(bows, id2word=dictionary, normalize=True)
        self.dictionary_ = dictionary
        return self

    @classmethod
    def from_frequencies(cls, dfs: Mapping[int, int], *, num_docs: int, num_nnz: int, dictionary: Any) -> TfidfKeywords:
        """The model :meth:`fit` learns, from the documents' frequencies added up elsewhere (a cluster's
        partitions, :func:`document_frequencies`): ``dfs`` in the order the terms first appear."""
        from gensim.models import TfidfModel
        from gensim.models.tfidfmodel import precompute_idfs

        tfidf = TfidfModel(id2word=dictionary, normalize=True)  # as fit's, then what its corpus pass sets
        tfidf.num_docs, tfidf.num_nnz, tfidf.cfs, tfidf.term_lengths = num_docs, num_nnz, None, None
        tfidf.dfs = dict(dfs)
        tfidf.idfs = precompute_idfs(tfidf.wglobal, tfidf.dfs, tfidf.num_docs)
        return cls.from_model(tfidf, dictionary)

    def keywords(self, bows: Sequence[Sequence[tuple[int, int]]], *, n: int = 5) -> list[str]:
        """Top ``n`` words of the documents ``bows`` taken together (ties broken by word)."""
        counts: dict[int, int] = {}
        for bow in bows:
            for term_id, count in bow:
                counts[term_id] = counts.get(term_id, 0) + count
        weights = self.tfidf_[sorted(counts.items())]
        id2token = self.dictionary_
        ranked = sorted(weights, key=lambda pair: (-round(pair[1], 12), id2token[pair[0]]))
        return [id2token[term_id] for term_id, _ in ranked[:n]]

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The fitted TF-IDF model as plain data: settings and the arrays ``dfs`` (int64, n × 2:
        term id, document frequency) and ``idfs`` (float64, rows as ``dfs``)."""
        from gensim import matutils
        from gensim.models.tfidfmodel import df2idf
        from gensim.utils import identity

        tfidf = self.tfidf_
        # gensim swaps normalize=True/False for the function it stands for on first use
        normalize = {id(matutils.unitvec): True, id(identity): False}.get(id(tfidf.normalize), tfidf.normalize)
        if tfidf.smartirs is not None or tfidf.wlocal is not identity or tfidf.wglobal is not df2idf or not isinstance(normalize, bool):
            raise ValueError("only a TfidfModel with gensim's default weighting can be saved as data")
        if list(tfidf.idfs) != list(tfidf.dfs):
            raise ValueError("TfidfModel idfs and dfs hold different terms")
        params = {"normalize": normalize, "pivot": tfidf.pivot, "slope": tfidf.slope,
                  "num_docs": int(tfidf.num_docs), "num_nnz": int(tfidf.num_nnz)}  # fmt: skip
        arrays = {"dfs": _pairs(tfidf.dfs), "idfs": np.array(list(tfidf.idfs.values()), dtype=np.float64)}
        return params, arrays

    @classmethod
    def from_state(cls, params: Mapping[str, Any], arrays: Mapping[str, np.ndarray], dictionary: Any) -> TfidfKeywords:
        """Rebuild from :meth:`to_state`'s data (shapes checked by the caller)."""
        from gensim.models import TfidfModel

        # no corpus, no dictionary: gensim leaves the statistics to be set, as here
        tfidf = TfidfModel(id2word=dictionary, normalize=bool(params["normalize"]), pivot=params["pivot"],
                           slope=float(params["slope"]))  # fmt: skip
        tfidf.num_docs, tfidf.num_nnz = int(params["num_docs"]), int(params["num_nnz"])
        term_ids = arrays["dfs"][:, 0].tolist()
        tfidf.dfs = dict(zip(term_ids, arrays["dfs"][:, 1].tolist(), strict=True))
        tfidf.idfs = dict(zip(term_ids, arrays["idfs"].tolist(), strict=True))
        return cls.from_model(tfidf, dictionary)

    @classmethod
    def from_model(cls, tfidf: Any, dictionary: Any) -> TfidfKeywords:
        """Keywords of an already fitted gensim ``TfidfModel`` over ``dictionary``."""
        keywords = cls()
        keywords.tfidf_, keywords.dictionary_ = tfidf, dictionary
        return keywords


def dictionary_to_state(dictionary: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A gensim ``Dictionary`` as plain data: ``vocabulary`` (tokens and ids in ``token2id`` order,
    num_docs, num_pos, num_nnz) and the arrays ``dfs``, ``cfs`` (int64, n × 2: term id, frequency)."""
    vocabulary = {
        "num_docs": int(dictionary.num_docs),
        "num_pos": int(dictionary.num_pos),
        "num_nnz": int(dictionary.num_nnz),
        "tokens": list(dictionary.token2id),
        "ids": [int(i) for i in dictionary.token2id.values()],
    }
    return vocabulary, {"dfs": _pairs(dictionary.dfs), "cfs": _pairs(dictionary.cfs)}


def dictionary_from_state(vocabulary: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> Any:
    """Rebuild the gensim ``Dictionary`` from :func:`dictionary_to_state`'s data (checked by the caller)."""
    from gensim.corpora import Dictionary

    dictionary = Dictionary()
    dictionary.token2id = dict(zip(vocabulary["tokens"], vocabulary["ids"], strict=True))
    for name in ("dfs", "cfs"):
        pairs = arrays[name]
        setattr(dictionary, name, dict(zip(pairs[:, 0].tolist(), pairs[:, 1].tolist(), strict=True)))
    dictionary.num_docs = int(vocabulary["num_docs"])
    dictionary.num_pos = int(vocabulary["num_pos"])
    dictionary.num_nnz = int(vocabulary["num_nnz"])
    return dictionary


def _pairs(mapping: Mapping[int, int]) -> np.ndarray:
    return np.array(list(mapping.items()), dtype=np.int64).reshape(-1, 2)
