"""A dead agent and its return, with real processes: host b's ``rigsync agent`` killed with SIGKILL in the middle of
a capture on host a, then started again; the recording held to the truth its worlds recorded."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from mcap.reader import make_reader
from tests.capture.conftest import account, check_stats, declared_offsets, read_contract
from tests.net.test_agent import TWO_HOSTS, free_port, says_ready

pytest.importorskip("zenoh")

from rigsync.capture.session import EVENTS_TOPIC, CaptureOptions, CaptureSession
from rigsync.core.errors import DriverError
from rigsync.core.frame import FrameFlags, StampedFrame
from rigsync.drivers.base import DeviceEvent, EventKind
from rigsync.drivers.sim.world import SimWorld
from rigsync.net.remote import RemoteDriver
from rigsync.net.router import open_capture_drivers
from rigsync.net.zenoh_session import SessionOptions, open_session
from rigsync.plan import build_plan
from rigsync.spec import load_rig

B_DEVICES = ("k1", "web", "cam")


def start_agent(rig_path: Path, host: str, origin_ns: int, connect: str) -> subprocess.Popen[str]:
    """``rigsync agent`` of ``host`` connecting to the capture's listener; returns once it says it is ready."""
    proc = subprocess.Popen([sys.executable, "-m", "rigsync.cli.main", "agent", str(rig_path), "--host", host,
                             "--connect", connect, "--origin", str(origin_ns)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if not says_ready(proc):
        os.kill(proc.pid, signal.SIGKILL)
        raise AssertionError(f"the agent did not start: {proc.communicate()[1]}")
    return proc


@contextmanager
def agents() -> Iterator[list[subprocess.Popen[str]]]:
    """The agent processes a test starts, each stopped by pid at the end (SIGKILL if still running)."""
    procs: list[subprocess.Popen[str]] = []
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            proc.communicate()


def events_of(path: Path) -> list[dict[str, Any]]:
    with path.open("rb") as f:
        return [json.loads(m.data) for _, _, m in make_reader(f).iter_messages(topics=[EVENTS_TOPIC])]


def gone_and_back(path: Path) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """The recording's device events: for each of b's devices exactly one DISCONNECTED (host b silent), then one
    RECONNECTED; none of host a's. Returns the pair per device."""
    events = events_of(path)
    assert {e["device"] for e in events} == set(B_DEVICES)
    pairs = {}
    for device in B_DEVICES:
        mine = [e for e in events if e["device"] == device]
        assert [e["kind"] for e in mine] == ["disconnected", "reconnected"], mine
        gone, back = mine
        assert gone["reason"].startswith("host b's agent is silent: no heartbeat for ")
        assert gone["reason"].endswith(" s (timeout 1 s)") and back["rig_ns"] > gone["rig_ns"]
        pairs[device] = (gone, back)
    return pairs


def seconds_after(text: str, reason: str) -> float:
    """The number of seconds ``reason`` gives after ``text``."""
    return float(reason.split(text, 1)[1].split(" s", 1)[0])


def test_a_killed_agent_is_reported_disconnected_and_rejoins_when_started_again(tmp_path: Path) -> None:
    """Agent b killed (SIGKILL) 1.5 s into a capture and started again once its devices are reported away: each of
    b's devices has one DISCONNECTED event naming host b and its silence (1.0-2.0 s, the timeout plus a poll), then
    one RECONNECTED after the restart; host a's k0 never misses a frame its world delivered; b's frames resume
    (restarted counters) with stamps true to their exposures, the first flagged after_reconnect; the whole recording
    is held to its truth channel (every frame b's old agent had but never sent is lost ``disconnected``, and so
    named); every frameset between b's last frame before the kill and its first after the restart lists each b
    stream ``disconnected``."""
    rig = load_rig(TWO_HOSTS)
    plan = build_plan(rig)
    origin = time.clock_gettime_ns(time.CLOCK_REALTIME)
    listen = f"tcp/127.0.0.1:{free_port()}"
    out = tmp_path / "rejoin.mcap"
    with agents() as procs, open_session(SessionOptions(listen=(listen,))) as session:
        procs.append(start_agent(TWO_HOSTS, "b", origin, listen))
        drivers = open_capture_drivers(rig, plan, session, "a", origin_realtime_ns=origin)
        remote = drivers["sim"]._remotes["b"]  # type: ignore[attr-defined]
        started, stop = threading.Event(), threading.Event()
        resumed: dict[str, int] = {}  # b's streams: frames since the first flagged after_reconnect

        def observe(f: StampedFrame) -> None:
            started.set()
            key = f.frame.key
            if key in resumed or f.frame.flags & FrameFlags.AFTER_RECONNECT:
                resumed[key] = resumed.get(key, 0) + 1

        def kill_and_restart() -> None:
            """Kill b 1.5 s into the capture, start it again once its devices are reported away, stop the capture
            once each of b's streams has 10 frames after the rejoin (bounded waits on what the capture saw)."""
            try:
                started.wait()
                time.sleep(1.5)
                os.kill(procs[0].pid, signal.SIGKILL)
                away_by = time.monotonic() + 10  # b's devices reported away first (timeout 1 s plus a poll), so the
                while not remote.away and time.monotonic() < away_by:  # restart is seen after a silence, not as one
                    time.sleep(0.05)
                procs.append(start_agent(TWO_HOSTS, "b", origin, listen))
                deadline = time.monotonic() + 60
                while len(resumed) < len(b_streams) or min(resumed.values()) < 10:
                    if time.monotonic() > deadline:
                        return
                    time.sleep(0.1)
            finally:
                stop.set()

        b_streams = [f"{d}/{s.name}" for d in B_DEVICES for s in rig.device(d).streams]
        chaos = threading.Thread(target=kill_and_restart)
        chaos.start()
        with CaptureSession(plan, CaptureOptions(out=out, seconds=120, force=True), drivers=drivers,
                            frame_observer=observe) as capture:
            result = capture.run(stop=stop)
        chaos.join()
        assert sorted(resumed) == sorted(b_streams) and min(resumed.values()) >= 10, resumed
        assert remote.rejoin_error is None and remote.malformed == 0
    assert procs[0].returncode == -signal.SIGKILL
    assert result.error is None

    for gone, back in gone_and_back(out).values():
        assert 1.0 <= seconds_after("no heartbeat for ", gone["reason"]) <= 2.0  # (below the aligner's settle_ns)
        assert back["reason"].startswith("host b's agent restarted and rejoined (host b's agent sends heartbeats "
                                         "again after ")

    rec = read_contract(out)
    ledger = account(rec, declared_offsets(rec.rig))
    assert ledger.problems + check_stats(rec, ledger) == []
    by_key: dict[tuple[str, str], list[Any]] = {}
    for f in ledger.frames:
        by_key.setdefault(f.key, []).append(f)
    assert {f.fate for f in by_key[("k0", "color")]} <= {"member", "image", "warmup"}  # host a: every frame recorded
    reference = SimWorld(rig, plan).reference
    offsets = declared_offsets(rec.rig)
    for f in ledger.frames:
        if f.recorded is not None:
            true_start = f.ref_ns + offsets.get(f.key, 0)
            assert abs(f.recorded["rig_time_ns"] - reference.ns(true_start)) <= f.recorded["error_bound_ns"], f
    for key in [(d, s.name) for d in B_DEVICES for s in rig.device(d).streams]:
        frames = by_key[key]
        assert {f.epoch for f in frames} == {0, 1}, key  # two connections: before the kill, after the restart
        after = [f for f in frames if f.epoch == 1 and f.recorded is not None]
        flagged = [f for f in frames if f.recorded is not None and "after_reconnect" in f.recorded["flags"]]
        assert flagged == [min(after, key=lambda f: f.seq)], key
        # The sets centred more than half a period after b's last frame before the kill and before its first after
        # the restart (a set nearer one of them is that frame's, which may have come late: not_received).
        half_ns = rig.device(key[0]).stream(key[1]).period_ns // 2
        last_ns = max(f.recorded["rig_time_ns"] for f in frames if f.epoch == 0 and f.recorded is not None)
        first_ns = min(f.recorded["rig_time_ns"] for f in after)
        between = [fs for fs in rec.framesets if last_ns + half_ns < fs["rig_time_ns"] < first_ns - half_ns]
        assert len(between) >= 30  # the restart takes more than a second, at 30 fps
        for fs in between:  # (every b stream runs at the sets' 30 fps: due in each)
            listed = {(m["device"], m["stream"]): m["reason"] for m in fs["missing"]}
            assert listed.get(key) == "disconnected", (key, fs)


def test_control_queries_to_a_silent_agent_fail_at_once_naming_the_host() -> None:
    """Agent b killed: polling its webcam yields one DISCONNECTED event (reason: host b silent); a start then raises
    at once - not sent, no reply waited for - naming host b and its silence."""
    rig = load_rig(TWO_HOSTS)
    listen = f"tcp/127.0.0.1:{free_port()}"
    with agents() as procs, open_session(SessionOptions(listen=(listen,))) as session:
        procs.append(start_agent(TWO_HOSTS, "b", time.clock_gettime_ns(time.CLOCK_REALTIME), listen))
        remote = RemoteDriver(session, rig, build_plan(rig), "b")
        device = remote.open("W0")
        os.kill(procs[0].pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        events: list[Any] = []
        while not events and time.monotonic() < deadline:  # (bounded: the timeout is 1 s)
            events = [e for e in device.poll() if isinstance(e, DeviceEvent)]
            time.sleep(0.05)
        assert [(e.device, e.kind) for e in events] == [("web", EventKind.DISCONNECTED)]
        assert events[0].reason.startswith("host b's agent is silent: no heartbeat for ")
        silent = r"host b's agent is silent \(no heartbeat for \d+\.\d s\): start not sent"
        with pytest.raises(DriverError, match=silent):
            device.start()


def test_an_agent_restarted_on_another_rig_file_does_not_rejoin_and_says_why(tmp_path: Path) -> None:
    """Agent b killed, then started again from a rig file one byte longer: it beats again but its devices stay
    disconnected (no RECONNECTED event; ``away``: no simulated control is sent to it), and ``rejoin_error`` names the
    host and both rig hashes."""
    rig = load_rig(TWO_HOSTS)
    other = tmp_path / "two_hosts.toml"
    other.write_text(TWO_HOSTS.read_text() + "\n")
    listen = f"tcp/127.0.0.1:{free_port()}"
    origin = time.clock_gettime_ns(time.CLOCK_REALTIME)
    with agents() as procs, open_session(SessionOptions(listen=(listen,))) as session:
        procs.append(start_agent(TWO_HOSTS, "b", origin, listen))
        remote = RemoteDriver(session, rig, build_plan(rig), "b")
        device = remote.open("W0")
        os.kill(procs[0].pid, signal.SIGKILL)
        procs.append(start_agent(other, "b", origin, listen))
        deadline = time.monotonic() + 20
        events: list[Any] = []
        while remote.rejoin_error is None and time.monotonic() < deadline:  # (bounded)
            events += [e for e in device.poll() if isinstance(e, DeviceEvent)]
            time.sleep(0.05)
        events += [e for e in device.poll() if isinstance(e, DeviceEvent)]
        assert [e.kind for e in events] == [EventKind.DISCONNECTED]
        assert remote.away and not remote.silent
        assert re.fullmatch(r"host b's agent could not rejoin: the agent of host b runs another rig file .*: its "
                            r"rig_hash is [0-9a-f]{64}, this capture's [0-9a-f]{64} \(run both from the same rig file "
                            r"and rigsync version\)", str(remote.rejoin_error))


def only(rec: Any, devices: set[str]) -> Any:
    """The recording as if the rig had only ``devices``: their truth, frames, statistics, and frameset entries. A set
    none of whose members is kept keeps their centre (``centre_ns``: their stamps less their declared offsets, within
    ``centre_bound_ns``, their largest error bound), which tells which frame of ``devices`` its missing entries are
    about."""
    keep = lambda x: x["device"] in devices  # noqa: E731
    offsets = declared_offsets(rec.rig)
    for fs in rec.framesets:
        if fs["members"] and not any(map(keep, fs["members"])):
            refs = [m["rig_time_ns"] - offsets.get((m["device"], m["stream"]), 0) for m in fs["members"]]
            fs["centre_ns"] = (min(refs) + max(refs)) / 2
            fs["centre_bound_ns"] = max(m["error_bound_ns"] for m in fs["members"])
    rec.truth = [t for t in rec.truth if keep(t)]
    rec.frames = [f for f in rec.frames if keep(f)]
    rec.stats = {k: v for k, v in rec.stats.items() if k.split("/")[0] in devices}
    rec.framesets = [{**fs, "members": list(filter(keep, fs["members"])), "missing": list(filter(keep, fs["missing"]))}
                     for fs in rec.framesets]
    rec.framesets = [fs for fs in rec.framesets if fs["members"] or fs["missing"]]
    rec.rig["devices"] = [d for d in rec.rig["devices"] if d["id"] in devices]
    rec.rig["sync"] = [g for g in rec.rig.get("sync", []) if all(m["device"] in devices for m in g["members"])]
    return rec


def test_a_partition_of_three_seconds_disconnects_host_b_and_the_capture_goes_on(tmp_path: Path) -> None:
    """Host b's link down for 3 s (namespaces: ``ip link set ... down``) in the middle of a capture on host a: each of
    b's devices is DISCONNECTED (host b silent past the 1 s timeout), then RECONNECTED when the same agent's
    heartbeats come back (no restart); b's frames resume after it; host a's frames are held to their truth
    throughout (every frame recorded, every frameset entry with its cause, the statistics reason by reason)."""
    from tests.net.netns import NetnsError, open_lan, skip_reason, stop

    reason = skip_reason()
    if reason is not None:
        pytest.skip(reason)
    origin = time.clock_gettime_ns(time.CLOCK_REALTIME)
    out = tmp_path / "partition.mcap"
    with contextlib.ExitStack() as stack:
        try:
            lan = stack.enter_context(open_lan(["a", "b"]))
        except NetnsError as e:
            pytest.skip(f"cannot create network namespaces here ({e})")
        endpoint = f"tcp/{lan.hosts['b'].address}:7447"
        cli = [sys.executable, "-m", "rigsync.cli.main"]
        agent = lan.popen("b", [*cli, "agent", str(TWO_HOSTS), "--host", "b", "--listen", endpoint,
                                "--origin", str(origin)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert says_ready(agent)
        capture = lan.popen("a", [*cli, "capture", str(TWO_HOSTS), "--host", "a", "--connect", endpoint,
                                  "--origin", str(origin), "--seconds", "11", "--out", str(out), "--quiet",
                                  "--force"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while not (out.exists() and out.stat().st_size > 300_000):  # recording: the capture has started
            assert capture.poll() is None and time.monotonic() < deadline, capture.communicate()
            time.sleep(0.05)
        lan.link("b", up=False)
        time.sleep(3.0)  # the partition's length (not a wait for an outcome)
        lan.link("b", up=True)
        _, err = capture.communicate(timeout=60)
        assert capture.returncode == 0, err
        assert stop(agent) == 0

    pairs = gone_and_back(out)
    for gone, back in pairs.values():
        assert back["reason"].startswith("host b's agent sends heartbeats again after ")  # the same agent
        assert seconds_after("again after ", back["reason"]) >= 3.0  # at least the partition
        assert back["rig_ns"] - gone["rig_ns"] >= 2e9
    rec = read_contract(out)
    for device, (_, back) in pairs.items():
        back_ns = back["rig_ns"]
        assert sum(1 for f in rec.frames if f["device"] == device and f["rig_time_ns"] > back_ns) >= 10, device
    a = only(rec, {"k0"})
    ledger = account(a, declared_offsets(a.rig))
    assert ledger.problems + check_stats(a, ledger) == []
    assert {f.fate for f in ledger.frames} <= {"member", "image", "warmup"}  # every k0 frame recorded
