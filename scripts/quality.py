"""Customer-level tag quality on real shops: topicprofile against topic-model peers.

Builds evaluation shops from real labelled reviews (scripts/_shops.py), fits topicprofile and the
peers on the same documents with k = the planted number of interests and seeds 0-4, and scores each
customer's top interest against the planted one (NMI, purity, coverage), the topics' coherence
(c_npmi, c_v) and the fit time. See docs/quality.md for how to read the table.

    python scripts/quality.py                 # the full table (long: run it in the background)
    python scripts/quality.py --quick         # one small shop per source, seeds 0-1: a few minutes
    python scripts/quality.py --report-only results.jsonl --out docs/quality.md   # tables from saved runs

Methods are a registry (``METHODS``): ``name -> fn(shop, k, seed) -> CustomerResult``; add a
topicprofile variant with :func:`register`, or pass TopicProfiler parameters with ``--tp-params``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.metrics import normalized_mutual_info_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _shops import DATA_DIR, SOURCES, TAXONOMIES, Shop, build_shop, corpora_shop, load_source, oracle  # noqa: E402

from topicprofile import TopicProfiler  # noqa: E402
from topicprofile.config import RunOptions  # noqa: E402
from topicprofile.ingest.documents import build_documents  # noqa: E402
from topicprofile.text.phrases import PhraseDetector  # noqa: E402
from topicprofile.text.tokenizer import SpacyTokenizer  # noqa: E402
from topicprofile.topics import coherence_scores  # noqa: E402
from topicprofile.text.vectorize import bows_to_csr, build_dictionary, in_vocabulary, to_bows  # noqa: E402

UNTAGGED = -1
TOMOTOPY_ITERATIONS = 500
GENSIM_PASSES = 10
BTM_ITERATIONS = 200


# -- shops with their tokens -------------------------------------------------------------------
@dataclass
class PreparedShop:
    """A shop plus what every method shares: its documents and their tokens.

    ``docs``: topicprofile's documents (``build_documents``: cleaned reviews, then browsing);
    ``tokens``: each document's tokens after topicprofile's tokenizer and phrases, restricted to the
    vocabulary topicprofile builds with its defaults (``dictionary``), so every peer sees exactly
    the words topicprofile trains on; ``doc_customer``: index of each document's customer in
    ``customers`` (the planted customers, in order; -1 for a document of another customer).
    """

    shop: Shop
    docs: pd.DataFrame
    tokens: list[list[str]]
    dictionary: object
    customers: np.ndarray
    doc_customer: np.ndarray
    meta: dict = field(default_factory=dict)

    @property
    def k(self) -> int:
        return self.shop.k


def prepare(shop: Shop) -> PreparedShop:
    docs = build_documents(shop.reviews, shop.browsing)
    raw = SpacyTokenizer(shop.lang).tokenize(docs["text"].tolist())
    phrased = PhraseDetector().fit(raw).transform(raw)
    dictionary = build_dictionary(phrased)
    vocab = dictionary.token2id
    # as topicprofile counts them (``to_bows``): a phrase outside the vocabulary falls back to its
    # words that are in it, other words outside it are dropped
    tokens = [[w for w in in_vocabulary(doc, vocab) if w in vocab] for doc in phrased]
    customers = shop.planted.index.to_numpy(dtype=str)
    position = {c: i for i, c in enumerate(customers)}
    doc_customer = np.array([position.get(c, -1) for c in docs["customer_id"].astype(str)])
    # the phrased tokens before the vocabulary: a variant with another vocabulary (no_below)
    # encodes each document with its own dictionary (phrases do not depend on the vocabulary)
    return PreparedShop(shop, docs, tokens, dictionary, customers, doc_customer, meta={"phrased": phrased})


# -- methods -----------------------------------------------------------------------------------
@dataclass
class CustomerResult:
    """``top``: each planted customer's top topic (``UNTAGGED`` = no tag); ``topics``: each topic's
    10 most probable words; ``seconds``: wall time of the topic-model fit."""

    top: np.ndarray
    topics: list[list[str]]
    seconds: float
    extra: dict = field(default_factory=dict)


Method = Callable[[PreparedShop, int, int], CustomerResult]
METHODS: dict[str, Method] = {}


def register(name: str, fn: Method) -> None:
    METHODS[name] = fn


def mean_top(ps: PreparedShop, doc_topics: np.ndarray, doc_index: np.ndarray) -> np.ndarray:
    """Argmax of the unweighted mean of each customer's document-topic vectors (rows of
    ``doc_topics`` belong to documents ``doc_index``); customers without a usable document: UNTAGGED."""
    owner = ps.doc_customer[doc_index]
    keep = (owner >= 0) & np.isfinite(doc_topics).all(axis=1)
    sums = np.zeros((len(ps.customers), doc_topics.shape[1]))
    np.add.at(sums, owner[keep], doc_topics[keep])
    counts = np.bincount(owner[keep], minlength=len(ps.customers))
    top = sums.argmax(axis=1)
    top[counts == 0] = UNTAGGED
    return top


def fit_topicprofile(ps: PreparedShop, k: int, seed: int, *, params: dict | None = None) -> CustomerResult:
    cache = ps.meta.setdefault("tp_cache", tempfile.mkdtemp(prefix="quality_tokens_"))
    params = dict(params or {})
    restarts, probe = params.pop("restarts", None), params.pop("probe", None)  # prototypes: gibbs_restarts
    split = (params.pop("split_restart", None), params.pop("split_keep", "ratio"))  # prototype: split_restart
    review = params.pop("review", None)  # prototype: review_settings
    start = time.perf_counter()
    model = TopicProfiler(n_topics=k, lang=ps.shop.lang, random_state=seed, **params)
    with gibbs_restarts(restarts, probe), split_restart(*split), review_settings(review):
        model.fit(reviews=ps.shop.reviews, browsing=ps.shop.browsing, run=RunOptions(cache_dir=cache))
    seconds = time.perf_counter() - start
    if "tp_same_vocab" not in ps.meta:
        ps.meta["tp_same_vocab"] = model.dictionary_.token2id == ps.dictionary.token2id
    profiles = model.profile(reviews=ps.shop.reviews, browsing=ps.shop.browsing)
    first = profiles["interest_topics"].str.split(";").str[0]
    by_customer = dict(zip(profiles["customer_id"].astype(str), first, strict=True))
    top = np.array([int(by_customer[c]) if by_customer.get(c) else UNTAGGED for c in ps.customers])
    return CustomerResult(top, [list(t) for t in model.topic_info_["top_terms"]], seconds)


#: Customer aggregation rules prototyped on a fitted TopicProfiler (``"aggregate"`` in a
#: ``--tp-variant``'s JSON): every rule sees the fitted model's topic vector of each of the
#: customer's documents (``topics_.transform_counts`` of the document's own counts; documents
#: without a vocabulary word left out) and tags every customer with at least one such document
#: with the argmax (coverage as the peers'). ``length``: weighted by the document's in-vocabulary
#: token count (today's rule without channel weights and thresholds); ``mean``: unweighted mean;
#: ``vote``: majority of the documents' argmaxes (ties broken by the unweighted mean); ``sharp``:
#: mean of p² renormalised; ``log``: sum of log p (a product of experts); ``review_posterior``: the
#: review mixture's own rule, one topic per review (:func:`review_posterior_top`).
AGGREGATES = ("length", "mean", "vote", "sharp", "log", "review_posterior")


def aggregate_top(ps: PreparedShop, doc_topics: np.ndarray, doc_index: np.ndarray, lengths: np.ndarray,
                  rule: str) -> np.ndarray:  # fmt: skip
    """Each planted customer's top topic from its documents' topic vectors under ``rule``."""
    if rule == "mean":
        return mean_top(ps, doc_topics, doc_index)
    if rule == "length":
        return mean_top(ps, doc_topics * lengths[:, None], doc_index)
    if rule == "sharp":
        sq = doc_topics**2
        return mean_top(ps, sq / sq.sum(axis=1, keepdims=True), doc_index)
    if rule == "log":
        return mean_top(ps, np.log(np.clip(doc_topics, 1e-12, None)), doc_index)
    if rule == "vote":
        votes = np.eye(doc_topics.shape[1])[doc_topics.argmax(axis=1)]
        return mean_top(ps, votes + 1e-6 * doc_topics, doc_index)  # ties: the mean decides
    raise ValueError(f"unknown aggregate {rule!r}; known: {AGGREGATES}")


@contextlib.contextmanager
def review_settings(settings: dict | None):
    """Within the block, the review trainer's defaults take ``settings`` (e.g. ``{"background":
    false}``): a harness prototype (patches ``review_mixture.DEFAULT_REVIEW_PARAMS``)."""
    from topicprofile.topics import review_mixture

    saved = dict(review_mixture.DEFAULT_REVIEW_PARAMS)
    review_mixture.DEFAULT_REVIEW_PARAMS.update(settings or {})
    try:
        yield
    finally:
        review_mixture.DEFAULT_REVIEW_PARAMS.clear()
        review_mixture.DEFAULT_REVIEW_PARAMS.update(saved)


def review_posterior_top(ps: PreparedShop, counts, topic_word: np.ndarray, doc_index: np.ndarray,
                         alpha: float, n_iter: int = 50) -> np.ndarray:  # fmt: skip
    """The review mixture's own customer rule: each review has one topic, r_rk ∝ θ_ck Π_w φ_kw^n_rw,
    θ_c re-estimated from its reviews' r (prior ``alpha``) until stable; the customer's argmax θ_c."""
    log_lik = np.asarray(counts @ np.log(topic_word).T)  # n_docs × K
    owner = ps.doc_customer[doc_index]
    keep = owner >= 0
    log_lik, owner = log_lik[keep], owner[keep]
    n_c, k = len(ps.customers), topic_word.shape[0]
    theta = np.full((n_c, k), 1.0 / k)
    for _ in range(n_iter):
        logp = np.log(theta[owner]) + log_lik
        resp = np.exp(logp - logp.max(axis=1, keepdims=True))
        resp /= resp.sum(axis=1, keepdims=True)
        sums = np.zeros((n_c, k))
        np.add.at(sums, owner, resp)
        theta = (sums + alpha) / (sums + alpha).sum(axis=1, keepdims=True)
    top = theta.argmax(axis=1)
    top[np.bincount(owner, minlength=n_c) == 0] = UNTAGGED
    return top


@contextlib.contextmanager
def gibbs_restarts(restarts: int | None, probe: int | None = None):
    """Within the block, the Gibbs trainer trains ``restarts`` tomotopy models (seeds
    ``random_state * 1000 + r``, each with the configured iterations) and keeps the one with the
    best log-likelihood per word: a harness prototype (patches
    ``topicprofile.topics.gibbs.train_tomotopy``; the package is untouched). With ``probe`` P,
    each chain runs only P sweeps, and the best one continues for the rest of the configured
    iterations minus R·P, so the total number of sweeps (the time) stays the configured one."""
    from topicprofile.topics import gibbs

    if not restarts or restarts <= 1:
        yield
        return
    original = gibbs.train_tomotopy

    def best_of(counts, dictionary, *, n_topics, params, random_state):
        chain = params if probe is None else {**params, "iterations": int(probe)}
        models = [
            original(
                counts, dictionary, n_topics=n_topics, params=chain, random_state=random_state * 1000 + r
            )
            for r in range(restarts)
        ]
        best = max(models, key=lambda m: m.ll_per_word)
        rest = int(params["iterations"]) - restarts * int(probe or 0)
        if probe is not None and rest > 0:
            best.train(rest, workers=1)
        return best

    gibbs.train_tomotopy = best_of
    try:
        yield
    finally:
        gibbs.train_tomotopy = original


#: ``split_restart`` prototype (docs/quality.md "Split check"): a pair of topics whose word
#: distributions have a cosine above SHARED_WORDS and whose document shares have a split_ratio
#: below SPLIT_RATIO marks a chain as split.
SPLIT_RATIO = 0.1
SHARED_WORDS = 0.1


def split_ratio(model) -> float:
    """How exclusive, by document, the two least exclusive topics sharing words of a trained
    tomotopy model are. For each pair (a, b) of topics whose word distributions have a cosine
    above ``SHARED_WORDS``: the correlation over the training documents of their shares θ_a, θ_b,
    divided by the correlation two topics of these prevalences would have if every document were
    about exactly one of them (``-sqrt(s_a s_b / ((1 - s_a)(1 - s_b)))``, s = mean share): 1 when
    they never share a document, 0 when they share documents like independent topics, negative
    when they go together. The smallest ratio over these pairs (``inf`` without one)."""
    theta = np.array([doc.get_topic_dist() for doc in model.docs], dtype=np.float64)
    if theta.ndim != 2 or theta.shape[0] < 2 or theta.shape[1] < 2:
        return float("inf")
    phi = np.array([model.get_topic_word_dist(t) for t in range(theta.shape[1])], dtype=np.float64)
    phi /= np.linalg.norm(phi, axis=1, keepdims=True)
    pairs = np.triu_indices(theta.shape[1], 1)
    shared = (phi @ phi.T)[pairs] > SHARED_WORDS
    share = theta.mean(axis=0)
    centred = theta - share
    norms = np.sqrt((centred**2).sum(axis=0))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = (centred.T @ centred) / np.outer(norms, norms)
        exclusive = -np.sqrt(np.outer(share, share) / np.outer(1.0 - share, 1.0 - share))
        ratios = (corr / exclusive)[pairs]
    ratios = ratios[shared & np.isfinite(ratios)]
    return float(ratios.min()) if ratios.size else float("inf")


def chain_seed(random_state: int, chain: int) -> int:
    """The seed of the ``chain``-th extra chain of :func:`split_restart` (chain 0: ``random_state``)."""
    return (int(random_state) * 7919 + 104729 * int(chain)) & 0xFFFFFFFF


@contextlib.contextmanager
def split_restart(chains: int | None, keep: str = "ratio"):
    """Within the block, a Gibbs chain whose :func:`split_ratio` is below ``SPLIT_RATIO`` is trained
    again with seed :func:`chain_seed` (up to ``chains`` chains in all, stopping at the first that
    is not split), and the tried chain with the highest ratio (``keep="ratio"``) or log-likelihood
    per word (``keep="ll"``) is kept: a harness prototype (patches
    ``topicprofile.topics.gibbs.train_tomotopy``; the package is untouched)."""
    from topicprofile.topics import gibbs

    if not chains or chains <= 1:
        yield
        return
    if keep not in ("ratio", "ll"):
        raise ValueError(f"split_keep must be 'ratio' or 'll', got {keep!r}")
    original = gibbs.train_tomotopy

    def unsplit(counts, dictionary, *, n_topics, params, random_state):
        tried = []
        for chain in range(chains):
            seed = random_state if chain == 0 else chain_seed(random_state, chain)
            model = original(counts, dictionary, n_topics=n_topics, params=params, random_state=seed)
            tried.append((split_ratio(model), model))
            if tried[-1][0] >= SPLIT_RATIO:
                break
        return max(tried, key=lambda t: t[0] if keep == "ratio" else t[1].ll_per_word)[1]

    gibbs.train_tomotopy = unsplit
    try:
        yield
    finally:
        gibbs.train_tomotopy = original


def _tp_fit_cached(ps: PreparedShop, k: int, seed: int, params: dict) -> tuple:
    """A TopicProfiler's per-document topic vectors (and topics, fit seconds), fitted once per
    (params, seed) and shared by every aggregation rule of the same parameters (only the arrays
    are kept, not the model)."""
    key = ("tp_fit", json.dumps(params, sort_keys=True), seed)
    if key in ps.meta:
        return ps.meta[key]
    cache = ps.meta.setdefault("tp_cache", tempfile.mkdtemp(prefix="quality_tokens_"))
    params = dict(params)
    restarts, probe = params.pop("restarts", None), params.pop("probe", None)
    split = (params.pop("split_restart", None), params.pop("split_keep", "ratio"))
    review = params.pop("review", None)
    start = time.perf_counter()
    model = TopicProfiler(n_topics=k, lang=ps.shop.lang, random_state=seed, **params)
    with gibbs_restarts(restarts, probe), split_restart(*split), review_settings(review):
        model.fit(reviews=ps.shop.reviews, browsing=ps.shop.browsing, run=RunOptions(cache_dir=cache))
    seconds = time.perf_counter() - start
    dictionary = model.dictionary_
    bows = to_bows(dictionary, ps.meta["phrased"])
    lengths = np.array([sum(c for _, c in b) for b in bows], dtype=float)
    index = np.flatnonzero(lengths > 0)
    counts = bows_to_csr([bows[i] for i in index], len(dictionary))
    doc_topics = model.topics_.transform_counts(counts)
    topics = [list(t) for t in model.topic_info_["top_terms"]]
    ps.meta[key] = (doc_topics, index, lengths[index], topics, seconds)
    ps.meta[("tp_model", *key[1:])] = (counts, model.topics_.topic_word_, float(model.topics_.alpha_[0]))
    return ps.meta[key]


def fit_tp_aggregate(ps: PreparedShop, k: int, seed: int, *, params: dict, rule: str) -> CustomerResult:
    doc_topics, index, lengths, topics, seconds = _tp_fit_cached(ps, k, seed, params)
    if rule == "review_posterior":
        counts, topic_word, alpha = ps.meta[("tp_model", json.dumps(params, sort_keys=True), seed)]
        return CustomerResult(review_posterior_top(ps, counts, topic_word, index, alpha), topics, seconds)
    return CustomerResult(aggregate_top(ps, doc_topics, index, lengths, rule), topics, seconds)


def _nonempty(ps: PreparedShop) -> np.ndarray:
    return np.array([i for i, t in enumerate(ps.tokens) if t], dtype=int)


def fit_tomotopy(ps: PreparedShop, k: int, seed: int, *, pooled: bool = False) -> CustomerResult:
    import tomotopy

    if pooled:
        groups: dict[int, list[str]] = {}
        for owner, toks in zip(ps.doc_customer, ps.tokens, strict=True):
            if owner >= 0 and toks:
                groups.setdefault(int(owner), []).extend(toks)
        owners, texts = list(groups), list(groups.values())
    else:
        index = _nonempty(ps)
        texts = [ps.tokens[i] for i in index]
    start = time.perf_counter()
    model = tomotopy.LDAModel(k=k, seed=seed)
    for toks in texts:
        model.add_doc(toks)
    model.train(TOMOTOPY_ITERATIONS, workers=1)
    seconds = time.perf_counter() - start
    dists = np.array([doc.get_topic_dist() for doc in model.docs])
    if pooled:
        top = np.full(len(ps.customers), UNTAGGED)
        top[np.array(owners)] = dists.argmax(axis=1)
    else:
        top = mean_top(ps, dists, index)
    topics = [[w for w, _ in model.get_topic_words(t, top_n=10)] for t in range(k)]
    return CustomerResult(top, topics, seconds)


def fit_gensim(ps: PreparedShop, k: int, seed: int) -> CustomerResult:
    from gensim.models import LdaModel

    index = _nonempty(ps)
    bows = [ps.dictionary.doc2bow(ps.tokens[i]) for i in index]
    start = time.perf_counter()
    model = LdaModel(bows, id2word=ps.dictionary, num_topics=k, random_state=seed, passes=GENSIM_PASSES)
    seconds = time.perf_counter() - start
    gamma, _ = model.inference(bows)
    top = mean_top(ps, gamma / gamma.sum(axis=1, keepdims=True), index)
    topics = [[w for w, _ in model.show_topic(t, topn=10)] for t in range(k)]
    return CustomerResult(top, topics, seconds)


def fit_btm(ps: PreparedShop, k: int, seed: int) -> CustomerResult:
    import bitermplus

    index = np.array([i for i, t in enumerate(ps.tokens) if len(t) >= 2], dtype=int)  # a biterm needs 2 words
    token2id = ps.dictionary.token2id
    docs = [np.array([token2id[w] for w in ps.tokens[i]], dtype=np.int32) for i in index]
    vocabulary = np.array([ps.dictionary[i] for i in range(len(ps.dictionary))], dtype=object)
    rows = np.repeat(np.arange(len(docs)), [len(d) for d in docs])
    shape = (len(docs), len(vocabulary))
    n_dw = sparse.csr_matrix((np.ones(len(rows)), (rows, np.concatenate(docs))), shape=shape)
    start = time.perf_counter()
    biterms = bitermplus.get_biterms(docs, as_array=True)
    model = bitermplus.BTM(n_dw, vocabulary, T=k, M=10, alpha=50 / k, beta=0.01, seed=seed)
    model.fit(biterms, iterations=BTM_ITERATIONS, verbose=False)
    seconds = time.perf_counter() - start
    p_zd = model.transform(docs, verbose=False)
    top = mean_top(ps, np.asarray(p_zd, dtype=float), index)
    phi = np.asarray(model.matrix_topics_words_)
    topics = [[str(vocabulary[j]) for j in np.argsort(-phi[t], kind="stable")[:10]] for t in range(k)]
    return CustomerResult(top, topics, seconds)


def fit_taxonomy(ps: PreparedShop, k: int, seed: int) -> CustomerResult | None:
    """topicprofile with the source's taxonomy (``TAXONOMIES``) and no ``n_topics``: k comes from the
    taxonomy (issue #12 part 7), so ``k`` is not used. ``top`` holds the customers' top interest
    *names* (the planted labels for a named interest, "emerging: ..." otherwise); the record also
    gets ``name_accuracy``: the share of customers whose top interest is their planted one by name.
    None for a source without a taxonomy (not run)."""
    taxonomy = TAXONOMIES.get(ps.shop.name)
    if taxonomy is None:
        return None
    cache = ps.meta.setdefault("tp_cache", tempfile.mkdtemp(prefix="quality_tokens_"))
    start = time.perf_counter()
    model = TopicProfiler(taxonomy=taxonomy, lang=ps.shop.lang, random_state=seed)
    model.fit(reviews=ps.shop.reviews, browsing=ps.shop.browsing, run=RunOptions(cache_dir=cache))
    seconds = time.perf_counter() - start
    profiles = model.profile(reviews=ps.shop.reviews, browsing=ps.shop.browsing)
    by_customer = dict(zip(profiles["customer_id"].astype(str), profiles["top_interest"], strict=True))
    top = np.array([by_customer.get(c) or UNTAGGED for c in ps.customers], dtype=object)
    planted = ps.shop.planted.reindex(ps.customers).to_numpy(dtype=str)
    extra = {"name_accuracy": float(np.mean(top.astype(str) == planted)), "k_used": int(model.n_topics_),
             "n_top_interests": len({t for t in top if t != UNTAGGED})}  # fmt: skip
    return CustomerResult(top, [list(t) for t in model.topic_info_["top_terms"]], seconds, extra)


register("topicprofile", fit_topicprofile)
register("tp-taxonomy", fit_taxonomy)
register("tomotopy-review", fit_tomotopy)
register("tomotopy-pooled", functools.partial(fit_tomotopy, pooled=True))
register("gensim-review", fit_gensim)
register("btm-review", fit_btm)


# -- scores ------------------------------------------------------------------------------------
def purity(truth: Sequence, predicted: Sequence) -> float:
    """Share of items whose cluster's majority label is their own label."""
    table = pd.crosstab(pd.Series(list(predicted), name="p"), pd.Series(list(truth), name="t"))
    return float(table.max(axis=1).sum() / max(len(truth), 1))


def score(truth: np.ndarray, top: np.ndarray) -> dict[str, float]:
    """NMI and purity over tagged customers, coverage, NMI over all (untagged = one class of its
    own) and recovery (purity with untagged customers counted as misses)."""
    top = np.asarray(top)
    tagged = np.array([t != UNTAGGED for t in top]) if top.dtype == object else top != UNTAGGED
    n_tagged = int(tagged.sum())
    return {
        "nmi": float(normalized_mutual_info_score(truth[tagged], top[tagged])) if n_tagged else 0.0,
        "purity": purity(truth[tagged], top[tagged]) if n_tagged else 0.0,
        "coverage": n_tagged / len(truth),
        "nmi_all": float(normalized_mutual_info_score(truth, top.astype(str))),
        "recovery": purity(truth[tagged], top[tagged]) * n_tagged / len(truth) if n_tagged else 0.0,
    }


def coherence(ps: PreparedShop, topics: list[list[str]]) -> dict[str, float]:
    scores = coherence_scores(topics, ps.tokens, ps.dictionary)
    return {name: s["mean"] for name, s in scores.items()}


# -- running -----------------------------------------------------------------------------------
def shop_specs(args: argparse.Namespace) -> list[tuple[str, int, int]]:
    """(source, n_customers, construction seed), construction seed outermost so that an
    interrupted run already covers every source and size."""
    sources = [s for s in args.shops if s != "corpora"]
    specs = [(s, n, c) for c in args.construction_seeds for s in sources for n in args.sizes]
    if "corpora" in args.shops:
        specs.insert(0, ("corpora", 0, 0))
    return specs


def make_shop(source: str, n_customers: int, construction_seed: int, tables: dict) -> Shop:
    if source == "corpora":
        return corpora_shop()
    if source not in tables:
        tables[source] = load_source(source, Path(DATA_DIR))
    lang, table = tables[source]
    return build_shop(table, n_customers=n_customers, seed=construction_seed, lang=lang, name=source)


def run(args: argparse.Namespace) -> list[dict]:
    params = json.loads(args.tp_params) if args.tp_params else {}
    if params:
        register("topicprofile", functools.partial(fit_topicprofile, params=params))
    for name, variant in args.tp_variant:
        variant = dict(variant)
        rule = variant.pop("aggregate", None)
        if rule is None:
            register(name, functools.partial(fit_topicprofile, params=variant))
        else:
            if rule not in AGGREGATES:
                raise SystemExit(f"error: {name}: unknown aggregate {rule!r}; known: {list(AGGREGATES)}")
            register(name, functools.partial(fit_tp_aggregate, params=variant, rule=rule))
        if name not in args.methods:
            args.methods.append(name)
    unknown = [m for m in args.methods if m not in METHODS]
    if unknown:
        raise SystemExit(f"error: unknown method(s) {unknown}; known: {sorted(METHODS)}")
    out = open(args.json, "a", encoding="utf-8") if args.json else None
    records: list[dict] = []
    tables: dict = {}
    for source, n_customers, cseed in shop_specs(args):
        shop = make_shop(source, n_customers, cseed, tables)
        ps = prepare(shop)
        truth = shop.planted.to_numpy(dtype=str)
        base = {
            "shop": source, "n_customers": shop.n_customers, "construction_seed": cseed, "k": shop.k,
            "n_documents": len(ps.docs), "tp_params": params, "command": args.command,
        }  # fmt: skip
        best = oracle(shop)
        if best is not None:
            top = best.reindex(ps.customers).fillna("").to_numpy(dtype=object)
            top[top == ""] = UNTAGGED
            records.append({**base, "method": "oracle", "seed": None, **score(truth, top)})
            if out is not None:
                out.write(json.dumps(records[-1], ensure_ascii=False) + "\n")
        for method in args.methods:
            for seed in args.seeds:
                result = METHODS[method](ps, shop.k, seed)
                if result is None:  # the method does not apply to this shop
                    continue
                record = {
                    **base, "method": method, "seed": seed, **score(truth, result.top),
                    **coherence(ps, result.topics), "seconds": result.seconds, "topics": result.topics, **result.extra,
                }  # fmt: skip
                if method == "topicprofile":
                    record["same_vocab"] = ps.meta.get("tp_same_vocab")
                records.append(record)
                print(
                    f"{source:>10} n={shop.n_customers:<5} c{cseed} {method:>16} seed {seed}: "
                    f"NMI {record['nmi']:.3f} "
                    f"cov {record['coverage']:.2f} npmi {record['c_npmi']:.3f} {record['seconds']:.1f}s",
                    flush=True,
                )  # fmt: skip
                if out is not None:
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                    out.flush()
        if "tp_cache" in ps.meta:  # the token cache of this shop's topicprofile fits
            shutil.rmtree(ps.meta["tp_cache"], ignore_errors=True)
    if out is not None:
        out.close()
    return records


# -- report ------------------------------------------------------------------------------------
GROUP = ["shop", "n_customers", "method"]
SCORES = ["nmi", "nmi_all", "purity", "coverage", "recovery", "c_npmi", "c_v"]
PEERS = ("tomotopy-review", "tomotopy-pooled", "gensim-review", "btm-review")
TABLE_HEAD = [
    "| method | NMI (tagged) ± spread | NMI (all) | purity | coverage | recovery | c_npmi | c_v | fit s |",
    "|---|---|---|---|---|---|---|---|---|",
]
OVERVIEW_HEAD = [
    "| shop | customers | topicprofile NMI | best peer | its NMI | ratio | oracle NMI "
    "| within 0.02 of oracle |",
    "|---|---|---|---|---|---|---|---|",
]


def summarize(records: list[dict]) -> pd.DataFrame:
    """One row per shop family (source, size) and method: means over construction seeds and
    seeds; ``spread`` = the mean over constructions of (max - min over seeds) of NMI;
    ``seconds`` the median."""
    table = pd.DataFrame([{k: v for k, v in r.items() if k not in ("topics", "tp_params")} for r in records])
    table["seed"] = table["seed"].fillna(-1)
    table = table.drop_duplicates(["shop", "n_customers", "construction_seed", "method", "seed"])
    per_construction = table.groupby([*GROUP, "construction_seed"])["nmi"]
    spread = (per_construction.max() - per_construction.min()).groupby(GROUP).mean().rename("spread")
    groups = table.groupby(GROUP)
    agg = groups[[c for c in SCORES if c in table]].mean()
    agg["seconds"] = groups["seconds"].median() if "seconds" in table else np.nan
    agg["n_runs"] = groups.size()
    agg["n_constructions"] = groups["construction_seed"].nunique()
    return agg.join(spread).reset_index()


def _fmt(x: float | None, digits: int = 3) -> str:
    return "—" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{digits}f}"


