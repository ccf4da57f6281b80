"""The rig as the rig file declares it: typed, frozen, validated at construction.

Each object checks its own values in ``__post_init__`` and raises :class:`FieldError` naming the field;
the loader (``rigsync.spec.loader``) places that error in the file at the field's path and adds the
checks that need the camera catalog or the whole rig.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from rigsync.core.endpoint import endpoint_protocol
from rigsync.core.errors import FieldError
from rigsync.core.frame import StreamKind
from rigsync.core.geometry import Pose
from rigsync.core.ptp import PtpMode
from rigsync.core.sync import LinkKind
from rigsync.core.units import period_ns
from rigsync.spec import limits as lim
from rigsync.spec._check import NAME_RULE, SERIAL_RULE, name_ok, require, serial_ok
from rigsync.spec.sync import FaultSpec, SyncGroupSpec, TriggerSpec
from rigsync.spec.verify import VerifyConfig

DRIVER_NAMES = ("sim", "realsense", "gige", "orbbec", "kinect", "zed", "uvc")
"""Drivers a device may name: the simulator and one per vendor SDK (rigsync.drivers.registry)."""
RECORDING_SUFFIXES = {"realsense": (".db3", ".bag"), "uvc": (".mkv", ".avi", ".mp4", ".mov")}
"""Drivers whose devices may be a recording (``file``), and what each plays: what ``rs.recorder`` writes (ROS 2
``.db3`` since librealsense 2.56, ROS 1 ``.bag`` before); video files OpenCV reads (FFV1 ``.mkv`` is lossless)."""
RECORDING_DRIVERS = tuple(RECORDING_SUFFIXES)

DEFAULT_USB_CAPACITY_MB_S = 620.0
"""USB 3.0 controller budget: "The maximum USB 3.0 bandwidth is around 620MB/s" (seeds/000, ZED)."""


class Platform(StrEnum):
    X86_64 = "x86_64"
    JETSON = "jetson"
    AARCH64 = "aarch64"


class NicKind(StrEnum):
    ETHERNET = "ethernet"
    WIFI = "wifi"


class Timestamping(StrEnum):
    """PTP timestamping an interface supports (``ethtool -T``)."""

    HARDWARE = "hardware"
    SOFTWARE = "software"
    NONE = "none"


CAPTURE_CARD_CAPACITY = {"zed-link-mono": 1, "zed-link-duo": 4, "zed-link-quad": 8}
"""Cameras per ZED Link GMSL2 card: "ZED Link Mono: 1 camera. ZED Link Duo: up to 4. Quad: up to 8" (seeds/000)."""


@dataclass(frozen=True)
class UsbController:
    name: str
    capacity_mb_s: float = DEFAULT_USB_CAPACITY_MB_S

    def __post_init__(self) -> None:
        require(name_ok(self.name), "name", self.name, "not a valid name", NAME_RULE)
        lim.USB_CAPACITY_MB_S.check("capacity_mb_s", self.capacity_mb_s)


@dataclass(frozen=True)
class Nic:
    name: str
    kind: NicKind = NicKind.ETHERNET
    timestamping: Timestamping = Timestamping.SOFTWARE
    speed_gbps: float = 1.0

    def __post_init__(self) -> None:
        require(name_ok(self.name), "name", self.name, "not a valid name", NAME_RULE)
        lim.NIC_SPEED_GBPS.check("speed_gbps", self.speed_gbps)


@dataclass(frozen=True)
class CaptureCard:
    name: str
    model: str

    def __post_init__(self) -> None:
        require(name_ok(self.name), "name", self.name, "not a valid name", NAME_RULE)
        require(self.model in CAPTURE_CARD_CAPACITY, "model", self.model, "unknown capture card",
                 sorted(CAPTURE_CARD_CAPACITY))

    @property
    def capacity(self) -> int:
        return CAPTURE_CARD_CAPACITY[self.model]


@dataclass(frozen=True)
class HostSpec:
    name: str
    platform: Platform = Platform.X86_64
    gpu_memory_mb: int | None = None
    zed_link_driver: bool = False
    usb_controllers: tuple[UsbController, ...] = ()
    nics: tuple[Nic, ...] = ()
    capture_cards: tuple[CaptureCard, ...] = ()
    ptp_mode: PtpMode | None = None
    """How this host uses PTP; None: its PTP group's mode."""
    agent: str | None = None
    """The Zenoh endpoint this host's ``rigsync agent`` listens on (``tls/10.0.0.2:7447``), which a capture on
    another host connects to; None: given on the command line, or found by scouting."""

    def __post_init__(self) -> None:
        require(name_ok(self.name), "name", self.name, "not a valid name", NAME_RULE)
        if self.agent is not None:
            endpoint_protocol("agent", self.agent)
            address = self.agent.split("/", 1)[1].rpartition(":")[0]
            require(address not in ("0.0.0.0", "[::]"), "agent", self.agent,
                    "every address of the host: a capture on another host cannot connect there",
                    "the address other hosts reach this host at, e.g. tls/10.0.0.2:7447")
        require(self.name != "external", "name", self.name, "reserved for a PTP grandmaster outside the rig",
                 "any other name")
        lim.GPU_MEMORY_MB.check("gpu_memory_mb", self.gpu_memory_mb)
        for label, items in (("usb_controllers", self.usb_controllers), ("nics", self.nics),
                             ("capture_cards", self.capture_cards)):
            names = [i.name for i in items]
            for i, n in enumerate(names):
                require(n not in names[:i], f"{label}[{i}].name", n, "declared twice on this host")

    def usb_controller(self, name: str) -> UsbController:
        """The declared controller, or an implicit one with the default USB 3.0 budget."""
        for c in self.usb_controllers:
            if c.name == name:
                return c
        return UsbController(name)

    def nic(self, name: str) -> Nic | None:
        return next((n for n in self.nics if n.name == name), None)

    def capture_card(self, name: str) -> CaptureCard | None:
        return next((c for c in self.capture_cards if c.name == name), None)


