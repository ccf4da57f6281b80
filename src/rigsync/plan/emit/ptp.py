"""linuxptp files per host of a PTP group: ``ptp4l-<host>.conf`` and ``ptp-<host>.sh``.

Checked against the linuxptp man pages (richardcochran/linuxptp ptp4l.8, phc2sys.8):
ptp4l ``-i`` interface, ``-f`` config, ``-S`` software time stamping (``-H`` hardware is the default), ``-m``
log to stdout; [global] keys ``time_stamping`` (hardware|software|legacy|onestep|p2p1step), ``domainNumber``,
``twoStepFlag`` (one-step only with hardware time stamping; hardware + twoStepFlag 0 is upgraded to onestep),
``slaveOnly`` (linuxptp 4.x: deprecated alias of ``clientOnly``, still accepted - and the only spelling older
releases know), ``priority1`` (lower wins, 0-255, default 128), ``network_transport`` (UDPv4 default),
``delay_mechanism`` (E2E default). phc2sys ``-s`` source and ``-c`` sink (device, interface or CLOCK_REALTIME),
``-O`` sink-minus-source offset in seconds, ``-w`` wait for ptp4l (and, without ``-O``, apply its
currentUtcOffset), ``-m`` log to stdout. The seed (seeds/000) runs NTP only on the master and ``-O 0`` on the
slaves, "otherwise a default offset of ~37 seconds will be applied" (phc2sys(8) TIME SCALE USAGE).
``free_running 1``: "don't adjust the local clock" (observe mode: rigsync maps the host's clock to PTP time
itself). ``step_threshold``: ptp4l steps the clock when the offset exceeds it (default 0: only slew, which at
the kernel's 500 ppm limit takes 2000 s per second of error). ``logSyncInterval``: Sync every 2^n s.
"""

from __future__ import annotations

from pathlib import Path

from rigsync.core.ptp import STEP_THRESHOLD_NS, PtpMode
from rigsync.plan.emit._common import header, write_files
from rigsync.plan.model import HostSetup, Plan
from rigsync.spec.sync import PtpTimestampMode

GRANDMASTER_PRIORITY1 = 1
"""Beats every clock left at the default 128 in the best-master election."""
STEP_THRESHOLD_S = STEP_THRESHOLD_NS / 1e9
"""ptp4l and phc2sys step a clock more than 1 ms off (set by hand, say) instead of slewing it for minutes - a slew
drags CLOCK_MONOTONIC along, a step does not; rigsync's stamps are taken on the monotonic clock, and its
simulator assumes this."""

_O0 = ("# -O 0: no offset between the system clock and the NIC's PHC. Without it phc2sys -w applies ptp4l's\n"
       "# currentUtcOffset, the ~37 s TAI-UTC step (seeds/000; phc2sys(8) TIME SCALE USAGE).")
_STEP = ("# -S: step (not slew) a clock more than 1 ms off; phc2sys's default 0 only ever slews after the start, "
         "which\n# also drags CLOCK_MONOTONIC, the clock rigsync stamps frames on.")
_O0_HOST_GM = "# The grandmaster host drives its PHC from its system clock with -O 0 too: every clock carries its time."
_O0_EXTERNAL = ("# With a dedicated grandmaster on the PTP (TAI) time scale, -O 0 leaves this clock ~37 s ahead of\n"
                "# UTC, equal to the cameras' PTP timestamps; use -w without -O to keep it on UTC instead.")


def mode_of(setup: HostSetup, override: PtpMode | None = None) -> PtpMode:
    return override or setup.ptp_mode or PtpMode.DISCIPLINE


def conf(plan: Plan, setup: HostSetup, mode: PtpMode | None = None) -> str:
    """``ptp4l-<host>.conf`` (``mode`` overrides the plan's for this host)."""
    ptp = plan.ptp_of(setup.host)
    observe = mode_of(setup, mode) is PtpMode.OBSERVE
    gm = setup.ptp_role == "grandmaster"
    hardware = setup.timestamping == "hardware" and not observe  # observe mode measures the system clock
    one_step = gm and hardware and ptp.step_mode is PtpTimestampMode.ONE_STEP
    lines = [f"# {header(plan, f'ptp4l-{setup.host}.conf')}",
             f"# Host {setup.host}: PTP {setup.ptp_role}, interface {setup.ptp_interface}, "
             f"{'hardware' if hardware else setup.timestamping if not observe else 'software'} time stamping. "
             "See ptp4l(8).", "[global]",
             f"domainNumber            {ptp.domain}", "network_transport       UDPv4",
             "delay_mechanism         E2E",
             f"time_stamping           {'hardware' if hardware else 'software'}"]
    if setup.timestamping not in ("hardware", "software"):
        lines.insert(-1, "# ethtool -T shows no PTP time stamping on this interface: ptp4l will refuse it (seeds/000)")
    if gm and ptp.step_mode is PtpTimestampMode.ONE_STEP and not hardware:
        lines.append("# one-step needs hardware time stamping: this grandmaster sends two-step; set the cameras' "
                     "PtpMode = TwoStep")
    elif one_step:
        lines.append("# one-step Sync (ptp4l upgrades hardware to onestep): the NIC must list "
                     "HWTSTAMP_TX_ONESTEP_SYNC in ethtool -T")
    elif not gm:
        lines.append("# a client receives one- and two-step Sync alike; twoStepFlag shapes only what it would send")
    lines.append(f"twoStepFlag             {0 if one_step else 1}")
    if gm:
        lines.append(f"priority1               {GRANDMASTER_PRIORITY1}")
    else:
        lines += ["# never become master (linuxptp 4.x spells it clientOnly; slaveOnly still works everywhere)",
                  "slaveOnly               1"]
    lines.append(f"logSyncInterval         {ptp.log_sync_interval}")
    if observe:
        lines += ["# observe mode: measure the offset, never adjust this host's clock (rigsync maps it to PTP time)",
                  "free_running            1"]
    elif not gm:
        lines += ["# step a clock more than 1 ms off instead of slewing it for minutes (rigsync's stamps do not jump)",
                  f"step_threshold          {STEP_THRESHOLD_S}"]
    lines += ["logging_level           6", "summary_interval        0"]
    return "\n".join(lines) + "\n"


