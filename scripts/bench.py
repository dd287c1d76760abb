#!/usr/bin/env python
"""Benchmark: each topicprofile step side by side with the raw libraries doing the same work.

Not a test: it prints Markdown tables (stdout) with the median of ``--runs`` runs of every
(step, language, size, contender), each run in a fresh Python process so that peak memory is the
step's own. Progress goes to stderr. The results are in docs/benchmarks.md.

Corpora are resampled with a fixed seed from real text to the sizes of ``--sizes``: English
critic snippets from ``rotten_tomatoes.csv.bz2`` (plot summaries left out: they are not short
texts) and Chinese reviews from ``zh_reviews.txt``; every document gets a customer id (about 5
documents per customer, no customer has the same text twice).

Steps and contenders (``--steps``):

* ``tokenize``: ``SpacyTokenizer.tokenize`` vs raw spaCy (``spacy.blank`` + lookup lemmatizer,
  jieba segmenter for zh, ``nlp.pipe`` and the same token filter; "same tokens" checks the output),
  vs ``tokenize_parallel(workers=2)`` (``n/a`` when ``topicprofile.text.pool`` is absent), cold
  and with the fork server already up (as ``fit_files`` starts it while reading large inputs). One
  worker is ``SpacyTokenizer.tokenize`` itself: ``tokenize_parallel(workers=1)`` runs it in-process.
* ``lda``: ``LdaTopics(k, **DEFAULT_LDA_PARAMS).fit`` vs gensim ``LdaModel`` with the same
  parameters on the same (customer-pooled) bags of words, vs ``LdaMulticore`` (batch mode, same
  parameters, not reproducible), vs tomotopy ``LDAModel`` (500 Gibbs iterations, 1 and 2 threads)
  on the same pooled token lists. Coherence of every contender's top 10 words with
  ``coherence_scores`` on the same un-pooled token lists (as ``TopicProfiler`` scores itself).
* ``fit``: ``TopicProfiler(n_topics=k).fit(reviews=df)`` end to end vs the raw pipeline as the
  sum of its steps: raw tokenize (``tokenize`` step) + gensim ``LdaModel`` (``lda`` step) + the
  rest (gensim ``Phrases``, ``Dictionary`` + ``filter_extremes``, ``doc2bow``, pooling per
  customer, batched ``inference`` of every document, per-customer weighted mean).
* ``tag``: ``TopicProfiler.profile(reviews=df)`` with a loaded model vs raw (spaCy pipe, phrases,
  ``doc2bow``, batched ``LdaModel.inference``, per-customer weighted mean) with the same gensim model.
* ``tag_text``: latency of ``tag_text(text)`` (one call per text) vs raw ``nlp(text)`` +
  ``doc2bow`` + ``lda[bow]``, one core (BLAS limited to one thread).
* ``batch``: ``tag_text(texts)`` on 10,000 texts in one call vs raw per-document gensim calls
  (and raw batched ``inference``), one core.
* ``scale`` (not in the default steps): the memory and time of a fit as a shop runs it,
  ``fit_files`` (what ``topicprofile fit --reviews export.csv`` calls) on the corpus written as
  CSV, streamed in chunks (``--scale-workers`` tokenizer processes, default 1, the same at every
  size), with peak RSS and the peak so far at the start of each stage; and, up to 100,000
  documents, the same documents fitted as one chunk from a DataFrame, to compare coherence.
  ``--steps scale --sizes 100000 1000000 --langs en`` gives the memory target's ratio.

Large corpora (``--large``, default 100,000 documents) get ``--large-runs`` runs (default 1) and
no ``LdaMulticore``; ``tag_text`` and ``batch`` use the smallest corpus's model only (their input
does not grow with the corpus). The package is measured from a copy taken at the start
(``--no-snapshot`` to measure the working tree). ``--work-dir`` keeps corpora, prepared tokens and
models between runs; use a fresh one after the code changed.

Run from the repository root::

    /work/venv/bin/python scripts/bench.py --quick                       # smoke run (en), ~2 minutes
    /work/venv/bin/python scripts/bench.py --sizes 10000 100000 --runs 3  # docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
RESULT_MARK = "BENCH_RESULT "
#: Where the measured topicprofile package lives: a snapshot taken at the start (children get it
#: on PYTHONPATH, ahead of the editable install), so edits to the working tree during a long run
#: cannot mix code versions.
SOURCE = Path(os.environ.get("TOPICPROFILE_BENCH_SOURCE", REPO))
DOCS_PER_CUSTOMER = 5
STEPS = ("tokenize", "lda", "fit", "tag", "tag_text", "batch", "scale")
CONTENDERS: dict[str, tuple[str, ...]] = {
    "tokenize": ("topicprofile", "raw spaCy", "parallel 2 workers", "parallel 2 workers, fork server up"),
    "lda": (
        "topicprofile", "gensim LdaModel", "gensim LdaMulticore", "tomotopy 1 thread", "tomotopy 2 threads",
    ),
    "fit": ("topicprofile", "raw rest"),
    "tag": ("topicprofile", "raw gensim"),
    "tag_text": ("topicprofile", "raw gensim"),
    "batch": ("topicprofile", "raw per-document", "raw batched"),
    "scale": ("streamed from CSV", "in memory (one chunk)"),
}
#: Contenders whose result changes from run to run (coherence is then the median over runs).
NONDETERMINISTIC = {"gensim LdaMulticore", "tomotopy 2 threads"}
#: The contender each step's wrapper overhead is measured against.
BASELINE = {
    "tokenize": "raw spaCy", "lda": "gensim LdaModel", "fit": "raw (sum of steps)", "tag": "raw gensim",
    "tag_text": "raw gensim", "batch": "raw per-document", "scale": "in memory (one chunk)",
}  # fmt: skip
#: The scale step's in-memory contender (one chunk holding every text and token) runs below this size.
IN_MEMORY_MAX = 100_000
#: Steps measured "on one core": BLAS/OpenMP pools limited to one thread in the child.
ONE_CORE_STEPS = {"tag_text", "batch"}
_ONE_THREAD_ENV = {v: "1" for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
_HAS_LETTER = re.compile(r"[^\W\d_]")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# == corpora (parent) ================================================================================
def source_texts(lang: str) -> list[str]:
    """The real short texts a corpus is resampled from."""
    if lang == "en":
        import pandas as pd

        frame = pd.read_csv(DATA / "rotten_tomatoes.csv.bz2")
        texts = frame.loc[frame["category"] != "plot", "text"].dropna().astype(str)
        return [t.strip() for t in texts if t.strip()]
    with open(DATA / "zh_reviews.txt", encoding="utf-8") as fh:
        return [line.strip() for line in fh if line.strip()]


def build_corpus(lang: str, size: int, path: Path, seed: int) -> None:
    """``size`` texts drawn with replacement, ~5 per customer, no (customer, text) twice; Parquet."""
    import numpy as np
    import pandas as pd

    texts = np.array(source_texts(lang), dtype=object)
    rng = np.random.default_rng([seed, size, 1 if lang == "en" else 2])
    n_customers = max(1, size // DOCS_PER_CUSTOMER)
    frame = pd.DataFrame(columns=["customer", "text_id"], dtype=np.int64)
    while len(frame) < size:
        need = size - len(frame)
        more = pd.DataFrame({"customer": rng.integers(n_customers, size=need),
                             "text_id": rng.integers(len(texts), size=need)})  # fmt: skip
        frame = pd.concat([frame, more], ignore_index=True).drop_duplicates(ignore_index=True)
    corpus = pd.DataFrame({"customer_id": [f"C{c:07d}" for c in frame["customer"]],
                           "text": texts[frame["text_id"].to_numpy()]})  # fmt: skip
    corpus.to_parquet(path, index=False)


def sample_texts(corpus: Path, n: int, seed: int) -> list[str]:
    """``n`` texts of a corpus (with replacement only when it is smaller), fixed seed."""
    import numpy as np
    import pandas as pd

    texts = pd.read_parquet(corpus)["text"].tolist()
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(texts), size=n, replace=n > len(texts))
    return [texts[i] for i in idx]


# == measuring (child) ===============================================================================
class Meter:
    """Wall time, CPU time and peak memory of the block it wraps, including worker processes.

    Peak memory is the larger of this process's ``ru_maxrss`` (read when the block ends, so later
    scoring does not count) and the peak of its process tree's summed PSS, sampled every 50 ms.
    PSS splits a shared page between the processes sharing it, so the sum is the tree's real
    footprint: forked workers are not counted twice, nor is a short-lived child between fork and
    exec (gensim runs ``uname`` that way).
    """

    def __init__(self, *, sample: bool = True) -> None:
        self.sample = sample  # off where a 50 ms sampling thread could disturb what is timed

    def __enter__(self) -> Meter:
        import psutil

        self._proc = psutil.Process()
        self.rss_before_mib = self._proc.memory_info().rss / 2**20
        self._tree_peak = 0.0
        self._child_cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        if self.sample:
            self._thread.start()
        self._machine0 = _machine_busy()
        self._cpu0 = _self_cpu()
        self._t0 = time.perf_counter()
        return self

    def _sample(self) -> None:
        import psutil

        while not self._stop.wait(0.05):
            try:
                children = self._proc.children(recursive=True)
                pss = self._proc.memory_full_info().pss
            except psutil.Error:
                continue
            for child in children:
                try:
                    pss += child.memory_full_info().pss
                    times = child.cpu_times()
                    self._child_cpu[child.pid] = times.user + times.system
                except psutil.Error:
                    pass
            self._tree_peak = max(self._tree_peak, pss / 2**20)

    def __exit__(self, *exc: object) -> None:
        self.wall_s = time.perf_counter() - self._t0
        self.cpu_s = _self_cpu() - self._cpu0
        self.peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self._stop.set()
        if self.sample:
            self._thread.join()
        self.cpu_s += sum(self._child_cpu.values())
        self.peak_mib = max(self.peak_mib, self._tree_peak)
        # CPU the rest of the machine used meanwhile, in cores (noise indicator; 2 cores in all here)
        self.other_cores = max(0.0, (_machine_busy() - self._machine0 - self.cpu_s) / self.wall_s)

    def result(self) -> dict[str, float]:
        return {
            "wall_s": self.wall_s, "cpu_s": self.cpu_s, "peak_mib": self.peak_mib,
            "delta_mib": self.peak_mib - self.rss_before_mib, "other_cores": self.other_cores,
        }  # fmt: skip


def _machine_busy() -> float:
    """CPU seconds all processes of the machine have used (user, nice, system, irq, steal)."""
    import psutil

    t = psutil.cpu_times()
    extra = sum(getattr(t, name, 0.0) for name in ("irq", "softirq", "steal"))
    return t.user + t.nice + t.system + extra


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def quiet_libraries() -> None:
    logging.getLogger("gensim").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    try:
        import jieba

        jieba.setLogLevel(logging.WARNING)
    except ImportError:
        pass


def read_corpus(spec: dict[str, Any]) -> Any:
    import pandas as pd

    return pd.read_parquet(spec["corpus"])


# == raw contenders' building blocks =================================================================
def raw_nlp(lang: str) -> Any:
    """The pipeline a user of spaCy alone would build: blank, lookup lemmas (en), jieba (zh)."""
    import spacy

    if lang == "zh":
        return spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    nlp = spacy.blank(lang)
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    return nlp


def raw_stop_words(nlp: Any, lang: str) -> frozenset[str]:
    """spaCy's stop words plus the shop list (read as a plain file: the same words topicprofile uses)."""
    path = SOURCE / "topicprofile" / "data" / f"shop_stop_words_{lang}.txt"
    shop = {w.strip().lower() for w in path.read_text(encoding="utf-8").splitlines()
            if w.strip() and not w.startswith("#")}  # fmt: skip
    return frozenset({w.lower() for w in nlp.Defaults.stop_words} | shop)


