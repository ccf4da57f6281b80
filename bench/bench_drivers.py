"""Drivers: per-frame overhead against the SDK's own bare loop, in the same run.

(a) RealSense: a ``.db3`` recording (``rs.recorder`` of librealsense's software device, depth z16 + colour rgb8 at
    ``--rs-size``) played back as fast as the SDK can (``set_real_time(False)``), through a real ``rs.pipeline``.
    Bare: each sensor opened and started with a callback that counts frames. Driver: ``RealSenseDriver`` opens the
    recording as the rig device, configures it and is polled into a list (every frame: metadata read, stamp
    unwrapped, pixels copied, a ``Frame`` queued). A run ends when every recorded frame has arrived (or a 60 s cap).
(b) Aravis: ``arv-fake-gv-camera-0.8`` processes on loopback aliases (127.0.0.41...) at ``--gige-fps`` with small
    mono8 images. Bare: an Aravis stream's ``timeout_pop_buffer`` loop counting buffers and pushing them back.
    Driver: ``GigeDriver``'s device (its reader thread builds a ``Frame`` per buffer) polled into a list. Each
    run streams ``--gige-seconds``.

Figures per run: delivered frames per second (wall clock, start to last frame) and this process's CPU time per
frame (every thread: the SDK's and the driver's; the fake cameras are other processes). Bare and driver runs
alternate, ``--reps`` times each after one uncounted warm-up of each; the best of each is kept and the ratio is
driver / bare (target: frame rate >= 0.9 of the bare loop's).

Run: PYTHONPATH=src python3 bench/bench_drivers.py [--reps 5] [--rs-frames 3000] [--gige-fps 1000]
(the GigE part needs root for the loopback aliases, or the aliases already present).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rigsync.core.frame import Frame, StreamKind  # noqa: E402
from rigsync.drivers.base import Device, DeviceConfig, StreamConfig, SyncConfig  # noqa: E402


@dataclass(frozen=True)
class Run:
    frames: int
    wall_s: float
    cpu_s: float

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def cpu_us_per_frame(self) -> float:
        return self.cpu_s / self.frames * 1e6 if self.frames else float("inf")


def timed(body: Callable[[], tuple[int, float]]) -> Run:
    """``body`` returns (frames, wall seconds from start to its last frame); CPU is this process's, all threads."""
    cpu0 = time.process_time()
    frames, wall_s = body()
    return Run(frames, wall_s, time.process_time() - cpu0)


def config(device_id: str, serial: str, model: str, streams: tuple[StreamConfig, ...]) -> DeviceConfig:
    return DeviceConfig(device_id, serial, model, streams, SyncConfig(None, None, "standalone", "0", 0, 0, 1, ()))


def poll_until(device: Device, t0: float, done: Callable[[int], bool], cap_s: float) -> tuple[int, float]:
    """Poll (never blocking; 1 ms naps) until ``done(frames)`` or ``cap_s`` after ``t0``; (frames, seconds from
    ``t0`` to the last one)."""
    frames, last = 0, t0
    while not done(frames) and time.monotonic() - t0 < cap_s:
        got = sum(isinstance(i, Frame) for i in device.poll())
        if got:
            frames, last = frames + got, time.monotonic()
        time.sleep(0.001)
    return frames, last - t0


# -- (a) RealSense playback -----------------------------------------------------------------------------------------

RS_SERIAL = "827312070042"


def rs_record(folder: Path, frames: int, width: int, height: int) -> Path:
    sys.path.insert(0, str(ROOT))
    from tests.drivers import realsense_devices as soft

    soft.W, soft.H = width, height  # the tests' SoftD435 at the benchmark's size
    return soft.record(folder / "bench.db3", RS_SERIAL, frames)


def rs_bare(path: Path, expected: int, cap_s: float) -> tuple[int, float]:
    import pyrealsense2 as rs

    cfg = rs.config()
    cfg.enable_device_from_file(str(path), False)
    pipe = rs.pipeline()
    dev = cfg.resolve(rs.pipeline_wrapper(pipe)).get_device()
    playback = dev.as_playback()
    playback.set_real_time(False)
    count = [0]
    last = [0.0]
    done = threading.Event()

    def on_frame(f: Any) -> None:
        count[0] += 1
        last[0] = time.monotonic()
        if count[0] >= expected:
            done.set()

    sensors = list(dev.query_sensors())
    t0 = time.monotonic()
    for s in sensors:
        s.open(s.get_stream_profiles())
    playback.pause()
    for s in sensors:
        s.start(on_frame)
    playback.resume()
    done.wait(cap_s)
    for s in sensors:
        with contextlib.suppress(RuntimeError):
            s.stop()
        with contextlib.suppress(RuntimeError):
            s.close()
    return count[0], last[0] - t0


