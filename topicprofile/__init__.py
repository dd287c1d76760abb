"""topicprofile: turn what customers write and do into customer profiles."""

from topicprofile.errors import (
    ConfigError,
    DataValidationError,
    ModelError,
    NotFittedError,
    TopicProfileError,
)

# The heavy names load on first use (PEP 562), so `import topicprofile` — and with it every start of
# the command line — does not pay for pandas, gensim, spaCy and scikit-learn up front.
_LAZY = {
    "TopicProfiler": "topicprofile.profiler",
    "load_reviews": "topicprofile.ingest.load",
    "load_browsing": "topicprofile.ingest.load",
    "load_orders": "topicprofile.ingest.load",
    "RunOptions": "topicprofile.config",
}

__all__ = [
    "TopicProfiler",
    "load_reviews",
    "load_browsing",
    "load_orders",
    "RunOptions",
    "TopicProfileError",
    "DataValidationError",
    "ConfigError",
    "ModelError",
    "NotFittedError",
    "__version__",
]


def __getattr__(name: str) -> object:
    if name == "__version__":  # importlib.metadata alone costs a tenth of a second
        from importlib import metadata

        try:
            version = metadata.version("topicprofile")
        except metadata.PackageNotFoundError:  # running from a source tree without install
            version = "0.0.0+unknown"
        globals()["__version__"] = version
        return version
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'topicprofile' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | {"__version__"})