@dataclass(frozen=True)
class Connection:
    """``usb:<controller>``, ``gmsl:<card>:<port>`` or ``eth:<nic>``."""

    kind: LinkKind
    bus: str
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> Connection:
        forms = "usb:<controller>, gmsl:<card>:<port>, eth:<nic>"
        parts = text.split(":")
        kinds = {k.value: k for k in LinkKind}
        if len(parts) < 2 or parts[0] not in kinds or not parts[1]:
            raise FieldError("connection", text, "not a connection", forms)
        kind = kinds[parts[0]]
        require(name_ok(parts[1]), "connection", text, f"the {parts[0]} name {parts[1]!r} is not a valid name",
                NAME_RULE)
        if kind is LinkKind.GMSL:
            if len(parts) != 3 or not parts[2].isdigit():
                raise FieldError("connection", text, "a GMSL2 connection names the card and the port", forms)
            return cls(kind, parts[1], int(parts[2]))
        if len(parts) != 2:
            raise FieldError("connection", text, "not a connection", forms)
        return cls(kind, parts[1])

    def __str__(self) -> str:
        tail = f":{self.port}" if self.port is not None else ""
        return f"{self.kind.value}:{self.bus}{tail}"


@dataclass(frozen=True)
class StreamSpec:
    name: str
    kind: StreamKind
    width: int
    height: int
    fps: float
    pixel_format: str
    exposure_us: int | None = None
    """Manual exposure in microseconds; ``None`` means auto exposure."""

    def __post_init__(self) -> None:
        require(name_ok(self.name), "name", self.name, "not a valid stream name", NAME_RULE)
        require(self.width > 0, "width", self.width, "must be positive")
        require(self.height > 0, "height", self.height, "must be positive")
        require(self.fps > 0, "fps", self.fps, "must be positive")
        require(self.exposure_us is None or self.exposure_us > 0, "exposure_us", self.exposure_us,
                 "must be positive (or use exposure = \"auto\")")

    @property
    def auto_exposure(self) -> bool:
        return self.exposure_us is None

    @property
    def period_ns(self) -> int:
        return period_ns(self.fps)


@dataclass(frozen=True)
class DeviceSimSpec:
    """Simulator knobs of one device (ignored by real drivers)."""

    drift_ppm: float | None = None
    """Crystal frequency error; random within +-``sim.max_drift_ppm`` when not given."""
    clock_start_s: float | None = None
    """Device counter value at simulation start, in seconds (to exercise counter wraps)."""
    drop_rate: float = 0.0
    """Probability that any one frame is lost on the link."""
    ir_projector: bool = True
    """An active-stereo camera's projector dots on its IR images (False: as with the emitter off, e.g. to film
    the LED clock)."""

    def __post_init__(self) -> None:
        lim.DRIFT_PPM.check("drift_ppm", self.drift_ppm)
        lim.CLOCK_START_S.check("clock_start_s", self.clock_start_s)
        lim.DROP_RATE.check("drop_rate", self.drop_rate)


