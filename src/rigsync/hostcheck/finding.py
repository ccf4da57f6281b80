"""One line of a host check: which item, pass / warn / fail, what was seen, what the plan wants, the fix."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

DOC = "docs/hosts.md"
"""Where each item is explained ("Prepare the hosts"); a finding links to its section."""


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"
    """Not applicable on this host, or cannot be read here (said why in ``seen``)."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One checked item of one host."""

    host: str
    item: str
    """Short id: ``usbfs-memory``, ``usb-link``, ``ptp-interface``, ``nic-mtu``, ``disk-space``..."""
    status: Status
    seen: str
    """What the host has (the value read, and from where)."""
    wanted: str
    """What the plan needs."""
    fix: str = ""
    """The command(s) that fix it (empty on a pass)."""
    subject: str = ""
    """What the item is about: an interface, a device, a directory (empty: the host)."""
    anchor: str = ""
    """The section of :data:`DOC` that explains the item (``#usb-memory``)."""

    def __post_init__(self) -> None:
        if self.status in (Status.WARN, Status.FAIL) and not self.fix:
            raise ValueError(f"{self.host} {self.item}: a {self.status} finding needs a fix")

    @property
    def doc(self) -> str:
        return DOC + self.anchor

    def to_json(self) -> dict[str, Any]:
        return {"host": self.host, "item": self.item, "subject": self.subject, "status": self.status.value,
                "seen": self.seen, "wanted": self.wanted, "fix": self.fix, "doc": self.doc}
