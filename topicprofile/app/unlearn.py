"""Take training documents out of a model version's files (issue 14): ``forget`` and ``prune``.

Works on a version folder being written (:func:`topicprofile.store.rewrite_version`'s staging
copy): reads the training bags of words (``training_bows.parquet``,
:mod:`topicprofile.privacy.training_bows`) and the LDA arrays, subtracts the E-step counts of the
training documents that lose rows (:func:`topicprofile.topics.unlearn.subtract_documents`), and
writes ``lda/sstats.npy``, ``lda/exp_elog_beta.npy``, ``lda/params.json`` (``numdocs``) and the
record without those rows. With the default pooling a customer's training document is the sum of
their rows: when only some rows go (``prune``), the document with the rows left is put back in.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from topicprofile import schema
from topicprofile.privacy.training_bows import TRAINING_BOWS, pooled_counts, read_training_bows
from topicprofile.topics.unlearn import subtract_documents

__all__ = ["NOT_SUBTRACTED", "unlearn_rows"]

#: Why a model's statistics could not be changed.
NOT_SUBTRACTED = (
    "the model keeps no training bags of words (fitted with --keep-texts none, or before they were kept): "
    "its topic statistics still hold the removed texts' counts until a refit (fit --previous)"
)
_ARRAYS = ("alpha", "eta", "sstats", "exp_elog_beta")


def unlearn_rows(
    folder: Path, manifest: dict[str, Any], drop: Callable[[pa.Table], pa.ChunkedArray | pa.Array]
) -> dict[str, Any] | None:
    """Remove the record rows ``drop(table)`` (a boolean mask) and their training documents' counts.

    Returns None when the version has no record, else ``n_rows_removed``,
    ``n_training_documents_removed`` (gone whole), ``n_training_documents_changed`` (a customer's
    pooled document that keeps some rows) and ``tokens_subtracted`` (the expected counts taken out).
    """
    path = folder / TRAINING_BOWS
    if not path.is_file():
        return None
    table = read_training_bows(path)
    hit = drop(table)
    summary = {"n_rows_removed": 0, "n_training_documents_removed": 0, "n_training_documents_changed": 0,
               "tokens_subtracted": 0.0}  # fmt: skip
    if not pc.any(hit).as_py():
        return summary
    dropped, kept = table.filter(hit), table.filter(pc.invert(hit))
    lda = folder / "lda"
    params = json.loads((lda / "params.json").read_text(encoding="utf-8"))
    arrays = {k: np.load(lda / f"{k}.npy", allow_pickle=False) for k in _ARRAYS}
    n_terms = int(arrays["sstats"].shape[1])
    if manifest.get("params", {}).get("pooling", "customer") == "customer":
        customers = sorted(set(dropped.column(schema.CUSTOMER_ID).to_pylist()))
        theirs = pc.is_in(kept.column(schema.CUSTOMER_ID), value_set=pa.array(customers, pa.string()))
        left = kept.filter(theirs)
        removed = pooled_counts(table.filter(pc.is_in(table.column(schema.CUSTOMER_ID), value_set=pa.array(customers))),
                                n_terms=n_terms, customer_ids=customers)  # fmt: skip
        added = pooled_counts(left, n_terms=n_terms, customer_ids=customers)
        n_changed = len(set(left.column(schema.CUSTOMER_ID).to_pylist()))
        n_gone = len(customers) - n_changed
    else:
        removed, added = pooled_counts(dropped, n_terms=n_terms), None
        n_gone, n_changed = dropped.num_rows, 0
    inference = params["inference"]
    sstats, exp_elog_beta, tokens = subtract_documents(
        arrays["sstats"], eta=arrays["eta"], alpha=arrays["alpha"], exp_elog_beta=arrays["exp_elog_beta"],
        removed=removed, added=added, random_state=int(inference["random_state"]),
        iterations=int(inference["infer_iterations"]), threshold=float(inference["gamma_threshold"]),
    )  # fmt: skip
    np.save(lda / "sstats.npy", sstats, allow_pickle=False)
    np.save(lda / "exp_elog_beta.npy", exp_elog_beta, allow_pickle=False)
    params["numdocs"] = max(0, int(params["numdocs"]) - n_gone)
    (lda / "params.json").write_text(json.dumps(params, ensure_ascii=False, indent=1), encoding="utf-8")
    pq.write_table(kept, path)
    return {"n_rows_removed": dropped.num_rows, "n_training_documents_removed": n_gone,
            "n_training_documents_changed": n_changed, "tokens_subtracted": round(tokens, 3)}  # fmt: skip
