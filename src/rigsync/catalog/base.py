"""What a camera model can do: the facts the rig file checks, the simulator models and the planner uses.

Every model lives in its vendor's module and cites where each fact comes from (a source document in
``shared/seeds`` or the vendor's SDK documentation). Values are frozen; nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from rigsync.core.frame import ClockDomain, StreamKind, TimestampSemantics
from rigsync.core.sync import LinkKind, SyncMethod, Topology
from rigsync.core.units import NS_PER_S


class Vendor(StrEnum):
    STEREOLABS = "stereolabs"
    MICROSOFT = "microsoft"
    ORBBEC = "orbbec"
    INTEL = "intel"
    GIGE_VISION = "gige-vision"
    UVC = "uvc"


class Shutter(StrEnum):
    GLOBAL = "global"
    ROLLING = "rolling"


class DepthTech(StrEnum):
    TOF = "tof"
    ACTIVE_STEREO = "active-stereo"
    PASSIVE_STEREO = "passive-stereo"
    NONE = "none"


@dataclass(frozen=True)
class PixelFormat:
    """A pixel format as named in the rig file."""

    name: str
    """Rig-file name: ``bgra8``, ``yuyv``, ``mjpeg``, ``nv12``, ``z16``, ``y8``, ``y16``, ``rgb8``..."""
    link_bytes_per_pixel: float
    """Bytes per pixel on the camera's link (MJPEG: a typical compressed size)."""
    encoding: str
    """Foxglove RawImage encoding rigsync records the stream in (``rgb8``, ``bgr8``, ``16UC1``, ``mono8``...)."""


@dataclass(frozen=True)
class StreamMode:
    """A resolution a stream kind supports, with its frame rates and pixel formats."""

    kind: StreamKind
    width: int
    height: int
    fps: tuple[float, ...]
    """Discrete native rates. Empty when ``fps_range`` is given instead."""
    formats: tuple[str, ...]
    name: str = ""
    """The vendor's name for the mode (``NFOV_UNBINNED``, ``HD1080``...)."""
    fps_range: tuple[float, float] | None = None
    """A continuous range of rates (GigE Vision ``AcquisitionFrameRate``), instead of ``fps``."""

    def supports_fps(self, fps: float) -> bool:
        if self.fps_range is not None:
            return self.fps_range[0] <= fps <= self.fps_range[1]
        return any(abs(fps - f) < 1e-6 for f in self.fps)

    def describe_fps(self) -> str:
        if self.fps_range is not None:
            return f"{self.fps_range[0]:g} to {self.fps_range[1]:g}"
        return ", ".join(f"{f:g}" for f in self.fps)


@dataclass(frozen=True)
class SyncPort:
    """A physical sync connector pin."""

    name: str
    """``sync-in``, ``sync-out``, ``gpio``..."""
    direction: str
    """``in`` or ``out``."""
    level_v: float
    """Signal level the pin drives or expects."""
    connector: str
    min_pulse_us: float | None = None
    """Shortest pulse the input accepts."""
    drive_ma: float | None = None
    """Output drive capability (outputs) or required source drive (inputs)."""
    source: str = ""


@dataclass(frozen=True)
class LaserTiming:
    """A ToF depth mode's laser timing, for interference-free offsets.

    Exposure time = IR pulses x pulse width + idle periods x idle time (Azure Kinect document).
    """

    depth_mode: str
    ir_pulses: int
    pulse_width_us: float
    idle_periods: int
    idle_time_us: float
    source: str = ""

    @property
    def exposure_us(self) -> float:
        return self.ir_pulses * self.pulse_width_us + self.idle_periods * self.idle_time_us

    def pulse_windows_us(self) -> tuple[tuple[float, float], ...]:
        """(start, end) of each laser pulse relative to the start of the depth exposure, in microseconds."""
        windows = []
        t = 0.0
        for _ in range(self.ir_pulses):
            windows.append((t, t + self.pulse_width_us))
            t += self.pulse_width_us + self.idle_time_us
        return tuple(windows)


@dataclass(frozen=True)
class ClockSpec:
    """The clock behind a model's frame timestamps."""

    domain: ClockDomain
    tick_ns: int
    """Resolution of one counter tick."""
    width_bits: int
    """The counter wraps after ``2**width_bits`` ticks."""
    semantics_free: TimestampSemantics
    """Instant the timestamp refers to when the device runs on its own."""
    semantics_synced: TimestampSemantics
    """Instant the timestamp refers to in a sync role (master/subordinate...)."""
    source: str = ""

    @property
    def wrap_ns(self) -> int:
        return self.tick_ns * (1 << self.width_bits)