def raw_doc_tokens(doc: Any, stops: frozenset[str]) -> list[str]:
    """The same filter as topicprofile's: no punctuation, numbers, URLs, e-mails, stop words, 1-letter."""
    out = []
    for token in doc:
        if (
            token.is_punct or token.is_space or token.like_num or token.like_url or token.like_email
            or token.is_stop
        ):  # fmt: skip
            continue
        lemma = (token.lemma_ or token.text).lower()
        if len(lemma) < 2 or lemma in stops or token.lower_ in stops or not _HAS_LETTER.search(lemma):
            continue
        out.append(lemma)
    return out


def raw_tokenize(texts: Sequence[str], lang: str, batch_size: int = 1000) -> list[list[str]]:
    nlp = raw_nlp(lang)
    stops = raw_stop_words(nlp, lang)
    return [raw_doc_tokens(doc, stops) for doc in nlp.pipe((t.lower() for t in texts), batch_size=batch_size)]


def raw_model(model_dir: Path) -> tuple[Any, Any, Any]:
    """The gensim parts of a saved topicprofile model: LdaModel, Dictionary, FrozenPhrases."""
    from gensim.corpora import Dictionary
    from gensim.models import LdaModel
    from gensim.models.phrases import FrozenPhrases

    lda = LdaModel.load(str(model_dir / "lda" / "lda.gensim"))
    dictionary = Dictionary.load(str(model_dir / "dictionary.gensim"))
    phrases = FrozenPhrases.load(str(model_dir / "phrases.gensim"))
    return lda, dictionary, phrases


