"""Verify sync from a flash every camera saw (``rigsync verify REC.mcap --flash``): for rigs without an LED
clock board, a photo flash or an LED blink filmed by all cameras.

Each colour and IR stream is searched for flashes (``rigsync.verify._flash_detect``: the rows or frames
that brighten, placed in time from the rolling-shutter rows or the global-shutter fractions, each with the
uncertainty its method claims). A flash's **instant** as a stream saw it is the centre of the light pulse in
rig time: the onset frame's stamp plus where the image puts the pulse after that frame's start of exposure.
The sightings of all streams within ``FLASH_GAP_NS`` of each other are one flash. Per flash:

- ``FLASH-SEEN``: which streams placed it, and every stream that did not, with the reason (its frames were
  missing or damaged around the flash, none of its exposures held the flash or the flash was out of its
  view, it was not recording then);
- ``FLASH-INSTANT`` per sync group and for the whole rig: the spread (max - min) of the instants, which is
  how far the cameras' stamps disagree about one event (it would be 0 if every stamp told the truth);
- ``FLASH-SKEW`` per hardware / Genlock / PTP group: the spread of the flash's position after each onset
  frame's start of exposure (declared delays removed), measured from the images alone: how far apart the
  cameras exposed. A camera a frame behind its group is a frame interval off.

Each figure is judged with its uncertainty u (the two extreme sightings' claims added): pass when
spread + u <= the limit, fail when spread - u > it, warn (inconclusive) in between. A failure names the
devices whose instants lie farthest from the others (those left out to bring the spread within the limit).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from rigsync.catalog import get_model
from rigsync.catalog.rows import line_ns
from rigsync.core.frame import StreamKind
from rigsync.core.sync import SyncMethod
from rigsync.plan.model import Plan
from rigsync.record.reader import FrameStamp, Recording
from rigsync.spec.model import DeviceSpec, StreamSpec
from rigsync.verify._flash_detect import FlashDetector, FrameImage, Miss, Sighting, grey
from rigsync.verify.limits import VerifyLimits
from rigsync.verify.load import rig_plan
from rigsync.verify.result import Check, Plot, Section, Series, Status

__all__ = ["FLASH_GAP_NS", "Flash", "FlashMeasurement", "FlashStream", "ImageSkewLimit", "flash_section",
           "image_skew_limit", "judge_spread", "measure_flashes", "verify_flash"]

FLASH_GAP_NS = 100_000_000
"""Sightings further apart than this are different flashes (flashes must be at least twice this apart)."""
IMAGE_ENCODINGS_SKIPPED = ("16UC1", "32FC1")
"""Depth images: a flash does not show in them."""
EXPOSE_TOGETHER = (SyncMethod.HARDWARE, SyncMethod.GENLOCK, SyncMethod.PTP)
"""Sync methods whose cameras expose together (their exposure skew is judged)."""


ImageSkewLimit = Callable[[str | None], float]
"""The image-skew limit in microseconds of a sync group (None: the whole rig), e.g. :func:`image_skew_limit`."""


def image_skew_limit(limits: VerifyLimits) -> ImageSkewLimit:
    """A group's ``max_image_skew_us``; the rig's is the loosest of its groups' (they hold different cameras)."""
    return lambda group: (limits.group(group).max_image_skew_us if group is not None
                          else max(g.max_image_skew_us for g in limits.groups))


@dataclass(frozen=True, slots=True)
class FlashStream:
    """A colour or IR stream searched for flashes."""

    key: str
    """``<device>/<stream>``."""
    device: str
    stream: str
    group: str | None
    synced_group: bool
    """In a group whose cameras expose together (hardware, Genlock, PTP)."""
    declared_offset_ns: int
    period_ns: int
    line_ns: float


@dataclass(frozen=True, slots=True)
class Flash:
    """One flash: where each stream placed it, and why the others did not."""

    index: int
    """1, 2, ... in time order."""
    instant_ns: int
    """Rig time: the median of the instants seen (of the frames near it when no stream placed it)."""
    seen: dict[str, Sighting]
    """By ``<device>/<stream>``."""
    missed: dict[str, str]
    """Every other stream searched, with the reason."""


@dataclass(frozen=True, slots=True)
class FlashMeasurement:
    """What the images of a recording say about its flashes."""

    streams: tuple[FlashStream, ...]
    """Every colour and IR stream searched."""
    flashes: tuple[Flash, ...]
    """Each flash found, with each stream's sighting or the reason it has none."""
    start_ns: int
    """Rig time of the recording's start (the plots' zero)."""


