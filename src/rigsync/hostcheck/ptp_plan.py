"""What the plan wants of a host's PTP: the interface, timestamping, mode and the linuxptp options ``rigsync ptp
run`` starts (``rigsync.cli.ptp_cmd.supervisor_config``, ``rigsync.plan.emit.ptp``), and where its state is."""

from __future__ import annotations

import os
from dataclasses import dataclass

from rigsync.core.ptp import PtpMode
from rigsync.hostcheck.context import HostContext

STATE_DIRS = ("/run/rigsync", f"/tmp/rigsync-{os.getuid()}")
"""Where ``rigsync ptp run`` keeps its state (``rigsync.ptp.status.default_state_dir``: /run/rigsync as root);
``$RIGSYNC_STATE_DIR`` comes first when set."""


@dataclass(frozen=True)
class PtpWant:
    """One host's planned PTP set-up."""

    host: str
    rig_path: str
    role: str
    """``grandmaster`` or ``slave``."""
    interface: str
    timestamping: str
    """``hardware`` or ``software`` (observe mode: software, as the plan makes it)."""
    mode: PtpMode
    domain: int
    offset_warn_ns: int
    offset_error_ns: int
    grandmaster_host: str | None
    """The rig host that is the grandmaster (None: a dedicated clock)."""

    @property
    def software(self) -> bool:
        return self.timestamping != "hardware"

    @property
    def observe(self) -> bool:
        return self.mode is PtpMode.OBSERVE

    @property
    def phc2sys(self) -> bool:
        """phc2sys ties the system clock to the NIC's: hardware timestamping, disciplined clocks only."""
        return not self.software and not self.observe

    @property
    def run_command(self) -> str:
        """The project's way to start linuxptp as planned (keep it running through the take)."""
        return f"sudo rigsync ptp run {self.rig_path} --host {self.host}"


def want(ctx: HostContext) -> PtpWant | None:
    """The plan's PTP set-up of ``ctx.host`` (None: the host takes part in no PTP group, or has no interface)."""
    setup = ctx.setup
    if setup.ptp_role is None or setup.ptp_interface is None:
        return None
    ptp = ctx.plan.ptp_of(ctx.host)
    gm = ptp.grandmaster if ptp.grandmaster in ctx.plan.index.hosts else None
    return PtpWant(host=ctx.host, rig_path=ctx.plan.rig.path, role=setup.ptp_role, interface=setup.ptp_interface,
                   timestamping=setup.timestamping or "software", mode=setup.ptp_mode or PtpMode.DISCIPLINE,
                   domain=ptp.domain, offset_warn_ns=ptp.offset_warn_ns, offset_error_ns=ptp.offset_error_ns,
                   grandmaster_host=gm)


def state_dirs() -> list[str]:
    env = os.environ.get("RIGSYNC_STATE_DIR")
    return [env, *STATE_DIRS] if env else list(STATE_DIRS)
