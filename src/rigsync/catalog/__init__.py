"""The camera catalog: what each supported camera model can do, as frozen data.

One module per vendor (``stereolabs``, ``azure_kinect``, ``orbbec``, ``realsense``, ``gige``, ``uvc``) exposes
``MODELS: tuple[CameraModel, ...]``; this package gathers them into one registry keyed by the rig-file model
name (``azure-kinect-dk``, ``zed-x``, ``realsense-d435``...). Each :class:`~rigsync.catalog.base.CameraModel`
holds the facts the rig-file loader checks, the simulator models and the planner's rules use: stream modes with
native frame rates and pixel formats, shutters, depth technology and ToF laser timing, the timestamp clock and
its semantics, sync methods, roles in the vendor's own terms, sync ports with signal levels, topologies and their
limits, field of view, readout, exposure range and host resources (GPU memory, usbfs memory).

Every fact cites its source in ``sources`` (a seed document in ``shared/seeds`` or vendor documentation); values
the sources do not give are modelling assumptions, each stated in the model's ``notes``. Nothing here does I/O.
"""

from __future__ import annotations

from rigsync.catalog import azure_kinect, gige, orbbec, realsense, stereolabs, uvc
from rigsync.catalog.base import CameraModel
from rigsync.core.errors import RigsyncError

__all__ = ["UnknownModelError", "all_models", "get_model", "model_keys"]


class UnknownModelError(RigsyncError, KeyError):
    """No camera model has this key; the message lists the valid keys."""

    def __init__(self, key: str, valid: tuple[str, ...]) -> None:
        self.key = key
        self.valid = valid
        super().__init__(f"unknown camera model {key!r} (valid: {', '.join(valid)})")

    def __str__(self) -> str:
        # KeyError would repr() its argument; show the message as written.
        return str(self.args[0])


def _collect() -> tuple[CameraModel, ...]:
    models = (
        *stereolabs.MODELS,
        *azure_kinect.MODELS,
        *orbbec.MODELS,
        *realsense.MODELS,
        *gige.MODELS,
        *uvc.MODELS,
    )
    seen: set[str] = set()
    for model in models:
        if model.key in seen:
            raise ValueError(f"camera model key {model.key!r} is defined twice in the catalog")
        seen.add(model.key)
    return models


_MODELS: tuple[CameraModel, ...] = _collect()
_BY_KEY: dict[str, CameraModel] = {m.key: m for m in _MODELS}


def all_models() -> tuple[CameraModel, ...]:
    """Every catalogued model, grouped by vendor."""
    return _MODELS


def model_keys() -> tuple[str, ...]:
    """The rig-file names of every catalogued model, in catalogue order."""
    return tuple(m.key for m in _MODELS)


def get_model(key: str) -> CameraModel:
    """The model named ``key``; :class:`UnknownModelError` (a ``KeyError``) listing the valid keys otherwise."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise UnknownModelError(key, model_keys()) from None