def raw_infer(lda: Any, bows: Sequence[Any], chunk: int = 2000) -> Any:
    """Document topics by gensim's batched ``inference``, normalized (gensim's RNG, no per-document seeds)."""
    import numpy as np

    parts = [lda.inference(bows[i : i + chunk])[0] for i in range(0, len(bows), chunk)]
    gamma = np.vstack(parts) if parts else np.zeros((0, lda.num_topics))
    return gamma / gamma.sum(axis=1, keepdims=True)


def raw_customer_mean(doc_topics: Any, bows: Sequence[Any], customers: Sequence[str]) -> tuple[Any, Any]:
    """Token-weighted mean topic vector per customer (sorted ids)."""
    import numpy as np

    ids, codes = np.unique(np.asarray(customers, dtype=object), return_inverse=True)
    lengths = np.array([sum(c for _, c in b) for b in bows], dtype=float)
    sums = np.zeros((len(ids), doc_topics.shape[1]))
    np.add.at(sums, codes, doc_topics * lengths[:, None])
    total = sums.sum(axis=1, keepdims=True)
    return ids, np.divide(sums, total, out=np.full_like(sums, 1 / sums.shape[1]), where=total > 0)


def lda_params(spec: dict[str, Any]) -> dict[str, Any]:
    from topicprofile.topics.lda import DEFAULT_LDA_PARAMS

    params = dict(DEFAULT_LDA_PARAMS)
    if spec.get("passes"):
        params["passes"] = spec["passes"]
    return params


