"""Human-readable output of the commands (rich tables on stdout)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.markup import escape
from rich.table import Table

from topicprofile.cli._util import stdout

# Every string from the user's data (labels, ids, texts, file names) goes through `escape`: rich
# would read "[/]" in a label as markup and fail.


def _inputs_line(inputs: Mapping[str, Mapping[str, Any]]) -> str:
    return "; ".join(
        f"{escape(str(name))}: {s['used']:,} of {s['rows']:,} rows used, {s['rejected']:,} rejected" for name, s in inputs.items()
    )


def print_topics(topics: Sequence[Mapping[str, Any]], *, title: str = "Topics") -> None:
    """One line per topic: id, label, prevalence, coherence and terms when present."""
    table = Table(title=escape(title), title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("label")
    table.add_column("share", justify="right")
    table.add_column("c_npmi", justify="right")
    has_terms = any("top_terms" in t for t in topics)
    if has_terms:
        table.add_column("top terms")
    for t in topics:
        row = [str(t["topic"]), escape(str(t["label"])), f"{t['prevalence']:.1%}", f"{t['c_npmi']:+.3f}"]
        if has_terms:
            row.append(escape(", ".join(t.get("top_terms", [])[:8])))
        table.add_row(*row)
    stdout.print(table)


def print_fit_summary(summary: Mapping[str, Any]) -> None:
    """What `fit` did, its topics and quality."""
    stdout.print(_inputs_line(summary["inputs"]))
    print_topics(summary["topics"])
    c = summary["coherence"]
    stdout.print(
        f"coherence c_npmi {c['c_npmi']:+.3f}, c_v {c['c_v']:.3f}, topic diversity {c['diversity']:.2f}; "
        f"{summary['n_tagged']:,} of {summary['n_customers']:,} customers tagged; "
        f"{summary['n_documents']:,} documents, {summary['n_terms']:,} terms; {summary['seconds']:.1f} s"
    )
    if summary.get("rejects_file"):
        stdout.print(f"rejected rows and reasons: {escape(str(summary['rejects_file']))}")
    stdout.print(f"model saved to {escape(str(summary['model_dir']))}")


def print_tag_summary(summary: Mapping[str, Any]) -> None:
    """What `tag` did."""
    stdout.print(_inputs_line(summary["inputs"]))
    stdout.print(
        f"{summary['n_tagged']:,} of {summary['n_customers']:,} customers tagged; wrote "
        f"{escape(str(summary['out']))} ({summary['seconds']:.1f} s)"
    )
    if summary.get("rejects_file"):
        stdout.print(f"rejected rows and reasons: {escape(str(summary['rejects_file']))}")


def print_text_tags(texts: Sequence[str], results: Sequence[Mapping[str, Any]]) -> None:
    """One line per text with its tags and scores."""
    table = Table(show_header=True)
    table.add_column("text", max_width=60, overflow="ellipsis", no_wrap=True)
    table.add_column("tags (score)")
    for text, result in zip(texts, results, strict=True):
        tags = ", ".join(f"{t['label']} ({t['score']:.2f})" for t in result["tags"]) or "— (too little to tell)"
        table.add_row(escape(text), escape(tags))
    stdout.print(table)


def print_profiles(profiles: Any, *, n: int = 8, title: str = "Customers") -> None:
    """A few customers' tags."""
    table = Table(title=escape(title), title_justify="left")
    for col in ("customer_id", "top_interest", "interest_tags", "keywords"):
        table.add_column(col, overflow="fold")
    for row in profiles.head(n).itertuples(index=False):
        tags = row.interest_tags.replace(";", "; ")
        cells = (row.customer_id, row.top_interest or "—", tags or "—", row.keywords.replace(";", "; "))
        table.add_row(*(escape(str(cell)) for cell in cells))
    stdout.print(table)
