"""``topicprofile segments``: show the customer segments saved with a model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.markup import escape

from topicprofile.cli._util import JsonOpt, ModelDirOpt, app, print_json, stdout, user_errors


@app.command("segments")
def segments_cli(model_dir: ModelDirOpt, json_out: JsonOpt = False) -> None:
    """Show a saved model's segments: name, size, RFM medians, top interests and an example.

    Example: topicprofile segments --model-dir models/shop --json
    """
    with user_errors():
        from topicprofile.segments.saved import load_segment_cards
        from topicprofile.store import MANIFEST, model_files

        # a model: its current version, checked (format-1 pickle models refused); a bare folder
        # holding a segments.json (write_segments' output) is read as it is
        folder = model_files(model_dir) if (model_dir / MANIFEST).exists() else model_dir
        document = load_segment_cards(folder)
    summary = {
        "model_dir": str(model_dir),
        "n_segments": document.get("n_segments"),
        "silhouette": document.get("silhouette"),
        "silhouette_by_k": document.get("silhouette_by_k", {}),
        "segments": document["segments"],
    }
    if json_out:
        print_json(summary)
    else:
        print_segment_cards(summary)


def print_segment_cards(summary: Mapping[str, Any]) -> None:
    """One block per segment card (name, size, RFM, interests, an example), then the silhouette line."""
    from topicprofile.segments.names import counted

    stdout.print(f"[bold]Segments of {escape(str(summary['model_dir']))}[/bold]")
    for card in summary["segments"]:
        stdout.print()
        stdout.print(
            f"[bold]{card['segment_id']}  {escape(card['name'])}[/bold] — {counted(card['size'], 'customer')} "
            f"({card['share']:.0%}), {card['n_with_orders']:,} with orders"
        )
        medians = card.get("rfm_medians")
        if medians:
            stdout.print(
                f"   median recency {counted(medians['recency_days'], 'day', '.0f')}, "
                f"{counted(medians['frequency'], 'order', 'g')}, "
                f"spend {medians['monetary']:,.2f} (avg order {medians.get('avg_order_value', 0):,.2f})"
            )
        mix = ", ".join(f"{escape(k)} {v:.0%}" for k, v in list(card.get("rfm_segment_mix", {}).items())[:3])
        stdout.print(f"   RFM segments: {mix}")
        interests = ", ".join(
            f"{escape(t['interest'])} {t['share']:.0%} ({t['lift']:.1f}×)"
            for t in card.get("top_interests", [])
        )
        stdout.print(f"   interests (share, lift): {interests or '—'}")
        for example in card.get("examples", [])[:1]:
            stdout.print(f"   “{escape(example['text'])}”", style="italic")
    by_k = ", ".join(f"k={k}: {v:.3f}" for k, v in summary.get("silhouette_by_k", {}).items())
    if summary.get("silhouette") is not None:
        stdout.print()
        stdout.print(
            f"{summary['n_segments']} segments, silhouette {summary['silhouette']:.3f}"
            + (f" ({by_k})" if by_k else "")
        )
