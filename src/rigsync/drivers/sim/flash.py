"""Flashes in the simulated scene (``[sim] flashes``): a photo flash or an LED blink lighting the whole scene.

Each colour or IR pixel integrates the flash's light over its own exposure window: a global-shutter frame has
one window, ``[exposure_start_ns, exposure_end_ns]``; a rolling-shutter frame one per image row, row ``y``'s
starting ``y * line_ns`` after row 0's (``rigsync.catalog.rows.line_ns``: the readout time / the image's height;
``exposure_start_ns`` in the truth is row 0's). A pixel whose window holds all of a flash gains the flash's
``gain`` grey levels (of 255; a 16-bit image 257 times as many), one holding a fraction of it that fraction
(the light is constant while the flash lasts), clipped at full scale. Depth is not affected.

Times are true time, integer nanoseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from rigsync.spec.model import SimFlashSpec

__all__ = ["FlashLight"]


class FlashLight:
    """The rig's flashes, on the simulation's true timeline (``epoch_ns`` = true time 0 of ``at_s``)."""

    def __init__(self, flashes: Sequence[SimFlashSpec], epoch_ns: int) -> None:
        self._flashes = [(epoch_ns + round(f.at_s * 1e9), round(f.duration_us * 1000), f.gain) for f in flashes]

    def __bool__(self) -> bool:
        return bool(self._flashes)

    def row_gain(self, exposure_start_ns: int, exposure_end_ns: int, line_ns: float,
                 height: int) -> npt.NDArray[np.float64] | None:
        """Grey levels (of 255) each row gains from the flashes, or None when no row's window sees one."""
        last_row_end = exposure_end_ns + line_ns * (height - 1)
        lit = [f for f in self._flashes if f[0] < last_row_end and f[0] + f[1] > exposure_start_ns]
        if not lit:
            return None
        row_start = exposure_start_ns + line_ns * np.arange(height, dtype=np.float64)
        row_end = row_start + (exposure_end_ns - exposure_start_ns)
        gain = np.zeros(height)
        for start, duration, levels in lit:
            overlap = np.minimum(row_end, start + duration) - np.maximum(row_start, start)
            gain += levels * np.clip(overlap, 0.0, None) / duration
        return gain if gain.any() else None

    def light(self, image: npt.NDArray[Any], exposure_start_ns: int, exposure_end_ns: int,
              line_ns: float) -> npt.NDArray[Any]:
        """``image`` (a colour or IR frame) with the flashes' light added: a new array if any row saw a flash,
        else ``image`` itself. An alpha channel is left as it is."""
        gain = self.row_gain(exposure_start_ns, exposure_end_ns, line_ns, image.shape[0])
        if gain is None:
            return image
        full = float(np.iinfo(image.dtype).max)
        add = gain * (full / 255.0)
        out = image.copy()
        colour = out[:, :, :3] if out.ndim == 3 else out
        shape = (-1,) + (1,) * (colour.ndim - 1)
        colour[...] = np.clip(np.rint(colour + add.reshape(shape)), 0.0, full).astype(image.dtype)
        return out