def measure_flashes(rec: Recording, plan: Plan | None = None) -> FlashMeasurement:
    """Search every colour and IR stream of ``rec`` for flashes and place each in time (``plan``: the rig's, else
    the one the recording embeds)."""
    plan = plan if plan is not None else rig_plan(rec)
    rig = plan.rig
    stamps: dict[str, list[FrameStamp]] = defaultdict(list)
    for s in rec.frames():
        stamps[f"{s.device}/{s.stream}"].append(s)
    streams: list[FlashStream] = []
    for info in rec.streams:
        device = rig.device(info.device)
        spec = device.stream(info.stream)
        if spec.kind is StreamKind.DEPTH or info.encoding in IMAGE_ENCODINGS_SKIPPED:
            continue
        key = f"{info.device}/{info.stream}"
        group, together, delay_ns = _sync(plan, device, spec)
        streams.append(FlashStream(key, info.device, info.stream, group, together, delay_ns,
                                   _period_ns(stamps[key], spec), line_ns(get_model(device.model), spec.kind,
                                                                          info.height)))
    found = _detect(rec, streams, stamps)
    return FlashMeasurement(tuple(streams), tuple(_flashes(found, streams, stamps)), _recording_start(rec, stamps))


def _sync(plan: Plan, device: DeviceSpec, spec: StreamSpec) -> tuple[str | None, bool, int]:
    """The stream's sync group (None if it is aligned by timestamp only), whether that group's cameras
    expose together, and the capture delay the plan declares for it (as the aligner removes it)."""
    dp = plan.device(device.id)
    if dp.group is None or spec.name not in dp.synced_streams:
        return None, False, 0
    delay_ns = dp.delay_ns + (dp.depth_delay_ns if spec.kind is not StreamKind.COLOR else 0)
    return dp.group, plan.group(dp.group).method in EXPOSE_TOGETHER, delay_ns


def _period_ns(stamps: list[FrameStamp], spec: StreamSpec) -> int:
    """The stream's frame interval as recorded (median step between consecutive frames), else its rate's."""
    steps = [b.rig_time_ns - a.rig_time_ns for a, b in itertools.pairwise(stamps) if b.seq == a.seq + 1]
    return int(np.median(steps)) if steps else spec.period_ns


def verify_flash(rec: Recording, limits: VerifyLimits, plan: Plan | None = None) -> Section:
    """Find every flash in the recording's colour and IR images and judge the cameras by it."""
    return flash_section(measure_flashes(rec, plan), image_skew_limit(limits))


def flash_section(measured: FlashMeasurement, limit_us: ImageSkewLimit) -> Section:
    """The checks, plot and facts of what :func:`measure_flashes` found, against each group's ``limit_us``."""
    streams, flashes, start_ns = list(measured.streams), list(measured.flashes), measured.start_ns
    checks: list[Check] = []
    for flash in flashes:
        checks.append(_seen_check(flash, streams, start_ns))
    if not flashes:
        checks.append(Check("FLASH-SEEN", "flash seen by every camera", "rig", Status.SKIP, 0, None, "flashes",
                            "no flash found in any colour or IR stream", _SEEN_METHOD))
    else:
        for group in [*sorted({s.group for s in streams if s.group is not None}), None]:
            members = [s for s in streams if group is None or s.group == group]
            limit_ns = limit_us(group) * 1000
            checks.append(_spread_check("FLASH-INSTANT", group, members, flashes, limit_ns, skew=False))
            if group is not None and all(s.synced_group for s in members):
                checks.append(_spread_check("FLASH-SKEW", group, members, flashes, limit_ns, skew=True))
    facts = [("flashes found", str(len(flashes))),
             ("streams searched", str(len(streams)))]
    facts += [(f"{s.key} method", f"rolling shutter, line time {s.line_ns / 1000:.2f} us" if s.line_ns
               else "global shutter") for s in streams]
    return Section("flash", tuple(checks), (_instants_plot(flashes, streams, start_ns),) if flashes else (),
                   tuple(facts))


