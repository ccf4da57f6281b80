"""Intel RealSense D415, D435 and D435i.

Sources: the seed ``seeds/004`` (External Synchronization of Intel RealSense Depth cameras, rev 1.3, Genlock),
Intel's "Multi-Camera configurations - D400 Series" white paper, the librealsense API reference
(``RS2_OPTION_INTER_CAM_SYNC_MODE``, ``rs2_frame_metadata_value``) and the D400 series datasheet.
"""

from __future__ import annotations

from rigsync.catalog.base import (
    CameraModel,
    ClockSpec,
    DepthTech,
    GenlockSpec,
    PixelFormat,
    Shutter,
    StreamMode,
    SyncCaps,
    SyncPort,
    Vendor,
)
from rigsync.core.frame import ClockDomain, StreamKind, TimestampSemantics
from rigsync.core.sync import LinkKind, SyncMethod, Topology

SEED_GENLOCK = "seeds/004 RealSense: 2. Principles of Operation (Genlock)"
SEED_RESTRICTIONS = "seeds/004 RealSense: restrictions (global shutter only, colour not genlocked)"
SEED_CONNECTIONS = "seeds/004 RealSense: 3. Camera Connections (9-pin JST, pin 5 SYNC, pin 9 GND)"
SEED_PROGRAMMING = "seeds/004 RealSense: 5. Programming Camera Sync (inter cam sync mode 4-258)"
SEED_APPENDIX = "seeds/004 RealSense: Appendix A (slave / full slave vs Genlock)"
WP_MULTICAM = "Intel: Multi-Camera configurations - D400 Series Stereo Cameras (dev.intelrealsense.com)"
RS_METADATA = ("librealsense rs2_frame_metadata_value: SENSOR_TIMESTAMP = middle of exposure (usec), "
               "FRAME_TIMESTAMP = readout start (usec)")
RS_OPTIONS = "librealsense RS2_OPTION_INTER_CAM_SYNC_MODE, RS2_OPTION_EXPOSURE"
DATASHEET = "Intel RealSense D400 Series datasheet (depth/RGB FOV, stream modes)"
FORUM_SYNC_OUT = "Intel community / librealsense #2610: master drives a 50 us, 1.8 V pulse on pin 5 each frame"

NATIVE_FPS = (6.0, 15.0, 30.0, 60.0, 90.0)
"""The discrete 'native' rates a D400 runs at, and the only rates slave modes 2/3 can follow (seed 004)."""

FORMATS = (
    # librealsense converts the YUY2 the colour sensor sends into RGB8/BGR8 on the host: 2 bytes on the link.
    PixelFormat("rgb8", 2.0, "rgb8"),
    PixelFormat("bgr8", 2.0, "bgr8"),
    PixelFormat("yuyv", 2.0, "bgr8"),
    PixelFormat("z16", 2.0, "16UC1"),
    PixelFormat("y8", 1.0, "mono8"),
)

_Sizes = tuple[tuple[int, int, tuple[float, ...]], ...]

_DEPTH_SIZES: _Sizes = (
    (1280, 720, (6.0, 15.0, 30.0)),
    (848, 480, NATIVE_FPS),
    (640, 480, NATIVE_FPS),
    (640, 360, NATIVE_FPS),
    (480, 270, NATIVE_FPS),
    (424, 240, NATIVE_FPS),
)

_COLOR_SIZES: _Sizes = (
    (1920, 1080, (6.0, 15.0, 30.0)),
    (1280, 720, (6.0, 15.0, 30.0)),
    (960, 540, (6.0, 15.0, 30.0, 60.0)),
    (848, 480, (6.0, 15.0, 30.0, 60.0)),
    (640, 480, (6.0, 15.0, 30.0, 60.0)),
    (640, 360, (6.0, 15.0, 30.0, 60.0)),
    (424, 240, (6.0, 15.0, 30.0, 60.0)),
)


def _modes() -> tuple[StreamMode, ...]:
    modes: list[StreamMode] = []
    for w, h, fps in _COLOR_SIZES:
        modes.append(StreamMode(StreamKind.COLOR, w, h, fps, ("rgb8", "bgr8", "yuyv")))
    for w, h, fps in _DEPTH_SIZES:
        modes.append(StreamMode(StreamKind.DEPTH, w, h, fps, ("z16",)))
    for w, h, fps in _DEPTH_SIZES:
        modes.append(StreamMode(StreamKind.IR, w, h, fps, ("y8",)))
    return tuple(modes)


MODES = _modes()

