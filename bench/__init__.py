"""bench: benchmark text retrieval methods side by side on real corpora."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bench")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"


def load_results(*paths):
    """Load result JSON files or folders of them into a pandas DataFrame (one row per result)."""
    from bench.results import load_results as _load

    return _load(paths)


__all__ = ["__version__", "load_results"]
