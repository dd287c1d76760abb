"""The report in a real browser: Debian's chromium driven by Playwright, offline.

Asserts no console errors, no network request at all (everything but the report's own file URL is
aborted and recorded), every section present and every chart a non-empty SVG; saves full-page
screenshots under tests/artifacts/ (ignored by git). Skips where chromium or playwright is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("jinja2", reason="report extra not installed: pip install -e '.[report]'")
pytest.importorskip("vl_convert", reason="report extra not installed: pip install -e '.[report]'")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed: pip install playwright")

CHROMIUM = Path(os.environ.get("TOPICPROFILE_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
SECTIONS = ("topics", "time", "customers", "value", "segments", "evaluation", "facts")
ARTIFACTS = Path(__file__).parent / "artifacts"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not found: apt-get install chromium"),
]


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


def _open(browser, path: Path, screenshot: str) -> dict:
    """Open ``path``; return console errors, requests other than the file, sections and charts."""
    url = path.resolve().as_uri()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("**/*", lambda route: route.continue_() if route.request.url == url else route.abort())
    page.goto(url, wait_until="load")
    page.wait_for_timeout(300)
    sections = page.eval_on_selector_all("section[data-section]", "els => els.map(e => e.dataset.section)")
    charts = page.eval_on_selector_all(
        "figure[data-chart]",
        "els => els.map(e => { const s = e.querySelector('svg'); const b = s ? s.getBoundingClientRect() : null;"
        " return [e.dataset.chart, s ? s.querySelectorAll('path,rect,text,line').length : 0, b ? b.width * b.height : 0]; })",
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / screenshot), full_page=True)
    top = ARTIFACTS / screenshot.replace(".png", "_top.png")  # the first screen and a half: docs/report.png
    page.screenshot(path=str(top), full_page=True, clip={"x": 0, "y": 0, "width": 1280, "height": 1700})
    page.close()
    return {"url": url, "requests": requests, "errors": errors, "sections": sections, "charts": charts}


def _check(seen: dict, expected_charts: set[str]) -> None:
    assert seen["errors"] == []
    assert seen["requests"] == [seen["url"]]  # the page itself, nothing else
    assert tuple(seen["sections"]) == SECTIONS
    names = {name for name, _, _ in seen["charts"]}
    assert expected_charts <= names
    for name, n_marks, area in seen["charts"]:
        assert n_marks > 0 and area > 0, name


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory) -> Path:
    from topicprofile import TopicProfiler
    from topicprofile.ingest.load import load_browsing, load_orders, load_reviews
    from topicprofile.report import write_report
    from topicprofile.report.sources import holdout_evaluation

    corpora = Path(__file__).resolve().parents[1] / "corpora"
    reviews = load_reviews(corpora / "reviews.csv").data
    orders = load_orders(corpora / "orders.csv", columns={"timestamp": "order_date"}).data
    browsing = load_browsing(corpora / "browsing.jsonl").data
    profiler = TopicProfiler(n_topics=8, random_state=0).fit(reviews=reviews, browsing=browsing, orders=orders)
    path = tmp_path_factory.mktemp("report") / "demo_report.html"
    # `report --cutoff`: the holdout of `evaluate` with the model's settings, marked on the time chart
    evaluation = holdout_evaluation(profiler, cutoff="2025-01-01", orders=corpora / "orders.csv",
                                    reviews=corpora / "reviews.csv", browsing=corpora / "browsing.jsonl",
                                    options={"orders_columns": {"timestamp": "order_date"}, "cv": 3})  # fmt: skip
    write_report(profiler, path, orders=orders, evaluation=evaluation, cutoff="2025-01-01")
    return path


def test_demo_report_in_chromium(browser, demo_report):
    html = demo_report.read_text(encoding="utf-8")
    assert "share of what customers wrote" in html  # interests over time from the reviews' and events' dates
    assert "cutoff 2025-01" in html and ("Text helps" in html or "Text barely changes" in html)
    seen = _open(browser, demo_report, "demo_report.png")
    _check(seen, {"intertopic_map", "interests_over_time", "interests_by_count", "interests_by_revenue",
                  "tags_per_customer", "rfm_scores", "rfm_grid", "revenue_by_rfm", "interest_by_rfm", "lift"})  # fmt: skip


def test_chinese_report_in_chromium(browser, shared_data, tmp_path):
    from topicprofile import TopicProfiler
    from topicprofile.report import write_report

    source = shared_data / "zh_reviews.txt"
    if not source.exists():
        pytest.skip(f"{source} not found")
    with source.open(encoding="utf-8") as lines:
        texts = [line.strip() for _, line in zip(range(400), lines) if line.strip()]
    reviews = pd.DataFrame({"customer_id": [f"z{i // 4:03d}" for i in range(len(texts))], "text": texts})
    profiler = TopicProfiler(n_topics=4, lang="zh", random_state=0).fit(reviews=reviews)
    path = tmp_path / "zh_report.html"
    write_report(profiler, path)
    html = path.read_text(encoding="utf-8")
    labels = list(profiler.topics()["label"])
    assert any("\u4e00" <= ch <= "\u9fff" for ch in "".join(labels))  # the labels are Chinese
    assert all(label in html for label in labels)
    assert "Noto Sans CJK SC" in html  # the CJK font stack
    seen = _open(browser, path, "zh_report.png")
    _check(seen, {"intertopic_map", "interests_by_count", "tags_per_customer"})
