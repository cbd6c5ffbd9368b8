"""evalharness: trustworthy machine-translation evaluation from real documents.

The Python API (`evalharness.score`, `compare`, `load_run`, `run`; see `evalharness/api.py`)
is imported on first use, so that `import evalharness` and the command line stay fast."""

__version__ = "0.1.0"

_API = ("score", "compare", "load_run", "run", "ScoreResult", "MetricResult")
_RECORDS = ("RunRecord", "ComparisonRecord", "HistoryRecord")
__all__ = ["__version__", *_API, *_RECORDS]


def __getattr__(name: str):
    if name in _API:
        from evalharness import api

        return getattr(api, name)
    if name in _RECORDS:
        from evalharness.reports import records

        return getattr(records, name)
    raise AttributeError(f"module 'evalharness' has no attribute {name!r}")
