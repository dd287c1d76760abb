"""The real Dask cluster these tests share: a ``distributed.LocalCluster`` of 2 worker processes of
1 thread, started once per session (skipped when the ``dask`` extra is absent)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def cluster():
    distributed = pytest.importorskip(
        "distributed", reason='the dask extra is not installed (pip install "topicprofile[dask]")'
    )
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as local,
        distributed.Client(local) as client,
    ):
        yield local, client