# == child tasks =====================================================================================
def task_prep_lda(spec: dict[str, Any]) -> dict[str, Any]:
    """The LDA step's shared input: topicprofile's tokens (+ phrases), vocabulary, pooled bags of words."""
    import pickle

    from topicprofile.text.phrases import PhraseDetector
    from topicprofile.text.tokenizer import SpacyTokenizer
    from topicprofile.text.vectorize import build_dictionary, pool_bows, to_bows

    df = read_corpus(spec)
    unphrased = SpacyTokenizer(spec["lang"]).tokenize(df["text"].tolist())
    tokens = PhraseDetector().fit(unphrased).transform(unphrased)
    dictionary = build_dictionary(tokens)
    pooled = [b for b in pool_bows(to_bows(dictionary, tokens), df["customer_id"].tolist()) if b]
    dictionary.save(spec["out"] + ".dict")
    with open(spec["out"], "wb") as fh:
        prepared = {"tokens": tokens, "pooled": pooled, "unphrased": unphrased}
        pickle.dump(prepared, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return {"n_train_docs": len(pooled), "n_terms": len(dictionary),
            "n_train_tokens": sum(c for b in pooled for _, c in b)}  # fmt: skip


def task_prep_model(spec: dict[str, Any]) -> dict[str, Any]:
    from topicprofile import TopicProfiler

    df = read_corpus(spec)
    profiler = TopicProfiler(n_topics=spec["k"], lang=spec["lang"], passes=spec.get("passes"))
    profiler.fit(reviews=df).save(spec["model"])
    return {}


def task_tokenize(spec: dict[str, Any]) -> dict[str, Any]:
    from topicprofile.text.tokenizer import SpacyTokenizer

    texts = read_corpus(spec)["text"].tolist()
    who, lang = spec["contender"], spec["lang"]
    if who.startswith("parallel"):
        try:
            from topicprofile.text.pool import tokenize_parallel
        except ImportError:
            return {"na": "topicprofile.text.pool is absent"}
        workers = int(who.split()[1])
        if who.endswith("fork server up"):
            fork_server_up()
        with Meter() as m:
            tokens = tokenize_parallel(SpacyTokenizer(lang), texts, workers=workers)
    elif who == "topicprofile":
        with Meter() as m:
            tokens = SpacyTokenizer(lang).tokenize(texts)
    else:
        with Meter() as m:
            tokens = raw_tokenize(texts, lang)
    out = m.result() | {"n_words": sum(map(len, tokens)), "docs_per_s": len(texts) / m.wall_s}
    if spec.get("check"):  # same output as topicprofile's tokenizer?
        out["same_tokens"] = tokens == SpacyTokenizer(lang).tokenize(texts)
    return out


def fork_server_up() -> None:
    """Start topicprofile's fork server and wait until it has imported spaCy: what ``fit_files``
    starts while it reads large inputs (``parallel.prestart``), as imports are done before every
    contender's timer. The pool's processes are still forked and build their pipelines in the timer."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from topicprofile.text import pool as parallel

    parallel.prestart()
    context = multiprocessing.get_context(parallel.START_METHOD)
    with ProcessPoolExecutor(1, mp_context=context) as pool:  # returns once a process forked after the imports
        pool.submit(os.getpid).result()


def task_lda(spec: dict[str, Any]) -> dict[str, Any]:
    import pickle

    import numpy as np
    from gensim.corpora import Dictionary

    from topicprofile.topics.coherence import coherence_scores

    with open(spec["prep"], "rb") as fh:
        prep = pickle.load(fh)
    dictionary = Dictionary.load(spec["prep"] + ".dict")
    who, k, params = spec["contender"], spec["k"], lda_params(spec)
    if who.startswith("tomotopy"):
        words = [[dictionary[i] for i, c in bow for _ in range(c)] for bow in prep["pooled"]]
        with Meter() as m:
            top = fit_tomotopy(words, k, spec["tomotopy_iterations"], workers=int(who.split()[1]))
    else:
        with Meter() as m:
            topic_word = fit_gensim(who, prep["pooled"], dictionary, k, params, spec)
        top = [[dictionary[int(i)] for i in np.argsort(-row, kind="stable")[:10]] for row in topic_word]
    out = m.result()
    if spec.get("coherence"):
        scores = coherence_scores(top, prep["tokens"], dictionary)
        out |= {"c_npmi": scores["c_npmi"]["mean"], "c_v": scores["c_v"]["mean"]}
    return out


def fit_gensim(
    who: str, corpus: list, dictionary: Any, k: int, params: dict[str, Any], spec: dict[str, Any]
) -> Any:
    import numpy as np
    from gensim.models import LdaModel, LdaMulticore

    from topicprofile.topics.lda import LdaTopics

    if who == "topicprofile":
        return LdaTopics(k, random_state=0, **params).fit(corpus, dictionary).topic_word_
    if who == "gensim LdaModel":
        lda = LdaModel(corpus=corpus, id2word=dictionary, num_topics=k, random_state=0, eval_every=None,
                       dtype=np.float64, **params)  # fmt: skip
        return lda.get_topics()
    multi = {key: v for key, v in params.items() if key != "update_every"}  # batch=True is update_every=0
    lda = LdaMulticore(corpus=corpus, id2word=dictionary, num_topics=k, workers=spec["mc_workers"],
                       batch=True, random_state=0, eval_every=None, dtype=np.float64, **multi)  # fmt: skip
    return lda.get_topics()


def fit_tomotopy(words: list[list[str]], k: int, iterations: int, *, workers: int) -> list[list[str]]:
    import tomotopy

    model = tomotopy.LDAModel(k=k, seed=0)
    for doc in words:
        model.add_doc(doc)
    model.train(iterations, workers=workers)
    return [[w for w, _ in model.get_topic_words(j, top_n=10)] for j in range(k)]


def task_fit(spec: dict[str, Any]) -> dict[str, Any]:
    df = read_corpus(spec)
    if spec["contender"] == "topicprofile":
        from topicprofile import TopicProfiler

        marks: list[tuple[str, float]] = []

        def progress(step: str, done: int, total: int | None) -> None:
            if not marks or marks[-1][0] != step:
                marks.append((step, time.perf_counter()))

        profiler = TopicProfiler(n_topics=spec["k"], lang=spec["lang"], passes=spec.get("passes"))
        with Meter() as m:
            start = time.perf_counter()
            profiler.fit(reviews=df, progress=progress)
        stages = stage_seconds(marks, start, start + m.wall_s)
        if spec.get("save_model") and not Path(spec["model"]).exists():
            profiler.save(spec["model"])
        return m.result() | {"stages": stages}
    # The raw fit's other steps; its tokenizing and LDA training are measured by those steps. Its
    # input are the prepared tokens (raw spaCy gives the same: "same tokens" in the tokenize table).
    import pickle

    lda, model_dictionary, _ = raw_model(Path(spec["model"]))
    with open(spec["prep"], "rb") as fh:
        tokens = pickle.load(fh)["unphrased"]
    with Meter() as m:
        stages, dictionary = raw_rest(tokens, df["customer_id"].tolist(), lda, model_dictionary)
    return m.result() | {"stages": stages, "same_vocab": dictionary.token2id == model_dictionary.token2id}


def stage_seconds(
    marks: list[tuple[str, float]], start: float, end: float, first: str = "clean"
) -> dict[str, float]:
    """Seconds per stage from the first progress mark of each stage (``first``: the stage before any mark)."""
    bounds = [(first, start)] + marks + [("end", end)]
    seconds: dict[str, float] = {}
    for (name, t), (_, t_next) in zip(bounds, bounds[1:]):
        seconds[name] = seconds.get(name, 0.0) + t_next - t  # a stage may come back
    return seconds


def raw_rest(
    tokens: list[list[str]], customers: list[str], lda: Any, model_dictionary: Any
) -> tuple[dict[str, float], Any]:
    """A spaCy + gensim user's fit between tokenizing and LDA training, and after it: gensim
    ``Phrases``, ``Dictionary`` + ``filter_extremes`` (topicprofile's rule), ``doc2bow``, pooling per
    customer, then every document's topics by batched ``inference`` averaged per customer.

    Inference uses the saved model's LdaModel (trained on the same bags of words); when the raw
    vocabulary differs from the model's, the bags of words are rebuilt with the model's (``same_vocab``).
    No cleaning, labels, coherence, keywords, tags or profile table. Returns seconds per stage.
    """
    from gensim.corpora import Dictionary
    from gensim.models.phrases import Phrases

    marks = [("phrases", time.perf_counter())]
    phrases = Phrases(tokens, min_count=5, threshold=10.0, delimiter="_").freeze()
    tokens = [phrases[t] for t in tokens]
    marks.append(("vocabulary", time.perf_counter()))
    dictionary = Dictionary(tokens, prune_at=None)
    dictionary.filter_extremes(no_below=max(3, math.ceil(0.003 * len(tokens))), no_above=0.5, keep_n=50_000)
    bows = [dictionary.doc2bow(t) for t in tokens]
    pooled: dict[str, dict[int, int]] = {}
    for customer, bow in zip(customers, bows):
        counts = pooled.setdefault(customer, {})
        for term, n in bow:
            counts[term] = counts.get(term, 0) + n
    [sorted(c.items()) for _, c in sorted(pooled.items()) if c]  # the LdaModel's training corpus
    marks.append(("infer + customers", time.perf_counter()))
    if dictionary.token2id != model_dictionary.token2id:
        bows = [model_dictionary.doc2bow(t) for t in tokens]
    raw_customer_mean(raw_infer(lda, bows), bows, customers)
    return stage_seconds(marks[1:], marks[0][1], time.perf_counter(), first="phrases"), dictionary


def task_tag(spec: dict[str, Any]) -> dict[str, Any]:
    df = read_corpus(spec)
    if spec["contender"] == "topicprofile":
        from topicprofile import TopicProfiler

        with Meter() as load:
            profiler = TopicProfiler.load(spec["model"])
        with Meter() as m:
            profiler.profile(reviews=df)
    else:
        with Meter() as load:
            lda, dictionary, phrases = raw_model(Path(spec["model"]))
        with Meter() as m:
            tokens = [phrases[t] for t in raw_tokenize(df["text"].tolist(), spec["lang"])]
            bows = [dictionary.doc2bow(t) for t in tokens]
            raw_customer_mean(raw_infer(lda, bows), bows, df["customer_id"].tolist())
    return m.result() | {"load_s": load.wall_s, "docs_per_s": len(df) / m.wall_s}


def task_tag_text(spec: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    texts = sample_texts(Path(spec["corpus"]), spec["n_texts"], seed=1)
    tag_one = load_tagger(spec)
    t0 = time.perf_counter()
    tag_one(texts[0])  # builds topicprofile's spaCy pipeline on first use
    first_ms = (time.perf_counter() - t0) * 1000
    latencies = []
    with Meter(sample=False) as m:
        for text in texts:
            t0 = time.perf_counter()
            tag_one(text)
            latencies.append((time.perf_counter() - t0) * 1000)
    ms = np.array(latencies)
    return m.result() | {
        "load_s": spec["_load_s"], "first_ms": first_ms, "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)), "mean_ms": float(ms.mean()),
    }  # fmt: skip


def load_tagger(spec: dict[str, Any]) -> Callable[[str], Any]:
    """A function tagging one text, after loading the model (load seconds kept in ``spec``)."""
    if spec["contender"] == "topicprofile":
        from topicprofile import TopicProfiler

        t0 = time.perf_counter()
        profiler = TopicProfiler.load(spec["model"])
        spec["_load_s"] = time.perf_counter() - t0
        return profiler.tag_text
    t0 = time.perf_counter()
    lda, dictionary, phrases = raw_model(Path(spec["model"]))
    nlp = raw_nlp(spec["lang"])  # built here, by topicprofile at its first call
    stops = raw_stop_words(nlp, spec["lang"])
    spec["_load_s"] = time.perf_counter() - t0

    def tag_one(text: str) -> Any:
        return lda[dictionary.doc2bow(phrases[raw_doc_tokens(nlp(text.lower()), stops)])]

    return tag_one


def task_batch(spec: dict[str, Any]) -> dict[str, Any]:
    texts = sample_texts(Path(spec["corpus"]), spec["n_texts"], seed=2)
    who = spec["contender"]
    if who == "topicprofile":
        from topicprofile import TopicProfiler

        profiler = TopicProfiler.load(spec["model"])
        profiler.tag_text("warm up")  # pipeline built outside the timed call, as for raw
        with Meter() as m:
            profiler.tag_text(texts)
    else:
        lda, dictionary, phrases = raw_model(Path(spec["model"]))
        nlp = raw_nlp(spec["lang"])
        stops = raw_stop_words(nlp, spec["lang"])
        with Meter() as m:
            docs = nlp.pipe((t.lower() for t in texts), batch_size=1000)
            bows = [dictionary.doc2bow(phrases[raw_doc_tokens(doc, stops)]) for doc in docs]
            if who == "raw per-document":
                [lda[bow] for bow in bows]
            else:
                raw_infer(lda, bows)
    return m.result() | {"docs_per_s": len(texts) / m.wall_s}


def task_scale(spec: dict[str, Any]) -> dict[str, Any]:
    """A fit as a shop runs it: ``topicprofile fit`` on a CSV export, streamed in chunks (the
    default ``chunk_rows``), or the same documents fitted as one chunk from a DataFrame."""
    import shutil

    from topicprofile import TopicProfiler
    from topicprofile.app.jobs import fit_files
    from topicprofile.config import RunOptions

    streamed = spec["contender"] == "streamed from CSV"
    if not streamed and spec["size"] > IN_MEMORY_MAX:
        return {"na": f"in-memory fit only up to {IN_MEMORY_MAX:,} documents"}
    marks: list[tuple[str, float]] = []
    peaks: dict[str, int] = {}  # this process's peak RSS so far, when each stage starts

    def progress(step: str, done: int, total: int | None) -> None:
        if not marks or marks[-1][0] != step:
            marks.append((step, time.perf_counter()))
            peaks[step] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)

    model_dir = Path(spec["model"] + "_scale")
    shutil.rmtree(model_dir, ignore_errors=True)
    chunk_rows = None if streamed else spec["size"] + 1
    profiler = TopicProfiler(n_topics=spec["k"], lang=spec["lang"], passes=spec.get("passes"))
    run = RunOptions(workers=spec["scale_workers"], **({} if chunk_rows is None else {"chunk_rows": chunk_rows}))
    df = None if streamed else read_corpus(spec)
    with Meter() as m:
        start = time.perf_counter()
        if streamed:
            fit_files(model_dir, profiler=profiler, reviews=spec["csv"], progress=progress, run=run)
        else:
            profiler.fit(reviews=df, progress=progress, run=run)
    shutil.rmtree(model_dir, ignore_errors=True)
    return m.result() | {
        "stages": stage_seconds(marks, start, start + m.wall_s, first="read"), "stage_peak_mib": peaks,
        "c_npmi": profiler.coherence_["c_npmi"], "c_v": profiler.coherence_["c_v"],
        "n_customers": len(profiler.profiles_), "n_terms": len(profiler.dictionary_),
    }  # fmt: skip


TASKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "prep_lda": task_prep_lda, "prep_model": task_prep_model, "tokenize": task_tokenize, "lda": task_lda,
    "fit": task_fit, "tag": task_tag, "tag_text": task_tag_text, "batch": task_batch,
    "scale": task_scale,
}  # fmt: skip


def worker_main(spec_json: str) -> int:
    spec = json.loads(spec_json)
    # What every contender uses is imported before any timing; topicprofile's own imports are
    # done by its contenders (before their timed block too), so their memory counts as its cost.
    import gensim.corpora  # noqa: F401
    import gensim.models  # noqa: F401
    import gensim.models.phrases  # noqa: F401
    import pandas  # noqa: F401
    import spacy  # noqa: F401

    quiet_libraries()
    result = TASKS[spec["task"]](spec)
    print(RESULT_MARK + json.dumps(result), flush=True)
    return 0


# == orchestration (parent) ==========================================================================
class Runner:
    """Runs child tasks one at a time and collects their results."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.rows: list[dict[str, Any]] = []
        self.info: dict[tuple[str, int], dict[str, Any]] = {}
        self.started = time.perf_counter()
        self.source_env: dict[str, str] = {}
        self.code = code_version(REPO)
        if args.json_out:
            args.json_out.write_text("", encoding="utf-8")
        if args.snapshot:
            self.code += f", snapshot {snapshot(work / 'src')}"
            path = os.pathsep.join(filter(None, [str(work / "src"), os.environ.get("PYTHONPATH")]))
            self.source_env = {"TOPICPROFILE_BENCH_SOURCE": str(work / "src"), "PYTHONPATH": path}

    def record(self, row: dict[str, Any]) -> None:
        """Keep a result (and append it to ``--json-out`` at once, so a crash loses nothing)."""
        if "header" not in row:
            self.rows.append(row)
        if self.args.json_out:
            with self.args.json_out.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")

    def child(self, spec: dict[str, Any], *, one_core: bool = False) -> dict[str, Any]:
        env = os.environ | (_ONE_THREAD_ENV if one_core else {}) | self.source_env
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=self.args.timeout)
        lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_MARK)]
        if proc.returncode != 0 or not lines:
            tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
            log(f"FAILED {spec['task']} {spec.get('contender', '')} (exit {proc.returncode}):\n{tail}")
            return {"error": f"exit {proc.returncode}"}
        return json.loads(lines[-1][len(RESULT_MARK) :])

    def paths(self, lang: str, size: int) -> dict[str, str]:
        base = self.work / f"{lang}_{size}"
        model = self.work / f"model_{lang}_{size}_k{self.args.k}_p{self.args.passes or 0}"
        corpus, prep = base.with_suffix(".parquet"), Path(str(base) + "_lda.pkl")
        return {"corpus": str(corpus), "csv": str(base.with_suffix(".csv")), "prep": str(prep), "model": str(model)}

    def prepare(self, lang: str, size: int, steps: Sequence[str]) -> None:
        p = self.paths(lang, size)
        base = {"lang": lang, "size": size, "k": self.args.k, "passes": self.args.passes, **p}
        if not Path(p["corpus"]).exists():
            build_corpus(lang, size, Path(p["corpus"]), self.args.seed)
        if "scale" in steps and not Path(p["csv"]).exists():
            import pandas as pd

            pd.read_parquet(p["corpus"]).to_csv(p["csv"], index=False)  # a shop's export
        info = self.info.setdefault((lang, size), {})
        if "lda" in steps or "fit" in steps:
            if not Path(p["prep"] + ".json").exists():
                log(f"prepare {lang} {size:,}: tokens, vocabulary, pooled bags of words (lda and fit steps)")
            meta = Path(p["prep"] + ".json")
            if not meta.exists():
                result = self.child(base | {"task": "prep_lda", "out": p["prep"]})
                if "error" in result:
                    raise SystemExit(f"could not prepare the lda step's input for {lang} {size:,}; see above")
                meta.write_text(json.dumps(result))
            info.update(json.loads(meta.read_text()))
        needs_model = any(s in steps for s in ("tag", "tag_text", "batch"))
        if needs_model and "fit" not in steps and not Path(p["model"]).exists():
            log(f"prepare {lang} {size:,}: fit and save a model for the tagging steps")
            self.child(base | {"task": "prep_model"})

    def measure(self, step: str, lang: str, size: int) -> None:
        args = self.args
        runs = args.runs if size < args.large else min(args.runs, args.large_runs)
        p = self.paths(lang, size)
        contenders = [w for w in CONTENDERS[step] if size < args.large or w not in args.large_skip]
        for run in range(runs):
            for who in contenders:
                spec = {"task": step, "contender": who, "lang": lang, "size": size, "k": args.k,
                        "passes": args.passes, "run": run, "tomotopy_iterations": args.tomotopy_iterations,
                        "mc_workers": args.mc_workers, "scale_workers": args.scale_workers, "n_texts": args.latency_texts if step == "tag_text"
                        else args.batch_texts, **p}  # fmt: skip
                spec["coherence"] = step == "lda" and (run == 0 or who in NONDETERMINISTIC)
                first = run == 0 and size == min(args.sizes)
                spec["check"] = step == "tokenize" and first and who != "topicprofile"
                spec["save_model"] = step == "fit" and run == 0
                result = self.child(spec, one_core=step in ONE_CORE_STEPS)
                key = {"step": step, "lang": lang, "size": size, "contender": who, "run": run}
                self.record(key | result)
                log(f"{step:<8} {lang} {size:>9,} {who:<22} run {run + 1}/{runs}: {describe(result)}"
                    f"  (elapsed {(time.perf_counter() - self.started) / 60:.1f} min)")  # fmt: skip


