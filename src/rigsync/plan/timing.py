"""Timing the plan computes: ToF laser windows, staggered high-speed capture, and the warm-up to discard."""

from __future__ import annotations

from rigsync.catalog import get_model
from rigsync.catalog.base import DepthTech
from rigsync.core.frame import StreamKind
from rigsync.core.units import NS_PER_S
from rigsync.plan.model import DepthWindow, Plan, Role, Stagger

WARMUP_BASE_NS = 300_000_000
"""Discarded at every start: sensors settle and the clock mappings get their first points."""
AE_WARMUP_FRAMES = 10
"""Auto exposure "requires a few frames of data to stabilize" (seeds/004)."""
CLOCK_PRIOR_FRAMES = 10
"""Frames of its slowest stream a device delivers before its clock's error bound is its own, no longer capped by a
prior (the estimator's ``EstimatorConfig.prior_points``, which plan cannot import: a test keeps them equal)."""


def depth_windows(plan: Plan) -> tuple[DepthWindow, ...]:
    """Laser timing of every ToF depth stream in a triggered group, relative to the group's trigger."""
    out = []
    for dp in plan.devices:
        if dp.group is None or dp.role in (Role.STANDALONE, Role.SOFTWARE):
            continue
        device = plan.spec(dp.device_id)
        model = get_model(device.model)
        if model.depth_tech is not DepthTech.TOF:
            continue
        for s in device.streams:
            mode = model.mode(s.kind, s.width, s.height)
            laser = model.laser_for(mode.name) if mode is not None and s.kind is StreamKind.DEPTH else None
            if laser is None:
                continue
            start_us = (dp.delay_ns + dp.depth_delay_ns) / 1000
            out.append(DepthWindow(dp.device_id, start_us, laser.exposure_us, tuple(
                (start_us + a, start_us + b) for a, b in laser.pulse_windows_us())))
    return tuple(out)


def staggers(plan: Plan) -> tuple[Stagger, ...]:
    """Staggered groups: N cameras at f fps each, t us apart, capture at about N x f fps (seeds/004: ten
    cameras at 90 fps, 1.1 ms apart -> 900 fps) as long as each exposure stays shorter than the stagger."""
    out = []
    for g in plan.rig.sync_groups:
        if g.stagger_us <= 0:
            continue
        gp = plan.group(g.name)
        fps = NS_PER_S / gp.trigger_period_ns if gp.trigger_period_ns else 0.0
        n = len(g.members)
        effective = min(n * fps, 1e6 / g.stagger_us) if fps else 1e6 / g.stagger_us
        out.append(Stagger(g.name, n, fps, g.stagger_us, effective, g.stagger_us))
    return tuple(out)


def warmup_ns(plan: Plan) -> int:
    """A base settling time, or more where auto exposure needs frames to settle, or where a stream is slow enough
    that ``CLOCK_PRIOR_FRAMES`` of its frames take longer than the base (a 5 fps stream: 2 s): until its clock
    mapping (per device, or per stream for cameras without a clock) has that many points, its bound is a prior."""
    longest = WARMUP_BASE_NS
    for d in plan.rig.devices:
        for s in d.streams:
            longest = max(longest, CLOCK_PRIOR_FRAMES * s.period_ns)
            if s.auto_exposure and s.kind is StreamKind.COLOR:
                longest = max(longest, AE_WARMUP_FRAMES * s.period_ns)
    return longest
