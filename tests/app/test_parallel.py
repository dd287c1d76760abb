"""Parallel tokenization: same tokens as one process, in input order, errors with their type."""

from __future__ import annotations

import logging
import os
import random
import time
from pathlib import Path

import pytest

from topicprofile.errors import ConfigError, DataValidationError
from topicprofile.text import pool as parallel
from topicprofile.text import pool_size, pool_start
from topicprofile.text.pool import default_workers, iter_tokenize_parallel, prestart, tokenize_parallel
from topicprofile.text.tokenizer import SpacyTokenizer

_EN = [
    "Love these trail shoes, great grip on wet rocks!",
    "The tent leaked on the second night; the seller refunded me.",
    "",
    "Espresso grinder is loud but the crema is perfect.",
    "see https://shop.example.com/x or mail help@shop.example.com about tents",
    "3 pairs for $40.",
    "Hiking boots ran small, ordered a half size up.",
]
_ZH = [
    "酒店房间很干净，屏幕也很清楚！",
    "五星好评！物流很快，包装不错。",
    "这本书让我重新审视自己的生活",
    "笔记本电脑散热很好",
]
_MIXED = [*_EN[:4], *_ZH[:2], "这个iPhone手机壳很好看 love it", *_EN[4:], *_ZH[2:], None]
_TEXTS = {"en": _EN * 3, "zh": _ZH * 3, "auto": _MIXED * 2}


@pytest.fixture(scope="module")
def tokenizers() -> dict[str, SpacyTokenizer]:
    return {lang: SpacyTokenizer(lang) for lang in _TEXTS}