def describe(result: dict[str, Any]) -> str:
    if "error" in result or "na" in result:
        return result.get("error") or "n/a"
    text = f"{result['wall_s']:.2f} s, {result['peak_mib']:.0f} MiB"
    for key in ("p50_ms", "docs_per_s", "c_npmi"):
        if key in result:
            text += f", {key} {result[key]:.3g}"
    return text


# == report ==========================================================================================
def median_rows(rows: list[dict[str, Any]]) -> dict[tuple[str, str, int, str], dict[str, Any]]:
    """Per (step, lang, size, contender): the median of every numeric field over the runs."""
    groups: dict[tuple[str, str, int, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["step"], r["lang"], r["size"], r["contender"]), []).append(r)
    out = {}
    for key, runs in groups.items():
        ok = [r for r in runs if "error" not in r and "na" not in r]
        if not ok:
            out[key] = {"missing": runs[0].get("na") or runs[0].get("error"), "na": "na" in runs[0], "runs": len(runs)}
            continue
        merged: dict[str, Any] = {"runs": len(ok)}
        for field in ok[0]:
            values = [r[field] for r in ok if type(r.get(field)) in (int, float)]  # not bool
            if values and field not in ("run", "size"):
                merged[field] = statistics.median(values)
        for field in ("stages", "stage_peak_mib"):  # per-stage values: medians stage by stage
            if field in ok[0]:
                merged[field] = {s: statistics.median(r[field].get(s, 0.0) for r in ok) for s in ok[0][field]}
        for flag in ("same_tokens", "same_vocab"):
            if flag in ok[0]:
                merged[flag] = all(r[flag] for r in ok if flag in r)
        out[key] = merged
    add_raw_fit_sums(out)
    return out


