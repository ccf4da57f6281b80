"""Which ToF cameras can interfere, found without comparing every pair of cameras.

Two cameras see the same volume when they see a common point of the scene's sampled central volume
(:data:`rigsync.core.geometry.SCENE_POINTS`, as the simulator decides it). Each camera's view is hashed to the bit
mask of the points it sees; cameras with the same mask form one class, and only classes are compared (a camera
that sees none of the volume is in no class). Two lasers overlap in time when a pulse of one overlaps a pulse of
the other: cameras with the same pulse windows form one class, and a sweep over the sorted pulses finds the
classes whose pulses meet. Counting pairs then multiplies class sizes, so a rig whose 2,000 ToF cameras all see
the centre costs thousands of operations, not millions; only the few pairs a diagnostic names are listed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterator, Mapping, Sequence

Windows = tuple[tuple[float, float], ...]
"""A camera's laser pulses, (start, end) in microseconds after its group's trigger."""


def mask_pairs(masks: Sequence[int]) -> Iterator[tuple[int, int]]:
    """Pairs ``(a, b)``, ``a <= b``, of positions in ``masks`` whose masks share a point (``a == b`` when the mask
    is not empty). Pass distinct masks: the cost is quadratic in their number, not in the number of cameras."""
    for a, ma in enumerate(masks):
        if not ma:
            continue
        for b in range(a, len(masks)):
            if ma & masks[b]:
                yield a, b


def overlapping_pairs(masks: Mapping[str, int]) -> Iterator[tuple[str, str]]:
    """Every pair of cameras (in ``masks``' order) that see a common point, each once."""
    order = {cam: i for i, cam in enumerate(masks)}
    classes: dict[int, list[str]] = defaultdict(list)
    for cam, mask in masks.items():
        if mask:
            classes[mask].append(cam)
    distinct = list(classes)
    for a, b in mask_pairs(distinct):
        ca, cb = classes[distinct[a]], classes[distinct[b]]
        if a == b:
            yield from ((x, y) for i, x in enumerate(ca) for y in ca[i + 1:])
        else:
            yield from ((x, y) if order[x] < order[y] else (y, x) for x in ca for y in cb)


def unrelated_partners(masks: Mapping[str, int], clocks: Mapping[str, Hashable | None]) -> dict[str, int]:
    """For each camera, how many others see a common point while on an unrelated clock: a different clock key,
    or no key at all (``None``: a camera on its own clock). Cameras with no such partner are left out."""
    by_mask: dict[int, Counter[Hashable | None]] = defaultdict(Counter)
    for cam, mask in masks.items():
        if mask:
            by_mask[mask][clocks.get(cam)] += 1
    distinct = list(by_mask)
    reach: dict[int, Counter[Hashable | None]] = {m: Counter() for m in distinct}
    for a, b in mask_pairs(distinct):
        reach[distinct[a]].update(by_mask[distinct[b]])
        if a != b:
            reach[distinct[b]].update(by_mask[distinct[a]])
    out = {}
    for cam, mask in masks.items():
        if not mask:
            continue
        near, key = reach[mask], clocks.get(cam)
        others = near.total() - (1 if key is None else near[key])
        if others:
            out[cam] = others
    return out


def meeting_windows(windows: Sequence[Windows]) -> dict[tuple[int, int], float]:
    """Pairs ``(a, b)``, ``a <= b``, of positions in ``windows`` whose pulses meet, with how long they are on
    together (``a == b``: a window with itself, for cameras that share it). A sweep over the sorted pulses: the
    cost grows with the pulses and the meetings, not with every pair of windows."""
    pulses = sorted((start, end, w) for w, ws in enumerate(windows) for start, end in ws)
    out: dict[tuple[int, int], float] = {}
    for w, ws in enumerate(windows):
        if ws:
            out[(w, w)] = sum(end - start for start, end in ws)
    active: list[tuple[float, int]] = []
    for start, end, w in pulses:
        active = [(e, x) for e, x in active if e > start]
        for e, x in active:
            if x != w:
                key = (x, w) if x < w else (w, x)
                out[key] = out.get(key, 0.0) + min(e, end) - start
        active.append((end, w))
    return out
