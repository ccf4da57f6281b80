"""An agent's spill file (``--local-copy``): host b's agent, driven on loopback, writes every frame its world
delivered into a recording that rigsync's reader reads, each frame stamped in rig time as the capture stamps it
(within its error bound of the true exposure), with the truth of exactly those frames; a spill folder that cannot
be written is logged once and the agent goes on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("zenoh")

from tests.net.test_agent import TWO_HOSTS, client, free_port

from rigsync.cli.main import main
from rigsync.drivers.sim.world import SimWorld
from rigsync.net.agent import Agent
from rigsync.net.remote import RemoteDriver
from rigsync.net.zenoh_session import SessionOptions, open_session
from rigsync.plan import build_plan
from rigsync.record.reader import open_recording
from rigsync.spec import load_rig


def run_agent(spill_dir: Path, seconds: float, log: list[str]) -> Agent:
    """Host b's agent with a local copy in ``spill_dir``, its webcam and PTP camera started for ``seconds``."""
    rig = load_rig(TWO_HOSTS)
    plan = build_plan(rig)
    endpoint = f"tcp/127.0.0.1:{free_port()}"
    with Agent(rig, plan, "b", SessionOptions(listen=(endpoint,)), origin_realtime_ns=time.time_ns(),
               spill_dir=spill_dir, local_copy=True, log=log.append) as agent, \
            open_session(client(endpoint)) as session:
        remote = RemoteDriver(session, rig, plan, "b")
        devices = [remote.open(serial) for serial in ("W0", "G0")]
        for device in devices:
            device.configure(None)  # type: ignore[arg-type]  # the agent configures from its own plan
            device.start()
        time.sleep(seconds)
        for device in devices:
            device.stop()
    return agent


def test_a_local_copy_holds_every_frame_the_world_delivered_stamped_within_its_bound(tmp_path: Path) -> None:
    """The spill file (named <rig>-<host>-<UTC start>.spill.mcap) holds each delivered frame of host b's truth
    exactly once, contiguous from seq 0, every stamp within its error bound of the true exposure start; the agent
    counted them all as spilled and none dropped."""
    log: list[str] = []
    agent = run_agent(tmp_path, 1.5, log)
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0] == agent.spill_path
    assert files[0].name.startswith("two-hosts-b-") and files[0].name.endswith("Z.spill.mcap")
    with open_recording(files[0]) as rec:
        assert rec.metadata["rigsync"]["spill_host"] == "b"
        frames = list(rec.frames())
        truth = [t for t in rec.truth() if t.delivered]
    keys = sorted((f.device, f.stream, f.seq) for f in frames)
    assert keys == sorted((t.device, t.stream, t.seq) for t in truth)
    assert len(set(keys)) == len(keys)
    assert {(f.device, f.stream) for f in frames} == {("web", "color"), ("cam", "color")}
    for stream in {(f.device, f.stream) for f in frames}:
        seqs = sorted(f.seq for f in frames if (f.device, f.stream) == stream)
        assert seqs == list(range(len(seqs))) and len(seqs) >= 10, stream
    rig = load_rig(TWO_HOSTS)
    reference = SimWorld(rig, build_plan(rig)).reference
    by_key = {(t.device, t.stream, t.seq): t for t in truth}
    errors = [abs(f.rig_time_ns - reference.ns(by_key[(f.device, f.stream, f.seq)].exposure_start_ns))
              for f in frames]
    assert all(e <= f.error_bound_ns for e, f in zip(errors, frames, strict=True))
    assert (agent.output.frames_spilled, agent.output.frames_dropped) == (len(frames), 0)
    assert log == []


def test_a_spill_folder_that_cannot_be_written_is_logged_once_and_the_frames_still_go_to_the_network(
        tmp_path: Path) -> None:
    """A spill folder that is a file: the local copy fails; the frames still go to the network (they are not
    dropped), the failure is logged once, and the agent runs and stops cleanly."""
    blocker = tmp_path / "spill"
    blocker.write_text("not a folder")
    log: list[str] = []
    agent = run_agent(blocker / "sub", 1.0, log)
    assert agent.output.frames_sent >= 20 and agent.output.frames_dropped == 0 and agent.output.frames_spilled == 0
    assert agent.spill_path is None
    assert len(log) == 1 and log[0].startswith(f"agent b: spilling stopped: cannot make the spill file {blocker}")


def test_bad_spill_options_of_the_agent_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A send queue limit out of range and a spill folder that is a file: each error names the option and the
    value, exit 2, before the agent opens anything."""
    file = tmp_path / "file"
    file.write_text("")
    base = ["agent", str(TWO_HOSTS), "--host", "b", "--listen", f"tcp/127.0.0.1:{free_port()}"]
    assert main([*base, "--send-queue-mb", "0"]) == 2
    assert " ".join(capsys.readouterr().err.split()) == (
        "error: --send-queue-mb = 0: out of range (allowed: 1 to 65536 (MiB))")
    assert main([*base, "--spill-dir", str(file)]) == 2
    assert " ".join(capsys.readouterr().err.split()) == f'error: --spill-dir = "{file}": not a folder'


def test_a_spill_file_of_an_agent_killed_keeps_its_complete_chunks(tmp_path: Path) -> None:
    """``rigsync agent --local-copy`` SIGKILLed after 2 s of its webcam: its spill file is recovered by the reader,
    holding the webcam's frames from seq 0 on without a gap (up to its last complete chunk, at most 0.5 s old), each
    with its truth."""
    rig = load_rig(TWO_HOSTS)
    endpoint = f"tcp/127.0.0.1:{free_port()}"
    proc = subprocess.Popen([sys.executable, "-m", "rigsync.cli.main", "agent", str(TWO_HOSTS), "--host", "b",
                             "--listen", endpoint, "--local-copy", "--spill-dir", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and "ready" in proc.stdout.readline()
        with open_session(client(endpoint)) as session:
            web = RemoteDriver(session, rig, build_plan(rig), "b").open("W0")
            web.configure(None)  # type: ignore[arg-type]
            web.start()
            time.sleep(2.0)
            os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    (spill,) = tmp_path.iterdir()
    with open_recording(spill) as rec:
        assert rec.recovered
        seqs = sorted(f.seq for f in rec.frames())
        truth = {t.seq for t in rec.truth() if t.delivered}
    assert seqs == list(range(len(seqs))) and len(seqs) >= 30
    assert set(seqs) <= truth