HIGH_SPEED_MODES = (
    # D435/D435i high-speed depth: 848x100 at 100 or 300 fps ("the newly release 300fps mode", seed 004;
    # librealsense lists 848x100 z16/y8 at 100 and 300 fps for the D435).
    StreamMode(StreamKind.DEPTH, 848, 100, (100.0, 300.0), ("z16",), "HIGH_SPEED"),
    StreamMode(StreamKind.IR, 848, 100, (100.0, 300.0), ("y8",), "HIGH_SPEED"),
)

CLOCK = ClockSpec(
    domain=ClockDomain.DEVICE,
    tick_ns=1_000,
    width_bits=32,
    semantics_free=TimestampSemantics.CENTER_OF_EXPOSURE,
    semantics_synced=TimestampSemantics.CENTER_OF_EXPOSURE,
    source=RS_METADATA,
)

SYNC_IN = SyncPort(
    name="sync-in",
    direction="in",
    level_v=1.8,
    connector="9-pin JST SH (housing SHR-09V-S), pin 5 SYNC, pin 9 GND",
    min_pulse_us=100.0,
    drive_ma=None,
    source=f"{SEED_GENLOCK}; {SEED_CONNECTIONS}",
)

SYNC_OUT = SyncPort(
    name="sync-out",
    direction="out",
    level_v=1.8,
    connector="9-pin JST SH (housing SHR-09V-S), pin 5 SYNC, pin 9 GND",
    min_pulse_us=None,
    drive_ma=None,
    source=FORUM_SYNC_OUT,
)

GENLOCK = GenlockSpec(
    native_fps=(*NATIVE_FPS, 100.0, 300.0),
    blind_frames=2,
    burst_min=1,
    burst_max=255,
    synced_kinds=frozenset({StreamKind.DEPTH, StreamKind.IR}),
    source=f"{SEED_GENLOCK}; {SEED_RESTRICTIONS}; {SEED_PROGRAMMING}",
)

_COMMON_NOTES = (
    "Inter cam sync mode (RS2_OPTION_INTER_CAM_SYNC_MODE, set before streaming): 0 default, 1 master, "
    "2 slave, 3 full slave (also syncs colour), 4-258 Genlock with burst = mode - 3 (seed 004). Roles here "
    "use those names: default, master, slave, full-slave, genlock.",
    "Sync signal: pin 5 of the 9-pin JST connector, 1.8 V (not 5 V TTL: PPS sources need a level shifter), "
    "inputs high impedance, positive pulse wider than 100 us (seed 004). The master drives a 50 us pulse "
    "per frame (Intel community answer, librealsense #2610).",
    "Slave modes 2/3 follow only a trigger extremely close to the native rate (6/15/30/60/90 fps); otherwise "
    "the camera fires on its own (seed 004 Appendix A) - hence external_trigger_rates_hz. In slave mode "
    "the trigger starts readout, not capture.",
    "Clock: the SENSOR_TIMESTAMP metadata is the middle of exposure in microseconds of a 32-bit hardware "
    "counter (wraps every ~71.6 minutes); FRAME_TIMESTAMP is the start of readout (librealsense metadata).",
    "Daisy chain and star wiring both work (seed 004, section 3); Intel documents no fixed subordinate "
    "limit, so max_subordinates is left empty. Cables over 3 m need ESD protection, filtering and shielded "
    "twisted pair.",
    "exposure_range_us is the depth sensor's RS2_OPTION_EXPOSURE range (1 to 165000 us).",
    "Links: colour rgb8/bgr8 are converted from YUY2 on the host, so they cost 2 bytes per pixel on USB.",
    "usb_memory_mb = 0: librealsense's default Linux backend streams through V4L2 (uvcvideo), not usbfs; "
    "with the RSUSB (libusb) backend the usbfs budget applies (assumption).",
    "IR y16 (unrectified calibration modes) is not catalogued; the 848x100 high-speed mode (100/300 fps) is "
    "catalogued for the global-shutter D435/D435i only.",
)