def _method_row(name: str, r: pd.Series) -> str:
    spread = "" if name == "oracle" else f" ± {_fmt(r['spread'])}"
    cells = [
        f"{_fmt(r['nmi'])}{spread}", _fmt(r["nmi_all"]), _fmt(r["purity"]), _fmt(r["coverage"], 2),
        _fmt(r["recovery"]), _fmt(r.get("c_npmi")), _fmt(r.get("c_v")), _fmt(r.get("seconds"), 1),
    ]  # fmt: skip
    return f"| {name} | " + " | ".join(cells) + " |"


def _overview_row(shop: str, n: int, group: pd.DataFrame) -> str | None:
    peers = group.loc[[p for p in PEERS if p in group.index]]
    if "topicprofile" not in group.index or peers.empty:
        return None
    best = str(peers["nmi"].idxmax())
    ours, theirs = group.loc["topicprofile", "nmi"], peers.loc[best, "nmi"]
    oracle_nmi = group.loc["oracle", "nmi"] if "oracle" in group.index else np.nan
    near = "—" if np.isnan(oracle_nmi) else ("yes" if ours >= oracle_nmi - 0.02 else "no")
    ratio = f"{ours / theirs:.2f}×" if theirs > 0 else "—"
    cells = [shop, str(n), _fmt(ours), best, _fmt(theirs), ratio, _fmt(oracle_nmi), near]
    return "| " + " | ".join(cells) + " |"


