"""What a verification found: checks against limits, the series behind the plots, and how each was computed.

Every verification method (stamps, LED clock, flash) returns a :class:`Section`; :class:`Verdict` gathers
them for the terminal, ``--json`` and the report. Times on plots' x axes are seconds of rig time since the
recording's start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rigsync.core.status import (
    Status,  # ``skip``: the recording holds nothing to measure it on (said why in ``detail``)
)

__all__ = ["Check", "Plot", "Section", "Series", "Status", "Verdict"]


@dataclass(frozen=True, slots=True)
class Check:
    """One figure against its limit, about one subject (a sync group, a device, a stream, a host, the rig)."""

    id: str
    """Stable identifier of the kind of check (``SKEW``, ``DRIFT``, ``LEDCLOCK-STAMP-ERROR``...)."""
    title: str
    subject: str
    """What it is about, as users name it: ``group kinects``, ``rs-left/depth``, ``host capture-b``, ``rig``."""
    status: Status
    value: float | None
    """The measured figure (in ``unit``), or None when there was nothing to measure."""
    limit: float | None
    """The limit it was held to (in ``unit``), or None for a check without one."""
    unit: str
    detail: str
    """What was found, one or two sentences; a failure names the offending device(s) here and in ``devices``."""
    method: str
    """How the figure was computed (shown in the report)."""
    devices: tuple[str, ...] = ()
    """The devices a warning or failure is about."""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "subject": self.subject, "status": self.status.value,
                "value": self.value, "limit": self.limit, "unit": self.unit, "detail": self.detail,
                "method": self.method, "devices": list(self.devices)}


@dataclass(frozen=True, slots=True)
class Series:
    """One line, set of points, histogram sample or set of events on a plot."""

    label: str
    x: tuple[float, ...]
    """Seconds of rig time since the recording's start (empty for a histogram)."""
    y: tuple[float, ...]
    """Values in the plot's unit (for a histogram: the sample; for events: 0 or a level)."""


@dataclass(frozen=True, slots=True)
class Plot:
    """A figure of the report: its data and how it was computed, not its drawing."""

    key: str
    """File-name-safe id (``skew-over-time-kinects``): the PNG is ``<key>.png``."""
    title: str
    kind: str
    """``line``, ``points``, ``histogram``, ``events`` (a timeline of marks) or ``scatter`` (y against x)."""
    x_label: str
    y_label: str
    series: tuple[Series, ...]
    method: str
    """How the plotted values were computed."""

    def __post_init__(self) -> None:
        if self.kind not in ("line", "points", "histogram", "events", "scatter"):
            raise ValueError(f"Plot.kind = {self.kind!r}: not one of line, points, histogram, events, scatter")


@dataclass(frozen=True, slots=True)
class Section:
    """What one method found."""

    name: str
    """``stamps``, ``ledclock``, ``flash``."""
    checks: tuple[Check, ...]
    plots: tuple[Plot, ...] = ()
    facts: tuple[tuple[str, str], ...] = ()
    """Labelled figures worth showing that are not checks (frames decoded, board found in N frames...)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """Everything ``rigsync verify`` found in one recording."""

    recording: str
    rig_name: str
    duration_s: float
    sections: tuple[Section, ...]
    rig_summary: tuple[str, ...] = field(default=())
    """The rig and plan as lines of text (sync groups, methods, devices, declared delays)."""

    @property
    def checks(self) -> tuple[Check, ...]:
        return tuple(c for s in self.sections for c in s.checks)

    @property
    def passed(self) -> bool:
        """No check failed (warnings and skips do not fail a recording)."""
        return all(c.status is not Status.FAIL for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "recording": self.recording,
            "rig": self.rig_name,
            "duration_s": self.duration_s,
            "passed": self.passed,
            "checks": [c.to_json() for c in self.checks],
            "facts": {s.name: dict(s.facts) for s in self.sections},
        }
