"""Hardware first light: Azure Kinect DK (pyk4a).

Skipped unless RIGSYNC_HARDWARE_RIG names a rig file with kinect devices."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.hardware.firstlight import assert_found, assert_take, check_rows, vendor_devices

from rigsync.plan.model import Plan

pytestmark = pytest.mark.device
VENDOR = "kinect"


def test_devices_are_found_by_serial_with_their_model(plan: Plan) -> None:
    """Discovery lists each of the rig's kinect devices by serial with the rig's catalog model."""
    assert_found(plan, VENDOR)


def test_check_reads_back_the_planned_sync_setting(plan: Plan) -> None:
    """`rigsync check` passes for each kinect device; wired_sync_mode reads back as planned, not refused."""
    rows = check_rows(plan, VENDOR)
    for device_id in vendor_devices(plan, VENDOR):
        assert "wired_sync_mode = " in rows[(device_id, "settings")].detail, rows[(device_id, "settings")]


def test_a_ten_second_take_holds_their_frames_in_framesets(plan: Plan, take: Path) -> None:
    """A 10 s capture holds each kinect stream at its rate, in framesets, a synced group's skew p99 within 1 ms."""
    assert_take(plan, VENDOR, take)