def variants_table(summary: pd.DataFrame) -> list[str]:
    """One row per topicprofile method (defaults and variants), one column per shop family:
    ``NMI ± spread (coverage)``, plus the worst ratio to that shop's best peer over the real shops
    (issue #12's target: >= 1.10 on each) and the lowest coverage (target >= 0.95)."""
    families = list(dict.fromkeys(zip(summary["shop"], summary["n_customers"], strict=True)))
    ours = [m for m in dict.fromkeys(summary["method"]) if m not in ("oracle", *PEERS)]
    if len(ours) < 2:
        return []
    by = summary.set_index(["shop", "n_customers", "method"])
    best: dict = {}
    for shop, n in families:
        peers = [p for p in PEERS if (shop, n, p) in by.index]
        if peers:
            best[(shop, n)] = max(float(by.loc[(shop, n, p), "nmi"]) for p in peers)
    head = (
        "| variant | "
        + " | ".join(f"{s} {n}" for s, n in families)
        + " | worst ratio (real) | min cov (real) |"
    )
    lines = [head, "|---" * (len(families) + 3) + "|"]
    best_row = ["best peer"] + [_fmt(best.get(f)) for f in families] + ["1.00×", "—"]
    lines.append("| " + " | ".join(best_row) + " |")
    for m in ours:
        cells, ratios, covs = [], [], []
        for shop, n in families:
            if (shop, n, m) not in by.index:
                cells.append("—")
                continue
            r = by.loc[(shop, n, m)]
            cells.append(f"{_fmt(r['nmi'])} ± {_fmt(r['spread'], 2)} ({_fmt(r['coverage'], 2)})")
            if shop != "corpora":
                covs.append(float(r["coverage"]))
                if best.get((shop, n)):
                    ratios.append(float(r["nmi"]) / best[(shop, n)])
        worst = f"{min(ratios):.2f}×" if ratios else "—"
        lines.append(
            f"| {m} | " + " | ".join(cells) + f" | {worst} | {_fmt(min(covs) if covs else None, 2)} |"
        )
    return lines


