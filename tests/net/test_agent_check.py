"""The ``check`` query: an agent reads its own host's set-up (:mod:`rigsync.hostcheck`) and replies with the
findings. On loopback: ``rigsync agent`` answers with what ``check_host`` finds on this machine; an agent that
falls silent during the query, is silent before it, or is killed, is a clear error naming its host, at once. In
process: the take's length and the agent's spill folder reach the checks, a bad length is refused by name."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

pytest.importorskip("zenoh")

from tests.net.test_agent import TWO_HOSTS, client, free_port, says_ready

import rigsync.hostcheck.run as run_module
from rigsync.core.errors import DriverError
from rigsync.hostcheck.context import HostContext
from rigsync.hostcheck.finding import Finding, Status
from rigsync.hostcheck.probe import LocalProbe
from rigsync.hostcheck.run import check_host
from rigsync.net.agent import Agent
from rigsync.net.hostchecks import HostCheckError, check_agents
from rigsync.net.keys import Verb
from rigsync.net.remote import RemoteDriver
from rigsync.net.zenoh_session import SessionOptions, open_session
from rigsync.plan import build_plan
from rigsync.spec import load_rig

RIG = load_rig(TWO_HOSTS)
PLAN = build_plan(RIG)


@contextmanager
def agent_process(spill_dir: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``rigsync agent`` of host b on a loopback port (its process and endpoint), ended by its pid."""
    endpoint = f"tcp/127.0.0.1:{free_port()}"
    proc = subprocess.Popen([sys.executable, "-m", "rigsync.cli.main", "agent", str(TWO_HOSTS), "--host", "b",
                             "--listen", endpoint, "--spill-dir", str(spill_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert says_ready(proc), f"the agent did not start: {proc.poll()}"
        yield proc, endpoint
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=15)


def _lines(findings: list[Finding]) -> list[tuple[str, ...]]:
    """What must be the same whoever runs the check on this machine: the disk's write speed is measured each time
    (its status follows the machine's load), so only its item, subject and need are compared."""
    return [(f.host, f.item, f.subject, "measured" if f.item == "disk-write" else f.status.value, f.wanted)
            for f in findings]


def test_the_agent_answers_with_this_machines_findings_and_a_silent_or_killed_agent_is_named_at_once(
        tmp_path: Path) -> None:
    """The agent's findings for b are check_host's for b run here (same items, subjects, statuses, needs); stopped
    (SIGSTOP) just before a check, the query gives up once its heartbeats stop (~1 s, not the 60 s timeout),
    naming host b; asked while silent, it is not sent; back (SIGCONT), it answers again; killed, the check of every
    host fails at once naming host b."""
    with agent_process(tmp_path) as (proc, endpoint), open_session(client(endpoint)) as session:
        remote = RemoteDriver(session, RIG, PLAN, "b")
        mine = check_host(PLAN, "b", LocalProbe(), out_dir=str(tmp_path), seconds=30.0)
        assert mine and _lines(remote.check_host(30.0)) == _lines(mine)

        os.kill(proc.pid, signal.SIGSTOP)
        started = time.monotonic()
        with pytest.raises(DriverError, match=r"host b's agent fell silent \(no heartbeat for 1\.\d s\) while "
                                              r"answering check: is it still running, and its link up\?"):
            remote.check_host(30.0)
        assert time.monotonic() - started < 3.0
        started = time.monotonic()
        with pytest.raises(DriverError, match=r"host b's agent is silent \(no heartbeat for \d\.\d s\): check not "
                                              "sent"):
            remote.check_host(30.0)
        assert time.monotonic() - started < 0.1

        os.kill(proc.pid, signal.SIGCONT)
        deadline = time.monotonic() + 10
        while remote.silent and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _lines(remote.check_host(30.0)) == _lines(mine)

        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        started = time.monotonic()
        with pytest.raises(HostCheckError) as err:
            check_agents([remote], 30.0)
        assert time.monotonic() - started < 3.0
        assert str(err.value).startswith("the host check could not be run on every host: host b's agent ")
        assert "it is gone" in str(err.value) or "silent" in str(err.value)


def _echo(ctx: HostContext) -> list[Finding]:
    """A check item standing for the disk check: says what it was given."""
    return [ctx.finding("echo", Status.PASS, f"{ctx.out_dir} for {ctx.seconds:g} s", "-")]


def test_the_take_length_and_the_spill_folder_reach_the_agents_checks(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The agent checks with its spill folder as the output (where this host writes) and the capture's take
    length; a length that is not a positive number is refused naming ``seconds``, and the agent still answers."""
    monkeypatch.setattr(run_module, "CHECKS", (("echo", _echo),))
    endpoint = f"tcp/127.0.0.1:{free_port()}"
    with Agent(RIG, PLAN, "b", SessionOptions(listen=(endpoint,)), origin_realtime_ns=time.time_ns(),
               spill_dir=tmp_path / "spill", log=lambda _: None), open_session(client(endpoint)) as session:
        remote = RemoteDriver(session, RIG, PLAN, "b")
        [echo] = remote.check_host(1234.5)
        assert (echo.host, echo.item, echo.seen) == ("b", "echo", f"{tmp_path / 'spill'} for 1234.5 s")
        for bad in (-1, 0, "10", None, True):
            with pytest.raises(DriverError, match=rf"agent b: check: seconds = {bad!r}: must be a number of "
                                                  r"seconds above 0"):
                remote.query(Verb.CHECK, {"seconds": bad})
        assert remote.check_host(2.0)[0].seen.endswith("for 2 s")


def test_check_all_hosts_reads_each_host_on_its_own_machine(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """``rigsync check RIG --host a --all-hosts --connect EP``: host a's findings read here, then host b's as its
    agent (another process) read them, each host's own items (a's PTP grandmaster, b's GigE NIC) in one JSON
    report, exit 1 (no ptp4l runs on this machine); as tables, one per host, each with its counts."""
    from rigsync.cli.main import main

    monkeypatch.setattr(LocalProbe, "timed_write", lambda self, path, nbytes: nbytes / 10e9)  # here: 10 GB/s
    with agent_process(tmp_path) as (_, endpoint):
        argv = ["check", str(TWO_HOSTS), "--host", "a", "--all-hosts", "--connect", endpoint, "--no-devices",
                "--out", str(tmp_path), "--duration", "10"]
        assert main([*argv, "--json"]) == 1
        report = json.loads(capsys.readouterr().out)
        got = [Finding.from_json(f) for f in report["hosts"]]
        here = check_host(PLAN, "a", LocalProbe(), out_dir=str(tmp_path), seconds=10.0)
        assert [f.status for f in here if f.item == "disk-write"] == [Status.PASS]
        there = check_host(PLAN, "b", LocalProbe(), out_dir=str(tmp_path), seconds=10.0)
        assert _lines(got) == _lines(here) + _lines(there)
        assert report["ok"] is False and {f.host for f in got if f.status is Status.FAIL} == {"a", "b"}
        assert main(argv) == 1
        out = " ".join(capsys.readouterr().out.split())
        c = {s: sum(f.host == "a" and f.status is s for f in here) for s in Status}
        assert (f"host a: {c[Status.PASS]} passed, {c[Status.WARN]} warnings, {c[Status.FAIL]} failed, "
                f"{c[Status.SKIP]} skipped") in out
        m = re.search(r"host b: (\d+) passed, (\d+) warnings, (\d+) failed, (\d+) skipped", out)
        assert m is not None and out.index("host a:") < m.start()
        c = {s: sum(f.status is s for f in there if f.item != "disk-write") for s in Status}  # b's disk: measured
        shown = dict(zip((Status.PASS, Status.WARN, Status.FAIL, Status.SKIP), map(int, m.groups()), strict=True))
        assert sum(shown.values()) == len(there) and shown[Status.SKIP] == c[Status.SKIP]
        assert sum(shown[s] - c[s] for s in (Status.PASS, Status.WARN, Status.FAIL)) == 1