def rs_driver(path: Path, expected: int, cap_s: float, width: int, height: int) -> tuple[int, float]:
    from tests.drivers.realsense_devices import SoftContext

    from rigsync.drivers.realsense import RealSenseDriver
    from rigsync.spec import loads_rig

    rig = loads_rig(f"""
[[hosts]]
name = "h"
[[devices]]
id = "cam"
model = "realsense-d435"
serial = "{RS_SERIAL}"
host = "h"
driver = "realsense"
file = "{path.name}"
connection = "usb:c0"
streams = [{{ kind = "depth", width = {width}, height = {height}, fps = 30 }},
           {{ kind = "color", width = {width}, height = {height}, fps = 30 }}]
""", str(path.parent / "rig.toml"))
    streams = tuple(StreamConfig(s.name, s.kind, s.width, s.height, s.fps, s.pixel_format, s.exposure_us)
                    for s in rig.devices[0].streams)
    with RealSenseDriver(rig, context=SoftContext(), real_time=False).open(RS_SERIAL) as device:
        device.configure(config("cam", RS_SERIAL, "realsense-d435", streams))
        t0 = time.monotonic()
        device.start()
        frames, wall_s = poll_until(device, t0, lambda n: n >= expected, cap_s)
        device.stop()
    return frames, wall_s


# -- (b) Aravis fake cameras ----------------------------------------------------------------------------------------

FAKE = "arv-fake-gv-camera-0.8"
XML = ROOT / "tests" / "drivers" / "data" / "ptp_fake_camera.xml"


def _lo_addresses() -> set[str]:
    out = subprocess.run(["ip", "-o", "-4", "addr", "show", "dev", "lo"], capture_output=True, text=True,
                         check=True).stdout
    return {line.split()[3].split("/")[0] for line in out.splitlines()}


