"""One simulated world split across processes, one per host: each emits its own host's devices, all agree."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

import pytest

from rigsync.core.errors import DriverError, RigsyncError
from rigsync.core.frame import Frame, FrameFlags
from rigsync.core.ptp import PtpSample
from rigsync.core.truth import FrameTruth
from rigsync.drivers.sim._model import SIM_EPOCH_NS
from rigsync.drivers.sim.driver import SimClock, SimDriver
from rigsync.drivers.sim.world import SimWorld
from rigsync.plan import build_plan
from rigsync.spec import load_rig

S = 1_000_000_000
MS = 1_000_000
HERE = Path(__file__).parent
TWO_HOSTS = HERE / "data" / "two_hosts.toml"
THREE_HOSTS = HERE.parents[1] / "examples" / "three_hosts_ptp.toml"

sys.path.insert(0, str(HERE))
from sim_host_process import frame_record  # noqa: E402


def world_of(rig_path: Path, hosts: Iterable[str] | None = None) -> SimWorld:
    rig = load_rig(rig_path)
    return SimWorld(rig, build_plan(rig), hosts=hosts)


def run(world: SimWorld, until_ns: int, poll_ns: int, *, start_at_ns: int | None = None
        ) -> tuple[list[list[object]], list[FrameTruth], dict[str, list[PtpSample]], dict[str, list[tuple[int, int]]]]:
    """Start every device of the rig, then read the world's own devices, host clocks and PTP samples every
    ``poll_ns`` of virtual time until ``until_ns``: (frames in stream order, truth, samples by host, clocks by
    host)."""
    truth: list[FrameTruth] = []
    world.truth_sink = truth.append
    for device_id in world.plan.start_order:
        world.start_device(device_id, at_ns=start_at_ns)
    own = [d.spec.id for d in world.devices if world.emits(d)]
    frames: list[list[object]] = []
    samples: dict[str, list[PtpSample]] = {h: [] for h in world.emitted_hosts}
    clocks: dict[str, list[tuple[int, int]]] = {h: [] for h in world.emitted_hosts}
    t = world.now_ns
    while t < until_ns:
        t = min(t + poll_ns, until_ns)
        world.advance_to(t)
        frames += [frame_record(f) for d in own for f in world.take(d) if isinstance(f, Frame)]
        for h in world.emitted_hosts:
            samples[h] += world.ptp_samples(h)
            clocks[h].append(world.clocks_of(h))
    return sorted(frames), truth, samples, clocks  # in stream order (one poll reads its devices in any order)


@pytest.mark.parametrize("rig_path", [TWO_HOSTS, THREE_HOSTS], ids=["two_hosts", "three_hosts_ptp"])
def test_each_host_filtered_world_emits_exactly_what_the_whole_world_emits_for_that_host(rig_path: Path) -> None:
    """A world filtered to one host gives that host's frames (images too), truth, PTP samples and clocks exactly
    as the whole world does, and the filtered worlds' truth together is exactly the whole world's."""
    until = SIM_EPOCH_NS + 2 * S
    frames, truth, samples, clocks = run(world_of(rig_path), until, 10 * MS)
    hosts = {d.spec.id: d.spec.host for d in world_of(rig_path).devices}
    union: list[FrameTruth] = []
    for host in sorted(set(hosts.values())):
        f_frames, f_truth, f_samples, f_clocks = run(world_of(rig_path, [host]), until, 10 * MS)
        assert f_frames == [f for f in frames if hosts[str(f[0])] == host]
        assert f_truth == [t for t in truth if hosts[t.device] == host]
        assert f_samples == {host: samples[host]} and f_clocks == {host: clocks[host]}
        assert f_frames and f_truth
        union += f_truth
    assert sorted(union, key=lambda t: (t.device, t.stream, t.seq)) == sorted(
        truth, key=lambda t: (t.device, t.stream, t.seq))
    if rig_path == TWO_HOSTS:  # what couples the hosts: k1's depth on b is interfered by k0's lasers on a
        assert any(f[0] == "k1" and f[1] == "depth" and int(str(f[6])) & FrameFlags.INTERFERED for f in frames)


def test_frames_and_truth_do_not_depend_on_when_the_host_reads_them() -> None:
    """Reading the frames every millisecond or every quarter second gives the same frames, images and truth
    (rendering draws its own random numbers, not the device's event stream)."""
    until = SIM_EPOCH_NS + 2 * S
    often = run(world_of(TWO_HOSTS), until, 1 * MS)
    seldom = run(world_of(TWO_HOSTS), until, 250 * MS)
    assert often[0] == seldom[0] and often[1] == seldom[1]
    assert sum(1 for f in often[0] if int(str(f[6])) & FrameFlags.INTERFERED) > 20  # rendering drew numbers


def test_a_start_scheduled_on_the_timeline_equals_a_start_made_then() -> None:
    """``start_device(at_ns=T)`` made before T (as a process joining the timeline replays another's start)
    gives exactly what starting at T does; a start in the already simulated past is refused."""
    at, until = SIM_EPOCH_NS + 300 * MS, SIM_EPOCH_NS + 1500 * MS
    scheduled = run(world_of(TWO_HOSTS), until, 7 * MS, start_at_ns=at)
    then = world_of(TWO_HOSTS)
    then.advance_to(at)
    assert run(then, until, 7 * MS)[:2] == scheduled[:2]
    with pytest.raises(ValueError, match="has simulated up to"):
        then.start_device("k0", at_ns=at)


def test_a_process_presents_only_its_own_hosts_devices_and_clocks() -> None:
    """The driver of a world filtered to host b discovers and opens b's devices only, and presents b's clocks
    and PTP only; naming a host the rig lacks is an error naming the rig file and its hosts."""
    world = world_of(TWO_HOSTS, ["b"])
    driver = SimDriver(world, SimClock(fast=True))
    assert sorted(i.serial for i in driver.discover()) == ["G0", "K1", "W0"]
    with pytest.raises(DriverError, match="on host a, which another process simulates"):
        driver.open("K0")
    with pytest.raises(DriverError, match="host 'a'"):
        driver.host_clocks("a")
    with pytest.raises(DriverError, match="host 'a'"):
        driver.ptp_source("a")
    assert driver.ptp_source("b") is not None and driver.host_clocks("b")[1] > 0
    with pytest.raises(RigsyncError, match=r"two_hosts.toml: no host 'z' in the rig \(its hosts: a, b\)"):
        world_of(TWO_HOSTS, ["z"])


def test_shared_clock_maps_the_origin_instant_of_clock_realtime_to_the_sim_epoch() -> None:
    """With an origin, true time is SIM_EPOCH_NS + (CLOCK_REALTIME - origin): a clock made later reads the same
    timeline, it does not restart it."""
    origin = time.clock_gettime_ns(time.CLOCK_REALTIME) - 5 * S  # a timeline begun 5 s ago
    clock = SimClock(fast=False, origin_realtime_ns=origin)
    before = time.clock_gettime_ns(time.CLOCK_REALTIME)
    now = clock.now_ns()
    after = time.clock_gettime_ns(time.CLOCK_REALTIME)
    assert SIM_EPOCH_NS + before - origin <= now <= SIM_EPOCH_NS + after - origin


def test_two_processes_in_real_time_emit_their_hosts_share_of_one_world(tmp_path: Path) -> None:
    """Two processes, one per host of a sync cable spanning both, each following the kernel's clock in real time,
    emit exactly the whole world's frames and truth for their host: the same trigger ids at the same true
    exposure times (k1 within 1 us of k0's trigger) as one world computes, with no tolerance for scheduling."""
    origin = time.clock_gettime_ns(time.CLOCK_REALTIME)
    start_at, end = SIM_EPOCH_NS + 1500 * MS, SIM_EPOCH_NS + 3000 * MS
    procs = {}
    for host in ("a", "b"):
        out = tmp_path / f"{host}.json"
        argv = [sys.executable, str(HERE / "sim_host_process.py"), str(TWO_HOSTS), host, str(origin), str(start_at),
                str(end), str(out)]
        procs[host] = (subprocess.Popen(argv, stderr=subprocess.PIPE, text=True), out)
    results = {}
    try:
        for host, (proc, out) in procs.items():
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            results[host] = json.loads(out.read_text())
    finally:
        for proc, _ in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    frames, truth, _, _ = run(world_of(TWO_HOSTS), end, 10 * MS, start_at_ns=start_at)
    hosts = {"k0": "a", "k1": "b", "web": "b", "cam": "b"}
    for host, result in results.items():
        assert result["now_ns"] == end
        assert sorted(result["frames"]) == [f for f in frames if hosts[str(f[0])] == host]
        assert result["truth"] == [asdict(t) for t in truth if hosts[t.device] == host]
    by_trigger = {host: {(t["stream"], t["trigger_id"]): t["exposure_start_ns"] for t in r["truth"]
                         if t["trigger_id"] is not None and t["trigger_id"].startswith("kinects/")}
                  for host, r in results.items()}
    common = by_trigger["a"].keys() & by_trigger["b"].keys()
    assert len(common) >= 2 * 40  # colour and depth of every trigger of 1.5 s at 30 fps, but the last
    assert all(abs(by_trigger["b"][k] - by_trigger["a"][k]) < 1_000 for k in common)
