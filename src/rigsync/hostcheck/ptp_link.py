"""The PTP interface of a host: it exists and is up (``/sys/class/net/<if>``), and ``ethtool -T`` offers the
timestamping the plan wants (seeds/000, "Check PTP hardware support"; parsed by rigsync.ptp.ethtool)."""

from __future__ import annotations

from rigsync.hostcheck.context import HostContext
from rigsync.hostcheck.finding import Finding, Status
from rigsync.hostcheck.ptp_plan import PtpWant, want
from rigsync.ptp import ethtool

SYS_NET = "/sys/class/net"
IFF_UP = 0x1
"""``/sys/class/net/<if>/flags``: the administrative up flag (``ip link set <if> up``)."""


def _interfaces(ctx: HostContext) -> list[str]:
    return [n for n in ctx.probe.listdir(SYS_NET) or [] if n != "lo"]


def _nic_fix(w: PtpWant, names: list[str]) -> str:
    return (f"plug in / enable the NIC, or name the one PTP runs on in {w.rig_path}: [[hosts]] name = \"{w.host}\", "
            f"nics = [{{ name = \"<{' | '.join(names) or 'interface'}>\", timestamping = \"{w.timestamping}\" }}]")


def check_interface(ctx: HostContext) -> list[Finding]:
    w = want(ctx)
    if w is None:
        return []
    iface, anchor = w.interface, "#ptp-interface"
    wanted = f"{iface} present and up (PTP {w.role})"
    names = _interfaces(ctx)
    if iface not in (ctx.probe.listdir(SYS_NET) or []):
        return [ctx.finding("ptp-interface", Status.FAIL, f"no {SYS_NET}/{iface} (interfaces here: "
                            f"{', '.join(names) or 'none'})", wanted, _nic_fix(w, names), subject=iface,
                            anchor=anchor)]
    state = (ctx.probe.read(f"{SYS_NET}/{iface}/operstate") or "?").strip()
    if state == "up":
        return [ctx.finding("ptp-interface", Status.PASS, f"{iface} operstate up", wanted, subject=iface,
                            anchor=anchor)]
    flags_text = (ctx.probe.read(f"{SYS_NET}/{iface}/flags") or "").strip()
    try:
        admin_up = bool(int(flags_text, 16) & IFF_UP)
    except ValueError:
        admin_up = False
    if admin_up:  # up, but no link: cable, switch port or the peer
        seen = f"{iface} operstate {state}, administratively up: no link (carrier)"
        fix = (f"connect {iface}'s cable to the PTP switch and check the port's link LED; then ip link show {iface} "
               "must say state UP")
    else:
        seen = f"{iface} operstate {state}, administratively down"
        fix = f"sudo ip link set {iface} up (and enable it in the host's network configuration to keep it up)"
    return [ctx.finding("ptp-interface", Status.FAIL, seen, wanted, fix, subject=iface, anchor=anchor)]


def caps(ctx: HostContext, iface: str) -> ethtool.InterfaceCaps | str:
    """The interface's capabilities, or why they cannot be read."""
    ran = ctx.probe.run(ethtool.command(iface))
    if ran is None:
        return "ethtool is not installed"
    if not ran.ok:
        return f"ethtool -T {iface} failed: {(ran.stderr or ran.stdout).strip() or f'exit {ran.returncode}'}"
    wireless = ethtool.wireless_in(ctx.probe.listdir(f"{SYS_NET}/{iface}"))
    return ethtool.parse(ran.stdout, iface, wireless=wireless)


def check_timestamping(ctx: HostContext) -> list[Finding]:
    w = want(ctx)
    if w is None:
        return []
    iface, anchor = w.interface, "#ptp-timestamping"
    need = ("RAW/TX/RX_HARDWARE and a PTP hardware clock" if not w.software else "SOFTWARE, TX_SOFTWARE, RX_SOFTWARE")
    wanted = f"{w.timestamping} timestamping ({need})" + (" - observe mode measures the system clock" if w.observe
                                                           else "")
    if iface not in (ctx.probe.listdir(SYS_NET) or []):
        return [ctx.finding("ptp-timestamping", Status.SKIP, f"no interface {iface} (see ptp-interface)", wanted,
                            subject=iface, anchor=anchor)]
    got = caps(ctx, iface)
    if isinstance(got, str):
        fix = ("sudo apt-get install ethtool" if got.startswith("ethtool is not") else
               f"run ethtool -T {iface} by hand and check the NIC's driver (ethtool -i {iface})")
        return [ctx.finding("ptp-timestamping", Status.WARN, got, wanted, fix, subject=iface, anchor=anchor)]
    phc = f", PTP clock /dev/ptp{got.phc_index}" if got.phc_index is not None else ", no PTP hardware clock"
    seen = f"ethtool -T {iface}: {got.timestamping}{phc}" + (" (Wi-Fi)" if got.wireless else "")
    ok = not got.wireless and (got.hardware if not w.software else got.software)
    if ok:
        return [ctx.finding("ptp-timestamping", Status.PASS, seen, wanted, subject=iface, anchor=anchor)]
    nic = f"in {w.rig_path}, host {w.host}'s nic {iface}"
    if got.wireless or got.timestamping == "none":
        fix = f"{got.advice()} Name a wired interface with PTP timestamping in {w.rig_path} (ethtool -T <if>)."
    elif not w.software:  # hardware planned, software only here
        fix = (f"plan software timestamping: set timestamping = \"software\" {nic} (ptp4l -S, no phc2sys; "
               "microseconds instead of tens of nanoseconds), or use a NIC with a PTP hardware clock (ethtool -T "
               "shows \"PTP Hardware Clock: <n>\")")
    elif w.observe:  # software needed by observe mode, hardware only here
        fix = (f"this NIC has no software timestamping, which observe mode needs (it measures the system clock): "
               f"set ptp_mode = \"discipline\" on host {w.host} in {w.rig_path}, or use another NIC")
    else:  # software planned, hardware only here (ptp4l -S would refuse it)
        fix = f"plan hardware timestamping: set timestamping = \"hardware\" {nic} (ptp4l hardware mode + phc2sys -O 0)"
    return [ctx.finding("ptp-timestamping", Status.FAIL, seen, wanted, fix, subject=iface, anchor=anchor)]
