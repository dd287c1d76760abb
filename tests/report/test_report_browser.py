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
ARTIFACTS = Path(__file__).parents[1] / "artifacts"

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
def demo(tmp_path_factory) -> tuple[Path, Path, str]:
    """``topicprofile demo`` run in a temporary folder: its model folder, its report and its output."""
    from typer.testing import CliRunner

    from topicprofile.cli import app

    work = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(app, ["demo", "--model-dir", str(work / "models" / "demo"),
                                      "--out", str(work / "out" / "demo_profiles.csv")])  # fmt: skip
    assert result.exit_code == 0, result.output
    return work / "models" / "demo", work / "out" / "demo_report.html", result.output


def test_demo_report_in_chromium(browser, demo):
    _, path, output = demo
    assert f"report written to {path}" in " ".join(output.split())  # the demo prints where its report is
    html = path.read_text(encoding="utf-8")
    assert "share of what customers wrote" in html  # interests over time from the reviews' and events' dates
    seen = _open(browser, path, "demo_report.png")
    _check(seen, {"intertopic_map", "interests_over_time", "interests_by_count", "interests_by_revenue",
                  "tags_per_customer", "rfm_scores", "rfm_grid", "revenue_by_rfm", "interest_by_rfm"})  # fmt: skip


def test_cutoff_report_of_the_demo_model_in_chromium(browser, demo, tmp_path):
    """``report --cutoff``: the holdout of ``evaluate`` (lift chart) and the cutoff on the time chart."""
    from topicprofile import TopicProfiler
    from topicprofile.ingest.load import load_orders
    from topicprofile.app.report_sources import holdout_evaluation

    model_dir, _, _ = demo
    corpora = Path(__file__).resolve().parents[2] / "corpora"
    profiler = TopicProfiler.load(str(model_dir))
    evaluation = holdout_evaluation(profiler, cutoff="2025-01-01", orders=corpora / "orders.csv",
                                    reviews=corpora / "reviews.csv", browsing=corpora / "browsing.jsonl",
                                    options={"orders_columns": {"timestamp": "order_date"}, "cv": 3})  # fmt: skip
    orders = load_orders(corpora / "orders.csv", columns={"timestamp": "order_date"}).data
    path = tmp_path / "cutoff_report.html"
    profiler.report(str(path), orders=orders, evaluation=evaluation, cutoff="2025-01-01")  # TopicProfiler.report
    html = path.read_text(encoding="utf-8")
    assert "cutoff 2025-01" in html and ("Text helps" in html or "Text barely changes" in html)
    seen = _open(browser, path, "cutoff_report.png")
    _check(seen, {"intertopic_map", "interests_over_time", "lift"})


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
