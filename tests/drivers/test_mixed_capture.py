"""One capture of a rig that mixes vendors on one host, into one MCAP: three RealSense ``.db3`` recordings (made
here with ``rs.recorder``, played back through ``rs.pipeline``), two fake GigE Vision cameras
(``arv-fake-gv-camera-0.8`` on loopback, through Aravis) and a UVC video file (through OpenCV). The sources run
free, unsynchronized: the test holds the recording to the contract of docs/recording.md (``rigsync info`` reads
it; every device's frames with increasing stamps; framesets formed, their members within one window; every frame
a member or a named drop), not to a skew the sources cannot have."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
from collections import Counter, defaultdict
from pathlib import Path

import pytest

pytest.importorskip("pyrealsense2", reason="pyrealsense2 is not installed: pip install 'rigsync[realsense]'")

from tests.drivers.gige_fakes import fake_gige_cameras
from tests.drivers.realsense_devices import record, sensor_ts_us
from tests.drivers.uvc_fakes import WEBCAM_RIG, VirtualClock, flat_images, write_clip

from rigsync.capture.options import CaptureOptions
from rigsync.capture.session import CaptureSession
from rigsync.core.errors import RigsyncError
from rigsync.core.units import period_ns
from rigsync.drivers.factory import open_drivers
from rigsync.drivers.uvc import UvcDriver
from rigsync.plan import build_plan
from rigsync.record.reader import open_recording
from rigsync.spec import loads_rig

REALSENSE = {"rs0": "827312070021", "rs1": "827312070022", "rs2": "827312070023"}
GIGE = {"gige0": ("RSG-MIX-A", "127.0.0.51"), "gige1": ("RSG-MIX-B", "127.0.0.52")}
WEBCAM_SERIAL = "UVCMIX1"
RS_FRAMES, CLIP_FRAMES = 75, 120
"""2.5 s of each recording and 4 s of clip at 30 fps: longer than the warm-up and the capture that follows it."""
GIGE_FPS = 10
LOOSE = ("late", "off_period", "corrupt", "out_of_order", "overflow", "recorder_overrun")
"""docs/recording.md: the reasons a recorded frame is in no frameset."""
MISSING = {"dropped", "not_received", "corrupt", "unmatched", "stopped", "disconnected"}


def rig_text() -> str:
    text = '[[hosts]]\nname = "h"\nnics = [{ name = "lo", kind = "ethernet", timestamping = "software" }]\n'
    for n, (device, serial) in enumerate(REALSENSE.items()):
        text += f"""
[[devices]]
id = "{device}"
model = "realsense-d435"
serial = "{serial}"
host = "h"
driver = "realsense"
file = "{device}.db3"
connection = "usb:c{n}"
streams = [{{ kind = "depth", width = 848, height = 480, fps = 30 }},
           {{ kind = "color", width = 848, height = 480, fps = 30 }}]
"""
    for device, (serial, _) in GIGE.items():
        text += f"""
[[devices]]
id = "{device}"
model = "gige-ptp-area-scan"
serial = "{serial}"
host = "h"
driver = "gige"
connection = "eth:lo"
streams = [{{ kind = "color", width = 1920, height = 1200, fps = {GIGE_FPS}, format = "mono8" }}]
"""
    return text + f"""
[[devices]]
id = "webcam"
model = "uvc-webcam"
serial = "{WEBCAM_SERIAL}"
host = "h"
driver = "uvc"
file = "clip.mkv"
connection = "usb:c9"
streams = [{{ kind = "color", width = 640, height = 480, fps = 30, format = "yuyv" }}]
"""


@pytest.fixture(scope="module")
def take(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The recordings and the clip made, the fakes started, 2.5 s captured (warm-up included) into take.mcap."""
    tmp = tmp_path_factory.mktemp("mixed")
    makers = [threading.Thread(target=record, args=(tmp / f"{device}.db3", serial, RS_FRAMES),
                               kwargs={"pace_s": 1 / 30}) for device, serial in REALSENSE.items()]
    for t in makers:
        t.start()
    clip = write_clip(tmp / "clip.mkv", flat_images(CLIP_FRAMES, 640, 480), 30.0)
    for t in makers:
        t.join()
    rig = loads_rig(rig_text(), str(tmp / "rig.toml"))
    plan = build_plan(rig)
    assert plan.errors == ()  # a mixed, unsynchronized rig is a valid plan: no --force needed
    assert clip == tmp / "clip.mkv"  # the webcam's ``file``, relative to the rig file
    with fake_gige_cameras({serial: (addr, []) for serial, addr in GIGE.values()}):
        drivers = open_drivers(rig, plan)
        with CaptureSession(plan, CaptureOptions(out=tmp / "take.mcap", seconds=2.5), drivers=drivers) as session:
            result = session.run()
    assert result.error is None and not result.interrupted
    return tmp / "take.mcap"


