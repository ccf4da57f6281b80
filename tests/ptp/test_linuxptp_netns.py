"""Real linuxptp in network namespaces: rigsync's supervisor runs ptp4l, monitors it through pmc, maps the host
clock to PTP time in observe mode from a real offset, notices ptp4l dying and restarts it; status from state
files and from pmc over the network; the clock test on a real (observe-mode) host."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rich.console import Console
from tests.ptp.conftest import FAST, Lan

from rigsync.capture.clocktest import observe_clock_test
from rigsync.cli.main import main
from rigsync.cli.ptp_cmd import supervisor_config
from rigsync.core.ptp import PortState, PtpMode, SyncLevel
from rigsync.ptp.ethtool import check
from rigsync.ptp.monitor import PmcMonitor
from rigsync.ptp.pmc import Pmc, local_clocks
from rigsync.ptp.status import StateFileSource, network_reports, supervisor_reports
from rigsync.ptp.supervisor import PtpSupervisor, SupervisorConfig

ASYMMETRY_NS = 3_000_000
"""delayAsymmetry given to the slave: its measured offset from the master becomes -3 ms (a real, known offset
on a machine where both 'hosts' share one clock)."""


def configs(lan: Lan, tmp: Path, asymmetry_ns: int = ASYMMETRY_NS) -> tuple[SupervisorConfig, SupervisorConfig]:
    rig = tmp / "lan.toml"
    rig.write_text(lan.rig_text())
    quiet = Console(file=open(os.devnull, "w"))  # noqa: SIM115 (closed with the process)
    gm = supervisor_config(rig, "gm", None, None, lan.gm_ns, quiet)
    h1 = supervisor_config(rig, "h1", None, None, lan.h1_ns, quiet)
    for c in (gm, h1):  # the machine's clock must never be adjusted: every ptp4l here runs free
        assert "free_running            1" in c.ptp4l_conf, c.ptp4l_conf
    return (dataclasses.replace(gm, ptp4l_conf=gm.ptp4l_conf + FAST),
            dataclasses.replace(h1, ptp4l_conf=h1.ptp4l_conf + FAST + f"delayAsymmetry          {asymmetry_ns}\n"))


def wait_for(step: Callable[[], object], done: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Step a supervisor until ``done`` (a real process's state, so a bounded wait, not a guess)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        step()
        if done():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} within {timeout_s} s")


def test_ptp_check_sees_software_timestamping_on_veth(lan: Lan) -> None:
    """ethtool -T inside a namespace: a veth offers software timestamping and no PTP clock."""
    caps = check([lan.h1_if], netns=lan.h1_ns)[0]
    assert caps.timestamping == "software" and caps.phc_index is None and "-S" in caps.advice()


def test_ptp_run_command_starts_supervises_and_stops(lan: Lan, tmp_path: Path) -> None:
    """``rigsync ptp run`` for the grandmaster: ptp4l starts in its namespace, the state file says so, and it
    stops cleanly after --seconds."""
    rig = tmp_path / "lan.toml"
    rig.write_text(lan.rig_text())
    state = tmp_path / "state"
    proc = subprocess.run([sys.executable, "-m", "rigsync.cli.main", "ptp", "run", str(rig), "--host", "gm",
                           "--netns", lan.gm_ns, "--state-dir", str(state), "--seconds", "3", "--mode", "observe"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "ptp4l on vgm (software timestamping, grandmaster, observe)" in proc.stdout
    saved = json.loads((state / "ptp-gm.json").read_text())
    assert saved["stopped"] and saved["daemons"]["ptp4l"]["restarts"] == 0
    assert "free_running            1" in (state / "ptp4l-gm.conf").read_text()


@pytest.fixture(scope="module")
def running(lan: Lan, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PtpSupervisor, PtpSupervisor]]:
    tmp = tmp_path_factory.mktemp("ptp")
    gm_cfg, h1_cfg = configs(lan, tmp)
    state = tmp / "state"
    with PtpSupervisor(gm_cfg, state, poll_interval_s=0.2) as gm, PtpSupervisor(h1_cfg, state,
                                                                             poll_interval_s=0.2) as h1:
        def both() -> None:
            gm.step()
            h1.step()

        wait_for(both, lambda: h1.monitor.latest is not None and h1.monitor.latest.gm_present, 30,
                 "the slave did not find its master")
        wait_for(both, lambda: h1.timebase.status(time.monotonic_ns()).samples >= 16 and gm.clock_identity is not None,
                 30, "no steady samples")
        yield gm, h1


def test_observe_mode_reads_the_real_offset_and_maps_host_time(running: tuple[PtpSupervisor, PtpSupervisor]) -> None:
    """pmc through rigsync: port UNCALIBRATED (free_running), offset -3 ms (the asymmetry), the grandmaster's
    identity; rigsync's observe-mode map puts PTP time 3 ms ahead of this host's clock, within its bound."""
    gm, h1 = running
    h1.step()
    sample = h1.monitor.latest
    assert sample is not None and sample.port_state is PortState.UNCALIBRATED
    assert sample.offset_ns is not None and abs(sample.offset_ns + ASYMMETRY_NS) < 200_000
    assert sample.mean_path_delay_ns is not None and sample.mean_path_delay_ns > 0
    assert sample.gm_identity == gm.clock_identity
    realtime, mono = local_clocks()
    at = h1.timebase.to_rig(mono)
    assert abs((at.rig_ns - realtime) - ASYMMETRY_NS) <= at.bound_ns + 50_000  # + reading the two clocks
    assert at.bound_ns < 1_000_000
    assert h1.timebase.status(mono).level is not SyncLevel.ERROR


def test_status_from_state_files_and_from_the_network(running: tuple[PtpSupervisor, PtpSupervisor],
                                                      lan: Lan, capsys: pytest.CaptureFixture[str]) -> None:
    """``rigsync ptp status``: both hosts from the supervisors' state files; pmc over UDP from the grandmaster's
    namespace finds the slave's clock and names it."""
    gm, h1 = running
    gm.step()
    h1.step()
    reports = {r.host: r for r in supervisor_reports(gm.state_dir)}
    assert set(reports) == {"gm", "h1"}
    assert reports["gm"].status.level is SyncLevel.OK and reports["h1"].clock_identity == h1.clock_identity
    assert main(["ptp", "status", "--state-dir", str(gm.state_dir), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert {h["host"] for h in shown["hosts"]} == {"gm", "h1"}
    assert h1.clock_identity is not None
    published = StateFileSource(h1.state_path).poll()  # what a capture on h1 reads
    assert len(published) == 1 and published[0].offset_ns == h1.monitor.latest.offset_ns  # type: ignore[union-attr]
    network = network_reports(lan.gm_if, netns=lan.gm_ns, known={h1.clock_identity: "h1"})
    seen = {r.host: r for r in network}
    assert "h1" in seen and seen["h1"].status.offset_ns is not None
    assert abs(seen["h1"].status.offset_ns + ASYMMETRY_NS) < 200_000


def test_killed_ptp4l_is_noticed_and_restarted(running: tuple[PtpSupervisor, PtpSupervisor]) -> None:
    """SIGKILL to the slave's ptp4l: the supervisor reports it, restarts it, and samples resume."""
    _, h1 = running
    ptp4l = h1.daemons[0]
    old_pid = ptp4l.pid
    assert old_pid is not None
    os.kill(old_pid, signal.SIGKILL)
    h1.events.clear()
    wait_for(h1.step, lambda: ptp4l.restarts == 1 and ptp4l.pid not in (None, old_pid), 15, "ptp4l not restarted")
    assert any("ptp4l exited with code -9" in e for e in h1.events)
    h1.monitor.latest = None
    wait_for(h1.step, lambda: h1.monitor.latest is not None and h1.monitor.latest.gm_present, 20,
             "no sample after the restart")
    assert json.loads(h1.state_path.read_text())["daemons"]["ptp4l"]["restarts"] == 1


def test_clock_test_on_a_real_observe_mode_host(running: tuple[PtpSupervisor, PtpSupervisor]) -> None:
    """The seeds/000 test against real ptp4l: the measured offset jumps by 200 ms (ptp4l restarted with another
    path asymmetry); CURRENT jumps at once, rigsync's IMAGE holds the old timeline (the rig's step hold, 3.5 s at
    a 1 s Sync interval), then slews at 10 % (200 ms in 2 s), never backwards."""
    _, h1 = running
    stop = threading.Event()
    supervise = threading.Thread(target=h1.run, args=(stop,), daemon=True)
    supervise.start()

    def change_path() -> None:
        old, new = f"delayAsymmetry          {ASYMMETRY_NS}", f"delayAsymmetry          {ASYMMETRY_NS + 200_000_000}"
        h1.conf_path.write_text(h1.conf_path.read_text().replace(old, new))
        pid = h1.daemons[0].pid
        assert pid is not None
        os.kill(pid, signal.SIGTERM)

    timer = threading.Timer(4.0, change_path)
    timer.start()
    try:
        with PmcMonitor(Pmc(h1.uds), "h1", software=True, interval_s=0.1) as monitor:
            result = observe_clock_test(monitor, "h1", seconds=16.0)
    finally:
        stop.set()
        timer.cancel()
        supervise.join(timeout=10)
    assert result.backwards == 0
    assert result.step_at_s is not None and 4.0 < result.step_at_s < 10.0
    assert 180e6 < result.peak_ns < 220e6
    assert result.hold_s is not None and 3.0 < result.hold_s < 4.5  # from when the loop read the first sample
    assert result.recovery_s is not None and result.hold_s + 1.5 < result.recovery_s < result.hold_s + 3.0


def test_config_modes(tmp_path: Path, lan: Lan) -> None:
    """The supervisor's settings follow the rig: observe mode, software timestamping (from ethtool), roles."""
    gm, h1 = configs(lan, tmp_path)
    assert gm.role == "grandmaster" and h1.role == "slave" and not h1.hardware and not h1.phc2sys
    assert gm.mode is PtpMode.OBSERVE and "free_running            1" in h1.ptp4l_conf


def test_config_check_chooses_timestamping_from_ethtool(lan: Lan, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """``ptp config --check``: the rig claims hardware timestamping, the veth has software only: the files use
    software (ptp4l -S) and say why."""
    rig = tmp_path / "lan.toml"
    # discipline mode (only files are written here, nothing runs): observe mode would use software anyway
    rig.write_text(lan.rig_text().replace('timestamping = "software"', 'timestamping = "hardware"')
                   .replace('mode = "observe"', 'mode = "discipline"'))
    out = tmp_path / "cfg"
    assert main(["ptp", "config", str(rig), "--host", "h1", "--check", "--netns", lan.h1_ns, "--out", str(out)]) == 0
    assert "ethtool -T shows software" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["ptp-h1.sh", "ptp4l-h1.conf"]
    assert "time_stamping           software" in (out / "ptp4l-h1.conf").read_text()
    assert " -S -m &" in (out / "ptp-h1.sh").read_text()
