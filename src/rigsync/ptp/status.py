"""``rigsync ptp status``: every host's PTP state, from the supervisors' state files and, optionally, from pmc
over the network (every PTP clock on a LAN answers management queries)."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

from rigsync.core.ptp import HostRole, PortState, PtpMode, PtpSample, SyncLevel
from rigsync.ptp.pmc import ClockState, Pmc
from rigsync.ptp.supervisor import state_file
from rigsync.timebase.host import HostSyncStatus, HostTimebase, HostTimebaseConfig

STALE_S = 5.0
"""A supervisor whose state file is older than this is not reporting."""


def default_state_dir() -> Path:
    """``$RIGSYNC_STATE_DIR``, else /run/rigsync where writable (root), else a per-user directory in /tmp."""
    env = os.environ.get("RIGSYNC_STATE_DIR")
    if env:
        return Path(env)
    run = Path("/run")
    if os.access(run, os.W_OK):
        return run / "rigsync"
    return Path(f"/tmp/rigsync-{os.getuid()}")


@dataclass(frozen=True)
class HostReport:
    """One host's line in the status view."""

    host: str
    source: str
    """``supervisor`` (its state file) or ``network`` (pmc over UDP)."""
    status: HostSyncStatus
    clock_identity: str | None = None
    timestamping: str | None = None
    restarts: int = 0
    daemons_alive: bool = True


def read_states(state_dir: Path) -> list[dict[str, object]]:
    out = []
    for path in sorted(state_dir.glob("ptp-*.json")):
        try:
            out.append(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError):
            continue  # being replaced; the next read gets it
    return out


class StateFileSource:
    """A capture's view of a host's PTP on a real machine: the samples ``rigsync ptp run`` publishes in its state
    file (it is the one reader of pmc and phc2sys), each Sync once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._last: tuple[int | None, int] | None = None

    def poll(self) -> list[PtpSample]:
        try:
            state = json.loads(self.path.read_text())
        except (OSError, json.JSONDecodeError):
            return []  # being replaced, or gone: no new sample (the host drifts into holdover, as it should)
        raw = state.get("last_sample")
        if state.get("stopped") or not isinstance(raw, dict):
            return []
        sample = PtpSample.from_json(raw)
        key = (sample.ingress_ns, sample.mono_ns)
        if key == self._last:
            return []
        self._last = key
        return [sample]


def state_source(state_dir: Path, host: str) -> StateFileSource | None:
    """The source for ``host`` if a ``rigsync ptp run`` for it keeps its state in ``state_dir``."""
    path = state_file(state_dir, host)
    return StateFileSource(path) if path.exists() else None


def supervisor_reports(state_dir: Path, now_realtime_ns: int | None = None) -> list[HostReport]:
    now = time.time_ns() if now_realtime_ns is None else now_realtime_ns
    reports = []
    for state in read_states(state_dir):
        host = str(state["host"])
        raw = state.get("status")
        status = HostSyncStatus.from_json(raw) if isinstance(raw, dict) else HostSyncStatus(
            host, HostRole.PTP, None, SyncLevel.ERROR, "no reading yet")
        age_s = (now - int(state.get("updated_realtime_ns", 0))) / 1e9  # type: ignore[call-overload]
        daemons = state.get("daemons") or {}
        assert isinstance(daemons, dict)
        alive = all(d.get("pid") is not None for d in daemons.values())
        restarts = sum(int(d.get("restarts", 0)) for d in daemons.values())
        if state.get("stopped"):
            status = replace(status, level=SyncLevel.ERROR, reason="rigsync ptp run stopped")
        elif age_s > STALE_S:
            status = replace(status, level=SyncLevel.ERROR, reason=f"supervisor silent for {age_s:.0f} s "
                                                                    "(is rigsync ptp run still running?)")
        elif not alive:
            status = replace(status, level=SyncLevel.ERROR, reason="a linuxptp daemon is down (restarting)")
        reports.append(HostReport(host, "supervisor", status, _str(state.get("clock_identity")),
                                  _str(state.get("timestamping")), restarts, alive))
    return reports


def network_reports(interface: str, *, netns: str | None = None, domain: int = 0, warn_ns: int = 1_000,
                    error_ns: int = 10_000, known: dict[str, str] | None = None) -> list[HostReport]:
    """Ask every PTP clock reachable on ``interface`` (pmc -4); ``known`` maps clock identities to hosts."""
    pmc = Pmc(interface=interface, netns=netns, domain=domain)
    now = time.monotonic_ns()
    out = []
    for clock, st in sorted(ClockState.of(pmc.query()).items()):
        tb = HostTimebase(clock, HostTimebaseConfig(role=HostRole.PTP, mode=PtpMode.DISCIPLINE,
                                                    offset_warn_ns=warn_ns, offset_error_ns=error_ns))
        port = st.port_state or PortState.FAULTY
        master = st.gm_present and st.offset_ns is not None
        sample = PtpSample(clock, time.time_ns(), now, port, st.offset_ns if master else None,
                           st.mean_path_delay_ns, st.gm_identity, master)
        tb.add(sample)
        name = (known or {}).get(clock, clock)
        status = replace(tb.status(now), host=name)
        if port.is_master:
            status = replace(status, level=SyncLevel.OK, reason="grandmaster" if not master else "master")
        out.append(HostReport(name, "network", status, clock))
    return out


def _str(value: object) -> str | None:
    return str(value) if value else None