def stream_keys() -> list[tuple[str, str]]:
    return [(d, s) for d in REALSENSE for s in ("depth", "color")] + [(d, "color") for d in [*GIGE, "webcam"]]


def test_rigsync_info_reads_every_device_and_stream(take: Path) -> None:
    """The summary lists the six devices in rig order and each stream with its encoding, size and images; the
    rigsync info command prints it and exits 0."""
    with open_recording(take) as rec:
        summary = rec.summary()
    assert not summary.recovered and summary.devices == (*REALSENSE, *GIGE, "webcam")
    streams = {(s.device, s.stream): s for s in summary.streams}
    assert list(streams) == stream_keys()
    sizes = {"depth": ("16UC1", 848, 480), "color": ("rgb8", 848, 480)}
    for (device, stream), info in streams.items():
        want = sizes[stream] if device in REALSENSE else ("mono8", 1920, 1200) if device in GIGE else \
            ("bgr8", 640, 480)
        assert (info.encoding, info.width, info.height) == want and info.message_count >= 5, info
    assert summary.framesets_total > 0 and summary.framesets_complete > 0
    out = subprocess.run([sys.executable, "-m", "rigsync.cli.main", "info", str(take)], capture_output=True,
                         text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert "rs0, rs1, rs2, gige0, gige1, webcam" in out.stdout and "gige1/color" in out.stdout


def test_every_device_has_its_frames_with_increasing_stamps(take: Path) -> None:
    """Per stream: frame numbers, device and rig stamps strictly increasing; a RealSense frame's device stamp is
    exactly the sensor timestamp its recording was made with for that frame counter (unwrapped past 2**32 us);
    no flag but ``corrupt`` (a GigE frame that lost packets on a loaded host)."""
    with open_recording(take) as rec:
        frames = defaultdict(list)
        for f in rec.frames():
            frames[(f.device, f.stream)].append(f)
    assert sorted(frames) == sorted(stream_keys())
    for key, all_frames in frames.items():
        assert all(set(f.flags) <= {"corrupt"} for f in all_frames), key
        fs = [f for f in all_frames if not f.flags]  # a corrupt GigE frame may be closed after later ones (gige.py)
        for a, b in itertools.pairwise(fs):
            assert b.seq > a.seq and b.device_ts_ns > a.device_ts_ns and b.rig_time_ns > a.rig_time_ns, (key, a, b)
        if key[0] in REALSENSE:  # the recording's frame_counter is i + 1 for its injected frame i
            assert [f.device_ts_ns for f in fs] == [sensor_ts_us(f.seq - 1) * 1000 for f in fs], key
            assert fs[-1].device_ts_ns > (1 << 32) * 1000  # past the 32-bit wrap


def test_framesets_are_formed_with_members_within_one_window(take: Path) -> None:
    """Framesets come in id order and rig time; no stream twice in a set; each set's centre lies among its
    members, its spread is their spread (no declared delays) and no wider than the slowest member's period (the
    window of the set's first frame is at most its stream's period); members are frames recorded on
    /rigsync/frames; every missing entry has a documented reason; each GigE camera's frames join sets of the webcam
    and a RealSense camera."""
    fps = {key: 30.0 for key in stream_keys()} | {(d, "color"): float(GIGE_FPS) for d in GIGE}
    with open_recording(take) as rec:
        sets = list(rec.framesets())
        recorded = {(f.device, f.stream, f.seq, f.rig_time_ns) for f in rec.frames()}
    assert [s.frameset_id for s in sets] == list(range(len(sets)))
    assert all(b.rig_time_ns > a.rig_time_ns for a, b in itertools.pairwise(sets))
    joined: Counter[str] = Counter()  # per GigE camera: sets holding it, the webcam and a RealSense camera
    for s in sets:
        keys = [(m.device, m.stream) for m in s.members]
        assert len(keys) == len(set(keys)), s
        times = [m.rig_time_ns for m in s.members]
        assert min(times) <= s.rig_time_ns <= max(times) and s.spread_ns == max(times) - min(times), s
        assert s.spread_ns <= max(period_ns(fps[k]) for k in keys), s
        assert all((m.device, m.stream, m.seq, m.rig_time_ns) in recorded for m in s.members), s
        assert {m.reason.value for m in s.missing} <= MISSING, s
        devices = {d for d, _ in keys}
        if "webcam" in devices and devices & set(REALSENSE):
            joined.update(devices & set(GIGE))
    # Each slower GigE camera's frames join the 30 fps sources' sets. (Not a set of all nine streams: every source
    # runs free, and two of them may stay more than a set's window apart for the whole capture.)
    assert set(joined) == set(GIGE), joined


def test_every_recorded_frame_is_a_member_or_a_named_drop(take: Path) -> None:
    """Per stream, the statistics account for every recorded frame: frames = matched + the named reasons a frame
    is in no frameset; matched is the stream's count of frameset memberships, each frame a member once; corrupt
    frames are the ones flagged so, and a GigE camera's frames that came without their image (counted, not
    recorded); a gap in the frame numbers is counted as lost on the device or in the host's
    queue (a loaded host may lose a frame: it must be named, not silent)."""
    with open_recording(take) as rec:
        stats = {k: json.loads(v) for k, v in rec.metadata["rigsync.stats"].items()}
        members = Counter((m.device, m.stream, m.seq) for s in rec.framesets() for m in s.members)
        seqs: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
        corrupt: Counter[tuple[str, str]] = Counter()
        for f in rec.frames():
            seqs[(f.device, f.stream)].append(f.seq)
            corrupt[(f.device, f.stream)] += "corrupt" in f.flags
    assert max(members.values()) == 1
    per_stream = Counter((d, s) for d, s, _ in members)
    for key in stream_keys():
        st = stats[f"{key[0]}/{key[1]}"]
        assert set(st["dropped"]) <= {*LOOSE, "warmup", "device", "host_overrun"}, (key, st)
        dropped = Counter(st["dropped"])
        imageless = dropped["corrupt"] - corrupt[key]  # GigE frames that lost packets: counted, nothing recorded
        assert imageless == 0 or (imageless > 0 and key[0] in GIGE), (key, st)
        assert st["frames"] == len(seqs[key]) + imageless and seqs[key], (key, st)
        assert st["matched"] == per_stream[key], (key, st)
        assert st["frames"] == st["matched"] + sum(dropped[r] for r in LOOSE), (key, st)
        gaps = sum(b - a - 1 for a, b in itertools.pairwise(sorted(seqs[key])))
        assert gaps <= dropped["device"] + dropped["host_overrun"] + imageless, (key, st, gaps)


def test_vendor_drivers_share_the_system_clock_and_a_simulated_one_is_refused(tmp_path: Path) -> None:
    """Each vendor driver has its own SystemClock: equal ones are one clock, so a session takes drivers of
    several vendors; a driver on another clock (the simulator's, a virtual one) is refused with the reason."""
    plan = build_plan(loads_rig(WEBCAM_RIG, str(tmp_path / "rig.toml")))
    options = CaptureOptions(out=tmp_path / "take.mcap", seconds=1.0)
    assert UvcDriver().clock() == UvcDriver().clock() and UvcDriver().clock() is not UvcDriver().clock()
    session = CaptureSession(plan, options, drivers={"uvc": UvcDriver(), "other": UvcDriver()})
    assert session.clock == UvcDriver().clock()
    with pytest.raises(RigsyncError, match="run on different clocks"):
        CaptureSession(plan, options, drivers={"uvc": UvcDriver(), "other": UvcDriver(clock=VirtualClock())})
