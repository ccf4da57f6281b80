"""Intel RealSense D400 facts from seed 004 and librealsense."""

from __future__ import annotations

import pytest

from rigsync.catalog import get_model
from rigsync.catalog.base import Shutter
from rigsync.core.frame import ClockDomain, StreamKind, TimestampSemantics
from rigsync.core.sync import SyncMethod

GENLOCK_KEYS = ("realsense-d435", "realsense-d435i")


def test_d415_has_no_genlock() -> None:
    """The rolling-shutter D415 cannot Genlock (seed 004): no Genlock method, spec or role."""
    d415 = get_model("realsense-d415")
    assert d415.sync.genlock is None
    assert SyncMethod.GENLOCK not in d415.sync.methods
    assert "genlock" not in d415.sync.roles
    assert d415.shutter_for(StreamKind.DEPTH) is Shutter.ROLLING


@pytest.mark.parametrize("key", GENLOCK_KEYS)
def test_d435_genlock_spec(key: str) -> None:
    """D435/D435i Genlock: native 6/15/30/60/90 plus the 100/300 fps high-speed mode, blind 2 frame times,
    burst 1-255, depth+IR (seed 004)."""
    model = get_model(key)
    genlock = model.sync.genlock
    assert genlock is not None
    assert SyncMethod.GENLOCK in model.sync.methods
    assert genlock.native_fps == (6.0, 15.0, 30.0, 60.0, 90.0, 100.0, 300.0)
    assert model.mode(StreamKind.DEPTH, 848, 100) is not None
    assert genlock.blind_frames == 2
    assert (genlock.burst_min, genlock.burst_max) == (1, 255)
    assert genlock.synced_kinds == {StreamKind.DEPTH, StreamKind.IR}
    assert model.shutter_for(StreamKind.DEPTH) is Shutter.GLOBAL


@pytest.mark.parametrize("key", GENLOCK_KEYS)
def test_d435_colour_is_not_hardware_synced(key: str) -> None:
    """The D435 colour sensor free-runs: it is neither Genlocked nor in the synced kinds (seed 004)."""
    model = get_model(key)
    assert model.sync.genlock is not None
    assert StreamKind.COLOR not in model.sync.genlock.synced_kinds
    assert StreamKind.COLOR not in model.sync.synced_kinds


@pytest.mark.parametrize("key", ("realsense-d415", *GENLOCK_KEYS))
def test_sync_pin_is_1v8_with_100us_pulses(key: str) -> None:
    """Pin 5 of the 9-pin JST connector takes 1.8 V pulses wider than 100 us (seed 004)."""
    port = next(p for p in get_model(key).sync.ports if p.direction == "in")
    assert port.level_v == 1.8
    assert port.min_pulse_us == 100.0
    assert "pin 5" in port.connector


@pytest.mark.parametrize("key", ("realsense-d415", *GENLOCK_KEYS))
def test_sensor_timestamp_is_mid_exposure_32bit_microseconds(key: str) -> None:
    """The sensor timestamp is mid-exposure on a 32-bit microsecond device counter (~71.6 min wrap)."""
    clock = get_model(key).clock
    assert clock.domain is ClockDomain.DEVICE
    assert (clock.tick_ns, clock.width_bits) == (1_000, 32)
    assert clock.semantics_free is TimestampSemantics.CENTER_OF_EXPOSURE
    assert clock.wrap_ns / 60e9 == pytest.approx(71.6, abs=0.1)


def test_roles_follow_inter_cam_sync_modes() -> None:
    """Roles mirror inter cam sync modes 0-3 for all, plus Genlock (4-258) for global-shutter models."""
    assert get_model("realsense-d415").sync.roles == ("default", "master", "slave", "full-slave")
    assert get_model("realsense-d435").sync.roles[-1] == "genlock"


def test_slave_mode_trigger_rates_are_the_native_rates() -> None:
    """Slave modes only follow a trigger at a native rate (seed 004 Appendix A)."""
    for key in ("realsense-d415", *GENLOCK_KEYS):
        assert get_model(key).sync.external_trigger_rates_hz == (6.0, 15.0, 30.0, 60.0, 90.0)
