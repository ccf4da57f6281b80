"""The PTP items on this machine: two "hosts" in network namespaces joined by veth pairs (tests/net/netns.py, as
tests/ptp uses them), real linuxptp. Every ptp4l here runs free_running 1 (the rig is in observe mode), so the
machine's clock is never adjusted. The check reads commands inside the slave's namespace (LocalProbe(netns=...))
and /proc, which the namespaces share. Skips (saying why) when not root, or ip/linuxptp/ethtool are missing."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from tests.net.netns import NetnsError, open_lan, skip_reason, stop
from tests.ptp.conftest import FAST, Lan

from rigsync.cli.ptp_cmd import supervisor_config
from rigsync.hostcheck.finding import Finding, Status
from rigsync.hostcheck.probe import LocalProbe
from rigsync.hostcheck.run import check_host
from rigsync.plan import build_plan
from rigsync.plan.model import Plan
from rigsync.ptp.supervisor import PtpSupervisor
from rigsync.spec import load_rig

PTP_ITEMS = ("ptp-interface", "ptp-timestamping", "ptp4l", "phc2sys", "ntp", "ptp-offset")


@dataclasses.dataclass(frozen=True)
class Live:
    lan: Lan
    rig: Path
    plan: Plan
    state_dir: Path


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The LAN, and the grandmaster's rigsync ptp run (its supervisor) running for the module."""
    reason = skip_reason("ptp4l", "pmc", "ethtool")
    if reason is not None:
        pytest.skip(reason + " (linuxptp: apt-get install linuxptp ethtool)")
    tmp = tmp_path_factory.mktemp("ptp-live")
    try:
        with open_lan(["gm", "h1"], ifaces=["vgm", "vh1"]) as net:
            lan = Lan(net.hosts["gm"].ns, net.hosts["h1"].ns, net.hosts["gm"].iface, net.hosts["h1"].iface)
            rig = tmp / "lan.toml"
            rig.write_text(lan.rig_text())
            quiet = Console(file=open(os.devnull, "w"))  # noqa: SIM115 (closed with the process)
            gm_cfg = supervisor_config(rig, "gm", None, None, lan.gm_ns, quiet)
            assert "free_running            1" in gm_cfg.ptp4l_conf  # the machine's clock is never adjusted
            state = tmp / "state"
            with PtpSupervisor(dataclasses.replace(gm_cfg, ptp4l_conf=gm_cfg.ptp4l_conf + FAST), state,
                               poll_interval_s=0.2):
                yield Live(lan, rig, build_plan(load_rig(rig)), state)
    except NetnsError as e:
        pytest.skip(f"cannot create network namespaces here ({e})")


def findings(live: Live, monkeypatch: pytest.MonkeyPatch) -> dict[str, Finding]:
    monkeypatch.setenv("RIGSYNC_STATE_DIR", str(live.state_dir))
    got = {f.item: f for f in check_host(live.plan, "h1", LocalProbe(netns=live.lan.h1_ns)) if f.item in PTP_ITEMS}
    return got


ASYMMETRY_NS = 3_000_000
"""delayAsymmetry given to the slave: its measured offset from the master becomes -3 ms (a known offset on a
machine where both "hosts" share one clock; tests/ptp does the same)."""


def test_slave_as_rigsync_ptp_run_starts_it_passes(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    """rigsync ptp run's supervisor for h1 (observe mode: ptp4l -S, free_running 1): interface up, software
    timestamping on the veth, ptp4l as planned (named by the state file), no phc2sys, NTP left alone, and the
    offset read through pmc: the -3 ms the asymmetry makes."""
    quiet = Console(file=open(os.devnull, "w"))  # noqa: SIM115
    cfg = supervisor_config(live.rig, "h1", None, None, live.lan.h1_ns, quiet)
    conf = cfg.ptp4l_conf + FAST + f"delayAsymmetry          {ASYMMETRY_NS}\n"
    with PtpSupervisor(dataclasses.replace(cfg, ptp4l_conf=conf), live.state_dir, poll_interval_s=0.2) as h1:
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:  # a real process's state: bounded wait for a measured offset
            h1.step()
            s = h1.monitor.latest
            if s is not None and s.offset_ns is not None and abs(s.offset_ns + ASYMMETRY_NS) < 200_000:
                break
            time.sleep(0.2)
        got = findings(live, monkeypatch)
        pid = h1.daemons[0].pid
    assert {k: f.status for k, f in got.items()} == {
        "ptp-interface": Status.PASS, "ptp-timestamping": Status.PASS, "ptp4l": Status.PASS, "ntp": Status.PASS,
        "ptp-offset": Status.PASS}, {k: f.seen for k, f in got.items()}
    assert got["ptp-interface"].seen == "vh1 operstate up"
    assert got["ptp-timestamping"].seen == "ethtool -T vh1: software, no PTP hardware clock"
    assert got["ptp4l"].seen.startswith(f"ptp4l pid {pid} (rigsync ptp run): ")
    m = re.match(r"offset (-?[\d.]+) us, port UNCALIBRATED \(pmc -u -s ", got["ptp-offset"].seen)
    assert m is not None, got["ptp-offset"].seen
    assert abs(float(m.group(1)) * 1000 + ASYMMETRY_NS) < 200_000


def test_wrong_options_then_none_fail_with_the_fix(live: Live, monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    """ptp4l started by hand on the slave with another domain (still free_running 1): the check names the option
    and says how to restart it as planned; stopped, the check says to start it."""
    quiet = Console(file=open(os.devnull, "w"))  # noqa: SIM115
    cfg = supervisor_config(live.rig, "h1", None, None, live.lan.h1_ns, quiet)
    conf = tmp_path / "h1.conf"
    conf.write_text(cfg.ptp4l_conf + f"uds_address             {tmp_path / 'h1.sock'}\n")
    proc = subprocess.Popen(["ip", "netns", "exec", live.lan.h1_ns, "ptp4l", "-i", "vh1", "-f", str(conf), "-S",
                             "--domainNumber", "7", "-m"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            text=True)
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not Path(f"/proc/{proc.pid}/cmdline").read_text().startswith("ptp4l"):
            time.sleep(0.05)  # ip netns exec has become ptp4l
        f = findings(live, monkeypatch)["ptp4l"]
        assert f.status is Status.FAIL and f.seen.endswith("domainNumber 7, planned 0"), f.seen
        assert f.fix == f"sudo kill {proc.pid}, then sudo rigsync ptp run {live.rig} --host h1"
    finally:
        stop(proc)
    f = findings(live, monkeypatch)["ptp4l"]
    assert (f.status, f.seen) == (Status.FAIL, "no ptp4l running on vh1")
    assert f.fix == f"sudo rigsync ptp run {live.rig} --host h1"
