"""Reading ptp4l's state through linuxptp's ``pmc`` (PTP management client).

One query asks CURRENT_DATA_SET (offsetFromMaster, meanPathDelay, stepsRemoved), PORT_DATA_SET (portState),
TIME_STATUS_NP (gmPresent, gmIdentity, ingress_time: the last Sync's arrival on the clock ptp4l runs) and
DEFAULT_DATA_SET (the local clockIdentity). ``pmc -u`` talks to the local ptp4l through its UNIX socket
(``uds_address``); ``pmc -4 -i <iface>`` asks every clock on the network over UDP.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rigsync.core.errors import RigsyncError
from rigsync.core.ptp import PortState, PtpSample
from rigsync.ptp._proc import netns_argv

QUERIES = ("GET CURRENT_DATA_SET", "GET PORT_DATA_SET", "GET TIME_STATUS_NP", "GET DEFAULT_DATA_SET")
_HEADER = re.compile(r"^\s*(?P<port>[0-9a-f]{6}\.[0-9a-f]{4}\.[0-9a-f]{6}-\d+)\s+seq\s+\d+\s+RESPONSE\s+MANAGEMENT\s+"
                     r"(?P<id>[A-Z_]+)")


@dataclass
class PmcResponse:
    """One management response: the answering port and its fields (names as pmc prints them)."""

    port: str
    message: str
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def clock(self) -> str:
        """The answering clock's identity (the port identity without ``-<port number>``)."""
        return self.port.rsplit("-", 1)[0]


def parse(text: str) -> list[PmcResponse]:
    """Parse pmc's output into responses (``sending:`` lines and unknown lines are skipped)."""
    out: list[PmcResponse] = []
    for line in text.splitlines():
        m = _HEADER.match(line)
        if m:
            out.append(PmcResponse(m.group("port"), m.group("id")))
            continue
        if out and line.startswith(("\t\t", "    ")):
            parts = line.split(None, 1)
            if len(parts) == 2:
                out[-1].fields[parts[0]] = parts[1].strip()
    return out


def _int(value: str | None) -> int | None:
    """pmc's numbers: integers (ns since the epoch: exact) or decimals (``-84.0``)."""
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return round(float(value))
    except ValueError:
        return None


@dataclass(frozen=True)
class ClockState:
    """One clock's state from a set of responses."""

    clock: str
    port_state: PortState | None
    offset_ns: int | None
    mean_path_delay_ns: int | None
    gm_identity: str | None
    gm_present: bool
    ingress_ns: int | None
    steps_removed: int | None

    @classmethod
    def of(cls, responses: list[PmcResponse]) -> dict[str, ClockState]:
        by_clock: dict[str, dict[str, str]] = {}
        for r in responses:
            by_clock.setdefault(r.clock, {}).update(r.fields)
        out = {}
        for clock, f in by_clock.items():
            state = f.get("portState")
            out[clock] = cls(
                clock=clock, port_state=PortState.parse(state) if state else None,
                offset_ns=_int(f.get("offsetFromMaster")), mean_path_delay_ns=_int(f.get("meanPathDelay")),
                gm_identity=f.get("gmIdentity") or f.get("grandmasterIdentity"),
                gm_present=f.get("gmPresent", "false").lower() == "true", ingress_ns=_int(f.get("ingress_time")),
                steps_removed=_int(f.get("stepsRemoved")))
        return out


ClockReader = Callable[[], tuple[int, int]]
"""(system clock, monotonic clock) now, read together."""


def local_clocks() -> tuple[int, int]:
    return time.time_ns(), time.monotonic_ns()


class Pmc:
    """Runs pmc against one ptp4l (``uds``) or, with ``interface``, against every clock on that network."""

    def __init__(self, uds: Path | None = None, *, domain: int = 0, interface: str | None = None,
                 netns: str | None = None, timeout_s: float = 2.0) -> None:
        exe = shutil.which("pmc")
        if exe is None:
            raise RigsyncError("pmc is not installed: it comes with linuxptp (Debian/Ubuntu: apt-get install linuxptp)")
        if (uds is None) == (interface is None):
            raise ValueError("give the local ptp4l's uds socket or a network interface, not both")
        transport = ["-u", "-s", str(uds)] if uds is not None else ["-4", "-i", str(interface)]
        prefix = netns_argv(netns)
        # -b 0: this clock only (uds); -b 1: clocks one hop away (the network)
        self._argv = [*prefix, exe, *transport, "-b", "0" if uds is not None else "1", "-d", str(domain)]
        self.uds = uds
        self.timeout_s = timeout_s

    def query(self, *commands: str) -> list[PmcResponse]:
        try:
            proc = subprocess.run([*self._argv, *(commands or QUERIES)], capture_output=True, text=True,
                                  timeout=self.timeout_s + 3, check=False)
        except subprocess.TimeoutExpired:
            return []
        return parse(proc.stdout)

    def sample(self, host: str, *, software: bool, sys_offset_ns: int | None = None,
               clocks: ClockReader = local_clocks) -> PtpSample | None:
        """The local ptp4l's state as a sample; None when it does not answer (not running yet, restarting).

        The offset refers to the last Sync's arrival (``ingress_time``), on the clock ptp4l runs: the system
        clock with software timestamping, the NIC's clock with hardware (system = NIC + ``sys_offset_ns``). The
        sample is placed there, with D = system - monotonic read around the query."""
        before = clocks()
        states = ClockState.of(self.query())
        after = clocks()
        if not states:
            return None
        state = next(iter(states.values()))
        realtime = (before[0] + after[0]) // 2
        d = realtime - (before[1] + after[1]) // 2
        if state.ingress_ns:
            realtime = state.ingress_ns + (0 if software else sys_offset_ns or 0)
        master = state.gm_present and state.offset_ns is not None
        return PtpSample(host=host, host_ns=realtime, mono_ns=realtime - d,
                         port_state=state.port_state or PortState.FAULTY,
                         offset_ns=state.offset_ns if master else None,
                         mean_path_delay_ns=state.mean_path_delay_ns if master else None,
                         gm_identity=state.gm_identity if master else None, gm_present=master,
                         sys_offset_ns=None if software or not master else sys_offset_ns,
                         steps_removed=state.steps_removed, ingress_ns=state.ingress_ns)
