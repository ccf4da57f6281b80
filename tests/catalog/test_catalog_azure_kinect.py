"""Azure Kinect DK facts from seed 001 and the hardware specification."""

from __future__ import annotations

import pytest

from rigsync.catalog import get_model
from rigsync.catalog.azure_kinect import INTERFERENCE_OFFSET_US
from rigsync.catalog.base import LaserTiming
from rigsync.core.frame import ClockDomain, StreamKind, TimestampSemantics
from rigsync.core.sync import SyncMethod, Topology

KINECT = get_model("azure-kinect-dk")
LASER_MODES = ("NFOV_2X2BINNED", "NFOV_UNBINNED", "WFOV_2X2BINNED", "WFOV_UNBINNED")


def _laser(mode: str) -> LaserTiming:
    timing = KINECT.laser_for(mode)
    assert timing is not None
    return timing


def _overlaps(a: tuple[tuple[float, float], ...], b: tuple[tuple[float, float], ...]) -> bool:
    return any(s1 < e2 and s2 < e1 for s1, e1 in a for s2, e2 in b)


def test_depth_mode_names_are_the_sdk_names() -> None:
    """Depth and IR modes carry the k4a depth mode names, PASSIVE_IR included."""
    depth = {m.name for m in KINECT.modes_for(StreamKind.DEPTH)}
    ir = {m.name for m in KINECT.modes_for(StreamKind.IR)}
    assert depth == set(LASER_MODES)
    assert ir == {*LASER_MODES, "PASSIVE_IR"}


@pytest.mark.parametrize("mode", LASER_MODES)
def test_laser_exposure_is_pulses_times_width_plus_idle_periods_times_idle(mode: str) -> None:
    """Exposure = IR pulses x pulse width + idle periods x idle time (seed 001 formula)."""
    t = _laser(mode)
    assert t.ir_pulses == 9 and t.pulse_width_us == 125.0 and t.idle_periods == 8
    assert t.exposure_us == t.ir_pulses * t.pulse_width_us + t.idle_periods * t.idle_time_us


def test_laser_table_matches_the_hardware_specification_exposures() -> None:
    """The raw timing table reproduces the specified 12.8 ms and 20.3 ms depth exposures."""
    assert _laser("NFOV_UNBINNED").exposure_us == pytest.approx(12_800, abs=100)
    assert _laser("WFOV_UNBINNED").exposure_us == pytest.approx(20_300, abs=100)
    assert KINECT.laser_for("PASSIVE_IR") is None


def test_160us_offsets_fit_nine_more_cameras_into_the_idle_time() -> None:
    """With 160 us steps, nine more depth cameras fire while the first is idle; a tenth would collide."""
    base = _laser("NFOV_UNBINNED").pulse_windows_us()
    assert INTERFERENCE_OFFSET_US == 160.0
    for k in range(1, 10):
        shifted = tuple((s + k * INTERFERENCE_OFFSET_US, e + k * INTERFERENCE_OFFSET_US) for s, e in base)
        assert not _overlaps(base, shifted), k
    tenth = tuple((s + 10 * INTERFERENCE_OFFSET_US, e + 10 * INTERFERENCE_OFFSET_US) for s, e in base)
    assert _overlaps(base, tenth)


def test_external_trigger_rates_are_exactly_5_15_30() -> None:
    """An external trigger must run at precisely 30, 15 or 5 Hz (seed 001)."""
    assert sorted(KINECT.sync.external_trigger_rates_hz) == [5.0, 15.0, 30.0]


def test_max_subordinates_daisy_chain_8_star_2() -> None:
    """One master drives up to eight subordinates in a daisy chain, two in a star (seed 001)."""
    assert KINECT.sync.max_subordinates_for(Topology.DAISY_CHAIN) == 8
    assert KINECT.sync.max_subordinates_for(Topology.STAR) == 2
    assert KINECT.sync.max_subordinates_for(Topology.CAPTURE_CARD) is None


def test_sync_in_port_matches_the_external_trigger_requirements() -> None:
    """Sync in takes a 5 V TTL/CMOS pulse longer than 8 us from a source driving >= 8 mA (seed 001)."""
    port = next(p for p in KINECT.sync.ports if p.direction == "in")
    assert port.level_v == 5.0
    assert port.min_pulse_us == 8.0
    assert port.drive_ma == 8.0
    assert "3.5 mm" in port.connector


def test_roles_and_methods() -> None:
    """Roles are k4a's standalone/master/subordinate; all three streams follow the wired sync."""
    assert KINECT.sync.roles == ("standalone", "master", "subordinate")
    assert SyncMethod.HARDWARE in KINECT.sync.methods
    assert KINECT.sync.synced_kinds == {StreamKind.COLOR, StreamKind.DEPTH, StreamKind.IR}


def test_timestamps_center_standalone_start_of_frame_in_sync_roles() -> None:
    """Device timestamps are mid-exposure standalone and start of frame as master/subordinate (seed 001)."""
    clock = KINECT.clock
    assert clock.domain is ClockDomain.DEVICE
    assert clock.tick_ns == 1_000
    assert clock.semantics_free is TimestampSemantics.CENTER_OF_EXPOSURE
    assert clock.semantics_synced is TimestampSemantics.START_OF_EXPOSURE


def test_default_usbfs_memory_suffices_for_one_device() -> None:
    """One device needs the 16 MB Linux usbfs default (seed 001)."""
    assert KINECT.usb_memory_mb == 16


def test_wfov_unbinned_has_no_30fps_and_4k3_colour_tops_at_15() -> None:
    """WFOV unbinned depth and 4096x3072 colour stop at 15 fps (hardware specification)."""
    wfov = KINECT.mode(StreamKind.DEPTH, 1024, 1024)
    assert wfov is not None and not wfov.supports_fps(30) and wfov.supports_fps(15)
    big = KINECT.mode(StreamKind.COLOR, 4096, 3072)
    assert big is not None and big.fps == (5.0, 15.0)


def test_notes_explain_the_idle_time_conflict() -> None:
    """A note records that the seed's 14505/23905 us conflict with the raw timing table and which was used."""
    assert any("14505" in n and "1450" in n for n in KINECT.notes)
