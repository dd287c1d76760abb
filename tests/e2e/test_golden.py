"""The refactor changed no result: demo and Chinese outputs equal the golden files byte for byte.

The golden files were written by the code before the stage-folder refactor with
``python tests/golden/generate.py`` (see that file); this test reruns the same commands.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def _generator():
    spec = importlib.util.spec_from_file_location("golden_generate", GOLDEN / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> dict[str, str]:
    return _generator().generate(tmp_path_factory.mktemp("golden"))


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["demo_profiles.csv", "demo_topics.json", "demo_segments.json", "zh_profiles.csv", "zh_topics.json"]
)
def test_golden_outputs_are_byte_identical(regenerated: dict[str, str], name: str) -> None:
    if name not in regenerated:
        pytest.skip(f"{name}: needs ../shared/data/zh_reviews.txt (real-data test; CI has it)")
    expected = (GOLDEN / name).read_text(encoding="utf-8")
    assert regenerated[name] == expected, f"{name} differs from the golden output (tests/golden/generate.py)"
