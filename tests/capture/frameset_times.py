"""A frameset's ``rig_time_ns`` and ``spread_ns`` recomputed from its members' stamps and the rig file's declared
delays, exactly as docs/recording.md ("Frameset times") defines them, read with the plain ``mcap`` library."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from mcap.reader import make_reader

from rigsync.plan import build_plan
from rigsync.spec.loader import loads_rig
from rigsync.timebase.steps import StepSchedule


def declared_offsets_ns(rig_toml: str) -> dict[tuple[str, str], int]:
    """Per (device, stream) the doc's declared offset: for a stream its sync group times (``rigsync plan``'s synced
    streams) the member's ``delay_us`` + its index in the group's ``members`` x the group's ``stagger_us``, plus the
    member's ``depth_delay_us`` if the stream is not colour, in ns (rounded once); 0 for any other stream."""
    rig = loads_rig(rig_toml)
    plan = build_plan(rig)
    offsets = {(d.id, s.name): 0 for d in rig.devices for s in d.streams}
    for group in rig.sync_groups:
        for index, member in enumerate(group.members):
            device = rig.device(member.device)
            for s in device.streams:
                if s.name in plan.device(device.id).synced_streams:
                    depth = member.depth_delay_us if s.kind.value != "color" else 0.0
                    offsets[(device.id, s.name)] = round((member.delay_us + index * group.stagger_us + depth) * 1000)
    return offsets


@dataclass
class FramesetTimes:
    offsets: dict[tuple[str, str], int]
    """The declared offsets (:func:`declared_offsets_ns`)."""
    checked: int
    """Framesets recomputed (a set that left a frame out as ``corrupt`` is not: its centre counts that frame)."""
    skipped: int
    problems: list[str]
    moved_by_offsets: int
    """Sets whose recorded values differ from what the members' plain stamps (offsets ignored) would give."""
    moved_by_steps: int
    """Sets whose ``rig_time_ns`` differs from the midpoint taken on rig time (a step of the reference slewing)."""


def frameset_times(path: Path) -> FramesetTimes:
    """Each frameset's ``rig_time_ns`` = rig(floor((lo + hi) / 2)) with lo, hi the least and greatest of its members'
    base(``rig_time_ns``) - offset (base and rig: the last ``/rigsync/steps`` schedule; without one, identities), and
    ``spread_ns`` = the greatest minus the least member ``rig_time_ns`` - offset (0 without members)."""
    with path.open("rb") as f:
        reader = make_reader(f)
        meta = {m.name: m.metadata for m in reader.iter_metadata()}
        framesets: list[dict] = []
        schedule = StepSchedule()
        for _, channel, message in reader.iter_messages(topics=["/rigsync/framesets", "/rigsync/steps"]):
            payload = json.loads(message.data)
            if channel.topic == "/rigsync/steps":
                schedule = StepSchedule.from_json(payload["schedule"])  # the last one holds every step
            else:
                framesets.append(payload)
    offsets = declared_offsets_ns(meta["rigsync"]["rig_toml"])
    out = FramesetTimes(offsets, 0, 0, [], 0, 0)
    for fs in framesets:
        if any(m["reason"] == "corrupt" for m in fs["missing"]):
            out.skipped += 1
            continue
        out.checked += 1
        rig = [m["rig_time_ns"] - offsets[(m["device"], m["stream"])] for m in fs["members"]]
        base = [schedule.base_ns(m["rig_time_ns"]) - offsets[(m["device"], m["stream"])] for m in fs["members"]]
        want = (schedule.rig_ns((min(base) + max(base)) // 2), max(rig) - min(rig) if rig else 0)
        got = (fs["rig_time_ns"], fs["spread_ns"])
        if got != want:
            out.problems.append(f"frameset {fs['frameset_id']}: rig_time_ns, spread_ns {got}, recomputed {want}")
        plain = [m["rig_time_ns"] for m in fs["members"]]
        out.moved_by_offsets += bool(plain) and got != ((min(plain) + max(plain)) // 2, max(plain) - min(plain))
        out.moved_by_steps += bool(rig) and want[0] != (min(rig) + max(rig)) // 2
    return out
