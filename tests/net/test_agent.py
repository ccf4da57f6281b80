"""A capture across two processes: the agent of host b (``rigsync agent``) on loopback TCP, the capture of host a
in the test process, both simulating one world on the kernel's clock; one recording held to the truth it records
(host a's world's and, over ``@truth``, the agent's)."""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from tests.capture.conftest import account, check_stats, declared_offsets, read_contract
from tests.record.schema_check import channel_schemas, schema_problems

pytest.importorskip("zenoh")

from rigsync.capture.session import CaptureOptions, CaptureSession
from rigsync.core.frame import Frame
from rigsync.drivers.sim.driver import SIM_EPOCH_NS
from rigsync.drivers.sim.world import SimWorld
from rigsync.net.keys import Verb, frame_key
from rigsync.net.remote import AgentRefusedError, RemoteDriver
from rigsync.net.router import open_capture_drivers
from rigsync.net.zenoh_session import SessionOptions, open_session
from rigsync.plan import build_plan
from rigsync.spec import load_rig

TWO_HOSTS = Path(__file__).parents[1] / "sim" / "data" / "two_hosts.toml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def agent(rig_path: Path, host: str, origin_ns: int | None = None, tls: Path | None = None,
          rig_endpoint: str | None = None) -> Iterator[str]:
    """``rigsync agent`` of ``host`` listening on a loopback port (its endpoint; TLS with the files in ``tls``), or
    without ``--listen`` where its rig file says (``rig_endpoint``), stopped by pid with SIGTERM."""
    endpoint = rig_endpoint or f"{'tcp' if tls is None else 'tls'}/127.0.0.1:{free_port()}"
    extra = [*(["--origin", str(origin_ns)] if origin_ns is not None else []), *(["--tls", str(tls)] if tls else []),
             *(["--listen", endpoint] if rig_endpoint is None else [])]
    proc = subprocess.Popen([sys.executable, "-m", "rigsync.cli.main", "agent", str(rig_path), "--host", host,
                             *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert says_ready(proc), \
            f"the agent did not start: {proc.poll()} {proc.stderr.read() if proc.poll() is not None else ''}"
        yield endpoint
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
        assert proc.returncode == 0, err


def says_ready(proc: subprocess.Popen[Any], timeout_s: float = 30) -> bool:
    """Whether ``rigsync agent`` (its stdout a pipe) printed its ready line within ``timeout_s``."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        line = proc.stdout.readline() if sel.select(timeout=timeout_s) else ""
    return "ready" in (line.decode() if isinstance(line, bytes) else line)


def client(endpoint: str) -> SessionOptions:
    return SessionOptions(connect=(endpoint,), require_connect_ms=10_000)


def test_one_recording_of_two_hosts_holds_both_hosts_frames_as_the_one_world_exposed_them(tmp_path: Path) -> None:
    """Host b's frames and truth come through its agent, host a's from the capture's own simulator: the recording
    holds both hosts' truth and is held to it (:func:`check_two_hosts_recording`), and no truth or frame message
    was malformed."""
    rig = load_rig(TWO_HOSTS)
    plan = build_plan(rig)
    origin = time.clock_gettime_ns(time.CLOCK_REALTIME)
    out = tmp_path / "two.mcap"
    with agent(TWO_HOSTS, "b", origin) as endpoint, open_session(client(endpoint)) as session:
        drivers = open_capture_drivers(rig, plan, session, "a", origin_realtime_ns=origin)
        with CaptureSession(plan, CaptureOptions(out=out, seconds=2.5, force=True), drivers=drivers) as capture:
            result = capture.run()
        router = drivers["sim"]
        controls = list(router.controls)  # type: ignore[attr-defined]
        remote = router._remotes["b"]  # type: ignore[attr-defined]
        assert remote.malformed == 0
    assert result.error is None and result.frames > 0
    check_two_hosts_recording(out, controls)


def check_two_hosts_recording(out: Path, controls: list[tuple[Verb, str, int]], min_frames: int = 50) -> None:
    """The recording's own truth channel holds both hosts' truth (k0 from a's world; k1, web and cam from b's agent)
    of exactly the frames exposed between each device's start and stop (seq 0 on, nothing after its stop); the
    recording is held to it by the single-host examples' checker (every exposed frame accounted for, every missing
    entry with its cause, the statistics reason by reason); every recorded frame's stamp is its true exposure
    within its error bound; at least ``min_frames`` frames per stream (half for the PTP camera); and at least
    ``min_frames`` framesets pair a k0 and a k1 color frame, always of the same trigger; both hosts' PTP samples are
    recorded, and every channel has its schema, every JSON message valid against it."""
    assert {"/rigsync/ptp/a", "/rigsync/ptp/b"} <= set(channel_schemas(out))
    assert schema_problems(out) == []
    rec = read_contract(out)
    truth: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for t in rec.truth:
        truth.setdefault((t["device"], t["stream"]), []).append(t)
    rig = load_rig(TWO_HOSTS)
    assert set(truth) == {(d.id, s.name) for d in rig.devices for s in d.streams}
    stops = {device: at for verb, device, at in controls if verb is Verb.STOP}
    for (device, _), ts in truth.items():
        assert sorted(t["seq"] for t in ts) == list(range(len(ts)))
        assert max(t["exposure_start_ns"] for t in ts) < stops[device]
    ledger = account(rec, declared_offsets(rec.rig))
    assert ledger.problems + check_stats(rec, ledger) == []
    fates = Counter(f.fate for f in ledger.frames)
    assert set(fates) <= {"member", "image", "warmup"}, fates  # every delivered frame recorded: none lost
    by_key = {(t["device"], t["stream"], t["seq"]): t for t in rec.truth}
    reference = SimWorld(rig, build_plan(rig)).reference  # true time -> rig time (no replay: no device runs)
    for f in rec.frames:
        t = by_key[(f["device"], f["stream"], f["seq"])]
        assert abs(f["rig_time_ns"] - reference.ns(t["exposure_start_ns"])) <= f["error_bound_ns"], (f, t)
    for key in truth:  # (the PTP camera starts start_delay_s after the others)
        want = min_frames // 2 if key[0] == "cam" else min_frames
        assert sum(1 for f in rec.frames if (f["device"], f["stream"]) == key) >= want, key
    assert_kinects_paired(rec, by_key, min_frames)


def assert_kinects_paired(rec: Any, by_key: dict[tuple[str, str, int], dict[str, Any]], min_frames: int) -> None:
    """At least ``min_frames`` framesets pair a k0 and a k1 color frame, always of the same trigger (``by_key``:
    each frame's truth by device, stream and seq)."""
    paired = 0
    for fs in rec.framesets:
        triggers = {m["device"]: by_key[(m["device"], m["stream"], m["seq"])]["trigger_id"] for m in fs["members"]
                    if m["device"] in ("k0", "k1") and m["stream"] == "color"}
        if len(triggers) == 2:
            assert triggers["k0"] == triggers["k1"] and triggers["k0"] is not None
            paired += 1
    assert paired >= min_frames


def test_an_agent_of_another_rig_file_is_refused_naming_the_host_and_both_hashes(tmp_path: Path) -> None:
    """A capture whose rig file differs by one byte from the agent's is refused: host, both hashes."""
    other = tmp_path / "two_hosts.toml"
    other.write_text(TWO_HOSTS.read_text() + "\n")
    rig = load_rig(other)
    refused = pytest.raises(AgentRefusedError, match=r"the agent of host b runs another rig file .*: its rig_hash is "
                                                    r"[0-9a-f]{64}, this capture's [0-9a-f]{64}")
    with agent(TWO_HOSTS, "b", time.clock_gettime_ns(time.CLOCK_REALTIME)) as endpoint, \
            open_session(client(endpoint)) as session, refused:
        RemoteDriver(session, rig, build_plan(rig), "b")


def test_a_malformed_message_on_a_frame_key_is_counted_and_ignored() -> None:
    """Bytes that are not a frame, published on the webcam's key, are counted as malformed; frames still arrive."""
    rig = load_rig(TWO_HOSTS)
    plan = build_plan(rig)
    with agent(TWO_HOSTS, "b", time.clock_gettime_ns(time.CLOCK_REALTIME)) as endpoint, \
            open_session(client(endpoint)) as session:
        remote = RemoteDriver(session, rig, plan, "b")
        device = remote.open("W0")
        device.configure(None)  # type: ignore[arg-type]  # the agent configures from its own plan
        device.start()
        publisher = session.declare_publisher(frame_key(rig.name, "b", "web", "color"))
        for payload in (b"RS\x01\x01garbage", b"not rigsync"):
            publisher.put(payload)
        deadline = time.monotonic() + 10
        frames = []
        while (remote.malformed < 2 or len(frames) < 5) and time.monotonic() < deadline:
            frames += device.poll()
            time.sleep(0.05)
        device.stop()
        assert remote.malformed == 2
        assert len(frames) >= 5 and {f.device for f in frames} == {"web"}


def test_a_control_that_comes_after_its_instant_applies_late_and_says_by_how_much() -> None:
    """A start, then a stop, of the agent's own device at a true time its world has already simulated past (a
    loaded machine's late query) is no error: the agent applies it now and replies how late (within 0.5 s of the
    1 s it was given in the past); frames flow after the start."""
    rig = load_rig(TWO_HOSTS)
    origin = time.clock_gettime_ns(time.CLOCK_REALTIME)
    with agent(TWO_HOSTS, "b", origin) as endpoint, open_session(client(endpoint)) as session:
        remote = RemoteDriver(session, rig, build_plan(rig), "b")
        device = remote.open("W0")
        device.configure(None)  # type: ignore[arg-type]  # the agent configures from its own plan

        def past_ns() -> int:
            return SIM_EPOCH_NS + time.clock_gettime_ns(time.CLOCK_REALTIME) - origin - 1_000_000_000

        late_ns = remote.query(Verb.START, {"device": "web", "at_ns": past_ns()})["late_ns"]
        assert 1_000_000_000 <= late_ns < 1_500_000_000
        deadline = time.monotonic() + 10
        frames: list[object] = []
        while len(frames) < 5 and time.monotonic() < deadline:
            frames += [f for f in device.poll() if isinstance(f, Frame)]
            time.sleep(0.05)
        assert len(frames) >= 5
        late_ns = remote.query(Verb.STOP, {"device": "web", "at_ns": past_ns()})["late_ns"]
        assert 1_000_000_000 <= late_ns < 1_500_000_000


def test_an_agent_busy_in_a_control_query_for_longer_than_the_silence_timeout_still_sends_heartbeats() -> None:
    """While a control query holds the agent's devices for 1.6 s (longer than the capture's 1 s silence timeout: a
    simulated 1280 px view rendered inside ``configure``), its heartbeats go on from the clocks' last reading moved
    on: the capture never counts it silent, and the heartbeats' clock pairs keep advancing with the kernel's."""
    from rigsync.net.agent import Agent

    rig = load_rig(TWO_HOSTS)
    plan = build_plan(rig)
    endpoint = f"tcp/127.0.0.1:{free_port()}"
    with Agent(rig, plan, "b", SessionOptions(listen=(endpoint,)),
               origin_realtime_ns=time.clock_gettime_ns(time.CLOCK_REALTIME)) as running, \
            open_session(client(endpoint)) as session:
        remote = RemoteDriver(session, rig, plan, "b")
        beats: list[int] = []
        monotonic: list[int] = []
        with running._lock:  # what a long control query does
            t_end = time.monotonic() + 1.6
            while time.monotonic() < t_end:
                assert not remote.silent
                heartbeat = remote._heartbeat
                assert heartbeat is not None
                if not beats or heartbeat[0].seq != beats[-1]:
                    beats.append(heartbeat[0].seq)
                    monotonic.append(heartbeat[0].monotonic_ns)
                time.sleep(0.05)
        assert len(beats) >= 6  # one every 0.2 s throughout
        assert all(b > a for a, b in pairwise(monotonic))
