"""The generic GigE Vision PTP camera and the generic UVC webcam."""

from __future__ import annotations

from rigsync.catalog import get_model
from rigsync.core.frame import ClockDomain, StreamKind, TimestampSemantics
from rigsync.core.sync import LinkKind, SyncMethod, Topology

GIGE = get_model("gige-ptp-area-scan")
UVC = get_model("uvc-webcam")


def test_gige_frame_rate_is_continuous() -> None:
    """GigE modes take any rate in a range (AcquisitionFrameRate), not a discrete list."""
    for mode in GIGE.modes:
        assert mode.fps == ()
        assert mode.fps_range is not None
    found = GIGE.mode(StreamKind.COLOR, 1920, 1200)
    assert found is not None and found.supports_fps(37.5) and not found.supports_fps(1000)


def test_gige_formats_and_link() -> None:
    """The GigE camera offers mono8, Bayer and RGB over Ethernet."""
    assert {f.name for f in GIGE.formats} == {"mono8", "bayer_rggb8", "rgb8"}
    assert GIGE.link is LinkKind.ETHERNET


def test_gige_clock_is_ptp_nanoseconds_and_syncs_by_ptp_or_trigger() -> None:
    """The device clock is a PTP-disciplined 64-bit nanosecond count; sync is PTP or hardware trigger."""
    clock = GIGE.clock
    assert (clock.domain, clock.tick_ns, clock.width_bits) == (ClockDomain.DEVICE, 1, 64)
    assert {SyncMethod.PTP, SyncMethod.HARDWARE} <= GIGE.sync.methods
    assert "PtpStatus=Slave" in GIGE.sync.roles


def test_uvc_webcam_is_software_synced_in_host_time() -> None:
    """A UVC webcam has no sync ports, syncs by software only and stamps frames on host receipt."""
    assert UVC.sync.ports == ()
    assert UVC.sync.methods == {SyncMethod.SOFTWARE}
    assert UVC.sync.topologies == {Topology.NETWORK}
    assert UVC.clock.domain is ClockDomain.HOST
    assert UVC.clock.semantics_free is TimestampSemantics.HOST_RECEIVE
    assert UVC.clock.semantics_synced is TimestampSemantics.HOST_RECEIVE