def taxonomy_table(records: list[dict]) -> list[str]:
    """``tp-taxonomy`` per shop: k it chose, share of customers tagged with their planted interest
    by name, NMI, distinct top interests (means over runs); empty without such runs."""
    rows = [r for r in records if "name_accuracy" in r]
    if not rows:
        return []
    table = pd.DataFrame(rows).groupby(["shop", "n_customers"], sort=False)
    out = ["", "#### With the shop's taxonomy and no k (`tp-taxonomy`, issue #12 part 7)", "",
           "| shop | customers | k chosen | by name | NMI (tagged) | distinct top interests | runs |",
           "|---|---|---|---|---|---|---|"]  # fmt: skip
    for (shop, n), g in table:
        out.append(f"| {shop} | {n} | {g['k_used'].mean():g} | {g['name_accuracy'].mean():.3f} | "
                   f"{g['nmi'].mean():.3f} | {g['n_top_interests'].mean():.1f} | {len(g)} |")  # fmt: skip
    return out


def markdown(records: list[dict]) -> str:
    """The overview and one table per shop family (rows = methods, the oracle first)."""
    summary = summarize(records)
    overview, tables = list(OVERVIEW_HEAD), []
    for (shop, n), group in summary.groupby(["shop", "n_customers"], sort=False):
        group = group.set_index("method")
        known = ["oracle", "topicprofile", *PEERS]
        order = [m for m in known if m in group.index] + [m for m in group.index if m not in known]
        runs = int(group["n_runs"].drop("oracle", errors="ignore").max())
        constructions = int(group["n_constructions"].max())
        title = f"### {shop}, {n} customers ({constructions} construction(s), {runs} runs per method)"
        tables += ["", title, ""]
        tables += [*TABLE_HEAD, *(_method_row(m, group.loc[m]) for m in order)]
        row = _overview_row(shop, n, group)
        if row is not None:
            overview.append(row)
    title = "#### Overview (target: ratio ≥ 1.10×, or within 0.02 of the oracle)"
    overview += taxonomy_table(records)
    variants = variants_table(summary)
    if variants:
        variants = ["", "#### Variants: NMI ± seed spread (coverage), means over runs", "", *variants]
    return "\n".join([title, "", *overview, *variants, *tables]) + "\n"