def script(plan: Plan, setup: HostSetup, mode: PtpMode | None = None) -> str:
    """``ptp-<host>.sh``: NTP, ptp4l and (hardware time stamping, disciplined clock) phc2sys."""
    host, iface = setup.host, setup.ptp_interface
    observe = mode_of(setup, mode) is PtpMode.OBSERVE
    gm = setup.ptp_role == "grandmaster"
    hardware = setup.timestamping == "hardware" and not observe
    external = plan.ptp_of(host).grandmaster not in plan.index.hosts
    dev = iface or '"$PTP_IFACE"'
    lines = ["#!/bin/sh", f"# {header(plan, f'ptp-{host}.sh')}",
             f"# Run as root on {host} ({setup.ptp_role}); start the grandmaster host first, then the slaves.",
             "set -eu", 'DIR="$(cd "$(dirname "$0")" && pwd)"']
    if iface is None:
        lines.append(': "${PTP_IFACE:?the rig declares no Ethernet interface on this host: PTP_IFACE=<nic> $0}"')
    if observe:
        lines.append("# observe mode: this host's clock is left alone (NTP as it is); rigsync reads the offset")
    elif gm:
        lines += ["# the grandmaster is the only host that keeps NTP, so the rig follows world time (seeds/000)",
                  "timedatectl set-ntp true"]
    else:
        lines += ["# NTP off: ptp4l/phc2sys alone steer this clock (seeds/000)", "timedatectl set-ntp false"]
    stamping, why = ("", "") if hardware else (" -S", "; -S software time stamping")
    lines += [f"# ptp4l: -f the config beside this script; -m logs to stdout{why}",
              f'ptp4l -i {dev} -f "$DIR/ptp4l-{host}.conf"{stamping} -m &']
    if observe:
        lines.append("# no phc2sys: nothing steers the system clock; ptp4l -S measures it directly (rigsync reads pmc)")
    elif hardware and gm:
        lines += ["# the NIC's PHC follows the NTP-disciplined system clock (phc2sys(8): host is the domain server)",
                  _O0, "# The slaves use -O 0 too: every clock in the rig carries this host's system time.",
                  _STEP, f"phc2sys -s CLOCK_REALTIME -c {dev} -O 0 -S {STEP_THRESHOLD_S} -w -m &"]
    elif hardware:
        lines += ["# the system clock follows the NIC's PHC, which ptp4l locks to the grandmaster", _O0,
                  _O0_EXTERNAL if external else _O0_HOST_GM, _STEP,
                  f"phc2sys -s {dev} -c CLOCK_REALTIME -O 0 -S {STEP_THRESHOLD_S} -w -m &"]
    else:
        lines.append("# software time stamping: ptp4l steers the system clock itself, no phc2sys (seeds/000)")
    lines += ["wait", ""]
    return "\n".join(lines)


def ptp_files(plan: Plan, mode: PtpMode | None = None, hosts: tuple[str, ...] = ()) -> dict[str, str]:
    """File name -> text for every host taking part in a PTP group (empty when the rig has none); ``mode``
    overrides the plan's, ``hosts`` restricts the hosts."""
    out: dict[str, str] = {}
    for setup in plan.hosts:
        if setup.ptp_role is None or (hosts and setup.host not in hosts):
            continue
        out[f"ptp4l-{setup.host}.conf"] = conf(plan, setup, mode)
        out[f"ptp-{setup.host}.sh"] = script(plan, setup, mode)
    return out


def files(plan: Plan) -> dict[str, str]:
    return ptp_files(plan)


def write(plan: Plan, directory: Path, mode: PtpMode | None = None, hosts: tuple[str, ...] = ()) -> list[Path]:
    paths = write_files(directory, ptp_files(plan, mode, hosts))
    for p in paths:
        if p.suffix == ".sh":
            p.chmod(0o755)
    return paths