def add_raw_fit_sums(med: dict[tuple[str, str, int, str], dict[str, Any]]) -> None:
    """The raw full fit: raw tokenize + gensim LdaModel training + the raw rest (medians of each)."""
    for step, lang, size, who in list(med):
        if step != "fit" or who != "raw rest":
            continue
        parts = {
            "tokenize": med.get(("tokenize", lang, size, "raw spaCy"), {}),
            "LdaModel": med.get(("lda", lang, size, "gensim LdaModel"), {}),
            "rest": med[(step, lang, size, who)],
        }
        if all("wall_s" in part for part in parts.values()):
            med[(step, lang, size, "raw (sum of steps)")] = {
                "wall_s": sum(part["wall_s"] for part in parts.values()),
                "peak_mib": max(part["peak_mib"] for part in parts.values()),
                "stages": {name: part["wall_s"] for name, part in parts.items()},
                "runs": min(part["runs"] for part in parts.values()),
            }  # fmt: skip


def fmt(value: Any, spec: str = ".2f") -> str:
    return "—" if value is None else format(value, spec)


def ratio(med: dict, step: str, lang: str, size: int, who: str, field: str = "wall_s") -> float | None:
    a, b = med.get((step, lang, size, who), {}), med.get((step, lang, size, BASELINE[step]), {})
    if field in a and field in b and b[field]:
        return a[field] / b[field]
    return None


