"""Hardware first light: GigE Vision through Aravis.

Skipped unless RIGSYNC_HARDWARE_RIG names a rig file with gige devices."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.hardware.firstlight import assert_found, assert_take, check_rows

from rigsync.plan.model import Plan

pytestmark = pytest.mark.device
VENDOR = "gige"


def test_devices_are_found_by_serial_with_their_model(plan: Plan) -> None:
    """Discovery lists each of the rig's gige devices by serial with the rig's catalog model."""
    assert_found(plan, VENDOR)


def test_check_passes(plan: Plan) -> None:
    """`rigsync check` passes for each gige device: present, its model, its settings taken, frames at its rate."""
    check_rows(plan, VENDOR)


def test_a_ten_second_take_holds_their_frames_in_framesets(plan: Plan, take: Path) -> None:
    """A 10 s capture holds each gige stream at its rate, in framesets, a synced group's skew p99 within 1 ms."""
    assert_take(plan, VENDOR, take)
