"""ptp4l and phc2sys running with the options ``rigsync ptp run`` starts for the host (rigsync.ptp.supervisor,
rigsync.plan.emit.ptp): read from the processes' command lines and ptp4l's configuration file, named with
``rigsync ptp run``'s state file when it started them."""

from __future__ import annotations

from dataclasses import replace

from rigsync.hostcheck.context import HostContext
from rigsync.hostcheck.finding import Finding, Status
from rigsync.hostcheck.ptp_link import caps
from rigsync.hostcheck.ptp_plan import PtpWant, want
from rigsync.hostcheck.ptp_procs import (
    Phc2sysRun,
    Ptp4lRun,
    SupervisorState,
    effective,
    own_netns,
    parse_conf,
    phc2sys_run,
    processes,
    ptp4l_run,
    state,
)

REALTIME = "CLOCK_REALTIME"


def as_run(ctx: HostContext, w: PtpWant) -> tuple[PtpWant, str | None]:
    """The set-up ``rigsync ptp run`` starts: like ``rigsync.cli.ptp_cmd.checked_plan``, the timestamping the NIC
    really offers (software in observe mode), whatever the plan declares (item ptp-timestamping says when they
    differ); and the NIC's PTP clock (/dev/ptpN), if any."""
    got = caps(ctx, w.interface)
    if isinstance(got, str) or got.timestamping == "none" or got.wireless:
        return w, None
    phc = f"/dev/ptp{got.phc_index}" if got.phc_index is not None else None
    return replace(w, timestamping="software" if w.observe else got.timestamping), phc


def ptp4l_on(ctx: HostContext, iface: str) -> list[Ptp4lRun]:
    """The ptp4l processes running on ``iface`` (``-i`` or an ``[iface]`` section of their file), in the probe's
    network namespace."""
    out = []
    for p in processes(ctx.probe, frozenset({"ptp4l"}), netns=own_netns(ctx.probe)):
        run = ptp4l_run(p)
        conf_ifaces: list[str] = []
        if run.config_path is not None and not run.interfaces:
            conf_ifaces = parse_conf(ctx.probe.read(run.config_path) or "")[1]
        if iface in run.interfaces or iface in conf_ifaces:
            out.append(run)
    return out


def _stop(pids: list[int], st: SupervisorState | None, ctx: HostContext) -> str:
    """How to stop what runs now: the supervisor that restarts them, if ``rigsync ptp run`` started them."""
    sup = st.supervisor_pid if st is not None and not st.stopped else None
    if sup is not None and ctx.probe.read(f"/proc/{sup}/cmdline") is not None:
        return f"stop the running rigsync ptp run (sudo kill {sup}), then "
    return f"sudo kill {' '.join(map(str, pids))}, then "


def ptp4l_problems(w: PtpWant, options: dict[str, str]) -> list[str]:
    """What differs from the plan in ptp4l's effective options (empty: as planned)."""
    out = []
    stamping = options.get("time_stamping", "hardware")
    if w.software and stamping != "software":
        out.append(f"time_stamping {stamping}, planned software (-S)")
    if not w.software and stamping not in ("hardware", "onestep", "p2p1step"):
        out.append(f"time_stamping {stamping}, planned hardware (no -S)")
    free = options.get("free_running", "0") == "1"
    if w.observe and not free:
        out.append("free_running 0: observe mode must never adjust this host's clock (free_running 1)")
    if not w.observe and free:
        out.append("free_running 1: discipline mode needs ptp4l to steer the clock (free_running 0)")
    domain = options.get("domainNumber", "0")
    if domain != str(w.domain):
        out.append(f"domainNumber {domain}, planned {w.domain}")
    slave_only = options.get("slaveOnly", "0") == "1"
    if w.role == "slave" and not slave_only:
        out.append("slaveOnly 0: a slave must never become master (slaveOnly 1)")
    if w.role == "grandmaster" and slave_only:
        out.append("slaveOnly 1 on the grandmaster: it would never serve time")
    return out


