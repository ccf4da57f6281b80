"""Vendor drivers load only when a rig names them, and a missing SDK is an error that says how to install it."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

from rigsync.core.errors import RigsyncError
from rigsync.drivers import registry
from rigsync.spec.model import DRIVER_NAMES


def test_every_vendor_driver_is_a_driver_name_a_rig_may_use() -> None:
    """The registry and the rig file's allowed driver names agree (plus the simulator)."""
    assert set(DRIVER_NAMES) == {"sim", *registry.VENDOR_DRIVERS}


def test_an_unknown_driver_is_named_with_the_ones_available() -> None:
    with pytest.raises(RigsyncError, match=r"no driver named 'k4a' \(available: sim, realsense, gige"):
        registry.driver_factory("k4a")


def test_a_missing_sdk_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """The vendor module imports its SDK, which is not installed: the error names the SDK and the extra."""
    def missing_sdk(name: str) -> ModuleType:
        raise ModuleNotFoundError("No module named 'pyrealsense2'", name="pyrealsense2")

    monkeypatch.setattr(importlib, "import_module", missing_sdk)
    with pytest.raises(RigsyncError, match=r"driver 'realsense' needs pyrealsense2, which is not installed .*"
                                           r"pip install 'rigsync\[realsense\]'"):
        registry.driver_factory("realsense")


def test_a_vendor_module_provides_its_factory(monkeypatch: pytest.MonkeyPatch) -> None:
    """A loaded vendor module's make_driver is what the factory returns."""
    module = ModuleType("rigsync.drivers.uvc")
    module.make_driver = lambda rig, plan: (rig, plan)  # type: ignore[attr-defined]
    monkeypatch.setattr(importlib, "import_module", lambda name: module)
    assert registry.driver_factory("uvc")("R", "P") == ("R", "P")  # type: ignore[arg-type]
