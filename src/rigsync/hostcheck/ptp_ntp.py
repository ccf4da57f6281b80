"""Time services: NTP (chrony, ntpd, systemd-timesyncd) runs only on the grandmaster (seeds/000: the master "will
be the only one ... that keeps the NTP service active"); on a slave it fights ptp4l/phc2sys over the clock.

Read from ``systemctl is-active <units>`` (one state per unit and line, in the order asked; its exit status says
only whether any is active, so the lines are read) and from the processes (a daemon started by hand, or a host
without systemd). NTP adjusts the one system clock of the machine, whatever network namespace it runs in.
"""

from __future__ import annotations

from rigsync.hostcheck.context import HostContext
from rigsync.hostcheck.finding import Finding, Status
from rigsync.hostcheck.probe import Probe
from rigsync.hostcheck.ptp_plan import want
from rigsync.hostcheck.ptp_procs import processes

UNITS = ("chrony", "chronyd", "ntp", "ntpd", "ntpsec", "systemd-timesyncd")
"""Debian/Ubuntu and Fedora/RHEL names of the NTP services (chrony's unit is chrony or chronyd; ntpsec is
Debian 12's ntpd)."""
RUNNING = frozenset({"active", "activating", "reloading"})
STATES = RUNNING | {"inactive", "failed", "deactivating", "unknown", "maintenance", "refreshing"}
DAEMONS = {"chronyd": ("chrony", "chronyd"), "ntpd": ("ntp", "ntpd", "ntpsec"),
           "systemd-timesyncd": ("systemd-timesyncd",)}
"""Daemon -> the units that run it (the first: the one to stop when systemd does not say)."""


def active_units(probe: Probe) -> tuple[list[str], str]:
    """The NTP units systemd runs, and what was read (``systemctl`` missing or not answering: no units)."""
    ran = probe.run(["systemctl", "is-active", *UNITS])
    if ran is None:
        return [], "no systemctl"
    lines = [ln.strip() for ln in ran.stdout.splitlines() if ln.strip()]
    if len(lines) != len(UNITS) or not set(lines) <= STATES:
        why = (ran.stderr or ran.stdout).strip().splitlines()
        return [], f"systemctl is-active did not answer ({why[0] if why else f'exit {ran.returncode}'})"
    return [u for u, s in zip(UNITS, lines, strict=True) if s in RUNNING], "systemctl is-active"


def ntp_processes(probe: Probe) -> dict[str, int]:
    """NTP daemons running (by name) -> a pid."""
    out: dict[str, int] = {}
    for p in processes(probe, frozenset(DAEMONS)):
        out.setdefault(p.name, p.pid)
    return out


def _stop_command(unit: str) -> str:
    return "sudo timedatectl set-ntp false" if unit == "systemd-timesyncd" else f"sudo systemctl disable --now {unit}"


def check(ctx: HostContext) -> list[Finding]:
    w = want(ctx)
    if w is None:
        return []
    anchor = "#ntp"
    units, read = active_units(ctx.probe)
    procs = ntp_processes(ctx.probe)
    loose = {name: pid for name, pid in procs.items() if not set(DAEMONS[name]) & set(units)}
    running = units + [f"{name} (pid {pid})" for name, pid in loose.items()]
    seen = (f"running: {', '.join(running)}" if running else "no NTP service running") + f" ({read}, /proc)"
    if w.observe:
        return [ctx.finding("ntp", Status.PASS, seen, "observe mode: this host's clock is left as it is (NTP "
                            "too); rigsync maps it to PTP time", anchor=anchor)]
    if w.role == "grandmaster":
        wanted = "NTP on: the grandmaster alone keeps the rig on world time"
        if running:
            return [ctx.finding("ntp", Status.PASS, seen, wanted, anchor=anchor)]
        return [ctx.finding("ntp", Status.WARN, seen, wanted, "sudo timedatectl set-ntp true (if this host reaches "
                            "an NTP server; without it the rig keeps its own time, consistently)", anchor=anchor)]
    wanted = "no NTP: ptp4l" + (" -S" if w.software else " and phc2sys") + " alone steer this slave's clock"
    if not running:
        return [ctx.finding("ntp", Status.PASS, seen, wanted, anchor=anchor)]
    fixes = [_stop_command(u) for u in units]
    fixes += [f"{_stop_command(DAEMONS[name][0])} (or sudo kill {pid})" for name, pid in loose.items()]
    return [ctx.finding("ntp", Status.FAIL, seen, wanted, "; ".join(dict.fromkeys(fixes)), anchor=anchor)]
