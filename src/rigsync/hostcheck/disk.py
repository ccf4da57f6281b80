"""Disk: free space of the output directory against the take's size, and its sequential write speed (measured by
a short timed write) against the rig's data rate.

The recorder stores each image uncompressed as a Foxglove RawImage in the stream's recorded encoding
(``rgb8``/``bgr8`` 3 bytes a pixel, ``16UC1`` 2, ``mono8`` 1: rigsync.record.schemas), so the raw rate is
``width x height x bytes x fps`` summed over every stream of the rig: a capture records every host's frames where
it runs. zstd (the default) writes less, how much less depends on the images (BENCHMARKS.md: 0.79 of the raw size
on noisy frames, about a quarter on the simulator's), so the check holds the disk to the raw rate.
"""

from __future__ import annotations

from rigsync.catalog import get_model
from rigsync.hostcheck.context import HostContext
from rigsync.hostcheck.finding import Finding, Status
from rigsync.record.schemas import PIXEL_FORMATS

ANCHOR = "#disk"
SPACE_MARGIN = 1.2
"""Free space wanted: the take's raw size plus 20 % (metadata, a longer take than planned)."""
SPEED_MARGIN = 1.5
"""Write speed wanted: the raw rate plus 50 % (the disk also serves other writers; speeds vary along a disk)."""
WRITE_SECONDS = 2.0
"""The timed write lasts about this long at the rig's rate ..."""
WRITE_MIN_BYTES = 64 << 20
WRITE_MAX_BYTES = 256 << 20
"""... within these bounds (a short write: page cache and fsync included, a measurement of minutes is not)."""
_ITEM_BYTES = {"u1": 1, "<u2": 2, "<f4": 4}


def rate_bytes_s(ctx: HostContext) -> float:
    """Raw bytes per second the capture records for the whole rig."""
    total = 0.0
    for d in ctx.plan.rig.devices:
        model = get_model(d.model)
        for s in d.streams:
            fmt = model.pixel_format(s.pixel_format)
            pf = PIXEL_FORMATS.get(fmt.encoding) if fmt is not None else None
            per_pixel = pf.channels * _ITEM_BYTES.get(pf.dtype, 1) if pf is not None else 3
            total += s.width * s.height * per_pixel * s.fps
    return total


def write_bytes(rate: float) -> int:
    return int(min(WRITE_MAX_BYTES, max(WRITE_MIN_BYTES, WRITE_SECONDS * rate)))


def _space(ctx: HostContext, rate: float) -> Finding:
    need = rate * ctx.seconds
    wanted = (f">= {need * SPACE_MARGIN / 1e9:.1f} GB: {rate / 1e6:.0f} MB/s raw x {ctx.seconds:g} s "
              f"= {need / 1e9:.1f} GB, plus {100 * (SPACE_MARGIN - 1):.0f} %")
    space = ctx.probe.disk_space(ctx.out_dir)
    fix = (f"free space on the disk of {ctx.out_dir}, record to another disk (--out), a shorter take (--duration), "
           "or fewer/smaller streams")
    if space is None:
        return ctx.finding("disk-space", Status.FAIL, f"{ctx.out_dir} does not exist", wanted,
                           f"mkdir -p {ctx.out_dir}, or give another --out", subject=ctx.out_dir, anchor=ANCHOR)
    seen = f"{space.free_bytes / 1e9:.1f} GB free of {space.total_bytes / 1e9:.1f} GB"
    if space.free_bytes < need:
        full = f"{seen}: full after {space.free_bytes / rate:.0f} s of the {ctx.seconds:g} s take"
        return ctx.finding("disk-space", Status.FAIL, full, wanted, fix, subject=ctx.out_dir, anchor=ANCHOR)
    status = Status.WARN if space.free_bytes < need * SPACE_MARGIN else Status.PASS
    return ctx.finding("disk-space", status, seen, wanted, fix if status is Status.WARN else "", subject=ctx.out_dir,
                       anchor=ANCHOR)


def _speed(ctx: HostContext, rate: float) -> Finding:
    nbytes = write_bytes(rate)
    wanted = f">= {rate * SPEED_MARGIN / 1e6:.0f} MB/s: the raw rate {rate / 1e6:.0f} MB/s plus 50 %"
    seconds = ctx.probe.timed_write(ctx.out_dir, nbytes)
    if seconds is None:
        return ctx.finding("disk-write", Status.FAIL, f"cannot write a test file in {ctx.out_dir}", wanted,
                           f"make {ctx.out_dir} writable (`ls -ld {ctx.out_dir}`), or give another --out",
                           subject=ctx.out_dir, anchor=ANCHOR)
    speed = nbytes / max(seconds, 1e-9)
    seen = f"{speed / 1e6:.0f} MB/s, measured by writing {nbytes / 1e6:.0f} MB (fsync included) in {seconds:.3f} s"
    fix = ("record to a faster disk (an NVMe SSD) with --out, keep compression on (--compression zstd writes fewer "
           "bytes), or lower the rig's rate")
    if speed < rate:
        return ctx.finding("disk-write", Status.FAIL, seen, wanted, fix, subject=ctx.out_dir, anchor=ANCHOR)
    status = Status.WARN if speed < rate * SPEED_MARGIN else Status.PASS
    return ctx.finding("disk-write", status, seen, wanted, fix if status is Status.WARN else "", subject=ctx.out_dir,
                       anchor=ANCHOR)


def check(ctx: HostContext) -> list[Finding]:
    rate = rate_bytes_s(ctx)
    if rate <= 0:
        return []
    space = _space(ctx, rate)
    if space.status is Status.FAIL and "does not exist" in space.seen:
        return [space]
    return [space, _speed(ctx, rate)]
