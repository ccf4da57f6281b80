"""Disk: free space for the take and the measured write speed against the rig's raw recording rate."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from rigsync.hostcheck import disk
from rigsync.hostcheck.finding import Finding, Status
from rigsync.hostcheck.probe import LocalProbe, RecordedProbe
from rigsync.hostcheck.run import check_host
from rigsync.plan import build_plan
from rigsync.plan.model import Plan
from rigsync.spec import load_rig, loads_rig

from .conftest import EXAMPLES, MakeHost

STAR = build_plan(load_rig(EXAMPLES / "kinect_star.toml"))
# Recorded raw: per Kinect colour 1920 x 1080 bgr8 (3 B) x 30 + depth 640 x 576 16UC1 (2 B) x 30 + IR mono16 the same
STAR_RATE = 3 * (1920 * 1080 * 3 * 30 + 2 * 640 * 576 * 2 * 30)  # 692,582,400 B/s
SECONDS = 600.0
NEED = STAR_RATE * SECONDS
OUT = "/data/takes"


def webcam() -> Plan:
    return build_plan(loads_rig("""
[rig]
name = "cam"
[[hosts]]
name = "h"
[[devices]]
id = "cam"
model = "uvc-webcam"
serial = "UVC-0001"
host = "h"
connection = "usb:mb0"
streams = [{ kind = "color", width = 640, height = 480, fps = 30, format = "yuyv" }]
"""))


WEBCAM_RATE = 640 * 480 * 3 * 30  # yuyv on the link, bgr8 in the recording


def findings(plan: Plan, probe: RecordedProbe | LocalProbe, out: str = OUT, seconds: float = SECONDS
             ) -> dict[str, Finding]:
    return {f.item: f for f in check_host(plan, next(iter(plan.index.hosts)), probe, out_dir=out, seconds=seconds)
            if f.item.startswith("disk-")}


def recorded(make_host: MakeHost, free: float, speed_b_s: float) -> RecordedProbe:
    return make_host(disks={"/data": {"total_bytes": 4e12, "free_bytes": free,
                                      "write_seconds_per_gb": 1e9 / speed_b_s}})


def test_the_rate_is_the_recorded_encodings() -> None:
    assert disk.rate_bytes_s(_ctx(STAR)) == STAR_RATE
    assert disk.rate_bytes_s(_ctx(webcam())) == WEBCAM_RATE


def _ctx(plan: Plan) -> disk.HostContext:
    return disk.HostContext(plan, next(iter(plan.index.hosts)), LocalProbe())


@pytest.mark.parametrize(("free", "speed", "space", "write"), [
    (NEED * 1.2 + 1e9, STAR_RATE * 1.5 + 1e6, Status.PASS, Status.PASS),
    (NEED * 1.2 - 1e9, STAR_RATE * 1.5 - 1e6, Status.WARN, Status.WARN),
    (NEED - 1e9, STAR_RATE - 1e6, Status.FAIL, Status.FAIL),
])
def test_space_and_speed_against_the_need(make_host: MakeHost, free: float, speed: float, space: Status,
                                          write: Status) -> None:
    got = findings(STAR, recorded(make_host, free, speed))
    assert (got["disk-space"].status, got["disk-write"].status) == (space, write)
    assert got["disk-space"].wanted == ">= 498.7 GB: 693 MB/s raw x 600 s = 415.5 GB, plus 20 %"
    assert got["disk-write"].wanted == ">= 1039 MB/s: the raw rate 693 MB/s plus 50 %"
    assert got["disk-write"].seen == (f"{speed / 1e6:.0f} MB/s, measured by writing 268 MB (fsync included) in "
                                      f"{(256 << 20) / speed:.3f} s")
    if space is Status.FAIL:
        assert got["disk-space"].seen == "414.5 GB free of 4000.0 GB: full after 599 s of the 600 s take"
        assert got["disk-space"].fix == (f"free space on the disk of {OUT}, record to another disk (--out), a "
                                         "shorter take (--duration), or fewer/smaller streams")
        assert got["disk-write"].fix == ("record to a faster disk (an NVMe SSD) with --out, keep compression on "
                                         "(--compression zstd writes fewer bytes), or lower the rig's rate")
    if space is Status.PASS:
        assert got["disk-space"].fix == "" and got["disk-write"].fix == ""


def test_a_shorter_take_needs_less(make_host: MakeHost) -> None:
    got = findings(STAR, recorded(make_host, NEED / 10, STAR_RATE * 2), seconds=SECONDS / 20)
    assert got["disk-space"].status is Status.PASS


def test_a_missing_output_directory_fails_alone(make_host: MakeHost) -> None:
    got = findings(STAR, make_host(), out="/nowhere")
    assert list(got) == ["disk-space"]
    assert got["disk-space"].status is Status.FAIL
    assert got["disk-space"].fix == "mkdir -p /nowhere, or give another --out"


def test_the_write_lasts_two_seconds_of_the_rate_within_bounds() -> None:
    assert disk.write_bytes(WEBCAM_RATE) == 64 << 20  # 55 MB: the floor
    assert disk.write_bytes(100e6) == 200_000_000
    assert disk.write_bytes(STAR_RATE) == 256 << 20


def test_live_a_tmp_dir_of_this_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real timed write (32 MiB) and the real free space of the tmp directory."""
    monkeypatch.setattr(disk, "WRITE_MIN_BYTES", 32 << 20)
    monkeypatch.setattr(disk, "WRITE_MAX_BYTES", 32 << 20)
    got = findings(webcam(), LocalProbe(), out=str(tmp_path), seconds=60.0)
    write = got["disk-write"]
    m = re.fullmatch(r"(\d+) MB/s, measured by writing 34 MB \(fsync included\) in ([\d.]+) s", write.seen)
    assert m is not None, write.seen
    shown_s = float(m[2])  # rounded to 1 ms: the speed shown lies between the two ends of that rounding
    assert (32 << 20) / (shown_s + 5e-4) / 1e6 - 1 <= int(m[1]) <= (32 << 20) / max(shown_s - 5e-4, 1e-6) / 1e6 + 1
    speed = int(m[1]) * 1e6
    assert write.status is (Status.PASS if speed >= WEBCAM_RATE * 1.5 else
                            Status.WARN if speed >= WEBCAM_RATE else Status.FAIL)
    assert list(tmp_path.iterdir()) == []  # the test file is gone
    free = shutil.disk_usage(tmp_path).free
    space = got["disk-space"]
    assert float(space.seen.split(" GB free")[0]) == pytest.approx(free / 1e9, abs=0.5)
    assert space.status is (Status.PASS if free >= WEBCAM_RATE * 60 * 1.2 else Status.WARN)
