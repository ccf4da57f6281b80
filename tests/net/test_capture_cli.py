"""``rigsync capture RIG --host a --connect ... --tls DIR``: the command line of a capture across hosts, with the agent
of host b (``rigsync agent``) on loopback over mutual TLS; bad values named by their option."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("zenoh")

from tests.net.test_agent import TWO_HOSTS, agent, check_two_hosts_recording, free_port

import rigsync.net.router as router_module
from rigsync.cli.main import main
from rigsync.net.certs import init_certs

LOOPBACK = {"a": ["127.0.0.1"], "b": ["127.0.0.1"]}


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two-hosts rig's CA and host files, both hosts' certificates naming 127.0.0.1."""
    out = tmp_path_factory.mktemp("certs") / "two-hosts"
    init_certs("two-hosts", ["a", "b"], out, LOOPBACK)
    return out


def test_cli_capture_across_two_hosts_over_mutual_tls_records_host_bs_frames_as_the_world_exposed_them(
        tmp_path: Path, certs: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The capture command on host a, linked over mTLS to host b's agent (started without --origin: the capture
    takes the agent's), exits 0 with one recording holding k1's frames from b, contiguous and true to the world,
    and framesets pairing k0 and k1 frames of the same trigger; the summary shows host b's link."""
    opened: list[dict[str, Any]] = []
    real = router_module.open_capture_drivers

    def spy(*args: Any, **kwargs: Any) -> Any:
        drivers = real(*args, **kwargs)
        opened.append(drivers)
        return drivers

    monkeypatch.setattr(router_module, "open_capture_drivers", spy)
    out = tmp_path / "two.mcap"
    with agent(TWO_HOSTS, "b", tls=certs) as endpoint:
        assert endpoint.startswith("tls/")
        status = main(["capture", str(TWO_HOSTS), "--host", "a", "--connect", endpoint, "--tls", str(certs),
                       "--seconds", "2", "--out", str(out), "--quiet", "--force"])
    assert status == 0, capsys.readouterr()
    router = opened[0]["sim"]
    assert router._remotes["b"].malformed == 0
    received = router._remotes["b"].link_status().frames_received
    assert re.search(rf"│ host b +│ up; {received:,} frames, ", capsys.readouterr().out)  # the summary's host row
    check_two_hosts_recording(out, list(router.controls), min_frames=35)


def test_a_capture_with_another_cas_certificate_cannot_reach_the_agent(tmp_path: Path, certs: Path) -> None:
    """A capture whose files come from another CA (same rig, same host names) is refused by the agent's mTLS:
    the command fails within its connect timeout with an error naming its host and the agent's, no traceback."""
    rogue = tmp_path / "rogue"
    init_certs("two-hosts", ["a", "b"], rogue, LOOPBACK)
    with agent(TWO_HOSTS, "b", tls=certs) as endpoint:
        proc = subprocess.run([sys.executable, "-m", "rigsync.cli.main", "capture", str(TWO_HOSTS), "--host", "a",
                               "--connect", endpoint, "--tls", str(rogue), "--seconds", "1",
                               "--out", str(tmp_path / "x.mcap"), "--quiet", "--force"],
                              check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc
    assert "Traceback" not in proc.stderr
    assert f"the capture on host a cannot reach the agents of host(s) b at {endpoint} within 5 s" in proc.stderr
    assert "--init-certs" in proc.stderr
    assert not (tmp_path / "x.mcap").exists()


def _error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    return " ".join(capsys.readouterr().err.split())


def test_bad_options_of_a_capture_across_hosts_are_named(tmp_path: Path, certs: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """A tcp endpoint with --tls, a tls endpoint without it, a --tls folder missing the host's files, an unknown
    host, and network options without --host: each error names the option and the value, for capture and agent."""
    rig = str(TWO_HOSTS)
    port = free_port()
    tcp, tls = f"tcp/127.0.0.1:{port}", f"tls/127.0.0.1:{port}"
    out = ["--out", str(tmp_path / "x.mcap")]
    assert _error(["capture", rig, "--host", "a", "--connect", tcp, "--tls", str(certs), *out], capsys) == (
        f"error: --connect = \"{tcp}\": a plain TCP endpoint next to TLS would let a peer without a certificate in "
        "(with --tls) (allowed: tls/<host>:<port>)")
    assert _error(["agent", rig, "--host", "b", "--listen", tcp, "--tls", str(certs)], capsys).startswith(
        f"error: --listen = \"{tcp}\": a plain TCP endpoint next to TLS")
    assert _error(["capture", rig, "--host", "a", "--connect", tls, *out], capsys) == (
        f"error: --connect = \"{tls}\": a TLS endpoint needs --tls DIR (allowed: tcp/ADDR:PORT without --tls)")
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "ca.pem").write_bytes((certs / "ca.pem").read_bytes())
    (partial / "a.pem").write_bytes((certs / "a.pem").read_bytes())
    assert _error(["capture", rig, "--host", "a", "--connect", tls, "--tls", str(partial), *out], capsys).startswith(
        f"error: --tls = \"{partial}\": has no a-key.pem (host a's files)")
    assert _error(["agent", rig, "--host", "b", "--listen", tls, "--tls", str(tmp_path / "none")], capsys).startswith(
        f"error: --tls = \"{tmp_path / 'none'}\": not a folder")
    assert _error(["capture", rig, "--host", "z", "--connect", tcp, *out], capsys) == (
        f"error: --host = \"z\": not a host of {rig} (allowed: a, b)")
    assert _error(["capture", rig, "--connect", tcp, *out], capsys) == (
        "error: --connect: is for a capture across hosts (allowed: with --host H or --station)")
    assert _error(["capture", rig, "--host", "a", *out], capsys).startswith(
        "error: --connect: the devices of host(s) b come from their agents: give their endpoints")
    assert _error(["capture", rig, "--host", "a", "--connect", tcp, "--fast", "--seconds", "1", *out],
                  capsys).startswith("error: --fast: the agents simulate in real time")


def test_an_agent_on_another_timeline_is_refused_naming_its_host(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A capture given --origin other than its agent's is refused (its world would not be the agent's)."""
    origin = time.clock_gettime_ns(time.CLOCK_REALTIME)
    with agent(TWO_HOSTS, "b", origin_ns=origin) as endpoint:
        message = _error(["capture", str(TWO_HOSTS), "--host", "a", "--connect", endpoint, "--origin", str(origin + 1),
                          "--seconds", "1", "--out", str(tmp_path / "x.mcap"), "--quiet", "--force"], capsys)
    assert message.startswith(f"error: the agent of host b simulates on another timeline: its origin is {origin} ns, "
                              f"this capture's {origin + 1}")


def test_a_checked_capture_across_hosts_is_refused_by_each_hosts_failing_set_up(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """``capture --host a --connect ... --check``: host a checked here, host b by its agent on its own machine,
    before anything is recorded; each host's failing items (the PTP daemons no one started here, b's GigE NIC as
    this machine has it) named in one error, their tables printed, nothing recorded."""
    from rigsync.hostcheck.finding import Status
    from rigsync.hostcheck.probe import LocalProbe
    from rigsync.hostcheck.run import check_host
    from rigsync.plan import build_plan
    from rigsync.spec import load_rig

    monkeypatch.setattr(LocalProbe, "timed_write", lambda self, path, nbytes: nbytes / 10e9)  # host a: 10 GB/s
    plan = build_plan(load_rig(TWO_HOSTS))
    failing = {h: [f.item for f in check_host(plan, h, LocalProbe(), out_dir=str(tmp_path), seconds=2.0)
                   if f.status is Status.FAIL and f.item != "disk-write"] for h in ("a", "b")}
    assert "ptp4l" in failing["a"] and "ptp4l" in failing["b"]
    out = tmp_path / "two.mcap"
    with agent(TWO_HOSTS, "b") as endpoint:
        status = main(["capture", str(TWO_HOSTS), "--host", "a", "--connect", endpoint, "--check", "--seconds", "2",
                       "--out", str(out), "--quiet", "--force"])
    said = capsys.readouterr()
    err = " ".join(said.err.split())
    assert status == 2 and not out.exists()
    assert f"host a's set-up failed ({', '.join(failing['a'])})" in err
    assert re.search(rf"host b's set-up failed \({', '.join(failing['b'])}(, disk-write)?\): nothing was recorded",
                     err), err
    assert "host a:" in said.out and "host b:" in said.out
