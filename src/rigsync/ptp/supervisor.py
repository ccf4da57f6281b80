"""``rigsync ptp run``: start ptp4l (and phc2sys with hardware timestamping) for one host, keep them running,
and monitor them through pmc. Not a PTP of our own: linuxptp does the protocol, rigsync watches it.

The supervisor writes the ptp4l configuration (with its own ``uds_address``, so several instances can run on
one machine, e.g. in network namespaces), starts the daemons with their output in log files, restarts a
daemon that died (with a growing back-off), reads phc2sys's reported offsets, and keeps a state file that
``rigsync ptp status`` and captures read: the processes, the last PTP sample and the host's status against
its group's levels.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from rigsync.core.errors import RigsyncError
from rigsync.core.ptp import STEP_THRESHOLD_NS, HostRole, PtpMode
from rigsync.ptp._proc import netns_argv
from rigsync.ptp.monitor import PmcMonitor
from rigsync.ptp.pmc import Pmc, local_clocks
from rigsync.timebase.host import HostSyncStatus, HostTimebase, HostTimebaseConfig

_PHC2SYS_OFFSET = re.compile(r"(?:CLOCK_REALTIME|sys) (?:phc )?offset\s+(-?\d+)")

StatusCallback = Callable[["HostSyncStatus", list[str]], None]
"""Called after each supervision step with the host's status and what happened since the last one."""


@dataclass(frozen=True)
class SupervisorConfig:
    """What to run on one host, from the plan (``rigsync.plan.emit.ptp``) and the interface check."""

    host: str
    interface: str
    role: str
    """``grandmaster`` or ``slave``."""
    mode: PtpMode
    hardware: bool
    ptp4l_conf: str
    """The ptp4l configuration text; ``uds_address`` is appended by the supervisor."""
    domain: int = 0
    offset_warn_ns: int = 1_000
    offset_error_ns: int = 10_000
    sync_interval_ns: int = 1_000_000_000
    netns: str | None = None
    """Run the daemons in this network namespace (tests; hosts simulated on one machine)."""

    def __post_init__(self) -> None:
        if self.mode is PtpMode.OBSERVE and self.hardware:
            raise ValueError("observe mode runs ptp4l with software timestamping (-S): it measures the system clock, "
                             "which nothing else ties to the NIC's clock")
        if self.role not in ("grandmaster", "slave"):
            raise ValueError(f"role {self.role!r}: grandmaster or slave")

    @property
    def phc2sys(self) -> bool:
        """phc2sys ties the system clock to the NIC's clock: hardware timestamping, disciplined clocks only."""
        return self.hardware and self.mode is PtpMode.DISCIPLINE


