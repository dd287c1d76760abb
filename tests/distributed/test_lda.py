"""The statistics' reduction tree: the same bits locally (a running stack) and on the cluster
(pairs added level by level on the workers, only the root sent to the driver)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip(
    "distributed", reason='the dask extra is not installed (pip install "topicprofile[dask]")'
)

from topicprofile.distributed import DaskBackend
from topicprofile.distributed.lda import tree as _tree
from topicprofile.topics.lda import tree_sum


def _arrays(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(n)
    return [rng.random((3, 50)) * 10.0 ** rng.integers(-3, 4) for _ in range(n)]


def _level_by_level(arrays: list[np.ndarray]) -> np.ndarray:
    level = list(arrays)
    while len(level) > 1:
        pairs = [level[i] + level[i + 1] for i in range(0, len(level) - 1, 2)]
        level = pairs + level[len(pairs) * 2 :]
    return level[0]


def test_lda_tree_sum_is_the_level_by_level_tree() -> None:
    for n in range(1, 70):
        assert np.array_equal(tree_sum(iter(_arrays(n))), _level_by_level(_arrays(n))), n
    # the order of additions shows in the bits: one by one differs, so the tree is what is tested
    assert not np.array_equal(tree_sum(_arrays(13)), np.sum(_arrays(13), axis=0))
    with pytest.raises(ValueError):
        tree_sum([])


@pytest.mark.slow
def test_lda_cluster_tree_root_equals_the_local_tree_sum(cluster) -> None:
    client = cluster[1]
    backend = DaskBackend(client)
    for n in (1, 2, 3, 4, 7, 13):
        futures = client.scatter(_arrays(n), broadcast=False)
        root = _tree(backend, futures, f"test-{n}")
        assert np.array_equal(backend.result(root), tree_sum(_arrays(n))), n