@dataclass(frozen=True)
class DeviceSpec:
    id: str
    model: str
    serial: str
    host: str
    connection: Connection
    streams: tuple[StreamSpec, ...]
    driver: str = "sim"
    pose: Pose | None = None
    sim: DeviceSimSpec = field(default_factory=DeviceSimSpec)
    file: str | None = None
    """A recording that stands in for the camera (RealSense ``.db3``/``.bag``, a video file for a webcam),
    relative to the rig file."""
    packet_size: int | None = None
    """A GigE Vision camera's stream packet size, bytes (``GevSCPSPacketSize``: IP, UDP and GVSP headers included);
    None: the camera's own (the host check assumes jumbo frames, 9000)."""

    def __post_init__(self) -> None:
        require(name_ok(self.id), "id", self.id, "not a valid device id", NAME_RULE)
        require(serial_ok(self.serial), "serial", self.serial, "not a valid serial number", SERIAL_RULE)
        require(self.driver in DRIVER_NAMES, "driver", self.driver, "no such driver", DRIVER_NAMES)
        if self.file is not None:
            require(self.driver in RECORDING_DRIVERS, "file", self.file,
                    f"only a {' or '.join(RECORDING_DRIVERS)} device plays a recording, this one's driver is "
                    f"{self.driver!r}", [f'driver = "{d}"' for d in RECORDING_DRIVERS])
            suffixes = RECORDING_SUFFIXES[self.driver]
            require(self.file.lower().endswith(suffixes), "file", self.file,
                    f"not a recording the {self.driver} driver plays", [f"a path ending in {s}" for s in suffixes])
        lim.PACKET_SIZE.check("packet_size", self.packet_size)
        require(len(self.streams) > 0, "streams", [], "a device needs at least one stream")
        names = [s.name for s in self.streams]
        for i, n in enumerate(names):
            require(n not in names[:i], f"streams[{i}].name", n, "stream name used twice on this device")

    def stream(self, name: str) -> StreamSpec:
        for s in self.streams:
            if s.name == name:
                return s
        raise KeyError(f"device {self.id} has no stream {name!r}")


LEDCLOCK_FACES = ("-y", "+x", "+y", "-x")
"""The side faces of the LED clock lantern, by the direction each looks towards."""


@dataclass(frozen=True)
class LedClockSimSpec:
    """The LED clock the simulator shows (``[sim.ledclock]``): a lantern, one board on each chosen side face of a
    box, every board driven by one crystal (:mod:`rigsync.drivers.sim.ledclock_scene`)."""

    board: str | None = None
    """Board file (resolved against the rig file's folder); None: the reference design ``boards/ledclock.toml``."""
    center: tuple[float, float, float] | None = None
    """World position of the lantern's centre, metres; None: on the Z axis under the ChArUco board."""
    faces: tuple[str, ...] = LEDCLOCK_FACES
    drift_ppm: float | None = None
    """The board crystal's frequency error; None: drawn from the seed within the board's ``crystal_ppm``."""
    offset_s: float | None = None
    """Board time when the simulation starts (true time 0); None: drawn from the seed."""
    noise: float = 1.0
    """Sensor noise (standard deviation, levels of 255) on the pixels the LEDs light."""

    def __post_init__(self) -> None:
        if self.center is not None:
            for c in self.center:
                lim.LEDCLOCK_CENTER_M.check("center", c)
        require(len(self.faces) > 0 and len(set(self.faces)) == len(self.faces)
                and all(f in LEDCLOCK_FACES for f in self.faces), "faces", list(self.faces),
                "needs one or more different side faces", LEDCLOCK_FACES)
        lim.DRIFT_PPM.check("drift_ppm", self.drift_ppm)
        lim.LEDCLOCK_OFFSET_S.check("offset_s", self.offset_s)
        lim.LEDCLOCK_NOISE.check("noise", self.noise)


BOARD_MOTIONS = {"slow": 1.0, "wave": 4.0}
"""``[sim.board] motion``: how fast the hand-held board moves (a factor on every period of its path)."""


