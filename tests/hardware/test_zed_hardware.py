"""Hardware first light: StereoLabs ZED (pyzed.sl).

Skipped unless RIGSYNC_HARDWARE_RIG names a rig file with zed devices."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.hardware.firstlight import assert_found, assert_take, check_rows

from rigsync.plan.model import Plan

pytestmark = pytest.mark.device
VENDOR = "zed"


def test_devices_are_found_by_serial_with_their_model(plan: Plan) -> None:
    """Discovery lists each of the rig's zed devices by serial with the rig's catalog model."""
    assert_found(plan, VENDOR)


def test_check_passes(plan: Plan) -> None:
    """`rigsync check` passes for each zed device: present, its model, its settings taken, frames at its rate."""
    check_rows(plan, VENDOR)


def test_a_ten_second_take_holds_their_frames_in_framesets(plan: Plan, take: Path) -> None:
    """A 10 s capture holds each zed stream at its rate, in framesets, a synced group's skew p99 within 1 ms."""
    assert_take(plan, VENDOR, take)
