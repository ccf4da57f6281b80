"""rigsync: plan, capture, time-align, record and verify synchronized multi-camera rigs."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rigsync")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