def _detect(rec: Recording, streams: list[FlashStream],
            stamps: dict[str, list[FrameStamp]]) -> dict[str, tuple[list[Sighting], list[Miss]]]:
    """Each stream's sightings and misses, from one pass over the recording's images."""
    detectors = {s.key: FlashDetector(s.line_ns, s.period_ns) for s in streams}
    by_seq = {s.key: {f.seq: f for f in stamps.get(s.key, [])} for s in streams}
    for image in rec.images_of((s.device, s.stream) for s in streams):
        key = f"{image.device}/{image.stream}"
        stamp = by_seq[key].get(image.seq)
        usable = stamp is not None and "corrupt" not in stamp.flags
        detectors[key].add(FrameImage(image.seq, image.rig_time_ns,
                                      stamp.exposure_ns if stamp is not None else None, grey(image.image), usable))
    return {key: detector.finish() for key, detector in detectors.items()}


def _flashes(found: dict[str, tuple[list[Sighting], list[Miss]]], streams: list[FlashStream],
             stamps: dict[str, list[FrameStamp]]) -> list[Flash]:
    """Group every stream's sightings and misses into flashes, and give each stream that has neither a reason."""
    events: list[tuple[int, str, Sighting | Miss]] = []
    for key, (sightings, misses) in found.items():
        events += [(s.instant_rig_ns, key, s) for s in sightings]
        events += [(m.near_rig_ns, key, m) for m in misses]
    events.sort(key=lambda e: e[0])
    clusters: list[list[tuple[int, str, Sighting | Miss]]] = []
    for event in events:
        if clusters and event[0] - clusters[-1][-1][0] <= FLASH_GAP_NS:
            clusters[-1].append(event)
        else:
            clusters.append([event])
    flashes: list[Flash] = []
    for cluster in clusters:
        seen: dict[str, Sighting] = {}
        missed: dict[str, str] = {}
        for _, key, what in cluster:
            if isinstance(what, Sighting):
                seen.setdefault(key, what)
            else:
                missed.setdefault(key, what.reason)
        instant = int(np.median([s.instant_rig_ns for s in seen.values()] if seen else [e[0] for e in cluster]))
        for s in streams:
            if s.key not in seen and s.key not in missed:
                missed[s.key] = _why_unseen(stamps.get(s.key, []), instant, s.period_ns)
        for key in list(missed):
            if key in seen:
                del missed[key]
        flashes.append(Flash(len(flashes) + 1, instant, seen, missed))
    return flashes


def _why_unseen(stamps: list[FrameStamp], instant_ns: int, period_ns: int) -> str:
    times = [s.rig_time_ns for s in stamps]
    if not times or instant_ns < times[0] or instant_ns > times[-1] + period_ns:
        return "not recording at the flash"
    near = [s for s in stamps if abs(s.rig_time_ns - instant_ns) <= 2 * period_ns]
    if len(near) < 3:
        return "frames missing around the flash"
    if any("corrupt" in s.flags for s in near):
        return "frames damaged around the flash"
    return "no frame brightened: the flash fell between its exposures, or was out of its view"


_SEEN_METHOD = ("Each colour and IR stream is searched for a run of frames whose image rows brighten well "
                "above the previous frame's (per row: the median rise over the unclipped pixels); a stream "
                "that saw no flash there is named with the reason its frames show.")


def _seen_check(flash: Flash, streams: list[FlashStream], start_ns: int) -> Check:
    at_s = (flash.instant_ns - start_ns) / 1e9
    missed = sorted(flash.missed.items())
    detail = f"{len(flash.seen)} of {len(streams)} streams placed flash {flash.index} at {at_s:.3f} s"
    if missed:
        detail += "; not placed: " + "; ".join(f"{k} ({why})" for k, why in missed)
    devices = tuple(sorted({k.split("/")[0] for k, _ in missed}))
    return Check("FLASH-SEEN", "flash seen by every camera", f"flash {flash.index}",
                 Status.WARN if missed else Status.PASS, len(flash.seen), len(streams), "streams", detail,
                 _SEEN_METHOD, devices)


_INSTANT_METHOD = ("The flash's centre in rig time as each stream saw it (the onset frame's stamp plus the "
                   "pulse's place in the image: rolling shutter from the half-peak rows of the lit band's "
                   "edges, within one line time; global shutter from the fractions of the pulse in its first "
                   "and last frames, or at frame level); spread = max - min over the streams, judged with the "
                   "two extreme streams' uncertainties added: pass if spread + u <= limit, fail if "
                   "spread - u > limit, warn otherwise.")
_SKEW_METHOD = ("The flash's centre after each onset frame's start of exposure, measured from the image alone, "
                "plus the stream's declared delay: its spread over the group is how far apart the cameras "
                "exposed (a camera a frame behind is a frame interval off); judged as the instants are.")


