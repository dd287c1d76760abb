"""The bundled sample shop (``corpora/``, shipped in the wheel as ``topicprofile/sample_data/``) and how well a model recovers its planted interests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from topicprofile.errors import DataValidationError

__all__ = ["sample_dir", "planted_recovery"]


def sample_dir() -> Path:
    """The sample shop's folder: ``topicprofile/sample_data/`` in an installed wheel, else the
    top-level ``corpora/`` of a source checkout (the wheel is built from it, see ``setup.py``)."""
    package = Path(__file__).resolve().parents[1]
    for folder in (package / "sample_data", package.parent / "corpora"):
        if (folder / "reviews.csv").is_file():
            return folder
    raise DataValidationError(
        f"{package / 'sample_data'}: sample shop not found; reinstall topicprofile, or regenerate it "
        "with scripts/make_sample_shop.py in a clone of the repository"
    )


def planted_recovery(profiles: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """Share of customers whose top interest matches their planted interest.

    Each topic label is mapped to the planted interest most common among the customers whose
    top interest it is (majority vote, so several topics may map to one interest). Customers
    without a tag count as misses.

    Parameters
    ----------
    profiles : DataFrame
        Output of ``tag`` / :meth:`TopicProfiler.profile` (``customer_id``, ``top_interest``).
    truth : DataFrame
        ``customer_id``, ``interest`` (and optionally ``thin`` / ``order_only``: customers planted
        with too little or no text, left out).

    Returns
    -------
    dict
        ``accuracy`` over all non-thin customers, ``coverage`` (share tagged) and ``n_customers``.
    """
    merged = profiles[["customer_id", "top_interest"]].merge(
        truth.astype({"customer_id": str}), on="customer_id", how="inner"
    )
    for flag in ("thin", "order_only"):  # planted with too little or no text: nothing to recover
        if flag in merged:
            merged = merged[~merged[flag].astype(str).str.lower().isin({"true", "1", "yes"})]
    if merged.empty:
        raise DataValidationError("no customer of the profiles is in the truth table")
    tagged = merged[merged["top_interest"] != ""]
    mapping = tagged.groupby("top_interest")["interest"].agg(lambda s: s.value_counts().index[0])
    predicted = merged["top_interest"].map(mapping)
    return {
        "accuracy": float((predicted == merged["interest"]).mean()),
        "coverage": float(len(tagged) / len(merged)),
        "n_customers": int(len(merged)),
    }