@contextlib.contextmanager
def fake_cameras(count: int) -> Iterator[list[str]]:
    """``count`` fake cameras (serials RSG-BENCH-n) on 127.0.0.41..., started and stopped by pid."""
    from gi.repository import Aravis

    cams = {f"RSG-BENCH-{n}": f"127.0.0.{41 + n}" for n in range(count)}
    missing = sorted(set(cams.values()) - _lo_addresses())
    if missing and os.geteuid() != 0:
        raise SystemExit(f"the fake cameras need loopback aliases {missing} (ip addr add ADDR/8 dev lo, as root)")
    added: list[str] = []
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for addr in missing:
            subprocess.run(["ip", "addr", "add", f"{addr}/8", "dev", "lo"], check=True)
            added.append(addr)
        for serial, addr in cams.items():
            procs.append(subprocess.Popen([FAKE, "-i", addr, "-s", serial, "-g", str(XML)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 15
        while True:
            Aravis.update_device_list()
            found = {Aravis.get_device_serial_nbr(i) for i in range(Aravis.get_n_devices())}
            if set(cams) <= found:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"fake cameras not discovered: found {sorted(found)}")
            time.sleep(0.2)
        yield list(cams)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
        for addr in added:
            subprocess.run(["ip", "addr", "del", f"{addr}/8", "dev", "lo"], check=False)


def gige_stream(fps: float, width: int, height: int) -> StreamConfig:
    return StreamConfig("mono", StreamKind.COLOR, width, height, fps, "mono8", None)


@contextlib.contextmanager
def gige_bare_streaming(serials: list[str], fps: float, width: int, height: int
                        ) -> Iterator[Callable[[], tuple[int, float]]]:
    """Aravis's own loop, streaming while the block runs: one thread per camera (``pop-<n>``) popping buffers and
    pushing them back. Yields a function giving (buffers counted, monotonic time of the last one)."""
    from gi.repository import Aravis

    cams = [Aravis.Camera.new(f"Aravis-Fake-{s}") for s in serials]
    counts = [0] * len(cams)
    lasts = [0.0] * len(cams)
    stop = threading.Event()

    def pop(i: int, stream: Any) -> None:
        while not stop.is_set():
            buffer = stream.timeout_pop_buffer(50_000)
            if buffer is None:
                continue
            if buffer.get_status() == Aravis.BufferStatus.SUCCESS:
                counts[i] += 1
                lasts[i] = time.monotonic()
            stream.push_buffer(buffer)

    threads, streams = [], []
    for i, cam in enumerate(cams):
        cam.set_string("AcquisitionMode", "Continuous")
        cam.set_string("TriggerMode", "Off")
        cam.set_region(0, 0, width, height)
        cam.set_string("PixelFormat", "Mono8")
        cam.set_float("AcquisitionFrameRate", fps)
        stream = cam.create_stream(None, None)
        for _ in range(16):
            stream.push_buffer(Aravis.Buffer.new_allocate(cam.get_payload()))
        streams.append(stream)
        threads.append(threading.Thread(target=pop, args=(i, stream), name=f"pop-{i}", daemon=True))
    for thread, cam in zip(threads, cams, strict=True):
        thread.start()
        cam.start_acquisition()
    try:
        yield lambda: (sum(counts), max(lasts))
    finally:
        for cam in cams:
            cam.stop_acquisition()
        stop.set()
        for thread in threads:
            thread.join()
        del streams, cams, stream, cam  # the last references: Aravis releases each camera's control channel


def gige_bare(serials: list[str], seconds: float, fps: float, width: int, height: int) -> tuple[int, float]:
    t0 = time.monotonic()
    with gige_bare_streaming(serials, fps, width, height) as progress:
        time.sleep(seconds)
        frames, last = progress()
    return frames, last - t0


@contextlib.contextmanager
def gige_devices(serials: list[str], fps: float, width: int, height: int) -> Iterator[list[Device]]:
    """The driver's devices, configured and streaming while the block runs (a reader thread each)."""
    from rigsync.drivers.gige import GigeDriver

    driver = GigeDriver()
    with contextlib.ExitStack() as stack:
        devices = [stack.enter_context(driver.open(s)) for s in serials]
        for s, device in zip(serials, devices, strict=True):
            device.configure(config(s, s, "gige-ptp-area-scan", (gige_stream(fps, width, height),)))
        for device in devices:
            device.start()
        yield devices
        for device in devices:
            device.stop()


def poll_for(devices: list[Device], seconds: float) -> tuple[int, float]:
    """As a capture polls: every device each 1 ms, for ``seconds``; (frames, seconds to the last one)."""
    t0 = time.monotonic()
    frames, last = 0, t0
    while time.monotonic() - t0 < seconds:
        for device in devices:
            got = sum(isinstance(i, Frame) for i in device.poll())
            if got:
                frames, last = frames + got, time.monotonic()
        time.sleep(0.001)
    return frames, last - t0


def gige_driver(serials: list[str], seconds: float, fps: float, width: int, height: int) -> tuple[int, float]:
    """The driver: each camera's reader thread builds frames; this thread polls every device into a list."""
    with gige_devices(serials, fps, width, height) as devices:
        return poll_for(devices, seconds)


# -- report ---------------------------------------------------------------------------------------------------------

def alternate(name: str, reps: int, bare: Callable[[], tuple[int, float]],
              driver: Callable[[], tuple[int, float]]) -> None:
    runs: dict[str, list[Run]] = {"bare": [], "driver": []}
    bare(), driver()  # warm-up, not counted: imports, the SDK's first-use set-up
    for _ in range(reps):
        runs["bare"].append(timed(bare))
        runs["driver"].append(timed(driver))
    print(f"\n{name}")
    for kind, kind_runs in runs.items():
        for r in kind_runs:
            print(f"  {kind:6} {r.frames:7d} frames in {r.wall_s:7.3f} s = {r.fps:9.1f} fps, "
                  f"{r.cpu_us_per_frame:8.1f} us CPU/frame")
    best = {k: (max(r.fps for r in v), min(r.cpu_us_per_frame for r in v)) for k, v in runs.items()}
    (b_fps, b_cpu), (d_fps, d_cpu) = best["bare"], best["driver"]
    ratio = d_fps / b_fps if b_fps else 0.0
    print(f"  best: bare {b_fps:.1f} fps, {b_cpu:.1f} us/frame; driver {d_fps:.1f} fps, {d_cpu:.1f} us/frame")
    print(f"  driver/bare frame rate {ratio:.3f} ({'meets' if ratio >= 0.9 else 'MISSES'} >= 0.9); "
          f"CPU per frame x{d_cpu / b_cpu:.2f} (+{d_cpu - b_cpu:.1f} us)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--rs-frames", type=int, default=3000, help="recorded frames per stream")
    ap.add_argument("--rs-size", default="424x240")
    ap.add_argument("--gige-cameras", type=int, default=2)
    ap.add_argument("--gige-fps", type=float, default=1000.0)
    ap.add_argument("--gige-size", default="64x48")
    ap.add_argument("--gige-seconds", type=float, default=3.0)
    ap.add_argument("--only", choices=("realsense", "gige"))
    args = ap.parse_args()
    print(f"bench_drivers: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    if args.only != "gige":
        rs_w, rs_h = (int(v) for v in args.rs_size.split("x"))
        with tempfile.TemporaryDirectory() as tmp:
            path = rs_record(Path(tmp), args.rs_frames, rs_w, rs_h)
            expected = 2 * args.rs_frames
            alternate(f"RealSense .db3 playback, non-real-time: {args.rs_frames} frames x depth z16 + colour rgb8 "
                      f"{args.rs_size} ({path.stat().st_size / 1e6:.1f} MB)", args.reps,
                      lambda: rs_bare(path, expected, 60.0),
                      lambda: rs_driver(path, expected, 60.0, rs_w, rs_h))
    if args.only != "realsense":
        if shutil.which(FAKE) is None:
            raise SystemExit(f"{FAKE} is not installed: apt-get install aravis-tools")
        import gi

        gi.require_version("Aravis", "0.8")
        g_w, g_h = (int(v) for v in args.gige_size.split("x"))
        with fake_cameras(args.gige_cameras) as serials:
            alternate(f"Aravis: {len(serials)} fake GigE cameras at {args.gige_fps:g} fps, mono8 {args.gige_size}, "
                      f"{args.gige_seconds:g} s per run", args.reps,
                      lambda: gige_bare(serials, args.gige_seconds, args.gige_fps, g_w, g_h),
                      lambda: gige_driver(serials, args.gige_seconds, args.gige_fps, g_w, g_h))
    print(f"\nload average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
