"""The clock's offset from the grandmaster where ptp4l runs, against the PTP group's levels (``offset_warn_ns``,
``offset_error_ns``: what ``rigsync ptp status`` and captures hold a host to). Read from ptp4l itself through pmc
(``pmc -u -b 0``, linuxptp's management client; parsed by rigsync.ptp.pmc), else from the last sample in
``rigsync ptp run``'s state file. In observe mode the offset is measured, never corrected: rigsync maps it."""

from __future__ import annotations

from rigsync.core.ptp import PortState
from rigsync.hostcheck.context import HostContext
from rigsync.hostcheck.finding import Finding, Status
from rigsync.hostcheck.ptp_daemons import ptp4l_on
from rigsync.hostcheck.ptp_plan import PtpWant, want
from rigsync.hostcheck.ptp_procs import Ptp4lRun, parse_conf, state
from rigsync.ptp.pmc import QUERIES, ClockState
from rigsync.ptp.pmc import parse as parse_pmc

DEFAULT_UDS = "/var/run/ptp4l"
"""ptp4l's management socket unless its configuration names another (``uds_address``; rigsync ptp run does)."""


def pmc_command(uds: str, domain: int) -> list[str]:
    return ["pmc", "-u", "-b", "0", "-s", uds, "-d", str(domain), *QUERIES[:3]]


def _reading(ctx: HostContext, w: PtpWant, run: Ptp4lRun) -> tuple[ClockState | None, str]:
    """ptp4l's state and where it came from."""
    conf = parse_conf(ctx.probe.read(run.config_path) or "")[0] if run.config_path else {}
    uds = run.options.get("uds_address") or conf.get("uds_address") or DEFAULT_UDS
    argv = pmc_command(uds, w.domain)
    ran = ctx.probe.run(argv)
    if ran is not None and ran.ok:
        states = ClockState.of(parse_pmc(ran.stdout))
        if states:
            return next(iter(states.values())), f"pmc -u -s {uds}"
    st = state(ctx.probe, w.host)
    sample = st.data.get("last_sample") if st is not None and not st.stopped else None
    if isinstance(sample, dict) and st is not None and st.daemon_pid("ptp4l") == run.process.pid:
        port = sample.get("port_state")
        offset = sample.get("offset_ns")
        gm = sample.get("gm_identity")
        return ClockState("", PortState.parse(str(port)) if port else None, offset if isinstance(offset, int) else
                          None, None, str(gm) if gm else None, bool(sample.get("gm_present")), None, None), st.path
    return None, ("pmc not installed" if ran is None else "pmc had no answer") + f" ({' '.join(argv)})"


def _ns(value: int) -> str:
    return f"{value} ns" if abs(value) < 10_000 else f"{value / 1000:.1f} us" if abs(value) < 10_000_000 else \
        f"{value / 1e6:.1f} ms"


def check(ctx: HostContext) -> list[Finding]:
    w = want(ctx)
    if w is None:
        return []
    anchor, iface = "#ptp-offset", w.interface
    wanted = (f"|offset| <= {_ns(w.offset_warn_ns)} (warning), <= {_ns(w.offset_error_ns)} (error)"
              if w.role == "slave" and not w.observe else
              "a grandmaster heard; the offset measured (observe mode: never corrected)" if w.role == "slave" else
              "port MASTER: this host is the grandmaster")
    runs = ptp4l_on(ctx, iface)
    if len(runs) != 1:
        return [ctx.finding("ptp-offset", Status.SKIP, "no single ptp4l on " + iface + " to ask (see item ptp4l)",
                            wanted, subject=iface, anchor=anchor)]
    clock, source = _reading(ctx, w, runs[0])
    status_cmd = f"rigsync ptp status {w.rig_path} --network {iface}"
    if clock is None:
        return [ctx.finding("ptp-offset", Status.WARN, f"no reading: {source}", wanted,
                            f"sudo {' '.join(pmc_command(DEFAULT_UDS, w.domain)[:-3])} 'GET CURRENT_DATA_SET' by "
                            f"hand (give -s the uds_address of ptp4l's configuration); {status_cmd}",
                            subject=iface, anchor=anchor)]
    port = clock.port_state.value if clock.port_state is not None else "unknown"
    if w.role == "grandmaster":
        if clock.port_state is not None and clock.port_state.is_master:
            return [ctx.finding("ptp-offset", Status.PASS, f"port {port} ({source})", wanted, subject=iface,
                                anchor=anchor)]
        return [ctx.finding("ptp-offset", Status.WARN, f"port {port} ({source}): another clock may be the "
                            f"grandmaster ({clock.gm_identity or '?'})", wanted,
                            f"wait a few announce intervals and check again; list the clocks of domain {w.domain}: "
                            f"{status_cmd}", subject=iface, anchor=anchor)]
    if not clock.gm_present or clock.offset_ns is None:
        start = (f"start the grandmaster first (on {w.grandmaster_host}: sudo rigsync ptp run {w.rig_path} --host "
                 f"{w.grandmaster_host})" if w.grandmaster_host else
                 f"check the grandmaster clock is on and serves domain {w.domain}")
        return [ctx.finding("ptp-offset", Status.FAIL, f"port {port}, no grandmaster heard ({source})", wanted,
                            f"{start}; check the cable and switch between them; {status_cmd}", subject=iface,
                            anchor=anchor)]
    seen = f"offset {_ns(clock.offset_ns)}, port {port} ({source})"
    if w.observe:
        return [ctx.finding("ptp-offset", Status.PASS, seen + ": observe mode measures it, rigsync maps it", wanted,
                            subject=iface, anchor=anchor)]
    size = abs(clock.offset_ns)
    locked = clock.port_state is PortState.SLAVE
    if size <= w.offset_warn_ns and locked:
        return [ctx.finding("ptp-offset", Status.PASS, seen, wanted, subject=iface, anchor=anchor)]
    fix = (f"give ptp4l a minute to lock after a start, then check again ({status_cmd}); if it stays: every switch "
           "between here and the grandmaster PTP-aware (seeds/000), no NTP on this host (item ntp)")
    bad = size > w.offset_error_ns
    return [ctx.finding("ptp-offset", Status.FAIL if bad else Status.WARN,
                        seen + ("" if locked else ": not locked yet"), wanted, fix, subject=iface, anchor=anchor)]