def _spread_check(check_id: str, group: str | None, members: list[FlashStream], flashes: list[Flash],
                  limit_ns: float, *, skew: bool) -> Check:
    subject = f"group {group}" if group is not None else "rig"
    title = ("exposure skew between cameras (from the flash)" if skew
             else "cameras' stamps agree on the flash instant")
    worst: tuple[int, float, float, int, tuple[str, ...]] | None = None  # status rank, spread, u, flash, names
    for flash in flashes:
        values: dict[str, tuple[int, int]] = {}
        for s in members:
            seen = flash.seen.get(s.key)
            if seen is not None:
                value = seen.offset_ns + s.declared_offset_ns if skew else seen.instant_rig_ns
                values[s.key] = (value, seen.uncertainty_ns)
        if len(values) < 2:
            continue
        status, spread, unc, names = judge_spread(values, limit_ns)
        rank = (Status.PASS, Status.WARN, Status.FAIL).index(status)
        candidate = (rank, spread, unc, flash.index, names)
        if worst is None or candidate[:2] > worst[:2]:
            worst = candidate
    method = _SKEW_METHOD if skew else _INSTANT_METHOD
    limit_us = limit_ns / 1000
    if worst is None:
        return Check(check_id, title, subject, Status.SKIP, None, limit_us, "us",
                     "fewer than two streams placed any flash", method)
    rank, spread, unc, index, names = worst
    status = (Status.PASS, Status.WARN, Status.FAIL)[rank]
    detail = f"flash {index}: spread {spread / 1000:.1f} us +- {unc / 1000:.1f} us"
    if rank == 1:
        detail += " (inconclusive: the methods' uncertainty straddles the limit)"
    if names:
        detail += f"; farthest from the others: {', '.join(names)}"
    devices = tuple(sorted({n.split("/")[0] for n in names}))
    return Check(check_id, title, subject, status, spread / 1000, limit_us, "us", detail, method, devices)


def judge_spread(values: dict[str, tuple[int, int]], limit_ns: float) -> tuple[Status, float, float, tuple[str, ...]]:
    """Judge ``{stream: (value_ns, uncertainty_ns)}`` against ``limit_ns``: the status, the spread (max - min),
    its uncertainty (the two extremes' added) and, unless it passes, the streams farthest from the others
    (left out one by one, farthest from the median first, until the rest cannot exceed the limit)."""
    spread, unc = _spread(values)
    if spread + unc <= limit_ns:
        return Status.PASS, spread, unc, ()
    return (Status.FAIL if spread - unc > limit_ns else Status.WARN), spread, unc, _outliers(values, limit_ns)


def _spread(values: dict[str, tuple[int, int]]) -> tuple[float, float]:
    """Spread (max - min) and its uncertainty (the two extremes' added)."""
    hi = max(values.values())
    lo = min(values.values())
    return float(hi[0] - lo[0]), float(hi[1] + lo[1])


def _outliers(values: dict[str, tuple[int, int]], limit_ns: float) -> tuple[str, ...]:
    """The streams farthest from the median, left out one by one until the rest are within the limit."""
    left = dict(values)
    out: list[str] = []
    while len(left) > 1:
        spread, unc = _spread(left)
        if spread - unc <= limit_ns:
            break
        med = float(np.median([v for v, _ in left.values()]))
        key = max(left, key=lambda k: abs(left[k][0] - med))
        out.append(key)
        del left[key]
    return tuple(out)


def _instants_plot(flashes: list[Flash], streams: list[FlashStream], start_ns: int) -> Plot:
    series = []
    for s in streams:
        points = [((f.instant_ns - start_ns) / 1e9, (f.seen[s.key].instant_rig_ns - f.instant_ns) / 1000)
                  for f in flashes if s.key in f.seen]
        if points:
            series.append(Series(s.key, tuple(p[0] for p in points), tuple(p[1] for p in points)))
    return Plot("flash-instants", "Each camera's flash instant, against the flash's median", "points",
                "flash (s since the recording's start)", "instant - median (us)", tuple(series), _INSTANT_METHOD)


def _recording_start(rec: Recording, stamps: dict[str, list[FrameStamp]]) -> int:
    value = rec.metadata.get("rigsync.stats", {}).get("recording_start_rig_ns")
    if value is not None:
        try:
            return int(value)
        except ValueError:
            pass
    firsts: Iterable[int] = (s[0].rig_time_ns for s in stamps.values() if s)
    return min(firsts, default=0)
