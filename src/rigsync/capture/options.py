"""What a capture is asked to do (options), what it did (result), and the refusal of a rig with plan errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rigsync.capture.start import StartAt
from rigsync.capture.status import CaptureStatus
from rigsync.core.errors import OptionError, RigsyncError
from rigsync.core.limits import CAPTURE_SECONDS, SEED
from rigsync.plan.model import Plan
from rigsync.record.recorder import Compression


@dataclass(frozen=True)
class CaptureOptions:
    out: Path
    seconds: float | None = None
    """Stop after this much capture time (required with ``fast``); None runs until stopped."""
    fast: bool = False
    """Simulation only: run as fast as possible on a virtual clock instead of in real time."""
    seed: int | None = None
    compression: Compression = Compression.ZSTD
    status_interval_s: float = 0.25
    poll_interval_s: float = 0.001
    """Real time: the shortest wait between polls of the devices (frames are taken in batches)."""
    force: bool = False
    """Capture even though the plan has errors."""
    ptp_state_dir: Path | None = None
    """Where a ``rigsync ptp run`` on this machine keeps its state (real drivers read PTP from it; the
    simulator models its own); None: the default (``$RIGSYNC_STATE_DIR`` or /run/rigsync)."""
    start_at: StartAt | None = None
    """Scheduled start: every device begins at this rig time (``seconds`` counts from it); None: as soon as
    the devices are started (PTP cameras still start together, ``start_delay_s`` after arming)."""

    def __post_init__(self) -> None:
        problem = None if self.seconds is None else CAPTURE_SECONDS.problem(self.seconds)
        if problem is not None:
            raise OptionError("seconds", self.seconds, problem, CAPTURE_SECONDS.describe())
        if self.fast and self.seconds is None:
            raise OptionError("seconds", None, "a fast (virtual-time) capture needs a duration: give seconds")
        if self.seed is not None and not SEED.allows(self.seed):
            raise OptionError("seed", self.seed, "out of range", SEED.describe())


@dataclass(frozen=True)
class CaptureResult:
    path: Path
    duration_s: float
    frames: int
    framesets: int
    complete: int
    dropped: dict[str, int]
    interrupted: bool
    error: str | None
    status: CaptureStatus
    warnings: tuple[str, ...] = field(default=())
    start_rig_ns: int | None = None
    """The scheduled start, if the capture had one."""
    late: dict[str, int] = field(default_factory=dict)
    """Devices that began after the scheduled start, and by how many ns."""


class PlanError(RigsyncError):
    """The plan has errors: the rig would not work as declared."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        lines = "\n".join(f"  {d}" for d in plan.errors)
        super().__init__(f"{plan.rig.path}: the plan has {len(plan.errors)} error(s); fix them, or capture with "
                         f"--force:\n{lines}")
