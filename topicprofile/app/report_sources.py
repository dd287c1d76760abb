"""Where a report's data comes from besides the model: the profile database, and a holdout by date.

:func:`db_profiles` reads the DuckDB profile store (``db add`` / ``batch --db``) into the
profiles table the report's sections read (``topic_{k}`` columns, ``;``-joined tags): only the
columns the aggregates need, converted inside DuckDB. :func:`holdout_evaluation` runs the
temporal holdout of ``topicprofile evaluate`` with the model's settings, for ``report --cutoff``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from topicprofile.app.evaluate import evaluate_files
from topicprofile.db.database import ProfileDatabase
from topicprofile.errors import DataValidationError

__all__ = ["db_profiles", "fit_rejects", "holdout_evaluation"]

#: Profile columns the report reads, as they are in the database.
_COLUMNS = ("customer_id", "top_interest", "n_documents", "recency_days", "frequency", "monetary", "avg_order_value",
            "r_score", "f_score", "m_score", "rfm_segment", "segment_id", "segment_name")  # fmt: skip


def db_profiles(path: str | os.PathLike[str], *, n_topics: int) -> tuple[pd.DataFrame, dict[str, str]]:
    """The profiles of the database at ``path`` as a report's profiles table, and facts about the store.

    Returns
    -------
    profiles : DataFrame
        One row per customer: ``customer_id, top_interest, interest_tags`` (``;``-joined), the
        RFM and segment columns, ``topic_0 … topic_{n_topics-1}`` (0 where a customer has none).
    facts : dict
        ``profile database`` (file name), ``database runs``, ``last database run`` and the model
        versions the rows were written with.

    Raises
    ------
    ModelError
        No profile database at ``path``, or the file is in use / not a profile database.
    DataValidationError
        The database holds no profiles, or their topic shares are of another number of topics.
    """
    with ProfileDatabase(path, read_only=True) as db:
        con = db.con
        n_rows, widest = con.execute("SELECT count(*), max(len(topic_shares)) FROM profiles").fetchall()[0]
        if not n_rows:
            raise DataValidationError(
                f"{path}: the profile database holds no profiles; write them with `topicprofile db add`."
            )
        if widest is not None and int(widest) != n_topics:
            raise DataValidationError(
                f"{path}: its profiles have {widest} topic shares but the model has {n_topics} topics; "
                "give the --model-dir the profiles were tagged with."
            )
        shares = ", ".join(f"coalesce(topic_shares[{k + 1}], 0.0) AS topic_{k}" for k in range(n_topics))
        profiles = con.execute(
            f"SELECT {', '.join(_COLUMNS)}, coalesce(array_to_string(interest_tags, ';'), '') AS interest_tags, "
            f"{shares} FROM profiles ORDER BY customer_id"
        ).df()
        runs, last = con.execute("SELECT count(*), max(started_at) FROM runs").fetchall()[0]
        versions = [v for (v,) in con.execute(
            "SELECT model_version FROM profiles WHERE model_version IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC"
        ).fetchall()]  # fmt: skip
    profiles["top_interest"] = profiles["top_interest"].fillna("")
    facts = {"profile database": Path(path).name, "database runs": f"{int(runs):,}"}
    if last is not None:
        facts["last database run"] = pd.Timestamp(last).strftime("%Y-%m-%d %H:%M UTC")
    if versions:
        facts["models in the database"] = ", ".join(str(v) for v in versions[:3]) + (
            " …" if len(versions) > 3 else ""
        )
    return profiles, facts


def fit_rejects(model_dir: str | os.PathLike[str]) -> dict[str, str]:
    """``{"rows rejected at fit": "reviews.csv 11 · browsing.jsonl 2"}`` from the model's ``rejects.csv``
    (counts per input file only: the rejected values themselves stay out of the report); ``{}`` without one."""
    path = Path(model_dir) / "rejects.csv"
    if not path.is_file():
        return {}
    try:
        sources = pd.read_csv(path, usecols=["source"], dtype=str, keep_default_na=False)["source"]
    except (OSError, ValueError, pd.errors.ParserError):
        return {"rows rejected at fit": f"{path.name} unreadable"}
    counts = sources.value_counts(sort=False)
    return {"rows rejected at fit": " · ".join(f"{name} {n:,}" for name, n in counts.items()) or "none"}


def holdout_evaluation(
    profiler: Any,
    *,
    cutoff: str,
    orders: str | os.PathLike[str],
    reviews: str | os.PathLike[str] | None = None,
    browsing: str | os.PathLike[str] | None = None,
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``topicprofile evaluate`` at ``cutoff`` with the model's number of topics, language and seed.

    The holdout refits topics on the texts dated before the cutoff (the model itself saw later
    text, which would leak the answer); ``options`` are further
    :func:`~topicprofile.app.evaluate.evaluate_files` keywords (column maps, encoding, date format).

    Raises
    ------
    DataValidationError
        Neither reviews nor browsing given (without text there is nothing to compare), or what
        :func:`~topicprofile.app.evaluate.evaluate_holdout` raises for the data.
    """
    if reviews is None and browsing is None:
        raise DataValidationError(
            "--cutoff needs --reviews or --browsing: the holdout refits topics on the text before it."
        )
    params = profiler.get_params()
    return evaluate_files(
        orders=orders, cutoff=cutoff, reviews=reviews, browsing=browsing, n_topics=int(profiler.n_topics_),
        random_state=int(params.get("random_state") or 0), profiler_params={"lang": params.get("lang", "en")},
        **dict(options or {}),
    )  # fmt: skip
