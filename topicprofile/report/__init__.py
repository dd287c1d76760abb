"""``topicprofile report``: one self-contained HTML page of topics, interests, value and segments.

:func:`write_report` turns a fitted :class:`~topicprofile.profiler.TopicProfiler` (public API only)
into a file that works offline: charts are inline SVG, styles are inline, no URL is loaded.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from topicprofile._fs import atomic_path
from topicprofile.behavior import compute_rfm
from topicprofile.errors import TopicProfileError
from topicprofile.report.build import build_report_data, with_rfm
from topicprofile.report.layout import DEFAULT_LAMBDA
from topicprofile.report.values import topic_share_matrix
from topicprofile.segments.names import counted

__all__ = ["DEFAULT_LAMBDA", "build_report_data", "render_html", "report_data", "write_report"]

_TEMPLATES = Path(__file__).parent / "templates"
N_SNIPPETS = 3


def _topic_snippets(profiler: Any, profiles: Any, n_topics: int, n: int = N_SNIPPETS) -> dict[int, list[str]]:
    """Example snippets per topic: ``explain`` of the customers with the highest share of the topic."""
    if profiles is None or "customer_id" not in profiles or not len(profiles):
        return {}
    shares = topic_share_matrix(profiles, n_topics)
    ids = profiles["customer_id"].astype(str).to_numpy()
    out: dict[int, list[str]] = {}
    for topic in range(n_topics):
        texts: list[str] = []
        for row in np.argsort(-shares[:, topic], kind="stable")[:n]:
            try:
                explained = profiler.explain(ids[row])
            except (TopicProfileError, KeyError, ValueError):
                continue
            for tag in explained.get("tags", []):
                if tag.get("topic") == topic:
                    texts += [s["text"] for s in tag.get("snippets", []) if s.get("text") and s["text"] not in texts][:2]
            if len(texts) >= n:
                break
        out[topic] = texts[:n]
    return out


def report_data(
    profiler: Any,
    *,
    profiles: Any = None,
    orders: Any = None,
    as_of: Any = None,
    evaluation: Mapping[str, Any] | None = None,
    manifest: Mapping[str, Any] | None = None,
    lam: float = DEFAULT_LAMBDA,
    snippets: bool = True,
    facts: Mapping[str, Any] | None = None,
    cutoff: Any = None,
) -> dict[str, Any]:
    """The report's aggregates (a plain dict) from a fitted profiler and optional profiles / orders.

    ``profiles`` defaults to the profiler's ``profiles_``; ``orders`` (standardized: customer_id,
    order_id, timestamp, amount) adds RFM columns via :func:`~topicprofile.behavior.compute_rfm`.
    Interests over time come from the model's dated documents (``topic_months_``), else from the
    orders. ``cutoff`` (default: the evaluation's) marks a date on that chart and its reading
    compares before and after it.
    """
    topics = profiler.topics()
    dictionary = profiler.dictionary_
    n_terms = len(dictionary)
    counts = np.zeros(n_terms)
    for term_id, count in dictionary.cfs.items():
        counts[term_id] = count
    vocabulary = [dictionary[i] for i in range(n_terms)]
    if profiles is None:
        profiles = getattr(profiler, "profiles_", None)
    if orders is not None:
        profiles = with_rfm(profiles, compute_rfm(orders, as_of=as_of))
    try:
        cards = profiler.segments()
    except (TopicProfileError, AttributeError):
        cards = []
    if manifest is None:
        manifest = {"n_topics": len(topics), "coherence": getattr(profiler, "coherence_", None) or {},
                    "input": {"fingerprint": getattr(profiler, "input_fingerprint_", "") or "",
                              "n_documents": getattr(profiler, "n_documents_", 0) or 0}}  # fmt: skip
    facts = {"report made": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), **(facts or {})}
    if profiles is not None:
        facts.setdefault("customers in report", f"{len(profiles):,}")
    return build_report_data(
        topics=topics,
        topic_word=profiler.topics_.topic_word_,
        term_counts=counts,
        vocabulary=vocabulary,
        profiles=profiles,
        orders=orders,
        segment_cards=cards,
        manifest=manifest,
        evaluation=evaluation,
        snippets=_topic_snippets(profiler, profiles, len(topics)) if snippets else None,
        lam=lam,
        facts=facts,
        months=getattr(profiler, "topic_months_", None),
        cutoff=cutoff if cutoff is not None else (evaluation or {}).get("cutoff"),
    )


def render_html(data: Mapping[str, Any], charts: Mapping[str, str] | None = None) -> str:
    """The report page: ``data`` from :func:`report_data`, ``charts`` from ``charts.make_charts``."""
    import jinja2  # the optional extra

    from topicprofile.report.charts import FONT_STACK, make_charts

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(os.fspath(_TEMPLATES)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda x: "" if x is None else (f"{x:.0%}" if x >= 0.01 or x == 0 else "<1%")
    env.filters["num"] = lambda x, d=0: "" if x is None else f"{x:,.{d}f}"
    env.filters["counted"] = lambda x, noun, d=0: "" if x is None else counted(x, noun, f",.{d}f")
    charts = make_charts(data) if charts is None else charts
    return env.get_template("report.html.j2").render(data=data, charts=charts, font_stack=FONT_STACK)


def write_report(
    profiler: Any,
    path: str | os.PathLike[str],
    *,
    profiles: Any = None,
    orders: Any = None,
    as_of: Any = None,
    evaluation: Mapping[str, Any] | None = None,
    manifest: Mapping[str, Any] | None = None,
    lam: float = DEFAULT_LAMBDA,
    snippets: bool = True,
    facts: Mapping[str, Any] | None = None,
    cutoff: Any = None,
) -> dict[str, Any]:
    """Write the offline HTML report of a fitted profiler to ``path`` (atomically).

    Keywords as :func:`report_data`. Returns a summary: ``path``, ``bytes``, ``sections`` (which
    had data) and ``charts``.
    """
    from topicprofile.report.charts import make_charts  # the optional extra (altair, vl-convert-python)

    data = report_data(profiler, profiles=profiles, orders=orders, as_of=as_of, evaluation=evaluation,
                       manifest=manifest, lam=lam, snippets=snippets, facts=facts, cutoff=cutoff)  # fmt: skip
    charts = make_charts(data)
    html = render_html(data, charts)
    target = Path(path)
    with atomic_path(target) as tmp:
        Path(tmp).write_text(html, encoding="utf-8")
    return {
        "path": os.fspath(target),
        "bytes": len(html.encode("utf-8")),
        "sections": {k: bool(v.get("available", True)) for k, v in data.items() if isinstance(v, dict)},
        "charts": sorted(charts),
    }
