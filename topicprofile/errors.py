"""Every exception topicprofile raises on purpose.

Each class also inherits the matching built-in so callers can catch either
(``except ValueError`` keeps working), the way scikit-learn's ``NotFittedError``
is both a ``ValueError`` and an ``AttributeError``.
"""

from __future__ import annotations

__all__ = [
    "TopicProfileError",
    "DataValidationError",
    "ConfigError",
    "ModelError",
    "NotFittedError",
    "ClusterError",
]


class TopicProfileError(Exception):
    """Base class: a user-facing problem the CLI turns into one line and exit 1."""


class DataValidationError(TopicProfileError, ValueError):
    """Input data cannot be used: missing file or column, unreadable encoding, empty table."""


class ConfigError(TopicProfileError, ValueError):
    """A setting, option value or configuration file is invalid."""


class ModelError(TopicProfileError, OSError):
    """A saved model directory is missing, corrupt or from an incompatible version."""


class NotFittedError(TopicProfileError, ValueError, AttributeError):
    """A method that needs a fitted profiler was called before ``fit``."""


class ClusterError(TopicProfileError, ConnectionError):
    """A Dask scheduler cannot be reached, or the cluster failed while running (``--dask``)."""
