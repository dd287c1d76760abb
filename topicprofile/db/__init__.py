"""The profile database (DuckDB): profiles kept across runs, identifiers, tag history, audiences.

Needs the ``db`` extra (``pip install 'topicprofile[db]'``: duckdb, phonenumbers).
"""

from __future__ import annotations

from topicprofile.db.database import ProfileDatabase, write_profiles

__all__ = ["ProfileDatabase", "write_profiles"]
