"""Vega-Lite specs (built with altair) for the report's charts, rendered to inline SVG by vl-convert.

No browser and no network: ``vl_convert.vegalite_to_svg`` runs Vega in-process. The SVG keeps
its text as ``<text>`` elements in the page's CJK-capable font stack, so Chinese labels render
with the reader's fonts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import altair as alt
import pandas as pd
import vl_convert as vlc

__all__ = ["FONT_STACK", "make_charts", "to_svg"]

#: Latin first, then the CJK families of macOS, Windows, Linux (Noto / WenQuanYi), then generic.
FONT_STACK = (
    '-apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "PingFang SC", "Hiragino Sans GB", '
    '"Microsoft YaHei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei", '
    "sans-serif"
)
INK, MUTED, ACCENT = "#1f2933", "#52606d", "#2f6fab"
WIDTH = 560


def _config(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    return (
        chart.configure(font=FONT_STACK, background="white")
        .configure_view(stroke=None)
        .configure_axis(labelColor=MUTED, titleColor=INK, gridColor="#e4e7eb", labelFontSize=11, titleFontSize=12)
        .configure_legend(labelColor=INK, titleColor=INK, labelFontSize=11, labelLimit=260)
        .configure_range(category={"scheme": "tableau10"})
    )


def to_svg(chart: alt.TopLevelMixin) -> str:
    """An altair chart as an SVG string (rendered offline by vl-convert)."""
    svg = vlc.vegalite_to_svg(_config(chart).to_dict())
    svg = svg[svg.find("<svg"):] if "<svg" in svg else svg
    # Inline SVG in HTML needs no namespace declarations: drop them so the page holds no URL at all.
    return svg.replace(' xmlns="http://www.w3.org/2000/svg"', "").replace(
        ' xmlns:xlink="http://www.w3.org/1999/xlink"', ""
    )


def intertopic_chart(topics: list[Mapping[str, Any]]) -> alt.Chart:
    """Circles at the topics' map positions (area = prevalence), numbered; the legend names them."""
    data = pd.DataFrame([{"x": t["x"], "y": t["y"], "name": f"{t['topic']} · {t['label']}", "share": t["prevalence"],
                          "topic": str(t["topic"])} for t in topics]).sort_values("share", ascending=False)  # fmt: skip
    low, high = data[["x", "y"]].min().to_numpy(), data[["x", "y"]].max().to_numpy()
    centre, half = (low + high) / 2, max(float((high - low).max()) / 2, 0.05) * 1.25  # same scale on both axes
    x_scale = alt.Scale(domain=[centre[0] - half, centre[0] + half], nice=False)
    y_scale = alt.Scale(domain=[centre[1] - half, centre[1] + half], nice=False)
    axis = {"labels": False, "ticks": False, "grid": False, "domain": False}
    base = alt.Chart(data).encode(
        x=alt.X("x:Q", scale=x_scale, axis=alt.Axis(title="first map axis", **axis)),
        y=alt.Y("y:Q", scale=y_scale, axis=alt.Axis(title="second map axis", **axis)),
    )
    circles = base.mark_circle(opacity=0.6, stroke="white", strokeWidth=1.5).encode(
        size=alt.Size("share:Q", scale=alt.Scale(range=[200, 5000], zero=True), legend=None),
        color=alt.Color("name:N", title="topic", sort=list(data["name"])),
    )
    text = base.mark_text(fontSize=12, color=INK, fontWeight="bold").encode(text="topic:N")
    return (circles + text).properties(width=440, height=420, title="Intertopic distance map")


def time_chart(series: list[Mapping[str, Any]], *, title: str, cutoff: str | None = None) -> alt.TopLevelMixin:
    data = pd.DataFrame(series)
    months = sorted(data["month"].unique())
    lines = (
        alt.Chart(data)
        .mark_line(point=alt.OverlayMarkDef(size=25), strokeWidth=2)
        .encode(
            x=alt.X("month:O", title=None, sort=months, axis=alt.Axis(labelAngle=-45)),
            y=alt.Y("share:Q", title=title, axis=alt.Axis(format="%")),
            color=alt.Color("interest:N", title="interest", sort=None),
        )
    )
    # the first charted month on or after the cutoff: the rule sits where "after" begins
    after = [m for m in months if cutoff and m >= cutoff]
    if after:
        rule = pd.DataFrame({"month": [after[0]], "label": [f"cutoff {cutoff}"]})
        marks = alt.Chart(rule).encode(x=alt.X("month:O", sort=months))
        lines = lines + marks.mark_rule(color=INK, strokeDash=[4, 3]) + marks.mark_text(
            align="left", dx=4, dy=-6, color=INK, fontSize=11, baseline="top").encode(text="label:N", y=alt.value(0))  # fmt: skip
    return lines.properties(width=WIDTH, height=300)


def bar_chart(rows: list[Mapping[str, Any]], *, y: str, x: str, x_title: str, fmt: str = ",d",
              sort: bool = True, color: str = ACCENT, height: int | None = None) -> alt.Chart:
    data = pd.DataFrame(rows)
    order = "-x" if sort else None
    bars = alt.Chart(data).mark_bar(color=color, cornerRadiusEnd=2).encode(
        y=alt.Y(f"{y}:N", title=None, sort=order, axis=alt.Axis(labelLimit=260)),
        x=alt.X(f"{x}:Q", title=x_title, axis=alt.Axis(format=fmt)),
    )
    text = bars.mark_text(align="left", dx=3, color=INK, fontSize=11).encode(text=alt.Text(f"{x}:Q", format=fmt))
    return (bars + text).properties(width=WIDTH - 200, height=height or max(60, 22 * len(data)))