def table(header: Sequence[str], rows: list[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def keys_of(med: dict, step: str) -> list[tuple[str, int, str, dict[str, Any]]]:
    order = {who: i for i, who in enumerate(CONTENDERS[step] + ("raw (sum of steps)",))}
    keys = sorted((k for k in med if k[0] == step), key=lambda k: (k[1], k[2], order[k[3]]))
    return [(lang, size, who, med[(step, lang, size, who)]) for _, lang, size, who in keys]


def cells(m: dict[str, Any], *fields: tuple[str, str]) -> list[str]:
    if "missing" in m:
        first = "n/a" if m.get("na") else f"error ({m['missing']})"
        return [first] + ["—"] * (len(fields) - 1)
    return [fmt(m.get(f), spec) for f, spec in fields]


Column = tuple[str, str, str]  # header, result field, format
Extra = tuple[str, Callable[[dict, str, int, str, dict], str]]  # header, f(med, lang, size, who, m)


def ratio_cell(step: str, field: str = "wall_s") -> Callable[[dict, str, int, str, dict], str]:
    return lambda med, lang, size, who, m: fmt(ratio(med, step, lang, size, who, field))


def runs_cell(med: dict, lang: str, size: int, who: str, m: dict) -> str:
    return str(m.get("runs", 0))


def same_tokens_cell(med: dict, lang: str, size: int, who: str, m: dict) -> str:
    if who == "topicprofile":
        return "(ref)"
    return {True: "yes", False: "no"}.get(m.get("same_tokens"), "—")


def step_table(
    results: Any, med: dict, step: str, title: str, columns: Sequence[Column], extras: Sequence[Extra]
) -> str:
    """One table per step: corpus, contender, the ``columns`` (medians), then the ``extras``."""
    rows = []
    for lang, size, who, m in keys_of(med, step):
        values = cells(m, *((field, spec) for _, field, spec in columns))
        rows.append([f"{lang} {size:,}", who, *values, *(f(med, lang, size, who, m) for _, f in extras)])
    header = ["corpus", "contender", *(h for h, _, _ in columns), *(h for h, _ in extras)]
    return f"### {title}\n\n" + table(header, rows)


def lda_shape_cell(results: Any) -> Callable[[dict, str, int, str, dict], str]:
    def cell(med: dict, lang: str, size: int, who: str, m: dict) -> str:
        info = results.info.get((lang, size), {})
        return " / ".join(f"{info.get(key, 0):,}" for key in ("n_train_docs", "n_train_tokens", "n_terms"))

    return cell


def scale_ratio_cell(med: dict, lang: str, size: int, who: str, m: dict) -> str:
    base = med.get(("scale", lang, 100_000, "streamed from CSV"), {})
    if who != "streamed from CSV" or "peak_mib" not in m or "peak_mib" not in base:
        return "—"
    return fmt(m["peak_mib"] / base["peak_mib"])


def stage_peak_cell(med: dict, lang: str, size: int, who: str, m: dict) -> str:
    return ", ".join(f"{stage} {mib:,.0f}" for stage, mib in m.get("stage_peak_mib", {}).items())


def stages_cell(med: dict, lang: str, size: int, who: str, m: dict) -> str:
    return ", ".join(f"{stage} {seconds:.1f}" for stage, seconds in m.get("stages", {}).items())


WALL, CPU, OTHERS, PEAK = ("wall s", "wall_s", ".2f"), ("CPU s", "cpu_s", ".1f"), \
    ("others' CPU", "other_cores", ".1f"), ("peak MiB", "peak_mib", ",.0f")  # fmt: skip
DOCS_PER_S = ("docs/s", "docs_per_s", ",.0f")


def report(results: Any) -> str:
    """All tables of a run: targets first, then one per step measured."""
    med = median_rows(results.rows)
    n_single, n_batch = results.args.latency_texts, results.args.batch_texts
    coherence = [("c_npmi", "c_npmi", "+.3f"), ("c_v", "c_v", ".3f")]
    latency = [("load s", "load_s", ".2f"), ("first call ms", "first_ms", ",.0f"),
               ("p50 ms", "p50_ms", ".2f"), ("p95 ms", "p95_ms", ".2f"), ("mean ms", "mean_ms", ".2f"), PEAK]
    runs = ("runs", runs_cell)
    sections = {
        "tokenize": ("Tokenize", [WALL, DOCS_PER_S, CPU, OTHERS, PEAK],
                     [("× raw", ratio_cell("tokenize")), ("same tokens", same_tokens_cell), runs]),
        "lda": ("LDA fit (customer-pooled documents)",
                [("wall s", "wall_s", ".1f"), CPU, OTHERS, PEAK, *coherence],
                [("train docs / tokens / terms", lda_shape_cell(results)), ("× gensim", ratio_cell("lda")),
                 runs]),
        "fit": ("Full fit (end to end)", [("wall s", "wall_s", ".1f"), PEAK],
                [("× raw", ratio_cell("fit")), ("seconds per stage", stages_cell), runs]),
        "tag": ("Tag customers (`profile`, loaded model)",
                [("load s", "load_s", ".2f"), ("tag s", "wall_s", ".2f"), DOCS_PER_S, OTHERS, PEAK],
                [("× raw", ratio_cell("tag")), runs]),
        "tag_text": (f"`tag_text` latency ({n_single:,} single texts, one call each, one core; "
                     "model fitted on the corpus named)", latency,
                     [("p50 × raw", ratio_cell("tag_text", "p50_ms")), runs]),
        "batch": (f"Batch `tag_text` ({n_batch:,} texts in one call, one core; "
                  "model fitted on the corpus named)",
                  [WALL, DOCS_PER_S, CPU, OTHERS, PEAK], [("× raw per-doc", ratio_cell("batch")), runs]),
        "scale": ("Scale: fit from a CSV export (streamed in chunks) and as one in-memory chunk",
                  [("wall s", "wall_s", ".1f"), CPU, OTHERS, PEAK, *coherence, ("customers", "n_customers", ",.0f")],
                  [("peak × 100k streamed", scale_ratio_cell), ("seconds per stage", stages_cell),
                   ("peak MiB so far at stage start (main process)", stage_peak_cell), runs]),
    }  # fmt: skip
    parts = [targets_table(med)]
    parts += [step_table(results, med, step, *spec) for step, spec in sections.items() if keys_of(med, step)]
    return "\n\n".join(parts) + "\n"


def targets_table(med: dict) -> str:
    """Each target, per corpus: measured value, target and verdict."""
    rows: list[list[str]] = []

    def add(what: str, where: str, value: Any, target: str, ok: bool | None, spec: str = ".2f") -> None:
        verdict = "—" if ok is None else ("met" if ok else "**missed**")
        rows.append([what, where, fmt(value, spec), target, verdict])

    for lang, size in sorted({(k[1], k[2]) for k in med}):
        where = f"{lang} {size:,}"
        for step in ("tokenize", "lda", "fit", "tag"):
            r = ratio(med, step, lang, size, "topicprofile")
            if r is not None:
                add(f"overhead: {step} (× {BASELINE[step]})", where, r, "≤ 1.15×", r <= 1.15)
        r = ratio(med, "batch", lang, size, "topicprofile")
        if r is not None:  # time per text
            add("overhead: batch tag_text (time × raw per-doc)", where, r, "≤ 1.15×", r <= 1.15)
        m = med.get(("tag_text", lang, size, "topicprofile"), {})
        if "p50_ms" in m:
            add("tag_text p50 latency, ms", where, m["p50_ms"], "≤ 5 ms", m["p50_ms"] <= 5)
        m = med.get(("batch", lang, size, "topicprofile"), {})
        if "docs_per_s" in m:
            rate = m["docs_per_s"]
            add("batch tag_text, texts/s (one core)", where, rate, "≥ 5,000/s", rate >= 5000, ",.0f")
        ours = med.get(("lda", lang, size, "topicprofile"), {})
        gibbs = med.get(("lda", lang, size, "tomotopy 1 thread"), {})
        if "c_npmi" in ours and "c_npmi" in gibbs:
            for score in ("c_npmi", "c_v"):
                diff = ours[score] - gibbs[score]
                add(f"LDA {score} − tomotopy-500 {score}", where, diff, "≥ 0", diff >= 0, "+.3f")
            r = ours["wall_s"] / gibbs["wall_s"]
            add("LDA wall time × tomotopy-500 (1 thread)", where, r, "≤ 1×", r <= 1.0)
        one = med.get(("tokenize", lang, size, "topicprofile"), {})
        for who, what in (("parallel 2 workers", "tokenize speed-up, 2 workers vs 1 (cold)"),
                          ("parallel 2 workers, fork server up", "tokenize speed-up, 2 workers vs 1 (fork server up)")):
            two, target = med.get(("tokenize", lang, size, who), {}), "≥ 1.7× (at 100k)"
            if "wall_s" in one and "wall_s" in two:
                r = one["wall_s"] / two["wall_s"]
                add(what, where, r, target, r >= 1.7 if size >= 100_000 else None)
            elif "missing" in two:
                add(what, where, None, target, None)
        streamed = med.get(("scale", lang, size, "streamed from CSV"), {})
        in_memory = med.get(("scale", lang, size, "in memory (one chunk)"), {})
        if "c_npmi" in streamed and "c_npmi" in in_memory:
            diff = streamed["c_npmi"] - in_memory["c_npmi"]
            add("c_npmi streamed − in memory", where, diff, "within ±0.01", abs(diff) <= 0.01, "+.3f")
        base = med.get(("scale", lang, 100_000, "streamed from CSV"), {})
        if size >= 1_000_000 and "peak_mib" in streamed:
            if "peak_mib" in base:
                r = streamed["peak_mib"] / base["peak_mib"]
                add("fit peak RSS × 100k's (streamed)", where, r, "≤ 1.5×", r <= 1.5)
            add("fit peak RSS, GiB", where, streamed["peak_mib"] / 1024, "≤ 24", streamed["peak_mib"] <= 24 * 1024)
            add("fit wall time, min", where, streamed["wall_s"] / 60, "≤ 60", streamed["wall_s"] <= 3600, ".1f")
    header = ["target", "corpus", "measured", "target", "verdict"]
    return "### Targets (measured vs target)\n\n" + table(header, rows)


# == command line ====================================================================================
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = ap.add_argument
    add("--sizes", type=int, nargs="+", default=[10_000, 100_000], help="corpus sizes (documents)")
    add("--runs", type=int, default=3, help="runs per measurement; the median is reported")
    add("--k", type=int, default=10, help="number of topics")
    add("--langs", nargs="+", choices=["en", "zh"], default=None, help="default en zh (--quick: en)")
    add("--steps", nargs="+", choices=STEPS, default=[s for s in STEPS if s != "scale"])
    add("--quick", action="store_true", help="tiny smoke run (one size of 2,000 docs, one run)")
    add("--passes", type=int, default=None, help="LDA passes of every gensim contender (default: defaults)")
    add("--large", type=int, default=100_000, help="sizes from here on are 'large' (see --large-runs)")
    add("--large-runs", type=int, default=1, help="at most this many runs per measurement at large sizes")
    add("--large-skip", nargs="*", default=["gensim LdaMulticore"],
        help="contenders left out at large sizes (default: LdaMulticore, slow and not reproducible)")
    add("--tag-all-sizes", action="store_true", help="tag_text, batch at every size, not the smallest only")
    add("--tomotopy-iterations", type=int, default=500)
    add("--mc-workers", type=int, default=1, help="LdaMulticore workers (gensim: cores - 1)")
    add("--scale-workers", type=int, default=1,
        help="tokenizer processes of the scale step's fits (fixed, so sizes compare: a pool adds a "
             "constant ~250 MB per process)")
    add("--latency-texts", type=int, default=1000, help="single texts for tag_text latency")
    add("--batch-texts", type=int, default=10_000, help="texts in the batch tag_text call")
    add("--seed", type=int, default=0, help="seed of the corpus resampling")
    add("--work-dir", type=Path, default=None, help="keep corpora and models here (reused across runs)")
    add("--timeout", type=float, default=3600, help="seconds before a child run is abandoned")
    add("--json-out", type=Path, default=None, help="also write every run as JSON lines")
    add("--report-from", type=Path, default=None, help="only print the tables of an earlier --json-out file")
    add("--no-snapshot", dest="snapshot", action="store_false",
        help="measure the working tree as each child finds it, not a copy taken at the start")  # fmt: skip
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes, args.runs = [2_000], 1
        args.latency_texts, args.batch_texts = 200, 2_000
        args.langs = args.langs or ["en"]
    args.langs = args.langs or ["en", "zh"]
    return args


def code_version(repo: Path) -> str:
    """The commit measured, and the package's files that differ from it."""
    def git(*cmd: str) -> str:
        return subprocess.run(["git", *cmd], cwd=repo, capture_output=True, text=True).stdout.rstrip()

    changed = [line[3:] for line in git("status", "--porcelain", "--", "topicprofile").splitlines()]
    return git("rev-parse", "--short", "HEAD") + (f" + uncommitted {', '.join(changed)}" if changed else "")


def snapshot(target: Path) -> str:
    """Copy the topicprofile package to ``target`` (replacing an older copy); returns a short hash of it."""
    import hashlib
    import shutil

    shutil.rmtree(target, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO / "topicprofile", target / "topicprofile", ignore=ignore)
    digest = hashlib.sha256()
    for path in sorted((target / "topicprofile").rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(target)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def main(argv: Sequence[str] | None = None) -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        return worker_main(sys.argv[2])
    args = parse_args(argv)
    if args.report_from:
        return report_from(args)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="topicprofile-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.work_dir is None:  # a temporary work dir goes when the run ends
        import atexit
        import shutil

        atexit.register(shutil.rmtree, work, True)
    runner = Runner(args, work)
    log(f"code {runner.code}; work dir {work}; sizes {args.sizes}, langs {args.langs}, "
        f"steps {args.steps}, runs {args.runs}")
    for size in sorted(args.sizes):
        for lang in args.langs:
            runner.prepare(lang, size, args.steps)
            for step in STEPS:
                # tag_text / batch inputs do not grow with the corpus: the smallest corpus's model is used
                small_only = step in ONE_CORE_STEPS and size != min(args.sizes) and not args.tag_all_sizes
                if step in args.steps and not small_only:
                    runner.measure(step, lang, size)
    header = (f"Command: `python scripts/bench.py {' '.join(sys.argv[1:])}`; k={args.k}, "
              f"LDA passes {args.passes or 'default'}, median of {args.runs} run(s) "
              f"(at {args.large:,}+ documents: {min(args.runs, args.large_runs)}); code {runner.code}; "
              f"total {(time.perf_counter() - runner.started) / 60:.1f} min.")  # fmt: skip
    runner.record({"header": header})
    print(header + "\n")
    print(report(runner))
    return 0


def report_from(args: argparse.Namespace) -> int:
    """Print the tables of an earlier run's ``--json-out`` file (``--work-dir`` adds corpus shapes)."""
    lines = args.report_from.read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    headers = [r["header"] for r in rows if "header" in r]
    info = {}
    for meta in sorted(args.work_dir.glob("*_lda.pkl.json")) if args.work_dir else []:
        lang, size = meta.name.split("_")[:2]
        info[(lang, int(size))] = json.loads(meta.read_text())
    done = argparse.Namespace(rows=[r for r in rows if "header" not in r], info=info, args=args)
    print((headers[-1] if headers else f"Results of {args.report_from}.") + "\n")
    print(report(done))
    return 0


if __name__ == "__main__":
    sys.exit(main())
