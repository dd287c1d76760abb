"""Data minimisation (issue 14): SnippetPicker keeps per customer and tag the documents explain shows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from topicprofile.privacy.minimize import SnippetPicker


def test_snippet_picker_keeps_the_top_documents_per_customer_and_tag_across_chunks():
    docs = pd.DataFrame({"customer_id": ["a"] * 8 + ["b"] * 2, "text": [f"t{i}" for i in range(10)]})
    support = np.zeros((10, 3))
    support[:8, 0] = [1, 5, 2, 5, 0, 4, 3, 0]  # a, topic 0: ties keep the earlier document
    support[:8, 2] = [0, 0, 0, 0, 9, 0, 0, 8]  # a's second tag
    support[8:, 1] = [1, 2]
    picker = SnippetPicker({"a": [0, 2], "b": [1]}, n=3)
    for start in (0, 4, 7):  # chunks of 4, 3 and 3 documents
        stop = {0: 4, 4: 7, 7: 10}[start]
        picker.add(docs.iloc[start:stop], docs["customer_id"].iloc[start:stop].tolist(), support[start:stop])
    kept = picker.result(["customer_id", "text"])
    assert kept["text"].tolist() == ["t1", "t3", "t4", "t5", "t7", "t8", "t9"]


def test_snippet_picker_keeps_nothing_of_untagged_customers():
    docs = pd.DataFrame({"customer_id": ["a", "b"], "text": ["x", "y"]})
    picker = SnippetPicker({"a": [0]})
    picker.add(docs, ["a", "b"], np.ones((2, 1)))
    assert picker.result(["customer_id", "text"])["customer_id"].tolist() == ["a"]
