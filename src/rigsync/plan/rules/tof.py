"""ToF laser interference (seeds/001): cameras that see the same volume must fire their lasers apart, and only
cameras triggered by one group can be set apart. Pairs are found through :mod:`rigsync.plan.overlap` (never
every pair of cameras) and reported once per group: how many pairs, how many devices, and the worst pairs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterator
from itertools import islice

from rigsync.plan.model import Role, Severity
from rigsync.plan.overlap import Windows, meeting_windows, overlapping_pairs, unrelated_partners
from rigsync.plan.rules._base import K4A, Context, Finding, rule

SHOWN = 3
"""Pairs a diagnostic names (the worst first)."""
INTERFERENCE_FIX = ("offset their depth captures by 160 us or more (delay_us / depth_delay_us), or aim them at "
                    "different volumes")


def _pairs_text(pairs: list[str], total: int) -> str:
    return ", ".join(pairs) + (", ..." if total > len(pairs) else "")


@rule("TOF-INTERFERENCE", Severity.ERROR, f"{K4A} (Avoiding interference between multiple depth cameras)",
      "ToF cameras that see the same volume fire their lasers at the same time")
def tof_interference(ctx: Context) -> Iterator[Finding]:
    by_group: dict[str, dict[str, Windows]] = defaultdict(dict)
    starts: dict[str, float] = {}
    for w in ctx.plan.depth_windows:
        group = ctx.dp(w.device).group or ""
        by_group[group][w.device] = by_group[group].get(w.device, ()) + w.pulse_windows_us
        starts[w.device] = min(starts.get(w.device, w.start_us), w.start_us)
    masks = ctx.tof_views
    order = {d: i for i, d in enumerate(ctx.plan.index.devices)}
    for group, signature in by_group.items():
        distinct = list(dict.fromkeys(signature.values()))
        position = {s: i for i, s in enumerate(distinct)}
        classes: dict[int, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
        for device, s in signature.items():
            if masks.get(device):
                classes[position[s]][masks[device]].append(device)
        count, involved = 0, set()
        worst: list[tuple[float, float, str, str]] = []
        for (a, b), on_us in meeting_windows(distinct).items():
            for ma, da in classes[a].items():
                for mb, db in classes[b].items():
                    if not ma & mb or (a == b and ma > mb):
                        continue  # a window class with itself: each pair of masks once
                    same = a == b and ma == mb
                    n = len(da) * (len(da) - 1) // 2 if same else len(da) * len(db)
                    if n:
                        count += n
                        involved.update({(a, ma), (b, mb)})
                        x, y = sorted((da[0], da[1]) if same else (da[0], db[0]), key=order.__getitem__)
                        worst.append((-on_us, abs(starts[x] - starts[y]), x, y))
        if not count:
            continue
        devices = tuple(sorted((d for a, m in involved for d in classes[a][m]), key=order.__getitem__))
        worst.sort()
        if count == 1:
            _, apart, x, y = worst[0]
            yield Finding((x, y), f"{x} and {y} see the same volume and their depth captures start {apart:g} us "
                                  "apart: their lasers overlap", INTERFERENCE_FIX)
            continue
        named = [f"{x}-{y} ({apart:g} us apart, lasers on together {-on:g} us)" for on, apart, x, y in worst[:SHOWN]]
        yield Finding(devices, f"{count:,} overlapping pairs in {len(devices):,} devices of group {group} see the same "
                               f"volume and fire their lasers together; worst: {_pairs_text(named, count)}",
                      INTERFERENCE_FIX)


@rule("TOF-FREE-RUNNING", Severity.WARNING, K4A, "ToF cameras that see the same volume are not in one sync group")
def tof_free_running(ctx: Context) -> Iterator[Finding]:
    masks = ctx.tof_views
    clocks: dict[str, Hashable | None] = {}
    for device in masks:
        dp = ctx.dp(device)
        clocks[device] = dp.group if dp.group is not None and dp.role is not Role.SOFTWARE else None
    partners = unrelated_partners(masks, clocks)
    if not partners:
        return
    count = sum(partners.values()) // 2
    unrelated = ((a, b) for a, b in overlapping_pairs(masks) if clocks[a] is None or clocks[a] != clocks[b])
    examples = list(islice(unrelated, SHOWN))
    fix = "trigger them in one hardware group with depth captures 160 us apart"
    if count == 1:
        a, b = examples[0]
        yield Finding((a, b), f"{a} and {b} see the same volume on unrelated clocks: their lasers will collide from "
                              "time to time (interfered depth frames)", fix)
        return
    devices = tuple(d for d in masks if d in partners)
    named = [f"{a}-{b}" for a, b in examples]
    yield Finding(devices, f"{count:,} overlapping pairs in {len(devices):,} devices see the same volume on unrelated "
                           "clocks: their lasers will collide from time to time (interfered depth frames); e.g. "
                           f"{_pairs_text(named, count)}", fix)
