"""A capture on a station that is none of the rig's hosts (``rigsync capture RIG --station``): three agents on
loopback, every device through its agent, one scheduled start (``--start-at``) across the hosts."""

from __future__ import annotations

import time
from contextlib import ExitStack
from pathlib import Path

import pytest

pytest.importorskip("zenoh")

from tests.net.test_agent import agent
from tests.net.three_hosts import HOSTS, THREE_HOSTS, check_three_hosts_recording

from rigsync.cli.main import main


def test_a_station_captures_three_agents_hosts_from_one_scheduled_start(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``capture --station --start-at +1.5s`` with the agents of gm, kin and vis: one recording of every host's
    devices held to its truth channel, each device's first recorded frame its first exposure from the start, the
    armed PTP camera exposed at the start itself (:func:`check_three_hosts_recording`)."""
    origin = time.clock_gettime_ns(time.CLOCK_REALTIME)
    out = tmp_path / "three.mcap"
    with ExitStack() as stack:
        endpoints = [stack.enter_context(agent(THREE_HOSTS, host, origin)) for host in HOSTS]
        status = main(["capture", str(THREE_HOSTS), "--station", *(a for e in endpoints for a in ("--connect", e)),
                       "--start-at", "+1.5s", "--seconds", "2", "--out", str(out), "--quiet", "--force"])
    assert status == 0, capsys.readouterr()
    check_three_hosts_recording(out, min_frames=45)


def _error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    return " ".join(capsys.readouterr().err.split())


def test_bad_station_and_ptp_state_options_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--station with --host or with --tls, and an agent's --ptp-state that is not a folder: each error names the
    option, the value and what is allowed."""
    rig, out = str(THREE_HOSTS), ["--out", str(tmp_path / "x.mcap")]
    tcp = ["--connect", "tcp/127.0.0.1:7447"]
    assert _error(["capture", rig, "--station", "--host", "gm", *tcp, *out], capsys) == (
        "error: --station: is a capture on none of the rig's hosts: --host names one (allowed: --station or --host H)")
    assert _error(["capture", rig, "--station", "--tls", str(tmp_path), *tcp, *out], capsys).startswith(
        f"error: --tls = \"{tmp_path}\": a station has no certificate of its own")
    assert _error(["capture", rig, "--station", *out], capsys).startswith(
        "error: --connect: the devices of host(s) gm, kin, vis come from their agents: give their endpoints")
    missing = tmp_path / "no-state"
    assert _error(["agent", rig, "--host", "kin", "--listen", "tcp/127.0.0.1:7447", "--ptp-state", str(missing)],
                  capsys) == (f"error: --ptp-state = \"{missing}\": not a folder (allowed: the --state-dir of `rigsync "
                              f"ptp run {rig} --host kin`)")