@dataclass
class Daemon:
    """One supervised process."""

    name: str
    argv: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    last_exit: int | None = None
    next_start: float = 0.0
    backoff_s: float = 1.0
    _log_file: IO[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.process.poll() is None else None

    def to_json(self) -> dict[str, object]:
        return {"argv": self.argv, "pid": self.pid, "restarts": self.restarts, "last_exit": self.last_exit,
                "log": str(self.log)}


def _need(tool: str) -> str:
    exe = shutil.which(tool)
    if exe is None:
        raise RigsyncError(f"{tool} is not installed: it comes with linuxptp (Debian/Ubuntu: apt-get install linuxptp)")
    return exe


class PtpSupervisor:
    """Supervises linuxptp for one host. Use as a context manager, call :meth:`step` periodically (or
    :meth:`run`)."""

    def __init__(self, config: SupervisorConfig, state_dir: Path, *, max_backoff_s: float = 30.0,
                 poll_interval_s: float = 1.0) -> None:
        self.config = config
        self.state_dir = state_dir
        self.max_backoff_s = max_backoff_s
        self.poll_interval_s = poll_interval_s
        self.uds = state_dir / f"ptp4l-{config.host}.sock"
        self.conf_path = state_dir / f"ptp4l-{config.host}.conf"
        self.state_path = state_file(state_dir, config.host)
        prefix = netns_argv(config.netns)
        ptp4l = [*prefix, _need("ptp4l"), "-i", config.interface, "-f", str(self.conf_path), "-m"]
        if not config.hardware:
            ptp4l.insert(len(prefix) + 1, "-S")
        self.daemons = [Daemon("ptp4l", ptp4l, state_dir / f"ptp4l-{config.host}.log")]
        if config.phc2sys:
            source, sink = ((config.interface, "CLOCK_REALTIME") if config.role == "slave"
                            else ("CLOCK_REALTIME", config.interface))
            # -O 0: no TAI-UTC offset between the clocks (seeds/000); -S: step beyond 1 ms rather than slew
            # (slewing drags CLOCK_MONOTONIC along); -w: wait for ptp4l; -z: its socket
            self.daemons.append(Daemon("phc2sys", [*prefix, _need("phc2sys"), "-s", source, "-c", sink, "-O", "0",
                                                   "-S", f"{STEP_THRESHOLD_NS / 1e9:g}", "-w", "-z", str(self.uds),
                                                   "-m"], state_dir / f"phc2sys-{config.host}.log"))
        role = HostRole.REFERENCE if config.role == "grandmaster" else HostRole.PTP
        self.timebase = HostTimebase(config.host, HostTimebaseConfig(
            role=role, mode=config.mode, offset_warn_ns=config.offset_warn_ns,
            offset_error_ns=config.offset_error_ns, sync_interval_ns=config.sync_interval_ns))
        self.pmc = Pmc(self.uds, domain=config.domain)
        self.monitor = PmcMonitor(self.pmc, config.host, software=not config.hardware, interval_s=poll_interval_s)
        self.events: list[str] = []
        self.clock_identity: str | None = None
        self._phc2sys_read = 0
        self._phc2sys_seen: float | None = None  # time.monotonic() of its last offset line
        self._started_ns = 0

    # --- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.conf_path.write_text(self.config.ptp4l_conf.rstrip("\n") + f"\n# rigsync ptp run: its own socket\n"
                                                                        f"uds_address             {self.uds}\n")
        self._started_ns = time.time_ns()
        for daemon in self.daemons:
            if daemon.name == "phc2sys" and daemon.log.exists():
                self._phc2sys_read = daemon.log.stat().st_size  # what an earlier run logged is not this run's
        try:
            for daemon in self.daemons:
                self._start(daemon)
        except BaseException:
            for daemon in self.daemons:
                self._stop(daemon)
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for daemon in reversed(self.daemons):
            self._stop(daemon)
        self._write_state(stopped=True)

    def _start(self, daemon: Daemon) -> None:
        if daemon._log_file is None:
            daemon._log_file = daemon.log.open("ab")
        daemon.process = subprocess.Popen(daemon.argv, stdout=daemon._log_file, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, start_new_session=True)

    def _stop(self, daemon: Daemon) -> None:
        proc = daemon.process
        if proc is not None and proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait(timeout=5)
        if daemon._log_file is not None:
            daemon._log_file.close()
            daemon._log_file = None

    # --- supervision ----------------------------------------------------------------------------

    def step(self) -> HostSyncStatus:
        """Restart what died, read pmc and phc2sys, update the state file; returns the host's status."""
        now = time.monotonic()
        for daemon in self.daemons:
            proc = daemon.process
            if proc is not None and proc.poll() is not None:
                daemon.last_exit = proc.returncode
                daemon.process = None
                daemon.next_start = now + daemon.backoff_s
                self.events.append(f"{daemon.name} exited with code {proc.returncode}: restarting in "
                                   f"{daemon.backoff_s:g} s (log: {daemon.log})")
                daemon.backoff_s = min(daemon.backoff_s * 2, self.max_backoff_s)
            if daemon.process is None and now >= daemon.next_start:
                self._start(daemon)
                daemon.restarts += 1
                self.events.append(f"{daemon.name} restarted (restart {daemon.restarts})")
            elif daemon.process is not None and daemon.restarts and now - daemon.next_start > 60:
                daemon.backoff_s = 1.0  # ran a minute since its last restart: forgive
        self._read_phc2sys()
        if self.config.phc2sys:
            # Without a live phc2sys the system clock is tied to nothing we can read: no samples (holdover).
            phc2sys = next(d for d in self.daemons if d.name == "phc2sys")
            fresh = self._phc2sys_seen is not None and now - self._phc2sys_seen < 3 * max(
                self.config.sync_interval_ns / 1e9, 1.0)
            self.monitor.paused = phc2sys.pid is None or not fresh
            if self.monitor.paused:
                self.monitor.sys_offset_ns = None
        self.monitor.read_once()
        for sample in self.monitor.poll():
            self.timebase.add(sample)
        if self.clock_identity is None:
            responses = self.pmc.query("GET DEFAULT_DATA_SET")
            self.clock_identity = next((r.fields["clockIdentity"] for r in responses if "clockIdentity" in r.fields),
                                       None)
        if self.timebase.config.role is HostRole.REFERENCE:
            self.timebase.add_clock(*local_clocks())
        status = self.timebase.status(time.monotonic_ns())
        self._write_state(status=status)
        return status

    def run(self, stop: threading.Event, on_status: StatusCallback | None = None) -> None:
        """Supervise until ``stop`` is set."""
        while not stop.is_set():
            status = self.step()
            if on_status is not None:
                on_status(status, list(self.events))
            self.events.clear()
            stop.wait(self.poll_interval_s)

    def _read_phc2sys(self) -> None:
        log = next((d.log for d in self.daemons if d.name == "phc2sys"), None)
        if log is None or not log.exists():
            return
        with log.open("rb") as f:
            f.seek(self._phc2sys_read)
            chunk = f.read()
        self._phc2sys_read += len(chunk)
        for line in chunk.decode(errors="replace").splitlines():
            m = _PHC2SYS_OFFSET.search(line)
            if m:
                # phc2sys prints the sink minus the source: on a slave, system clock minus the NIC's clock
                offset = int(m.group(1))
                self.monitor.sys_offset_ns = offset if self.config.role == "slave" else -offset
                self._phc2sys_seen = time.monotonic()

    def _write_state(self, *, status: HostSyncStatus | None = None, stopped: bool = False) -> None:
        cfg = self.config
        state = {
            "host": cfg.host, "interface": cfg.interface, "role": cfg.role, "mode": cfg.mode.value,
            "timestamping": "hardware" if cfg.hardware else "software", "netns": cfg.netns,
            "uds": str(self.uds), "domain": cfg.domain, "supervisor_pid": os.getpid(),
            "started_realtime_ns": self._started_ns, "updated_realtime_ns": time.time_ns(), "stopped": stopped,
            "clock_identity": self.clock_identity, "levels": {"warn_ns": cfg.offset_warn_ns,
                                                             "error_ns": cfg.offset_error_ns},
            "daemons": {d.name: d.to_json() for d in self.daemons},
            "last_sample": self.monitor.latest.to_json() if self.monitor.latest else None,
            "status": status.to_json() if status is not None else None,
        }
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1))
        tmp.replace(self.state_path)


def state_file(state_dir: Path, host: str) -> Path:
    return state_dir / f"ptp-{host}.json"


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)

