"""``rigsync capture``'s check before it starts (unless ``--no-check``): the devices (``rigsync check``'s device
part) and the hosts' set-up against the plan - this machine's as its host of the rig, and in a capture across hosts
every agent's host as its agent reads it. A device or host finding that fails refuses the capture with the tables
and their fixes; a host warning is said and the capture goes on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from rigsync.cli.aligned import AlignedTable
from rigsync.core.errors import RigsyncError

if TYPE_CHECKING:
    from rich.table import Table

    from rigsync.hostcheck.finding import Finding
    from rigsync.net.remote import RemoteDriver
    from rigsync.plan.model import Plan


@dataclass
class CaptureCheck:
    """What the check found so far: the devices that failed (with their table) and every host's findings."""

    rig_path: Path
    seconds: float
    """The planned take's length (the hosts' disk check)."""
    failed_devices: list[str] = field(default_factory=list)
    device_table: Table | AlignedTable | None = None
    findings: list[Finding] = field(default_factory=list)

    def add_agents(self, remotes: Sequence[RemoteDriver]) -> None:
        """The set-up of each agent's host, read by its agent on its own machine."""
        from rigsync.net.hostchecks import check_agents

        found = check_agents(remotes, self.seconds)
        self.findings += [f for r in remotes for f in found[r.host]]

    def decide(self, console: Console) -> None:
        """Refuse the capture (:class:`RigsyncError`) when a device or a host finding failed, after printing the
        failing tables; else print each host warning and return."""
        from rigsync.cli.check_cmd import host_tables
        from rigsync.hostcheck.finding import Status

        failing = list(dict.fromkeys(f.host for f in self.findings if f.status is Status.FAIL))
        if self.failed_devices or failing:
            if self.failed_devices and self.device_table is not None:
                console.print(self.device_table)
            for host_part in host_tables([f for f in self.findings if f.host in failing]):
                console.print(host_part)
            parts = [f"the check failed for {', '.join(self.failed_devices)}"] if self.failed_devices else []
            for host in failing:
                items = ", ".join(dict.fromkeys(f.item for f in self.findings
                                                if f.host == host and f.status is Status.FAIL))
                parts.append(f"host {host}'s set-up failed ({items})")
            raise RigsyncError(f"{self.rig_path}: {'; '.join(parts)}: nothing was recorded (fix what the "
                               f"table{'s say' if len(parts) > 1 else ' says'}, or capture anyway with --no-check)")
        for f in self.findings:
            if f.status is Status.WARN:
                console.print(Text.assemble(("warning:", "yellow"), f" host {f.host} {f.item}"
                                            f"{f' ({f.subject})' if f.subject else ''}: {f.seen}; the plan needs "
                                            f"{f.wanted} (fix: {f.fix}; {f.doc})"), highlight=False)


def start_check(plan: Plan, rig_path: Path, local_host: str | None, out_dir: Path, seconds: float) -> CaptureCheck:
    """The device part, and the host part of ``local_host`` (this machine; None: a station, none of the rig's
    hosts) with the take recorded into ``out_dir`` for ``seconds``."""
    from rigsync.cli.check_cmd import check_table, host_findings

    failed, table = check_table(plan)
    check = CaptureCheck(rig_path, seconds, failed, table)
    if local_host is not None:
        check.findings += host_findings(plan, local_host, str(out_dir), seconds)
    return check
