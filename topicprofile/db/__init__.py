"""The profile database (DuckDB): profiles kept across runs, identifiers, tag history, audiences.

Needs the ``db`` extra (``pip install 'topicprofile[db]'``: duckdb, phonenumbers). The names load on
first use (PEP 562): ``tag`` and ``batch`` import this package and pay for DuckDB only with ``--db``.
"""

from __future__ import annotations

from topicprofile.errors import ConfigError

_LAZY = {
    "ProfileDatabase": "topicprofile.db.database",
    "write_profiles": "topicprofile.db.database",
    "check_database": "topicprofile.db.database",
    "write_identifiers": "topicprofile.db.database",
    "write_recommendations": "topicprofile.db.recommendations",
}

__all__ = [
    "ProfileDatabase",
    "check_database",
    "write_identifiers",
    "write_profiles",
    "write_recommendations",
]


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from importlib import import_module

        try:
            value = getattr(import_module(_LAZY[name]), name)
        except ModuleNotFoundError as e:
            if e.name not in {"duckdb", "phonenumbers"}:
                raise
            raise ConfigError(
                f"the profile database needs the db extra ({e.name} is missing): pip install 'topicprofile[db]'"
            ) from None
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'topicprofile.db' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
