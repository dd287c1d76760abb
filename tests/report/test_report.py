"""The offline HTML report: the numbers (layout, aggregates), escaping and size."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("jinja2", reason="report extra not installed: pip install -e '.[report]'")
pytest.importorskip("vl_convert", reason="report extra not installed: pip install -e '.[report]'")

from topicprofile.report import build, customer_sections, layout, topic_sections, values, write_report

EVIL = "<script>alert(1)</script>"


# -- layout -------------------------------------------------------------------------------------
def test_js_distances_match_scipy():
    from scipy.spatial.distance import jensenshannon

    rng = np.random.default_rng(0)
    topic_word = rng.dirichlet(np.full(40, 0.3), size=5)
    topic_word[0, :10] = 0.0  # zeros must not give NaN
    ours = layout.js_distances(topic_word)
    p = topic_word / topic_word.sum(axis=1, keepdims=True)
    expected = np.array([[jensenshannon(a, b, base=2) for b in p] for a in p])
    np.testing.assert_allclose(ours, expected, atol=1e-9)
    assert np.allclose(ours, ours.T) and np.all(np.diag(ours) == 0)


def test_classical_mds_recovers_planar_points():
    points = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0], [3.0, 4.0], [1.0, 1.0]])
    distances = np.linalg.norm(points[:, None] - points[None], axis=2)
    coords = layout.classical_mds(distances)
    np.testing.assert_allclose(np.linalg.norm(coords[:, None] - coords[None], axis=2), distances, atol=1e-9)


def test_relevance_lambda_one_is_topic_probability_and_zero_is_lift():
    topic_word = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    counts = np.array([80.0, 30.0, 90.0])
    np.testing.assert_allclose(layout.relevance(topic_word, counts, 1.0), np.log(topic_word))
    lift = np.log(topic_word / (counts / counts.sum()))
    np.testing.assert_allclose(layout.relevance(topic_word, counts, 0.0), lift)
    # topic 1: by probability word 2, then the 0.1 tie (lower id first); by lift the rare word 1 beats word 0
    assert [w for w, *_ in layout.top_relevant(topic_word, counts, lam=1.0, n=3)[1]] == [2, 0, 1]
    assert [w for w, *_ in layout.top_relevant(topic_word, counts, lam=0.0, n=3)[1]] == [2, 1, 0]


def test_relevance_rejects_lambda_outside_unit_interval():
    with pytest.raises(ValueError, match="lambda"):
        layout.relevance(np.ones((2, 2)), np.ones(2), 1.5)


# -- aggregates ---------------------------------------------------------------------------------
def _profiles() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["a", "b", "c", "d", "e"],
        "top_interest": ["Outdoor", "Outdoor", "Coffee", "", "Coffee"],
        "interest_tags": ["Outdoor;Coffee", "Outdoor", "Coffee", "", "Coffee"],
        "monetary": [100.0, 300.0, 50.0, 0.0, 10.0],
        "frequency": [2, 5, 1, 0, 1],
        "r_score": [5, 4, 1, 0, 2],
        "f_score": [4, 5, 1, 0, 1],
        "m_score": [4, 5, 2, 0, 1],
        "rfm_segment": ["Champions", "Champions", "Lost", "No orders", "Hibernating"],
        "topic_0": [0.8, 0.9, 0.1, 0.5, 0.2],
        "topic_1": [0.2, 0.1, 0.9, 0.5, 0.8],
    })  # fmt: skip


def test_customers_section_counts_tags_and_revenue():
    section = customer_sections.customers_section(_profiles(), ["Outdoor", "Coffee"])
    assert (section["n_customers"], section["n_tagged"], section["n_with_orders"]) == (5, 4, 4)
    assert {r["n_tags"]: r["customers"] for r in section["tags_per_customer"]} == {"0": 1, "1": 3, "2": 1}
    by = {r["interest"]: r for r in section["interests"]}
    assert by["Coffee"]["customers"] == 3 and by["Outdoor"]["customers"] == 2
    assert by["Outdoor"]["revenue"] == 400.0 and by["Coffee"]["revenue"] == 60.0
    # median spend of buyers: 75; Coffee's top-interest buyers: median(50, 10) = 30 -> 0.4×
    assert section["median_spend"] == 75.0
    assert "“Coffee” is your largest interest: 60% of customers; its customers spend 0.4× the median." == section["reading"]


def test_value_section_grid_follows_fm_rounding_and_revenue_shares():
    section = customer_sections.value_section(_profiles())
    cells = {(c["r"], c["fm"]): c for c in section["grid"]}
    assert len(cells) == 25
    assert cells[(5, 4)]["customers"] == 1 and cells[(5, 4)]["segment"] == "Champions"  # fm = (4+4+1)//2
    assert cells[(4, 5)]["customers"] == 1 and cells[(1, 2)]["customers"] == 1  # c: fm = (1+2+1)//2 = 2
    revenue = {r["segment"]: r for r in section["revenue"]}
    assert revenue["Champions"]["revenue_share"] == pytest.approx(400 / 460)
    assert "No orders" not in revenue


def test_time_section_weights_each_order_by_its_customers_shares():
    orders = pd.DataFrame({"customer_id": ["a", "c", "c", "zz"], "order_id": ["1", "2", "3", "4"],
                           "timestamp": pd.to_datetime(["2024-01-05", "2024-01-09", "2024-02-01", "2024-02-02"]),
                           "amount": [1.0, 2.0, 3.0, 4.0]})  # fmt: skip
    section = topic_sections.time_section(orders, _profiles(), ["Outdoor", "Coffee"])
    shares = {(r["month"], r["interest"]): r["share"] for r in section["series"]}
    assert shares[("2024-01", "Outdoor")] == pytest.approx((0.8 + 0.1) / 2)
    assert shares[("2024-02", "Coffee")] == pytest.approx(0.9)  # the unknown customer "zz" is left out


def test_with_rfm_adds_order_only_customers_and_marks_no_orders():
    from topicprofile.behavior import compute_rfm

    orders = pd.DataFrame({"customer_id": ["a", "new"], "order_id": ["1", "2"],
                           "timestamp": pd.to_datetime(["2024-01-05", "2024-01-09"]), "amount": [10.0, 20.0]})  # fmt: skip
    merged = build.with_rfm(_profiles().drop(columns=["monetary", "frequency"]), compute_rfm(orders))
    assert set(merged["customer_id"]) == {"a", "b", "c", "d", "e", "new"}
    row = merged.set_index("customer_id")
    assert row.at["new", "monetary"] == 20.0 and row.at["new", "top_interest"] == ""
    assert row.at["b", "rfm_segment"] == "No orders" and row.at["b", "frequency"] == 0


# -- the page -----------------------------------------------------------------------------------
def test_text_from_data_is_escaped(tiny_profiler, tiny_reviews, tmp_path):
    """A label and a review containing <script> come out as text; no script tag from the data."""
    from sklearn.base import clone

    reviews = tiny_reviews.copy()
    reviews.loc[0, "text"] = f"{EVIL} The hiking boots trail tent were great {EVIL}"
    orders = pd.DataFrame({"customer_id": reviews["customer_id"].unique(), "order_id": [f"o{i}" for i in range(30)],
                           "timestamp": pd.Timestamp("2024-03-01"), "amount": 10.0})  # fmt: skip
    profiler = clone(tiny_profiler).fit(reviews=reviews, orders=orders)
    profiler.set_topic_labels({0: EVIL, 1: 'Quote " & <b>bold</b>'})
    path = tmp_path / "r.html"
    summary = write_report(profiler, path, orders=orders)
    html = path.read_text(encoding="utf-8")
    assert "<script" not in html.lower()  # the template has none, and none came from the data
    assert "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the label, as text
    assert html.count("alert(1)") >= 3  # label in topics, charts and heat map; the review as a snippet
    assert summary["bytes"] == len(html.encode("utf-8"))
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//", html)  # no external URL at all
    assert not re.search(r"https?:", html)  # no URL at all, not even an SVG namespace


def test_report_counts_in_words(tiny_profiler, tiny_reviews):
    """One order each: the segment cards say "1 order", never "1 orders"."""
    from sklearn.base import clone

    from topicprofile.report import render_html, report_data

    ids = tiny_reviews["customer_id"].unique()
    orders = pd.DataFrame({"customer_id": ids, "order_id": [f"o{i}" for i in range(len(ids))],
                           "timestamp": pd.Timestamp("2024-03-01"), "amount": 10.0})  # fmt: skip
    profiler = clone(tiny_profiler).fit(reviews=tiny_reviews, orders=orders)
    html = render_html(report_data(profiler, orders=orders), charts={})
    assert re.search(r"since last order, 1 order,", html) and "3 topics" in html
    assert not re.search(r"\b1 (orders|customers|topics|days)\b", html)


def test_report_of_200000_customers_is_under_2_mb(tiny_profiler, tmp_path):
    rng = np.random.default_rng(0)
    n = 200_000
    labels = list(tiny_profiler.topics().sort_values("topic")["label"])
    shares = rng.dirichlet(np.ones(len(labels)), size=n)
    top = np.array(labels)[shares.argmax(axis=1)]
    r, f, m = (rng.integers(1, 6, size=n) for _ in range(3))
    from topicprofile.behavior import DEFAULT_SEGMENT_MAP

    profiles = pd.DataFrame({
        "customer_id": [f"C{i:06d}" for i in range(n)], "top_interest": top, "interest_tags": top,
        "monetary": rng.gamma(2.0, 50.0, size=n).round(2), "frequency": f, "r_score": r, "f_score": f, "m_score": m,
        "rfm_segment": [DEFAULT_SEGMENT_MAP[(a, (b + c + 1) // 2)] for a, b, c in zip(r, f, m)],
        **{f"topic_{k}": shares[:, k] for k in range(len(labels))},
    })  # fmt: skip
    orders = pd.DataFrame({"customer_id": profiles["customer_id"].repeat(2).to_numpy(),
                           "order_id": [f"O{i}" for i in range(2 * n)],
                           "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 540, 2 * n), "D"),
                           "amount": rng.gamma(2.0, 25.0, 2 * n).round(2)})  # fmt: skip
    summary = write_report(tiny_profiler, tmp_path / "big.html", profiles=profiles, orders=orders, snippets=False)
    assert summary["bytes"] < 2_000_000, summary["bytes"]
    assert all(summary["sections"][s] for s in ("topics", "time", "customers", "value", "segments"))


def test_report_cli_writes_page_and_errors_are_one_line(tiny_profiler, tmp_path):
    import json

    from typer.testing import CliRunner

    from topicprofile.cli import app

    model = tmp_path / "model"
    tiny_profiler.save(str(model))
    out = tmp_path / "sub" / "report.html"
    result = CliRunner().invoke(app, ["report", "--model-dir", str(model), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["path"] == str(out) and out.stat().st_size == summary["bytes"]
    assert "intertopic_map" in summary["charts"] and not list(out.parent.glob("*.tmp*"))

    missing = CliRunner().invoke(app, ["report", "--model-dir", str(tmp_path / "nope"), "--out", str(out)])
    assert missing.exit_code == 1 and missing.output.count("\n") == 1 and missing.output.startswith("error:")
    bad = CliRunner().invoke(app, ["report", "--model-dir", str(model), "--lambda", "2", "--out", str(out)])
    assert bad.exit_code == 2


# -- interests over time from the documents' dates --------------------------------------------------
def test_report_monthly_topics_counts_dated_documents_with_words_per_month():
    from topicprofile.tag.aggregate import MonthlyTopics

    monthly = MonthlyTopics(2)
    monthly.add(["2024-01", "", "2024-02", "2024-01"], np.array([[1.0, 0.0], [0.5, 0.5], [0.2, 0.8], [0.6, 0.4]]),
                np.array([3, 4, 2, 5]))  # fmt: skip
    monthly.add(["2024-02", "2024-02"], np.array([[0.4, 0.6], [0.9, 0.1]]), np.array([1, 0]))  # the last has no words
    out = monthly.to_dict()
    assert out["months"] == ["2024-01", "2024-02"] and out["n_documents"] == [2, 2]
    np.testing.assert_allclose(out["shares"], [[0.8, 0.2], [0.3, 0.7]])


@pytest.fixture(scope="module")
def dated_profiler(tiny_reviews):
    """The tiny shop with each theme written in its own month (outdoor in January, ...) and a few undated."""
    from sklearn.base import clone

    from topicprofile import TopicProfiler

    reviews = tiny_reviews.copy()
    month = {"outdoor": "2024-01-15", "kitchen": "2024-02-15", "coffee": "2024-03-15"}
    reviews["timestamp"] = reviews["customer_id"].str.split("-").str[0].map(month)
    reviews.loc[reviews.index[:3], "timestamp"] = ""
    return clone(TopicProfiler(n_topics=3, random_state=0, phrases=False)).fit(reviews=reviews)


def test_report_interests_over_time_follow_the_documents_months(dated_profiler, tmp_path):
    from topicprofile import TopicProfiler
    from topicprofile.report import report_data

    months = dated_profiler.topic_months_
    assert months["months"] == ["2024-01", "2024-02", "2024-03"]
    assert sum(months["n_documents"]) == 90 - 3  # the undated are left out
    data = report_data(dated_profiler, snippets=False)
    time = data["time"]
    assert time["available"] and time["source"] == "documents"
    leader = {}
    for row in time["series"]:
        if row["share"] > leader.get(row["month"], ("", 0.0))[1]:
            leader[row["month"]] = (row["interest"], row["share"])
    topics = dated_profiler.topics().set_index("label")["top_terms"].astype(str)
    for month, theme_word in (("2024-01", "tent"), ("2024-02", "knife"), ("2024-03", "espresso")):
        label, share = leader[month]
        assert share > 0.6 and theme_word in topics[label], (month, label, share, topics[label])
    # saved: the aggregate in the manifest; the saved documents keep only the day (for --retain-days,
    # issue 14), never the time of day
    dated_profiler.save(str(tmp_path / "m"))
    assert TopicProfiler.load(str(tmp_path / "m")).topic_months_ == months
    (saved,) = (tmp_path / "m").rglob("documents.parquet")
    kept = pd.read_parquet(saved)
    assert list(kept.columns) == ["customer_id", "channel", "text", "date"]
    assert kept["date"].str.fullmatch(r"(2024-0[1-3]-\d\d)?").all()


def test_report_time_section_drops_thin_months_and_reads_before_and_after_a_cutoff():
    months = {"months": ["2024-01", "2024-02", "2024-03", "2024-04"], "n_documents": [10, 2, 10, 10],
              "shares": [[0.7, 0.3], [0.0, 1.0], [0.4, 0.6], [0.2, 0.8]]}  # fmt: skip
    section = topic_sections.time_section(None, None, ["Outdoor", "Coffee"], months=months, cutoff="2024-03-10")
    assert section["months"] == ["2024-01", "2024-03", "2024-04"]  # 2 documents: too few to show
    assert section["cutoff"] == "2024-03"
    # before: 0.7/0.3; after: mean(0.4, 0.2)=0.3 / 0.7 -> Coffee +40 points
    assert section["reading"].endswith("“Coffee” grew the most from before 2024-03 to after it (+40.0 points).")
    no_dates = topic_sections.time_section(None, None, ["Outdoor", "Coffee"], months={"months": [], "n_documents": [], "shares": []})
    assert not no_dates["available"]
    from topicprofile.errors import ConfigError

    with pytest.raises(ConfigError, match="cutoff"):
        topic_sections.time_section(None, None, ["Outdoor", "Coffee"], months=months, cutoff="2024-13-01")


def test_report_cutoff_is_marked_on_the_time_chart(dated_profiler, tmp_path):
    path = tmp_path / "r.html"
    write_report(dated_profiler, path, snippets=False, cutoff="2024-02-01")
    html = path.read_text(encoding="utf-8")
    assert "cutoff 2024-02" in html and "from before 2024-02 to after it" in html


# -- the profile database (--db) --------------------------------------------------------------------
def test_report_db_profiles_give_the_same_sections_as_the_profiles_table(tmp_path):
    pytest.importorskip("duckdb", reason="db extra not installed: pip install -e '.[db]'")
    from topicprofile.db.database import write_profiles
    from topicprofile.errors import DataValidationError
    from topicprofile.app.report_sources import db_profiles

    table = _profiles().assign(interest_scores="{}", segment_id=[0, 0, 1, None, 1], segment_name="s")
    write_profiles(tmp_path / "p.duckdb", table)
    profiles, facts = db_profiles(tmp_path / "p.duckdb", n_topics=2)
    labels = ["Outdoor", "Coffee"]
    assert customer_sections.customers_section(profiles, labels) == customer_sections.customers_section(_profiles(), labels)
    assert customer_sections.value_section(profiles) == customer_sections.value_section(_profiles())
    assert customer_sections.segments_section([], profiles, labels)["heat"] == customer_sections.segments_section([], _profiles(), labels)["heat"]
    np.testing.assert_allclose(values.topic_share_matrix(profiles, 2), values.topic_share_matrix(_profiles(), 2))
    assert facts["profile database"] == "p.duckdb" and facts["database runs"] == "1"
    with pytest.raises(DataValidationError, match="2 topic shares but the model has 3"):
        db_profiles(tmp_path / "p.duckdb", n_topics=3)


def test_report_cli_db_and_option_errors(tiny_profiler, tmp_path):
    pytest.importorskip("duckdb", reason="db extra not installed: pip install -e '.[db]'")
    import json

    from typer.testing import CliRunner

    from topicprofile.cli import app
    from topicprofile.db.database import write_profiles

    model = tmp_path / "model"
    tiny_profiler.save(str(model))
    profiles = tiny_profiler.profiles_
    write_profiles(tmp_path / "p.duckdb", profiles, model_manifest={"model_version": EVIL})  # escaped too
    out = tmp_path / "db.html"
    runner = CliRunner()
    result = runner.invoke(app, ["report", "-m", str(model), "--db", str(tmp_path / "p.duckdb"), "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "p.duckdb" in html and f"{len(profiles)} customers" in html.replace(",", "")
    assert "<script" not in html.lower() and "&lt;script&gt;" in html
    assert json.loads(result.stdout)["sections"]["customers"]
    for args in (["--db", "x.duckdb", "--profiles", "x.csv"], ["--cutoff", "2025-01-01"],
                 ["--cutoff", "2025-13-01", "--orders", "o.csv", "-r", "r.csv"],
                 ["--cutoff", "2025-01-01", "--orders", "o.csv", "-r", "r.csv", "--evaluation", "e.json"]):  # fmt: skip
        bad = runner.invoke(app, ["report", "-m", str(model), "-o", str(out), *args])
        assert bad.exit_code == 2, (args, bad.output)
    missing = runner.invoke(app, ["report", "-m", str(model), "--db", str(tmp_path / "none.duckdb"), "-o", str(out)])
    assert missing.exit_code == 1 and missing.output.startswith("error:") and missing.output.count("\n") == 1


def test_report_fit_rejects_counts_per_file_without_the_rejected_values(tmp_path):
    from topicprofile.app.report_sources import fit_rejects

    assert fit_rejects(tmp_path) == {}
    pd.DataFrame({"source": ["reviews.csv", "reviews.csv", "browsing.jsonl"], "row": [3, 9, 2],
                  "column": "text", "reason": "empty text", "value": ["alice@example.com", EVIL, ""]}).to_csv(
        tmp_path / "rejects.csv", index=False)  # fmt: skip
    assert fit_rejects(tmp_path) == {"rows rejected at fit": "reviews.csv 2 · browsing.jsonl 1"}


@pytest.mark.slow
def test_report_cli_cutoff_runs_the_holdout_with_the_models_settings(tiny_profiler, tmp_path):
    import json

    from typer.testing import CliRunner

    from topicprofile.cli import app

    corpora = Path(__file__).resolve().parents[2] / "corpora"
    model = tmp_path / "model"
    tiny_profiler.save(str(model))
    out = tmp_path / "cut.html"
    result = CliRunner().invoke(app, [
        "report", "-m", str(model), "-o", str(out), "--json", "--cutoff", "2025-01-01",
        "--orders", str(corpora / "orders.csv"), "--orders-columns", "timestamp=order_date",
        "--reviews", str(corpora / "reviews.csv"),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["sections"]["evaluation"] and "lift" in summary["charts"]
    html = out.read_text(encoding="utf-8")
    assert "after 2025-01-01" in html and "rfm+topics" in html  # the holdout's reading and table
    assert "orders.csv: " in html and " rejected" in html  # run facts: the orders file read
