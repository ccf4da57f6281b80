"""The GigE Vision driver against Aravis's own code: ``arv-fake-gv-camera-0.8`` processes on loopback aliases
(real GVCP control, real GVSP streaming over UDP), with a GenICam XML of our own declaring the PTP features."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import pytest
from tests.drivers.gige_fakes import (
    Aravis,
    fake_gige_cameras,
    loopback_aliases,
    read_feature,
    read_integer,
    spawn_camera,
    stop_camera,
    wait_discovered,
    write_features,
)
from tests.drivers.polling import poll_until, poll_while

from rigsync.core.errors import DriverError
from rigsync.core.frame import ClockDomain, Frame, FrameFlags, StreamKind
from rigsync.drivers.base import DeviceConfig, DeviceEvent, EventKind, StreamConfig, SyncConfig
from rigsync.drivers.gige import GigeDevice, GigeDriver
from rigsync.drivers.gige_stream import HEARTBEAT_LOST_S

CLEAN, LOSSY = "RSG-PTP-2", "RSG-LOSSY-3"
CAMERAS = {CLEAN: ("127.0.0.2", []), LOSSY: ("127.0.0.3", ["-r", "20"])}
"""serial -> (loopback address, extra options): the lossy one drops 20 GVSP packets per thousand."""


@pytest.fixture(scope="module")
def fake_cameras() -> Iterator[dict[str, str]]:
    """Fake GigE Vision cameras on 127.0.0.2 and .3, started and stopped by pid (aliases added if missing)."""
    with fake_gige_cameras(CAMERAS) as cameras:
        yield cameras


def config(serial: str, *, fps: float = 100.0, role: str = "standalone", exposure_us: int | None = None,
           width: int = 64, height: int = 48, packet_size: int | None = None) -> DeviceConfig:
    return DeviceConfig(
        device_id="cam", serial=serial, model="gige-ptp-area-scan",
        streams=(StreamConfig("color", StreamKind.COLOR, width, height, fps, "mono8", exposure_us),),
        sync=SyncConfig("g" if role != "standalone" else None, None, role, "", 0, 0, 1, ()),
        packet_size=packet_size)


def frames_for(device: GigeDevice, until: float, past_seq: int | None = None) -> list[Frame | DeviceEvent]:
    """Poll (never blocking) until ``until`` seconds have passed, or a frame beyond ``past_seq`` came."""
    items: list[Frame | DeviceEvent] = []
    end = time.monotonic() + until
    while time.monotonic() < end:
        items += device.poll()
        if past_seq is not None and any(isinstance(i, Frame) and i.seq > past_seq for i in items):
            break
        time.sleep(0.005)
    return items + device.poll()


def test_discovery_names_each_fake_camera_by_serial_and_address(fake_cameras: dict[str, str]) -> None:
    """Discovery finds both fake cameras with their serial, the GigE catalog model and their IP address."""
    found = {info.serial: info for info in GigeDriver().discover()}
    for serial, addr in fake_cameras.items():
        assert found[serial].connection == f"gige:{addr}"
        assert found[serial].model == "gige-ptp-area-scan"
        assert found[serial].driver == "gige"


def test_open_unknown_serial_names_the_cameras_found(fake_cameras: dict[str, str]) -> None:
    """Opening a serial nobody answers for is a DriverError naming it and the cameras that did answer."""
    with pytest.raises(DriverError, match=r"NOPE: no GigE Vision camera .*RSG-PTP-2 at gige:127\.0\.0\.2"):
        GigeDriver().open("NOPE")


def test_subordinate_role_is_written_to_the_camera_and_read_back(fake_cameras: dict[str, str]) -> None:
    """A subordinate's trigger settings, frame rate and exposure reach the camera (read back, and seen by another
    client after close); a standalone configuration turns the trigger off again; start needs configure first."""
    with GigeDriver().open(CLEAN) as device:
        with pytest.raises(DriverError, match="configure"):
            device.start()
        device.configure(config(CLEAN, fps=40.0, role="subordinate", exposure_us=1500))
        settings = device.settings()
    assert settings["TriggerMode"] == "On" and settings["TriggerSource"] == "Line0"
    assert settings["TriggerActivation"] == "RisingEdge" and settings["AcquisitionMode"] == "Continuous"
    assert float(settings["AcquisitionFrameRate"]) == pytest.approx(40.0, rel=1e-6)
    assert float(settings["ExposureTimeAbs"]) == 1500.0  # the fake's pre-SFNC-2.0 name, found from the table
    assert settings["PtpEnable"] == "False"
    assert read_feature(CLEAN, "TriggerMode") == "On"
    with GigeDriver().open(CLEAN) as device:
        device.configure(config(CLEAN))
        assert device.settings()["TriggerMode"] == "Off"
    assert read_feature(CLEAN, "TriggerMode") == "Off"


def test_settings_change_only_while_stopped(fake_cameras: dict[str, str]) -> None:
    """configure() while streaming is refused (seeds/003); after stop() it is accepted; close is idempotent."""
    device = GigeDriver().open(CLEAN)
    with device:
        device.configure(config(CLEAN))
        device.start()
        with pytest.raises(DriverError, match="stopped"):
            device.configure(config(CLEAN, fps=50.0))
        device.stop()
        device.configure(config(CLEAN, fps=50.0))
    device.close()


def test_ptp_role_enables_ptp_and_reports_status_and_offset(fake_cameras: dict[str, str]) -> None:
    """A PTP role sets PtpEnable and stamps frames in the PTP domain; PtpStatus and PtpOffsetFromMaster are
    reported as the camera states them (Slave, or not)."""
    write_features(CLEAN, PtpStatus="Slave", PtpOffsetFromMaster=-37)
    with GigeDriver().open(CLEAN) as device:
        device.configure(config(CLEAN, role="ptp"))
        assert device.settings()["PtpEnable"] == "True"
        state = device.ptp_state()
        assert (state.enabled, state.status, state.offset_from_master_ns, state.is_slave) == (True, "Slave", -37,
                                                                                             True)
        assert device.timing().domain is ClockDomain.PTP
        device.start()
        frames = [i for i in frames_for(device, 0.3) if isinstance(i, Frame)]
        device.stop()
    assert frames and all(f.domain is ClockDomain.PTP for f in frames)
    write_features(CLEAN, PtpStatus="Listening", PtpOffsetFromMaster=0)
    with GigeDriver().open(CLEAN) as device:
        device.configure(config(CLEAN))
        assert not device.ptp_state().is_slave and device.ptp_state().status == "Listening"
        assert device.timing().domain is ClockDomain.DEVICE


def test_frame_ids_unwrap_across_the_16_bit_wrap(fake_cameras: dict[str, str]) -> None:
    """Block ids run 65400..65535 then 1..: seq counts on by one at the wrap (65535, 65536: GigE Vision skips
    block id 0), camera stamps increase, images have the configured size, each frame is received after its stamp."""
    with GigeDriver().open(CLEAN) as device:
        device.configure(config(CLEAN, fps=250.0))
        device.start()
        items = frames_for(device, 10.0, past_seq=65536 + 20)
        device.stop()
    frames = [i for i in items if isinstance(i, Frame)]
    assert not [i for i in items if isinstance(i, DeviceEvent)]
    assert frames[0].seq < 65535 < frames[-1].seq
    for a, b in itertools.pairwise(frames):  # the fake's ids are consecutive and loopback loses no packet
        assert b.seq == a.seq + 1
        assert b.device_ts_ns > a.device_ts_ns and b.host_rx_ns > a.host_rx_ns
    # The fake stamps with the host's realtime clock: the monotonic receive time follows it by a transfer time.
    realtime_minus_monotonic = time.time_ns() - time.monotonic_ns()
    for f in frames:
        assert 0 < f.host_rx_ns - (f.device_ts_ns - realtime_minus_monotonic) < 100_000_000
        assert f.image is not None and f.image.shape == (48, 64) and f.encoding == "mono8"
        assert f.flags is FrameFlags.NONE and f.domain is ClockDomain.DEVICE


@pytest.mark.parametrize(("packet_size", "per_frame"), [(576, 8), (9000, 3)])
def test_the_rig_files_packet_size_is_what_the_camera_streams_with(fake_cameras: dict[str, str], packet_size: int,
                                                                   per_frame: int) -> None:
    """``packet_size`` reaches the camera's GevSCPSPacketSize (read back, and by a second client), Aravis keeps it
    (no test-packet adjustment), and the camera streams with it: a 64x48 mono8 frame (3072 bytes) takes a leader,
    a trailer and ceil(3072 / (size - 36 header bytes)) data packets - 8 at 576, 3 at 9000 (the fake's default
    1400 would give 5). Without packet_size the camera's own size and Aravis's adjustment are left alone."""
    default = Aravis.GvPacketSizeAdjustment.ON_FAILURE_ONCE
    try:
        with GigeDriver().open(CLEAN) as device:
            device.configure(config(CLEAN))
            assert "GevSCPSPacketSize" not in device.readback()
            assert device._cam.get_device().get_property("packet-size-adjustment") == default
            device.configure(config(CLEAN, fps=200.0, packet_size=packet_size))
            readback = device.readback()["GevSCPSPacketSize"]
            assert device.settings()["GevSCPSPacketSize"] == readback == str(packet_size)
            assert device._cam.get_device().get_property("packet-size-adjustment") == \
                Aravis.GvPacketSizeAdjustment.NEVER
            device.start()
            frames = [i for i in frames_for(device, 0.5) if isinstance(i, Frame)]
            device.stop()
            stats = device.stream_statistics
        assert read_integer(CLEAN, "GevSCPSPacketSize") == packet_size
    finally:
        write_features(CLEAN, GevSCPSPacketSize=1400)  # the fake's own, for the tests that follow
    assert len(frames) > 20 and all(f.flags is FrameFlags.NONE and f.image is not None for f in frames)
    assert stats["n_missing_packets"] == 0 and stats["n_failures"] == 0
    # A frame whose packets were still arriving at stop() is received in part and not completed.
    assert 0 <= stats["n_received_packets"] - per_frame * stats["n_completed_buffers"] < per_frame


def test_missing_packets_flag_frames_corrupt_not_dropped(fake_cameras: dict[str, str]) -> None:
    """With 2% of GVSP packets lost, damaged frames arrive flagged CORRUPT (no image), once per frame id, and every
    buffer Aravis completed or failed is a delivered frame or counted (no leader packet; late duplicate)."""
    with GigeDriver().open(LOSSY) as device:
        device.configure(config(LOSSY, fps=200.0))
        device.start()
        frames = [i for i in frames_for(device, 1.5) if isinstance(i, Frame)]
        device.stop()
        stats = device.stream_statistics
        counted = device.buffer_counts.unnamed + device.buffer_counts.duplicate
    corrupt = [f for f in frames if f.flags & FrameFlags.CORRUPT]
    assert corrupt and all(f.image is None for f in corrupt)
    assert all(f.image is not None for f in frames if not f.flags)
    assert stats["n_failures"] > 0 and stats["n_missing_packets"] > 0
    # The reader drains what arrives after stop; a frame Aravis completes later still (rare) may be uncounted.
    assert 0 <= stats["n_completed_buffers"] + stats["n_failures"] - (len(frames) + counted) <= 1
    assert 0 <= stats["n_failures"] - (len(corrupt) + counted) <= 1
    seqs = [f.seq for f in frames]
    assert len(set(seqs)) == len(seqs)


def test_a_full_queue_reports_its_drops_as_overruns_of_consecutive_frames(fake_cameras: dict[str, str]) -> None:
    """Frames the full queue cannot take are OVERRUN events, one per run of consecutive frame ids (``seq`` the
    first, ``count`` of them): the kept frames, the overruns and the buffers that were no frame account for every
    buffer Aravis delivered; after a poll the queue takes new frames again."""
    with GigeDriver(queue_frames=4).open(CLEAN) as device:
        device.configure(config(CLEAN, fps=200.0))
        device.start()
        time.sleep(0.3)  # ~60 frames against a queue of 4 (any count above 4 gives the same accounting)
        device.stop()
        items = device.poll()
        stats, counted = device.stream_statistics, device.buffer_counts.unnamed + device.buffer_counts.duplicate
        device.start()
        later = poll_while(device, lambda got: not any(isinstance(i, Frame) for i in got), "frame after a poll")
        device.stop()
    frames = [i for i in items if isinstance(i, Frame)]
    assert len(frames) == 4 and [f.seq for f in frames] == list(range(frames[0].seq, frames[0].seq + 4))
    overruns = items[4:]
    assert all(isinstance(e, DeviceEvent) and (e.kind, e.stream) == (EventKind.OVERRUN, "color") for e in overruns)
    assert overruns[0].seq == frames[0].seq + 4
    ranges = [(e.seq, e.seq + e.count) for e in overruns if isinstance(e, DeviceEvent) and e.seq is not None]
    assert len(ranges) == len(overruns) and all(end < nxt for (_, end), (nxt, _) in itertools.pairwise(ranges))
    assert sum(end - begin for begin, end in ranges) == stats["n_completed_buffers"] + stats["n_failures"] - 4 - \
        counted > 10
    assert isinstance(later[0], Frame)


def test_a_camera_that_goes_away_is_disconnected_then_reconnected_from_the_plan() -> None:
    """Killing the camera's process mid-stream is one DISCONNECTED event when Aravis's heartbeat gives up (5 s to
    HEARTBEAT_LOST_S after its last frame); a camera with its serial started again at its address is configured
    from the same plan (settings read back equal, images of the planned size) and RECONNECTED, its frame ids
    restarted and its first frame flagged AFTER_RECONNECT."""
    serial, addr = "RSG-GONE-4", "127.0.0.4"
    with loopback_aliases([addr]):
        proc = spawn_camera(serial, addr)
        try:
            wait_discovered({serial: addr})
            with GigeDriver().open(serial) as device:
                device.configure(config(serial, fps=100.0, exposure_us=2000))
                planned = device.settings()
                device.start()
                before = poll_while(device, lambda got: len(got) < 20, "20 frames")
                stop_camera(proc, kill=True)
                gone = poll_until(device, EventKind.DISCONNECTED, timeout_s=10.0)
                proc = spawn_camera(serial, addr)
                back = poll_until(device, EventKind.RECONNECTED, timeout_s=15.0)
                after = poll_while(device, lambda got: len(got) < 20, "20 frames after reconnecting")
                device.stop()
                assert device.settings() == planned
        finally:
            stop_camera(proc)
    last = [i for i in before + gone if isinstance(i, Frame)][-1]
    assert [i for i in gone + back if isinstance(i, DeviceEvent)] == [
        DeviceEvent("cam", EventKind.DISCONNECTED, (disconnected := _event(gone)).host_ns),
        DeviceEvent("cam", EventKind.RECONNECTED, _event(back).host_ns)]
    assert 4.9 < (disconnected.host_ns - last.host_rx_ns) / 1e9 < HEARTBEAT_LOST_S + 1.0  # + 1 s: a loaded host
    new = [i for i in back + after if isinstance(i, Frame)]
    assert [f.seq for f in new[:20]] == list(range(before[0].seq, before[0].seq + 20))  # a new camera's first ids
    assert [f.flags for f in new[:3]] == [FrameFlags.AFTER_RECONNECT, FrameFlags.NONE, FrameFlags.NONE]
    assert all(f.image is not None and f.image.shape == (48, 64) for f in new)
    assert planned["Width"] == "64" and float(planned["ExposureTimeAbs"]) == 2000.0


def test_a_camera_back_without_the_planned_features_stays_disconnected() -> None:
    """A PTP camera that comes back without PTP features cannot take the plan: no RECONNECTED, the reason kept in
    reconnect_error, the device stopped and no longer configured (and closed cleanly)."""
    serial, addr = "RSG-GONE-6", "127.0.0.6"
    with loopback_aliases([addr]):
        proc = spawn_camera(serial, addr)
        try:
            wait_discovered({serial: addr})
            with GigeDriver().open(serial) as device:
                device.configure(config(serial, role="ptp"))
                device.start()
                poll_while(device, lambda got: len(got) < 5, "5 frames")
                stop_camera(proc, kill=True)
                poll_until(device, EventKind.DISCONNECTED, timeout_s=10.0)
                proc = spawn_camera(serial, addr, ptp=False)
                items = poll_while(device, lambda _: device.reconnect_error is None, "reconnect attempt", 15.0)
                items += device.poll()
                device.stop()
                with pytest.raises(DriverError, match="not configured"):  # the plan is not applied
                    device.start()
        finally:
            stop_camera(proc)
    assert device.reconnect_error is not None and "PtpEnable" in device.reconnect_error
    assert not [i for i in items if isinstance(i, DeviceEvent)] and not [i for i in items if isinstance(i, Frame)]


def _event(items: list[Frame | DeviceEvent]) -> DeviceEvent:
    return next(i for i in items if isinstance(i, DeviceEvent))
