"""topicprofile: turn what customers write and do into customer profiles."""

from importlib import metadata as _metadata

from topicprofile.errors import (
    ConfigError,
    DataValidationError,
    ModelError,
    NotFittedError,
    TopicProfileError,
)
from topicprofile.loaders import load_browsing, load_orders, load_reviews
from topicprofile.profiler import TopicProfiler

try:
    __version__ = _metadata.version("topicprofile")
except _metadata.PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = [
    "TopicProfiler",
    "load_reviews",
    "load_browsing",
    "load_orders",
    "TopicProfileError",
    "DataValidationError",
    "ConfigError",
    "ModelError",
    "NotFittedError",
    "__version__",
]
