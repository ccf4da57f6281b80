"""The GigE Vision driver's one import of its SDK: Aravis 0.8 through PyGObject (``gi``). The driver's modules
(:mod:`rigsync.drivers.gige`, ``gige_config``, ``gige_stream``) take ``Aravis`` and ``GLib`` from here."""

from __future__ import annotations

import gi

try:
    gi.require_version("Aravis", "0.8")
except ValueError as err:  # PyGObject is there, Aravis's typelib is not: the registry names the install
    raise ImportError(f"Aravis 0.8 typelib: {err}") from None
from gi.repository import Aravis, GLib

__all__ = ["Aravis", "GLib"]