def _d400(key: str, name: str, *, global_shutter: bool, depth_hfov: float, readout_us: float,
          extra_notes: tuple[str, ...]) -> CameraModel:
    stereo_shutter = Shutter.GLOBAL if global_shutter else Shutter.ROLLING
    methods = {SyncMethod.HARDWARE, SyncMethod.SOFTWARE}
    roles: tuple[str, ...] = ("default", "master", "slave", "full-slave")
    synced = {StreamKind.DEPTH, StreamKind.IR}
    if global_shutter:
        methods.add(SyncMethod.GENLOCK)
        roles = (*roles, "genlock")
    else:
        # D415: full slave (mode 3) also synchronizes the colour camera (seed 004 Appendix A).
        synced.add(StreamKind.COLOR)
    sync = SyncCaps(
        methods=frozenset(methods),
        roles=roles,
        ports=(SYNC_IN, SYNC_OUT),
        synced_kinds=frozenset(synced),
        topologies=frozenset({Topology.DAISY_CHAIN, Topology.STAR, Topology.NETWORK}),
        max_subordinates=(),
        external_trigger_rates_hz=NATIVE_FPS,
        genlock=GENLOCK if global_shutter else None,
        source=f"{SEED_APPENDIX}; {SEED_CONNECTIONS}; {WP_MULTICAM}; {RS_OPTIONS}",
    )
    return CameraModel(
        key=key,
        name=name,
        vendor=Vendor.INTEL,
        link=LinkKind.USB,
        modes=(*MODES, *HIGH_SPEED_MODES) if global_shutter else MODES,
        formats=FORMATS,
        shutter=(
            (StreamKind.COLOR, Shutter.ROLLING),
            (StreamKind.DEPTH, stereo_shutter),
            (StreamKind.IR, stereo_shutter),
        ),
        depth_tech=DepthTech.ACTIVE_STEREO,
        clock=CLOCK,
        sync=sync,
        hfov_deg=((StreamKind.COLOR, 69.0), (StreamKind.DEPTH, depth_hfov), (StreamKind.IR, depth_hfov)),
        readout_us=readout_us,
        exposure_range_us=(1.0, 165_000.0),
        in_production=True,
        laser=(),
        host_computed=frozenset(),
        gpu_memory_mb=0,
        usb_memory_mb=0,
        notes=(*extra_notes, *_COMMON_NOTES),
        sources=(SEED_GENLOCK, SEED_RESTRICTIONS, SEED_CONNECTIONS, SEED_PROGRAMMING, SEED_APPENDIX,
                 WP_MULTICAM, RS_METADATA, RS_OPTIONS, DATASHEET, FORUM_SYNC_OUT),
    )


_GENLOCK_NOTES = (
    "Genlock (modes 4-258): global-shutter stereo only; each trigger starts exposure of a burst of 1-255 "
    "frames at the native rate; after a trigger the camera is blind for 2 native frame times, so the "
    "trigger may run at most at half the native rate (6/15/30/60/90) (seed 004).",
    "Colour is rolling shutter and NOT hardware-synced to depth (a hardware limitation): it free-runs at its "
    "own rate even in Genlock, so colour is not in synced_kinds (seed 004).",
    "In Genlock the laser projector is always on (no per-frame pulsing); auto-exposure responds only at the "
    "trigger rate. Needs SDK 2.34+ (seed 004).",
    "readout_us = 8 ms: modelling value for the global-shutter stereo imagers (no vendor figure; a full "
    "frame must read out within a 90 fps frame time at 848x480).",
)

D415 = _d400(
    "realsense-d415", "Intel RealSense D415", global_shutter=False, depth_hfov=65.0, readout_us=16_000.0,
    extra_notes=(
        "Rolling-shutter stereo imagers: no Genlock (seed 004: 'works on the D435 and D435i, but not on "
        "D415'); hardware sync only through master/slave modes 1-3 at native rates.",
        "Colour appears in synced_kinds because full slave mode 3 synchronizes the colour camera "
        "(seed 004 Appendix A); in slave mode 2 colour free-runs.",
        "readout_us = 16 ms: modelling value for the rolling-shutter stereo imagers (no vendor figure).",
        "hfov: depth/IR 65 deg, colour 69 deg (D400 datasheet).",
    ),
)

D435 = _d400(
    "realsense-d435", "Intel RealSense D435", global_shutter=True, depth_hfov=87.0, readout_us=8_000.0,
    extra_notes=(*_GENLOCK_NOTES, "hfov: depth/IR 87 deg, colour 69 deg (D400 datasheet)."),
)

D435I = _d400(
    "realsense-d435i", "Intel RealSense D435i", global_shutter=True, depth_hfov=87.0, readout_us=8_000.0,
    extra_notes=(*_GENLOCK_NOTES, "D435 with an IMU; imaging and sync identical to the D435 (seed 004).",
                 "hfov: depth/IR 87 deg, colour 69 deg (D400 datasheet)."),
)

MODELS: tuple[CameraModel, ...] = (D415, D435, D435I)
