"""``rigsync verify``'s whole run on one recording: the limits, each method's section, the verdict."""

from __future__ import annotations

from pathlib import Path

from rigsync.boards.ledclock import LedClockBoard
from rigsync.plan import build_plan
from rigsync.plan.model import Plan
from rigsync.record import open_recording
from rigsync.spec.model import RigSpec
from rigsync.verify.flash import verify_flash
from rigsync.verify.ledclock import verify_ledclock
from rigsync.verify.limits import VerifyLimits
from rigsync.verify.load import load_stamps, rig_plan
from rigsync.verify.result import Section, Verdict
from rigsync.verify.stamps import verify_stamps


def check_same_devices(recorded: RigSpec, given: RigSpec) -> None:
    """``--rig`` lends its ``[verify]`` limits only to a recording of the same devices."""
    from rigsync.core.errors import OptionError

    a, b = [d.id for d in recorded.devices], [d.id for d in given.devices]
    if sorted(a) != sorted(b):
        raise OptionError("--rig", given.path, "its devices differ from the recording's",
                          f"a rig file of devices {', '.join(a)}")


def verify_recording(path: str | Path, rig: RigSpec | None = None, *, ledclock: LedClockBoard | None = None,
                     flash: bool = False) -> Verdict:
    """Verify one recording from its stamps; ``rig``: a rig file whose ``[verify]`` limits replace the recording's
    own (its devices must be the recording's; a recording that embeds no rig file is read as of this one);
    ``ledclock``: also from the images of that LED clock board; ``flash``: also from a flash every camera saw."""
    with open_recording(path) as rec:
        plan = build_plan(rig) if rig is not None and not rec.rig_toml else rig_plan(rec)
        if rig is not None:
            check_same_devices(plan.rig, rig)
        limits = VerifyLimits.from_plan(plan, rig.verify if rig is not None else None)
        data = load_stamps(rec, plan)
        sections: tuple[Section, ...] = (verify_stamps(rec, limits, data),)
        if ledclock is not None:
            sections += (verify_ledclock(rec, ledclock, limits, plan, data),)
        if flash:
            sections += (verify_flash(rec, limits, plan),)
        duration_s = float(data.framesets.rig_time_ns[-1] - data.framesets.rig_time_ns[0]) / 1e9 \
            if len(data.framesets) > 1 else 0.0
    return Verdict(str(path), plan.rig.name, duration_s, sections, rig_summary(plan))


def rig_summary(plan: Plan) -> tuple[str, ...]:
    """The rig as lines: each sync group with its method, members and declared delays."""
    lines = []
    for g in plan.rig.sync_groups:
        members = ", ".join(f"{m.device}" + (f" +{m.delay_us:g} us" if m.delay_us else "") for m in g.members)
        lines.append(f"group {g.name}: {g.method.value}, {g.topology.value}; {members}")
    free = [d.id for d in plan.rig.devices if plan.rig.group_of(d.id) is None]
    if free:
        lines.append(f"free-running: {', '.join(free)}")
    return tuple(lines)
