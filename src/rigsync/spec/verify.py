"""The rig file's ``[verify]`` limits: what ``rigsync verify`` holds a recording to.

A rig-wide ``[verify]`` table and, per sync group, ``verify = { ... }`` in its ``[[sync]]`` entry. Every key
is optional: a limit not given falls back to the group's, then the rig's, then the default for the group's
sync method (``rigsync.verify.limits``, justified in ``docs/rig-file.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from rigsync.spec import limits as lim

VERIFY_KEYS = tuple(lim.VERIFY_FIELDS)
"""The keys of a ``[verify]`` table (and of a sync group's ``verify``)."""


@dataclass(frozen=True)
class VerifySpec:
    """Limits as one table gives them; None: not given here."""

    max_skew_us: float | None = None
    """Inter-camera skew of a frameset (after declared delays), at its worst."""
    max_drop_rate: float | None = None
    """Frames lost or missing from framesets, as a fraction of the frames a stream was due."""
    max_bound_us: float | None = None
    """Clock error bound of any locked frame's stamp."""
    max_drift_ppm: float | None = None
    """A device clock's frequency error against rig time."""
    max_drift_change_ppm: float | None = None
    """How far a device clock's drift may move over the recording (its stability)."""
    max_rate_jitter_us: float | None = None
    """Deviation of a stream's frame intervals from its period (p99), beyond the whole periods of a drop."""
    max_gap_frames: float | None = None
    """Longest run of consecutive frames a stream may miss."""
    max_image_skew_us: float | None = None
    """Skew between cameras measured from the images (LED clock, flash)."""
    max_stamp_error_us: float | None = None
    """A stamp's error measured from the images; beyond the frame's own error bound always fails."""

    def __post_init__(self) -> None:
        for key, limits in lim.VERIFY_FIELDS.items():
            limits.check(key, getattr(self, key))

    def given(self) -> dict[str, float]:
        """The limits this table sets."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


@dataclass(frozen=True)
class VerifyConfig:
    """The rig's ``[verify]`` table and each sync group's ``verify`` overrides."""

    rig: VerifySpec = VerifySpec()
    groups: tuple[tuple[str, VerifySpec], ...] = ()

    def group(self, name: str) -> VerifySpec:
        return next((spec for g, spec in self.groups if g == name), VerifySpec())
