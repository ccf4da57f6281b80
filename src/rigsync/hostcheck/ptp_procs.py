"""linuxptp as it runs on a host: its processes' command lines (``/proc/<pid>/cmdline``), ptp4l's effective
options (command line over its ``-f`` configuration file, as ptp4l(8) applies them) and ``rigsync ptp run``'s
state file. Pure parsing apart from :func:`processes` and :func:`state`, which read through the probe."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from rigsync.hostcheck.probe import Probe
from rigsync.hostcheck.ptp_plan import state_dirs

_NETNS = re.compile(r"net:\[(\d+)\]")


@dataclass(frozen=True)
class Process:
    pid: int
    argv: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.argv[0].rsplit("/", 1)[-1] if self.argv else ""

    @property
    def line(self) -> str:
        return " ".join(self.argv)


def _netns_of(text: str | None) -> str | None:
    m = _NETNS.search(text or "")
    return m.group(1) if m else None


def own_netns(probe: Probe) -> str | None:
    """The network namespace the probe's commands run in (None: unknown, e.g. a recording without it)."""
    ran = probe.run(["readlink", "/proc/self/ns/net"])
    return _netns_of(ran.stdout) if ran is not None and ran.ok else None


def processes(probe: Probe, names: frozenset[str], *, netns: str | None = None) -> list[Process]:
    """The running processes called one of ``names`` (their program's base name), from ``/proc``; with ``netns``,
    only those in that network namespace (a ptp4l of another namespace, or container, runs another network)."""
    out = []
    for entry in probe.listdir("/proc") or []:
        if not entry.isdigit():
            continue
        raw = probe.read(f"/proc/{entry}/cmdline")
        if not raw:
            continue  # gone, or a kernel thread
        proc = Process(int(entry), tuple(a for a in raw.split("\0") if a))
        if proc.name not in names:
            continue
        if netns is not None:
            theirs = _netns_of(probe.readlink(f"/proc/{entry}/ns/net"))
            if theirs is not None and theirs != netns:
                continue
        out.append(proc)
    return out


# --- ptp4l ------------------------------------------------------------------------------------------------------

_PTP4L_FLAGS = {"-S": ("time_stamping", "software"), "-H": ("time_stamping", "hardware"),
                "-L": ("time_stamping", "legacy"), "-s": ("slaveOnly", "1"), "-2": ("network_transport", "L2"),
                "-4": ("network_transport", "UDPv4"), "-6": ("network_transport", "UDPv6"),
                "-E": ("delay_mechanism", "E2E"), "-P": ("delay_mechanism", "P2P"),
                "-A": ("delay_mechanism", "Auto")}
_PTP4L_VALUED = {"-f", "-i", "-p", "-l", "-n"}


@dataclass(frozen=True)
class Ptp4lRun:
    """One ptp4l: its interfaces, configuration file and the options its command line sets."""

    process: Process
    interfaces: tuple[str, ...]
    config_path: str | None
    options: dict[str, str] = field(default_factory=dict)
    """Set on the command line (flags turned into their configuration keys; ``--key value`` long options)."""


def ptp4l_run(process: Process) -> Ptp4lRun:
    """ptp4l's command line (ptp4l(8): ``-i`` interface (repeatable), ``-f`` file, ``-S``/``-H``/``-L``
    timestamping, ``-s`` slaveOnly, ``--<config option> <value>`` or ``--<option>=<value>``)."""
    args = list(process.argv[1:])
    ifaces: list[str] = []
    conf: str | None = None
    options: dict[str, str] = {}
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("--"):
            key, eq, value = a[2:].partition("=")
            if not eq and i + 1 < len(args):
                i += 1
                value = args[i]
            options[key] = value
        elif a in _PTP4L_VALUED and i + 1 < len(args):
            i += 1
            if a == "-i":
                ifaces.append(args[i])
            elif a == "-f":
                conf = args[i]
        elif a in _PTP4L_FLAGS:
            key, value = _PTP4L_FLAGS[a]
            options[key] = value
        i += 1
    return Ptp4lRun(process, tuple(ifaces), conf, options)


def parse_conf(text: str) -> tuple[dict[str, str], list[str]]:
    """A ptp4l configuration file: its ``[global]`` options and the interfaces it names (``[eth0]`` sections)."""
    options: dict[str, str] = {}
    ifaces: list[str] = []
    section = "global"
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            if section not in ("global", "unicast_master_table"):
                ifaces.append(section)
            continue
        if section == "global":
            key, _, value = line.partition(" ")
            options[key] = value.strip()
    return options, ifaces


def effective(run: Ptp4lRun, conf: dict[str, str]) -> dict[str, str]:
    """ptp4l's options: the file's, overridden by the command line's; ``clientOnly`` (linuxptp 4) read as
    ``slaveOnly``."""
    merged = {**conf, **run.options}
    if "clientOnly" in merged:
        merged["slaveOnly"] = merged.pop("clientOnly")
    merged.setdefault("time_stamping", "hardware")
    return merged


# --- phc2sys ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Phc2sysRun:
    process: Process
    source: str | None
    sink: str | None
    offset_s: str | None
    """``-O``: sink minus source in seconds (None: not given, phc2sys applies ptp4l's UTC offset with -w)."""
    automatic: bool
    """``-a``: clocks chosen from ptp4l's port states (and the UTC offset applied)."""


def phc2sys_run(process: Process) -> Phc2sysRun:
    """phc2sys's command line (phc2sys(8): ``-s`` source, ``-c`` sink, ``-O`` offset, ``-a`` automatic)."""
    args = list(process.argv[1:])
    values: dict[str, str] = {}
    for i, a in enumerate(args):
        if a in ("-s", "-c", "-O", "-d", "-i") and i + 1 < len(args):
            values.setdefault(a, args[i + 1])
    return Phc2sysRun(process, values.get("-s") or values.get("-i") or values.get("-d"), values.get("-c"),
                      values.get("-O"), "-a" in args)


# --- rigsync ptp run's state ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SupervisorState:
    """``rigsync ptp run``'s state file for the host (rigsync.ptp.supervisor)."""

    path: str
    data: dict[str, object]

    @property
    def stopped(self) -> bool:
        return bool(self.data.get("stopped"))

    @property
    def supervisor_pid(self) -> int | None:
        pid = self.data.get("supervisor_pid")
        return pid if isinstance(pid, int) else None

    def daemon_pid(self, name: str) -> int | None:
        daemons = self.data.get("daemons")
        entry = daemons.get(name) if isinstance(daemons, dict) else None
        pid = entry.get("pid") if isinstance(entry, dict) else None
        return pid if isinstance(pid, int) else None


def state(probe: Probe, host: str) -> SupervisorState | None:
    """The host's state file in the first state folder that has one."""
    for d in state_dirs():
        path = f"{d.rstrip('/')}/ptp-{host}.json"
        text = probe.read(path)
        if text is None:
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            continue  # being replaced
        if isinstance(data, dict):
            return SupervisorState(path, data)
    return None


def alive(probe: Probe, pid: int | None) -> bool:
    return pid is not None and probe.read(f"/proc/{pid}/cmdline") is not None