@dataclass(frozen=True)
class SimBoardSpec:
    """The hand-held calibration board (``[sim.board]``): the ChArUco board, no longer upright at the centre,
    carried along a smooth seeded path and tilted (:mod:`rigsync.drivers.sim.board_motion`)."""

    motion: str = "slow"
    """``slow`` (a sweep, ~0.3 m/s) or ``wave`` (four times faster: real motion between unsynchronized frames)."""
    center_m: tuple[float, float, float] = (0.0, 0.0, 0.9)
    """World point the board's centre moves around, metres."""
    reach_m: tuple[float, float, float] = (0.45, 0.3, 0.25)
    """How far it goes from ``center_m`` along world X, Y and Z, metres."""
    tilt_deg: float = 40.0
    """Tilt forward/back and turn left/right, each up to this many degrees."""
    heading_deg: float = 0.0
    """Where the front face looks on average, degrees counter-clockwise from -Y seen from above."""
    spin_s: float = 0.0
    """One full turn about the vertical every this many seconds (at ``slow``), so that cameras all around see
    both faces; 0: no spin."""

    def __post_init__(self) -> None:
        require(self.motion in BOARD_MOTIONS, "motion", self.motion, "unknown motion", BOARD_MOTIONS)
        for c in self.center_m:
            lim.BOARD_CENTER_M.check("center_m", c)
        for r in self.reach_m:
            lim.BOARD_REACH_M.check("reach_m", r)
        lim.BOARD_TILT_DEG.check("tilt_deg", self.tilt_deg)
        lim.BOARD_HEADING_DEG.check("heading_deg", self.heading_deg)
        lim.BOARD_SPIN_S.check("spin_s", self.spin_s)


@dataclass(frozen=True)
class SimFlashSpec:
    """A flash (a photo flash, an LED blink) lighting the whole simulated scene: every colour and IR camera
    integrates its light over each row's exposure window (see ``rigsync.drivers.sim.flash``)."""

    at_s: float
    """When it starts: seconds of true time after the simulation starts."""
    duration_us: float = 1000.0
    gain: float = 80.0
    """Grey levels (of 255) the whole flash adds to a pixel that integrates all of it (a pixel whose exposure
    window holds a fraction of the flash gets that fraction)."""

    def __post_init__(self) -> None:
        lim.FLASH_AT_S.check("at_s", self.at_s)
        lim.FLASH_DURATION_US.check("duration_us", self.duration_us)
        lim.FLASH_GAIN.check("gain", self.gain)


@dataclass(frozen=True)
class SimSpec:
    seed: int = 0
    render_width: int = 320
    """Width of rendered images; each stream keeps its own aspect ratio (320x240 for 4:3)."""
    max_drift_ppm: float = 50.0
    ptp_running_s: float = 60.0
    """How long every host's ptp4l has run when the simulation starts (0: it starts with it, to watch it lock)."""
    flashes: tuple[SimFlashSpec, ...] = ()
    """Flashes every camera sees (none by default)."""
    ledclock: LedClockSimSpec | None = None
    """The LED clock in the scene (``[sim.ledclock]``, or ``ledclock = true`` for the defaults); None: none."""
    board: SimBoardSpec | None = None
    """The hand-held calibration board (``[sim.board]``, or ``board = true`` for the defaults); None: the board
    stands still, upright at the centre."""

    def __post_init__(self) -> None:
        lim.SEED.check("seed", self.seed)
        lim.RENDER_WIDTH.check("render_width", self.render_width)
        lim.PTP_RUNNING_S.check("ptp_running_s", self.ptp_running_s)
        lim.MAX_DRIFT_PPM.check("max_drift_ppm", self.max_drift_ppm)


@dataclass(frozen=True)
class RigSpec:
    name: str
    path: str
    text: str
    hosts: tuple[HostSpec, ...]
    devices: tuple[DeviceSpec, ...]
    sync_groups: tuple[SyncGroupSpec, ...] = ()
    triggers: tuple[TriggerSpec, ...] = ()
    faults: tuple[FaultSpec, ...] = ()
    sim: SimSpec = field(default_factory=SimSpec)
    description: str = ""
    verify: VerifyConfig = field(default_factory=VerifyConfig)
    """What ``rigsync verify`` holds a recording of this rig to (``[verify]`` and each group's ``verify``)."""

    def device(self, device_id: str) -> DeviceSpec:
        for d in self.devices:
            if d.id == device_id:
                return d
        raise KeyError(f"no device {device_id!r} in {self.path}")

    def host(self, name: str) -> HostSpec:
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(f"no host {name!r} in {self.path}")

    def trigger(self, name: str) -> TriggerSpec:
        for t in self.triggers:
            if t.name == name:
                return t
        raise KeyError(f"no trigger {name!r} in {self.path}")

    def group_of(self, device_id: str) -> SyncGroupSpec | None:
        for g in self.sync_groups:
            if g.member(device_id) is not None:
                return g
        return None

    @property
    def primary_host(self) -> HostSpec:
        """The first declared host: its clock is the rig clock until PTP ties the hosts together."""
        return self.hosts[0]