def write_doc(path: Path, tables: str, command: str, *, section: str = "RESULTS") -> None:
    """Replace the text between the ``section`` markers of docs/quality.md (or create the file)."""
    begin, end = f"<!-- {section} BEGIN -->", f"<!-- {section} END -->"
    block = f"{begin}\n\nCommand: `{command}`\n\n{tables}\n{end}"
    fresh = f"# Tag quality on real shops\n\n{begin}\n{end}\n"
    text = path.read_text(encoding="utf-8") if path.exists() else fresh
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
    else:
        text += "\n" + block + "\n"
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _variant(text: str) -> tuple[str, dict]:
    name, sep, params = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=JSON, got {text!r}")
    try:
        return name, json.loads(params)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"{name}: not JSON ({e})") from e


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shops", nargs="+", default=["en_amazon", "zh_shop", "zh_domains", "corpora"],
                   choices=[*SOURCES, "corpora"])  # fmt: skip
    p.add_argument("--sizes", nargs="+", type=int, default=[150, 1500], help="customers per shop")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    p.add_argument("--construction-seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--methods", nargs="+", default=list(METHODS), help=f"methods to run ({list(METHODS)})")
    p.add_argument("--peers", nargs="+", default=None, help="run topicprofile and only these peers")
    p.add_argument("--tp-params", default="", help="TopicProfiler parameters as JSON (see docs/quality.md)")
    p.add_argument("--tp-variant", action="append", default=[], type=_variant, metavar="NAME=JSON",
                   help='an extra topicprofile row with these parameters (repeatable)')  # fmt: skip
    p.add_argument("--quick", action="store_true", help="one 150-customer shop per source, seeds 0-1")
    p.add_argument("--out", type=Path, default=None, help="write the tables into this markdown file")
    p.add_argument("--json", type=Path, default=None, help="append one JSON line per run to this file")
    p.add_argument("--section", default="RESULTS", help="the marked block of --out to replace")
    p.add_argument("--report-only", type=Path, default=None, help="no fitting: tables from a --json file")
    args = p.parse_args(argv)
    args.command = "python scripts/quality.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    if args.peers is not None:
        args.methods = ["topicprofile", *args.peers]
    if args.quick:
        args.sizes, args.seeds, args.construction_seeds = [150], [0, 1], [0]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report_only is not None:
        lines = args.report_only.read_text(encoding="utf-8").splitlines()
        records = [json.loads(line) for line in lines if line.strip()]
    else:
        records = run(args)
    tables = markdown(records)
    print(tables)
    if args.out is not None:
        commands = sorted({r.get("command") or args.command for r in records})
        write_doc(args.out, tables, "`, `".join(commands), section=args.section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