@pytest.fixture()
def pool_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Send every chunk to a pool of ``workers`` processes: by default the caller is one of the
    workers and, on inputs this small, finishes them all before the pool has started."""
    monkeypatch.setattr(parallel, "_CALLER_TOKENIZES", False)


@pytest.mark.parametrize("lang", ["en", "zh", "auto"])
@pytest.mark.parametrize("chunk_size", [1, 5, 1000])
def test_parallel_one_worker_equals_serial(tokenizers, lang: str, chunk_size: int) -> None:
    texts = _TEXTS[lang]
    expected = tokenizers[lang].tokenize(texts)
    assert tokenize_parallel(tokenizers[lang], texts, workers=1, chunk_size=chunk_size) == expected


# Each case starts a pool (about a second), so English is covered by the order test below.
@pytest.mark.parametrize(("lang", "chunk_size"), [("zh", 5), ("auto", 3)])
def test_parallel_two_workers_equal_serial(tokenizers, pool_only, caplog, lang: str, chunk_size: int) -> None:
    texts = _TEXTS[lang]
    with caplog.at_level(logging.INFO, logger="topicprofile.text.pool"):
        out = tokenize_parallel(tokenizers[lang], texts, workers=2, chunk_size=chunk_size)
    assert out == tokenizers[lang].tokenize(texts)
    assert "in 2 pool processes (forkserver start), " in caplog.text  # the pool did all the work


def _word(i: int) -> str:
    """A distinct made-up word per number ("zqa", "zqb", ...) that tokenizes to itself."""
    letters = ""
    while True:
        i, r = divmod(i, 26)
        letters += "abcdefghijklmnopqrstuvwxyz"[r]
        if i == 0:
            return "zq" + letters


def test_parallel_keeps_input_order(tokenizers, pool_only) -> None:
    texts = [f"{_word(i)}!" for i in range(101)] + _EN
    expected = [[_word(i)] for i in range(101)] + tokenizers["en"].tokenize(_EN)
    assert tokenize_parallel(tokenizers["en"], texts, workers=2, chunk_size=9) == expected
    # a chunk larger than the input is split so both workers get half
    assert tokenize_parallel(tokenizers["en"], texts, workers=2, chunk_size=10_000) == expected


class LoggingTokenizer(SpacyTokenizer):
    """Appends ``pid first-word n-texts`` to ``log_file`` for every chunk it tokenizes (one short
    ``O_APPEND`` write per chunk, so lines of several processes never interleave). In the calling
    process it waits until a pool process has logged a chunk, so both sides surely take part —
    an event, not a sleep: the test does not depend on how fast the machine is."""

    def __init__(self, lang: str = "en", *, log_file: str = "", caller: int = 0, **kwargs) -> None:
        super().__init__(lang, **kwargs)
        self.log_file, self.caller = log_file, caller

    def get_config(self) -> dict:
        return {**super().get_config(), "log_file": self.log_file, "caller": self.caller}

    @classmethod
    def from_config(cls, config: dict) -> LoggingTokenizer:
        tokenizer = super().from_config(config)
        tokenizer.log_file, tokenizer.caller = config["log_file"], config["caller"]
        return tokenizer

    def tokenize(self, texts):
        texts = list(texts)
        if not texts:
            return super().tokenize(texts)
        if os.getpid() == self.caller:
            deadline = time.monotonic() + 120
            while not self._pool_pids() and time.monotonic() < deadline:
                time.sleep(0.01)
        out = super().tokenize(texts)
        fd = os.open(self.log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            first = (texts[0].split() or ["-"])[0].rstrip(".")  # a pool's warm-up text is not ours
            os.write(fd, f"{os.getpid()} {first} {len(texts)}\n".encode())
        finally:
            os.close(fd)
        return out

    def _pool_pids(self) -> set[int]:
        if not os.path.exists(self.log_file):
            return set()
        lines = Path(self.log_file).read_text().splitlines()
        return {int(line.split()[0]) for line in lines} - {self.caller}


def test_parallel_caller_and_pool_share_the_work_without_loss_or_repeat(tmp_path, caplog) -> None:
    texts = [f"{_word(i)}." for i in range(300)]
    log_file = tmp_path / "chunks.log"
    tokenizer = LoggingTokenizer("en", log_file=str(log_file), caller=os.getpid())
    with caplog.at_level(logging.DEBUG, logger="topicprofile.text.pool"):
        out = tokenize_parallel(tokenizer, texts, workers=2, chunk_size=4)
    assert out == [[_word(i)] for i in range(300)]
    assert "in 1 pool processes (forkserver start) and this one" in caplog.text
    chunks = [c for c in map(str.split, log_file.read_text().splitlines()) if c[1].startswith("zq")]
    by_caller = [c for c in chunks if int(c[0]) == os.getpid()]
    by_pool = [c for c in chunks if int(c[0]) != os.getpid()]
    assert by_caller and by_pool, chunks  # both tokenized part of the input
    # every text tokenized exactly once: the chunks' first words and sizes tile 0..299 without a gap
    starts = {c[1]: int(c[2]) for c in chunks}
    assert len(starts) == len(chunks)
    i = 0
    while i < 300:
        assert _word(i) in starts, f"text {i} starts no chunk: lost or tokenized twice"
        i += starts[_word(i)]
    assert i == 300 and sum(starts.values()) == 300


def test_parallel_caller_helps_while_pool_starts(tokenizers) -> None:
    """Default mode: the caller tokenizes until a worker is up, so tiny inputs never wait for it."""
    texts = [f"{_word(i)}." for i in range(40)]
    out = tokenize_parallel(tokenizers["en"], texts, workers=2, chunk_size=3)
    assert out == [[_word(i)] for i in range(40)]


def test_parallel_iterator_streams_a_generator_and_closes_early(tokenizers, pool_only) -> None:
    texts = (f"{_word(i)}?" for i in range(30))  # no len(): chunk size is used as given
    tokens = iter_tokenize_parallel(tokenizers["en"], texts, workers=2, chunk_size=4)
    assert [next(tokens) for _ in range(6)] == [[_word(i)] for i in range(6)]
    tokens.close()  # shuts the pool down without waiting for the rest


def test_parallel_reports_progress(tokenizers) -> None:
    calls: list[tuple[str, int, int | None]] = []
    tokenize_parallel(tokenizers["en"], _EN * 3, workers=1, chunk_size=4, progress=lambda *a: calls.append(a))
    assert calls[0] == ("tokenize", 0, 21)
    assert calls[-1] == ("tokenize", 21, 21)
    assert [done for _, done, _ in calls] == sorted(done for _, done, _ in calls)


def test_parallel_config_error_in_worker_keeps_its_type(pool_only) -> None:
    tokenizer = SpacyTokenizer("en", spacy_model="xx_no_such_pipeline")
    with pytest.raises(ConfigError, match="not installed") as info:
        tokenize_parallel(tokenizer, _EN, workers=2)
    assert any("worker process" in note for note in info.value.__notes__)


def test_parallel_pool_that_cannot_start_falls_back_to_this_process(tokenizers, monkeypatch, caplog) -> None:
    def cannot_start(starter) -> None:
        starter.error = OSError("Resource temporarily unavailable")
        with starter._lock:
            starter._submitted = True

    monkeypatch.setattr(pool_start.PoolStarter, "run", cannot_start)
    texts = [f"{_word(i)}." for i in range(50)]
    with caplog.at_level(logging.WARNING, logger="topicprofile.text.pool"):
        out = tokenize_parallel(tokenizers["en"], texts, workers=2, chunk_size=5)
    assert out == [[_word(i)] for i in range(50)]
    assert "could not start tokenizer worker processes (Resource temporarily unavailable)" in caplog.text


class FailingTokenizer(SpacyTokenizer):
    """Raises on the text "boom"; workers rebuild it by class, so they raise too."""

    def tokenize(self, texts):
        texts = list(texts)
        if "boom" in texts:
            raise DataValidationError("cannot tokenize 'boom'")
        return super().tokenize(texts)


class _OddError(Exception):
    def __init__(self, a: str, b: str) -> None:  # cannot be unpickled from its args
        super().__init__(f"{a} {b}")


class OddFailingTokenizer(SpacyTokenizer):
    def tokenize(self, texts):
        texts = list(texts)
        if "boom" in texts:
            raise _OddError("odd", "failure")
        return super().tokenize(texts)


def test_parallel_error_in_worker_task_has_type_and_location(pool_only) -> None:
    texts = [*_EN, "boom", *_EN]
    with pytest.raises(DataValidationError, match="boom") as info:
        tokenize_parallel(FailingTokenizer("en"), texts, workers=2, chunk_size=3)
    assert "raised in a tokenizer worker process (on texts 6..8)" in info.value.__notes__
    assert "test_parallel.py" in str(info.value.__cause__)  # the worker's traceback


def test_parallel_unpicklable_worker_error_becomes_runtime_error(pool_only) -> None:
    with pytest.raises(RuntimeError, match="_OddError: odd failure"):
        tokenize_parallel(OddFailingTokenizer("en"), ["boom", *_EN], workers=2, chunk_size=4)


@pytest.mark.parametrize(
    ("texts", "kwargs", "error", "match"),
    [
        (_EN, {"workers": 0}, ValueError, "workers"),
        (_EN, {"workers": 2, "chunk_size": 0}, ValueError, "chunk_size"),
        ("one text", {"workers": 1}, TypeError, "not one str"),
    ],
)
def test_parallel_rejects_bad_arguments(tokenizers, texts, kwargs, error, match: str) -> None:
    with pytest.raises(error, match=match):
        iter_tokenize_parallel(tokenizers["en"], texts, **kwargs)  # raised at the call, not on next()


def test_parallel_prestart_returns_at_once_and_is_idempotent() -> None:
    start = time.perf_counter()
    prestart()
    prestart()
    assert time.perf_counter() - start < 1.0  # the fork server imports in the background


def test_parallel_default_workers_is_one_for_small_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool_size, "busy_cpus_elsewhere", lambda: 0)
    monkeypatch.setattr(pool_size, "available_cpus", lambda: 8)
    assert default_workers(10) == 1
    assert default_workers(pool_size.MIN_TEXTS_PER_WORKER - 1) == 1
    assert default_workers(pool_size.MIN_TEXTS_PER_WORKER) == 2
    assert default_workers(10**7) == default_workers() == pool_size.MAX_DEFAULT_WORKERS
    monkeypatch.setattr(pool_size, "available_cpus", lambda: 2)
    assert default_workers(10**7) == 2


def test_parallel_default_workers_leave_cpus_busy_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool_size, "available_cpus", lambda: 2)
    monkeypatch.setattr(pool_size.os, "getloadavg", lambda: (1.1, 1.0, 1.0))  # this process alone
    assert pool_size.busy_cpus_elsewhere() == 0 and default_workers(10**7) == 2
    monkeypatch.setattr(pool_size.os, "getloadavg", lambda: (2.2, 2.0, 2.0))  # and one other job
    assert pool_size.busy_cpus_elsewhere() == 1 and default_workers(10**7) == 1
    monkeypatch.setattr(pool_size.os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    assert default_workers(10**7) == 1


def test_parallel_real_mixed_reviews_equal_serial(shared_data, tokenizers, pool_only) -> None:
    import pandas as pd

    reviews = pd.read_csv(shared_data / "rotten_tomatoes.csv.bz2")
    english = reviews.loc[reviews["category"] != "plot", "text"].head(100).tolist()
    with (shared_data / "zh_reviews.txt").open(encoding="utf-8") as lines:
        chinese = [next(lines).strip() for _ in range(100)]
    texts = english + chinese
    random.Random(0).shuffle(texts)
    expected = tokenizers["auto"].tokenize(texts)
    assert tokenize_parallel(tokenizers["auto"], texts, workers=2, chunk_size=37) == expected


def test_parallel_fit_files_starts_the_fork_server_early_only_when_a_pool_is_likely(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    from topicprofile.app import jobs as workflows

    started: list[bool] = []
    monkeypatch.setattr(workflows, "prestart", lambda: started.append(True))
    monkeypatch.setattr(pool_size, "busy_cpus_elsewhere", lambda: 0)
    monkeypatch.setattr(pool_size, "available_cpus", lambda: 2)
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    small.write_text("customer_id,text\nc1,good tent\n", encoding="utf-8")
    large.write_bytes(b"x" * workflows.PRESTART_BYTES)
    workflows._prestart_pool({"reviews": small}, None)
    workflows._prestart_pool({"reviews": large}, 1)  # one worker asked for: no pool
    assert started == []
    workflows._prestart_pool({"reviews": large}, None)
    workflows._prestart_pool({"reviews": small, "browsing": None}, 2)
    assert started == [True, True]
    monkeypatch.setattr(pool_size, "available_cpus", lambda: 1)
    workflows._prestart_pool({"reviews": large}, None)  # one CPU: the default is one worker
    assert started == [True, True]
