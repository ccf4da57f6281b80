"""Hardware first light: the shared steps of the per-vendor modules, against the rig file that
``RIGSYNC_HARDWARE_RIG`` names (the attached cameras; docs/hardware.md). Without it every test skips, saying why.

Each vendor module: the rig's devices of that vendor are found by serial with their catalog model, ``rigsync
check`` passes for them with their sync setting read back, and one 10 s ``rigsync capture`` of the whole rig (made
once per test session, through the CLI as a user runs it) holds their frames at their rate, in framesets, with the
skew of a synced group inside :data:`SYNCED_SKEW_P99_NS`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rigsync.capture.preflight import CheckRow, run_check
from rigsync.core.frame import StreamKind
from rigsync.core.sync import SyncMethod
from rigsync.drivers.factory import open_drivers
from rigsync.drivers.registry import driver_factory
from rigsync.plan import build_plan
from rigsync.plan.model import Plan
from rigsync.record.reader import open_recording
from rigsync.spec import load_rig

RIG_ENV = "RIGSYNC_HARDWARE_RIG"
TAKE_SECONDS = 10
RATE_LOW, RATE_HIGH = 0.8, 1.05
"""A stream's recorded frames over the take: at least 80% of what its rate gives, at most 5% more (a device
running faster than planned did not take its frame rate)."""
MISSING_MAX = 0.05
"""Share of framesets in which a device's stream may be missing."""
SYNCED_SKEW_P99_NS = 1_000_000
"""Hardware, Genlock and PTP groups: the 99th percentile of a frameset's spread among the group's synced streams
(each stream's planned delay removed). A trigger that does not arrive leaves the device free-running, up to half a
frame period off (16.7 ms at 30 fps)."""


def hardware_plan() -> Plan:
    """The plan of the rig file ``RIGSYNC_HARDWARE_RIG`` names; skips the test when it is unset."""
    path = os.environ.get(RIG_ENV)
    if not path:
        pytest.skip(f"{RIG_ENV} is not set: these tests need real cameras (set it to the rig file of the attached "
                    f"cameras; docs/hardware.md)")
    return build_plan(load_rig(Path(path)))


def vendor_devices(plan: Plan, vendor: str) -> list[str]:
    """The rig's device ids driven by ``vendor``; skips the test when there are none."""
    ids = [d.id for d in plan.rig.devices if d.driver == vendor]
    if not ids:
        pytest.skip(f"the rig {plan.rig.path} has no {vendor} devices")
    return ids


def assert_found(plan: Plan, vendor: str) -> None:
    """Discovery lists every rig device of ``vendor`` by serial, with the rig's catalog model."""
    ids = vendor_devices(plan, vendor)
    found = {info.serial: info for info in driver_factory(vendor)(plan.rig, plan).discover()}
    for device_id in ids:
        spec = plan.rig.device(device_id)
        assert spec.serial in found, f"{device_id}: serial {spec.serial} not found (found {sorted(found)})"
        assert found[spec.serial].model == spec.model, f"{device_id}: {found[spec.serial]}"


def check_rows(plan: Plan, vendor: str) -> dict[tuple[str, str], CheckRow]:
    """``rigsync check`` of the whole rig, the rows of ``vendor``'s devices by (device, check); each must pass."""
    ids = vendor_devices(plan, vendor)
    rows = {(r.device, r.check): r for r in run_check(plan, open_drivers(plan.rig, plan)) if r.device in ids}
    failed = [f"{r.device} {r.check}: {r.detail} (fix: {r.fix})" for r in rows.values() if not r.ok]
    assert not failed, "\n".join(failed)
    for device_id in ids:
        assert {c for d, c in rows if d == device_id} >= {"present", "settings", "frames"}, device_id
    return rows


def capture_take(plan: Plan, folder: Path) -> Iterator[Path]:
    """A 10 s ``rigsync capture`` of the rig (its check first, as a user runs it), then ``rigsync info`` on it."""
    out = folder / "first-light.mcap"
    cli = [sys.executable, "-m", "rigsync.cli.main"]
    done = subprocess.run([*cli, "capture", plan.rig.path, "--seconds", str(TAKE_SECONDS), "--out", str(out),
                           "--quiet"], check=False, capture_output=True, text=True, timeout=TAKE_SECONDS + 120)
    assert done.returncode == 0, done.stdout + done.stderr
    info = subprocess.run([*cli, "info", str(out)], check=False, capture_output=True, text=True, timeout=60)
    assert info.returncode == 0, info.stdout + info.stderr
    yield out


def _planned_delay_ns(plan: Plan, device_id: str, stream: str) -> int:
    """The plan's delay of a stream's exposure from its group's trigger (a depth stream's own delay added)."""
    device = plan.device(device_id)
    kind = next(s.kind for s in plan.rig.device(device_id).streams if s.name == stream)
    return device.delay_ns + (device.depth_delay_ns if kind is StreamKind.DEPTH else 0)


def _expected_fps(plan: Plan, device_id: str, stream: str, native_fps: float) -> float:
    """A triggered stream runs at its group's trigger rate (times a Genlock burst), any other at its own rate."""
    device = plan.device(device_id)
    period_ns = plan.group(device.group).trigger_period_ns if device.group is not None else None
    if device.trigger is None or period_ns is None or stream not in device.synced_streams:
        return native_fps
    return device.burst * 1e9 / period_ns


def assert_take(plan: Plan, vendor: str, take: Path) -> None:
    """``vendor``'s streams in the take: frames at their rate, present in framesets, a synced group's skew tight."""
    ids = vendor_devices(plan, vendor)
    with open_recording(take) as rec:
        summary = rec.summary()
        framesets = list(rec.framesets())
    counts = {(s.device, s.stream): s.message_count for s in summary.streams}
    assert framesets, f"{take} holds no framesets"
    for device_id in ids:
        for s in plan.rig.device(device_id).streams:
            due = _expected_fps(plan, device_id, s.name, s.fps) * summary.duration_s
            got = counts.get((device_id, s.name), 0)
            assert RATE_LOW * due <= got <= RATE_HIGH * due + 1, f"{device_id}/{s.name}: {got} frames, ~{due:.0f} due"
            missing = sum(any((m.device, m.stream) == (device_id, s.name) for m in fs.missing) for fs in framesets)
            assert missing <= MISSING_MAX * len(framesets), f"{device_id}/{s.name} missing in {missing} framesets"
    for group in plan.groups:
        if group.method is SyncMethod.SOFTWARE or not set(group.members) & set(ids):
            continue
        synced = {(d, s): _planned_delay_ns(plan, d, s) for d in group.members for s in plan.device(d).synced_streams}
        spreads = [max(times) - min(times) for fs in framesets
                   if len(times := [m.rig_time_ns - synced[(m.device, m.stream)] for m in fs.members
                                    if (m.device, m.stream) in synced]) > 1]
        assert spreads, f"group {group.name}: no frameset holds two of its synced streams"
        p99 = float(np.percentile(spreads, 99))
        assert p99 <= SYNCED_SKEW_P99_NS, f"group {group.name}: skew p99 {p99 / 1e3:.1f} us"