def tags_chart(rows: list[Mapping[str, Any]]) -> alt.Chart:
    data = pd.DataFrame(rows)
    return (
        alt.Chart(data)
        .mark_bar(color=ACCENT, cornerRadiusEnd=2)
        .encode(x=alt.X("n_tags:O", title="interest tags per customer", axis=alt.Axis(labelAngle=0)),
                y=alt.Y("customers:Q", title="customers"))
        .properties(width=260, height=180)
    )


def scores_chart(rows: list[Mapping[str, Any]]) -> alt.Chart:
    data = pd.DataFrame(rows)
    return (
        alt.Chart(data)
        .mark_bar(color=ACCENT)
        .encode(x=alt.X("value:O", title="score (5 best)", axis=alt.Axis(labelAngle=0)),
                y=alt.Y("customers:Q", title="customers"),
                column=alt.Column("score:N", title=None, sort=["R", "F", "M"]))
        .properties(width=150, height=150)
    )


def heat_chart(rows: list[Mapping[str, Any]], *, x: str, y: str, x_sort: list[Any] | None = None,
               y_sort: list[Any] | None = None, label: str | None = None, width: int = WIDTH,
               height: int | None = None, x_title: str | None = None, y_title: str | None = None) -> alt.Chart:  # fmt: skip
    data = pd.DataFrame(rows)
    base = alt.Chart(data).encode(
        x=alt.X(f"{x}:O", title=x_title, sort=x_sort,
                axis=alt.Axis(labelAngle=0 if x_title else -35, labelLimit=160, orient="top")),
        y=alt.Y(f"{y}:O", title=y_title, sort=y_sort, axis=alt.Axis(labelLimit=240)),
    )
    cells = base.mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.Color("customers:Q", scale=alt.Scale(scheme="blues"), legend=None)
    )
    text_field = label or "customers"
    text = base.mark_text(fontSize=10, **({"lineBreak": "\n"} if label else {})).encode(
        text=alt.Text(f"{text_field}:N"),
        color=alt.condition(alt.datum.customers > data["customers"].max() * 0.55, alt.value("white"), alt.value(INK)),
    )
    n_rows = data[y].nunique()
    return (cells + text).properties(width=width, height=height or max(120, 34 * n_rows))


def lift_chart(rows: list[Mapping[str, Any]]) -> alt.Chart:
    data = pd.DataFrame([r for r in rows if r.get("top_decile_lift") is not None])
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("features:N", title=None),
            x=alt.X("top_decile_lift:Q", title="top-decile lift (× base rate)"),
            color=alt.Color("features:N", legend=None),
            row=alt.Row("target:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left", labelLimit=200)),
        )
        .properties(width=WIDTH - 220, height=alt.Step(18))
    )


def make_charts(data: Mapping[str, Any]) -> dict[str, str]:
    """Every chart of the report as ``{name: svg}`` (only the charts whose data is there)."""
    charts: dict[str, alt.TopLevelMixin] = {}
    topics = data["topics"]["topics"]
    if len(topics) > 1:
        charts["intertopic_map"] = intertopic_chart(topics)
    if data["time"].get("available"):
        time = data["time"]
        title = "share of what customers wrote" if time.get("source") == "documents" else "share of orders' interest"
        charts["interests_over_time"] = time_chart(time["series"], title=title, cutoff=time.get("cutoff"))
    customers = data["customers"]
    if customers.get("available"):
        charts["tags_per_customer"] = tags_chart(customers["tags_per_customer"])
        charts["interests_by_count"] = bar_chart(customers["interests"], y="interest", x="customers",
                                                 x_title="customers with the tag")  # fmt: skip
        if customers["total_revenue"] > 0:
            charts["interests_by_revenue"] = bar_chart(customers["interests"], y="interest", x="revenue",
                                                       x_title="revenue of customers whose top interest it is",
                                                       fmt=",.0f", color="#3e8e63")  # fmt: skip
    value = data["value"]
    if value.get("available"):
        charts["rfm_scores"] = scores_chart(value["distributions"])
        grid = [{**c, "cell": f"{c['segment']}\n{c['customers']:,}"} for c in value["grid"]]
        charts["rfm_grid"] = heat_chart(grid, x="r", y="fm", x_sort=[1, 2, 3, 4, 5], y_sort=[5, 4, 3, 2, 1],
                                        label="cell", width=WIDTH, height=300, x_title="recency score (5 = recent)",
                                        y_title="frequency + money score")  # fmt: skip
        charts["revenue_by_rfm"] = bar_chart(value["revenue"], y="segment", x="revenue", x_title="revenue",
                                             fmt=",.0f", color="#3e8e63")  # fmt: skip
    if data["segments"].get("heat"):
        heat = data["segments"]["heat"]
        charts["interest_by_rfm"] = heat_chart(heat, x="rfm_segment", y="interest",
                                               x_sort=list(dict.fromkeys(h["rfm_segment"] for h in heat)))  # fmt: skip
    if data["evaluation"].get("available") and any(r.get("top_decile_lift") for r in data["evaluation"]["rows"]):
        charts["lift"] = lift_chart(data["evaluation"]["rows"])
    return {name: to_svg(chart) for name, chart in charts.items()}
