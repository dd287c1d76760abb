"""Fit and tag on a Dask cluster (``pip install "topicprofile[dask]"``), with results identical to the
local run: docs/distributed.md. Dask itself is imported only when a backend connects."""

from topicprofile.distributed.cluster import DaskBackend, open_backend, parse_dask_address
from topicprofile.distributed.ingest import text_sample
from topicprofile.distributed.lda import cluster_estep
from topicprofile.distributed.snippets import cluster_kept_documents
from topicprofile.distributed.tagging import cluster_infer, cluster_tokenize, cluster_topic_chunks

__all__ = [
    "DaskBackend",
    "cluster_estep",
    "cluster_infer",
    "cluster_kept_documents",
    "cluster_tokenize",
    "cluster_topic_chunks",
    "open_backend",
    "parse_dask_address",
    "text_sample",
]