def check_ptp4l(ctx: HostContext) -> list[Finding]:
    planned = want(ctx)
    if planned is None:
        return []
    w = as_run(ctx, planned)[0]
    anchor, iface = "#ptp4l", w.interface
    wanted = (f"one ptp4l -i {iface}: {w.timestamping} timestamping{' (-S)' if w.software else ''}, "
              f"{'free_running 1 (observe)' if w.observe else 'free_running 0 (discipline)'}, domainNumber "
              f"{w.domain}, slaveOnly {1 if w.role == 'slave' else 0}")
    st = state(ctx.probe, w.host)
    runs = ptp4l_on(ctx, iface)
    if not runs:
        note = f"; {st.path} says ptp4l pid {st.daemon_pid('ptp4l')}, not running" if st and not st.stopped else ""
        return [ctx.finding("ptp4l", Status.FAIL, f"no ptp4l running on {iface}{note}", wanted, w.run_command,
                            subject=iface, anchor=anchor)]
    if len(runs) > 1:
        pids = [r.process.pid for r in runs]
        return [ctx.finding("ptp4l", Status.FAIL, f"{len(runs)} ptp4l on {iface} (pids {', '.join(map(str, pids))}): "
                            "they fight over the clock", wanted, _stop(pids, st, ctx) + w.run_command,
                            subject=iface, anchor=anchor)]
    run = runs[0]
    conf: dict[str, str] = {}
    source = "its command line"
    if run.config_path is not None:
        text = ctx.probe.read(run.config_path)
        if text is None:
            return [ctx.finding("ptp4l", Status.WARN, f"ptp4l pid {run.process.pid} reads {run.config_path}, which "
                                "cannot be read here: its options are unknown", wanted,
                                f"run the check as root (sudo rigsync check {w.rig_path} --host {w.host}), or "
                                f"restart it as planned: {_stop([run.process.pid], st, ctx)}{w.run_command}",
                                subject=iface, anchor=anchor)]
        conf = parse_conf(text)[0]
        source = f"its command line and {run.config_path}"
    by_rigsync = st is not None and st.daemon_pid("ptp4l") == run.process.pid
    seen = f"ptp4l pid {run.process.pid}{' (rigsync ptp run)' if by_rigsync else ''}: {run.process.line}"
    problems = ptp4l_problems(w, effective(run, conf))
    if not problems:
        return [ctx.finding("ptp4l", Status.PASS, f"{seen} (options from {source})", wanted, subject=iface,
                            anchor=anchor)]
    return [ctx.finding("ptp4l", Status.FAIL, f"{seen}; " + "; ".join(problems), wanted,
                        _stop([run.process.pid], st, ctx) + w.run_command, subject=iface, anchor=anchor)]


def _phc2sys_for(runs: list[Phc2sysRun], iface: str) -> list[Phc2sysRun]:
    return [r for r in runs if r.automatic or iface in (r.source, r.sink) or REALTIME in (r.source, r.sink)
            or (r.source or "").startswith("/dev/ptp") or (r.sink or "").startswith("/dev/ptp")]


def phc2sys_problems(w: PtpWant, run: Phc2sysRun, phc: str | None) -> list[str]:
    """What differs from the planned ``phc2sys -s <src> -c <sink> -O 0`` (the NIC named by interface or by its
    PTP clock ``phc``, /dev/ptpN)."""
    nic = {w.interface} | ({phc} if phc else set())
    src, sink = (nic, {REALTIME}) if w.role == "slave" else ({REALTIME}, nic)
    out = []
    if run.automatic:
        out.append("-a: the clocks follow ptp4l's port states and the ~37 s TAI-UTC offset is applied")
    elif run.source not in src or run.sink not in sink:
        planned = f"-s {' or '.join(sorted(src))} -c {' or '.join(sorted(sink))}"
        out.append(f"-s {run.source} -c {run.sink}, planned {planned}")
    if not (_number(run.offset_s) and float(run.offset_s or "") == 0.0):
        out.append(f"{'no -O' if run.offset_s is None else f'-O {run.offset_s}'}: without -O 0 phc2sys applies the "
                   "~37 s TAI-UTC offset (seeds/000)")
    return out


def _number(text: str | None) -> bool:
    try:
        float(text or "")
    except ValueError:
        return False
    return True


def check_phc2sys(ctx: HostContext) -> list[Finding]:
    planned = want(ctx)
    if planned is None:
        return []
    w, phc = as_run(ctx, planned)
    anchor, iface = "#phc2sys", w.interface
    src, sink = (iface, REALTIME) if w.role == "slave" else (REALTIME, iface)
    runs = _phc2sys_for([phc2sys_run(p) for p in processes(ctx.probe, frozenset({"phc2sys"}),
                                                            netns=own_netns(ctx.probe))], iface)
    st = state(ctx.probe, w.host)
    if not w.phc2sys:
        if not runs:
            return []  # none planned, none running: nothing to say
        why = ("observe mode: nothing may steer this host's clock" if w.observe else
               "software timestamping: ptp4l -S steers the system clock itself; a phc2sys fights it")
        pids = [r.process.pid for r in runs]
        return [ctx.finding("phc2sys", Status.FAIL, "; ".join(f"phc2sys pid {r.process.pid}: {r.process.line}"
                                                              for r in runs), f"no phc2sys ({why})",
                            f"sudo kill {' '.join(map(str, pids))}", subject=iface, anchor=anchor)]
    wanted = f"phc2sys -s {src} -c {sink} -O 0 (hardware timestamping, {w.role})"
    if not runs:
        return [ctx.finding("phc2sys", Status.FAIL, "no phc2sys running: the system clock is not tied to the NIC's",
                            wanted, w.run_command, subject=iface, anchor=anchor)]
    run = runs[0]
    problems = (phc2sys_problems(w, run, phc) if len(runs) == 1 else
                [f"{len(runs)} phc2sys (pids {', '.join(str(r.process.pid) for r in runs)}) fight over the clock"])
    by_rigsync = st is not None and st.daemon_pid("phc2sys") == run.process.pid
    seen = f"phc2sys pid {run.process.pid}{' (rigsync ptp run)' if by_rigsync else ''}: {run.process.line}"
    if not problems:
        return [ctx.finding("phc2sys", Status.PASS, seen, wanted, subject=iface, anchor=anchor)]
    return [ctx.finding("phc2sys", Status.FAIL, f"{seen}; " + "; ".join(problems), wanted,
                        _stop([r.process.pid for r in runs], st, ctx) + w.run_command, subject=iface, anchor=anchor)]