@dataclass(frozen=True)
class GenlockSpec:
    """RealSense Genlock (inter-cam sync modes 4-258)."""

    native_fps: tuple[float, ...]
    blind_frames: int
    """After a trigger the camera ignores triggers for this many native frame times."""
    burst_min: int
    burst_max: int
    synced_kinds: frozenset[StreamKind]
    """Streams that follow the trigger (the D435 colour sensor free-runs)."""
    source: str = ""


@dataclass(frozen=True)
class SyncCaps:
    """How a model takes part in synchronization."""

    methods: frozenset[SyncMethod]
    roles: tuple[str, ...]
    """Roles in the vendor's own terms (``master``, ``subordinate``, ``PRIMARY``, mode 1-258...)."""
    ports: tuple[SyncPort, ...] = ()
    synced_kinds: frozenset[StreamKind] = frozenset()
    """Streams a hardware trigger times (others free-run even in a sync group)."""
    topologies: frozenset[Topology] = frozenset()
    max_subordinates: tuple[tuple[Topology, int], ...] = ()
    """Largest number of subordinates per topology (Kinect: daisy chain 8, star 2)."""
    external_trigger_rates_hz: tuple[float, ...] = ()
    """If non-empty, an external trigger must run at exactly one of these rates."""
    genlock: GenlockSpec | None = None
    source: str = ""

    def max_subordinates_for(self, topology: Topology) -> int | None:
        for topo, count in self.max_subordinates:
            if topo == topology:
                return count
        return None


@dataclass(frozen=True)
class CameraModel:
    """One camera model."""

    key: str
    """Rig-file name, e.g. ``azure-kinect-dk``."""
    name: str
    vendor: Vendor
    link: LinkKind
    modes: tuple[StreamMode, ...]
    formats: tuple[PixelFormat, ...]
    shutter: tuple[tuple[StreamKind, Shutter], ...]
    depth_tech: DepthTech
    clock: ClockSpec
    sync: SyncCaps
    hfov_deg: tuple[tuple[StreamKind, float], ...]
    """Horizontal field of view per stream kind (for the simulator's intrinsics)."""
    readout_us: float
    """Sensor readout time after the end of exposure, before the frame leaves the device."""
    exposure_range_us: tuple[float, float]
    in_production: bool = True
    laser: tuple[LaserTiming, ...] = ()
    host_computed: frozenset[StreamKind] = frozenset()
    """Streams computed on the host (ZED depth on the GPU): no link bandwidth."""
    gpu_memory_mb: int = 0
    """GPU memory the vendor SDK needs per camera for its depth (ZED NEURAL LIGHT: up to 750 MB)."""
    usb_memory_mb: int = 0
    """Kernel USB transfer memory one device needs (Linux usbfs)."""
    notes: tuple[str, ...] = ()
    sources: tuple[str, ...] = field(default=())

    # --- queries --------------------------------------------------------------------------------

    def kinds(self) -> tuple[StreamKind, ...]:
        seen: list[StreamKind] = []
        for mode in self.modes:
            if mode.kind not in seen:
                seen.append(mode.kind)
        return tuple(seen)

    def modes_for(self, kind: StreamKind) -> tuple[StreamMode, ...]:
        return tuple(m for m in self.modes if m.kind == kind)

    def mode(self, kind: StreamKind, width: int, height: int) -> StreamMode | None:
        for m in self.modes:
            if m.kind == kind and m.width == width and m.height == height:
                return m
        return None

    def pixel_format(self, name: str) -> PixelFormat | None:
        for f in self.formats:
            if f.name == name:
                return f
        return None

    def shutter_for(self, kind: StreamKind) -> Shutter:
        for k, s in self.shutter:
            if k == kind:
                return s
        return Shutter.ROLLING

    def hfov_for(self, kind: StreamKind) -> float:
        for k, v in self.hfov_deg:
            if k == kind:
                return v
        return self.hfov_deg[0][1] if self.hfov_deg else 70.0

    def laser_for(self, depth_mode: str) -> LaserTiming | None:
        for timing in self.laser:
            if timing.depth_mode == depth_mode:
                return timing
        return None

    def link_bytes_per_frame(self, kind: StreamKind, width: int, height: int, pixel_format: str) -> int:
        """Bytes one frame of this stream puts on the device's link (0 for host-computed streams)."""
        if kind in self.host_computed:
            return 0
        fmt = self.pixel_format(pixel_format)
        if fmt is None:
            raise KeyError(f"{self.key} has no pixel format {pixel_format!r}")
        return round(width * height * fmt.link_bytes_per_pixel)

    def link_bytes_per_s(self, kind: StreamKind, width: int, height: int, pixel_format: str, fps: float) -> float:
        return self.link_bytes_per_frame(kind, width, height, pixel_format) * fps

    @property
    def readout_ns(self) -> int:
        return round(self.readout_us * 1000)

    def period_ns(self, fps: float) -> int:
        return round(NS_PER_S / fps)
