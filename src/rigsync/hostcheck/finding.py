"""One line of a host check: which item, pass / warn / fail, what was seen, what the plan wants, the fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rigsync.core.status import Status  # ``skip``: not applicable on this host, or cannot be read here (said why)

__all__ = ["DOC", "Finding", "Status"]

DOC = "docs/hosts.md"
"""Where each item is explained ("Prepare the hosts"); a finding links to its section."""


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
    """The section of :data:`DOC` that explains the item (``#usbfs-memory``)."""

    def __post_init__(self) -> None:
        if self.status in (Status.WARN, Status.FAIL) and not self.fix:
            raise ValueError(f"{self.host} {self.item}: a {self.status} finding needs a fix")

    @property
    def doc(self) -> str:
        return DOC + self.anchor

    def to_json(self) -> dict[str, Any]:
        return {"host": self.host, "item": self.item, "subject": self.subject, "status": self.status.value,
                "seen": self.seen, "wanted": self.wanted, "fix": self.fix, "doc": self.doc}

    @classmethod
    def from_json(cls, data: object) -> Finding:
        """The finding :meth:`to_json` wrote (an agent's reply to a check query); ``ValueError`` naming the field
        and the value when it is not one."""
        if not isinstance(data, dict):
            raise ValueError(f"a finding must be a JSON object, not {type(data).__name__}")
        fields = {}
        for name in ("host", "item", "subject", "status", "seen", "wanted", "fix", "doc"):
            value = data.get(name)
            if not isinstance(value, str):
                raise ValueError(f"finding field {name!r} = {value!r}: must be a string")
            fields[name] = value
        if fields["status"] not in set(Status):
            raise ValueError(f"finding field 'status' = {fields['status']!r}: not one of "
                             f"{', '.join(s.value for s in Status)}")
        doc = fields.pop("doc")
        if not doc.startswith(DOC):
            raise ValueError(f"finding field 'doc' = {doc!r}: must be {DOC} or a section of it ({DOC}#...)")
        return cls(fields["host"], fields["item"], Status(fields["status"]), fields["seen"], fields["wanted"],
                   fields["fix"], fields["subject"], doc[len(DOC):])
