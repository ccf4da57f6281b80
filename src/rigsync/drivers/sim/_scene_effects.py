"""Image damage the simulator can apply to a rendered frame: ToF interference and USB transport corruption.

Both modify the image in place, draw every random choice from the caller's generator (so a given generator
state gives the same damage), and cost little: the heavy random fields are drawn once per renderer into a
seeded pool and only sliced per frame.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]

GREEN_RGB = (0, 135, 0)
"""A zeroed YUV buffer decoded as RGB: the classic "green frame"."""
PURPLE_RGB = (215, 40, 215)
"""A saturated-chroma YUV buffer decoded as RGB: the "purple frame"."""


def interference_pool(seed: int, height: int, width: int) -> F32:
    """Relative depth error field (2H x 2W): value ``e`` turns depth ``d`` into ``d * (1 + e)``.

    Mostly small multipath noise, with dropouts (``e = -1``: no return) and flying pixels (large errors),
    the way overlapping ToF laser windows corrupt a frame.
    """
    rng = np.random.default_rng([seed, 0x70F, height, width])
    shape = (2 * height, 2 * width)
    err = rng.normal(0.0, 0.04, shape)
    kind = rng.random(shape)
    err = np.where(kind < 0.10, -1.0, err)
    flying = rng.uniform(-0.6, 0.8, shape)
    err = np.where((kind >= 0.10) & (kind < 0.18), flying, err)
    return err.astype(np.float32)


def _bands(rng: np.random.Generator, height: int) -> list[tuple[int, int]]:
    """A few horizontal bursts of rows covering (with overlaps) roughly a third to most of the image."""
    out = []
    for _ in range(int(rng.integers(2, 5))):
        h = int(rng.integers(max(1, height // 8), max(2, height // 3)))
        start = int(rng.integers(0, max(1, height - h)))
        out.append((start, start + h))
    return out


def interfere(image: npt.NDArray[np.integer[Any]], pool: F32, rng: np.random.Generator) -> None:
    """ToF multi-camera interference on a depth (16UC1) or IR amplitude image, in place.

    Bursts of rows get multipath noise, dropouts and flying pixels; depth pixels with no return stay 0.
    """
    height, width = image.shape[:2]
    top = np.iinfo(image.dtype).max
    for start, stop in _bands(rng, height):
        r0 = int(rng.integers(0, pool.shape[0] - (stop - start) + 1))
        c0 = int(rng.integers(0, pool.shape[1] - width + 1))
        err = pool[r0 : r0 + stop - start, c0 : c0 + width]
        band = image[start:stop].astype(np.float32)
        band *= 1.0 + err
        image[start:stop] = np.clip(band, 0, top).astype(image.dtype)


def corrupt(image: npt.NDArray[np.generic], colour: tuple[int, ...] | None, rng: np.random.Generator) -> None:
    """USB transport damage (controller over budget), in place: tearing plus a green or purple band.

    Rows from a random line down are torn (shifted sideways, as when the stream resynchronises mid-frame);
    a band of rows is then filled the way a lost payload decodes: ``colour`` is the per-channel fill in the
    image's channel order (green or purple picked by ``rng``), or None for depth/IR (filled with 0).
    """
    height, width = image.shape[:2]
    tear = int(rng.integers(height // 8, height - height // 8))
    shift = int(rng.integers(width // 8, width // 2))
    image[tear:] = np.roll(image[tear:], shift, axis=1)
    band = int(rng.integers(height // 10, height // 2))
    start = int(rng.integers(0, height - band))
    if colour is None:
        image[start : start + band] = 0
    else:
        image[start : start + band] = np.asarray(colour, dtype=image.dtype)
