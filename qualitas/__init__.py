"""Qualitas: a knowledge-graph compliance and trace server for manufacturers."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("qualitas")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+local"

__all__ = ["__version__"]
