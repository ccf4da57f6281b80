"""Vendor drivers by name: each lives in its own module under ``rigsync.drivers`` (the only place its SDK is
imported) and joins here. The core imports none of them: a driver is loaded when a rig names it, and a missing SDK
is a :class:`~rigsync.core.errors.RigsyncError` that names the install extra or the vendor's installer.

A vendor module provides ``make_driver(rig: RigSpec, plan: Plan) -> Driver``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from rigsync.core.errors import RigsyncError
from rigsync.drivers.base import Driver
from rigsync.plan.model import Plan
from rigsync.spec.model import RigSpec


@dataclass(frozen=True)
class VendorDriver:
    name: str
    module: str
    """``rigsync.drivers.<module>``."""
    sdk: str
    """What the module imports, as a user would name it."""
    install: str
    """How to get the SDK."""


VENDOR_DRIVERS = {d.name: d for d in (
    VendorDriver("realsense", "realsense", "pyrealsense2", "pip install 'rigsync[realsense]'"),
    VendorDriver("gige", "gige", "Aravis 0.8 through PyGObject (gi)",
                 "apt-get install gir1.2-aravis-0.8 libaravis-0.8-0 aravis-tools and, to build PyGObject, "
                 "libgirepository1.0-dev libcairo2-dev pkg-config gcc; then pip install 'rigsync[gige]'"),
    VendorDriver("orbbec", "orbbec", "pyorbbecsdk2",
                 "pip install --no-deps pyorbbecsdk2 (its own dependencies pin numpy 1.26; there is no "
                 "rigsync[orbbec] extra because an extra cannot say --no-deps) and apt-get install libusb-1.0-0"),
    VendorDriver("kinect", "kinect", "pyk4a", "install Microsoft's Azure Kinect SDK (libk4a), then "
                 "pip install 'rigsync[kinect]'"),
    VendorDriver("zed", "zed", "pyzed.sl", "run StereoLabs' ZED SDK installer and its get_python_api.py "
                 "(the PyPI package named pyzed is unrelated: do not install it)"),
    VendorDriver("uvc", "uvc", "OpenCV (cv2)", "pip install opencv-python-headless"),
)}


def driver_factory(name: str) -> Callable[[RigSpec, Plan], Driver]:
    """The ``make_driver`` of a vendor driver; :class:`RigsyncError` naming the install if its SDK is missing."""
    vendor = VENDOR_DRIVERS.get(name)
    if vendor is None:
        raise RigsyncError(f"no driver named {name!r} (available: sim, {', '.join(VENDOR_DRIVERS)})")
    try:
        module = importlib.import_module(f"rigsync.drivers.{vendor.module}")
    except ModuleNotFoundError as err:
        if err.name is not None and err.name.startswith(f"rigsync.drivers.{vendor.module}"):
            raise RigsyncError(f"driver {name!r} is not part of this rigsync yet") from None
        raise RigsyncError(f"driver {name!r} needs {vendor.sdk}, which is not installed ({err}): "
                           f"{vendor.install}") from None
    except ImportError as err:
        raise RigsyncError(f"driver {name!r} needs {vendor.sdk}, which failed to load ({err}): "
                           f"{vendor.install}") from None
    factory: Callable[[RigSpec, Plan], Driver] = module.make_driver
    return factory
