"""Microsoft Azure Kinect DK.

Sources: the seed ``seeds/001`` (Synchronize multiple Azure Kinect DK devices) and the Azure Kinect DK
hardware specification (learn.microsoft.com/azure/kinect-dk/hardware-specification) with its depth sensor raw
timing table; the Sensor SDK reference (``k4a_image_get_device_timestamp_usec``, ``k4a_wired_sync_mode_t``).
"""

from __future__ import annotations

from rigsync.catalog.base import (
    CameraModel,
    ClockSpec,
    DepthTech,
    LaserTiming,
    PixelFormat,
    Shutter,
    StreamMode,
    SyncCaps,
    SyncPort,
    Vendor,
)
from rigsync.core.frame import ClockDomain, StreamKind, TimestampSemantics
from rigsync.core.sync import LinkKind, SyncMethod, Topology

SEED_PLAN = "seeds/001 Azure Kinect: Plan your multi-device configuration"
SEED_TRIGGER = "seeds/001 Azure Kinect: Using an external sync trigger"
SEED_TIMESTAMP = "seeds/001 Azure Kinect: Timestamp considerations"
SEED_INTERFERENCE = "seeds/001 Azure Kinect: Avoiding interference between multiple depth cameras"
SEED_USB_MEMORY = "seeds/001 Azure Kinect: Linux computers: USB memory on Ubuntu"
HW_SPEC = "Azure Kinect DK hardware specification (learn.microsoft.com/azure/kinect-dk/hardware-specification)"
HW_SPEC_RAW_TIMING = f"{HW_SPEC}, section 'Depth sensor raw timing'"
SDK_TIMESTAMP = "Azure Kinect Sensor SDK: k4a_image_get_device_timestamp_usec (mid-point of exposure, usec)"
SDK_SYNC_MODE = "Azure Kinect Sensor SDK: k4a_wired_sync_mode_t (STANDALONE, MASTER, SUBORDINATE)"

MJPEG_BYTES_PER_PIXEL = 0.3
"""Typical compressed size of one MJPEG colour pixel on the link (modelling value, see notes)."""

FORMATS = (
    # The SDK decodes BGRA32 on the host from the MJPEG the device sends (hardware specification note).
    PixelFormat("bgra8", MJPEG_BYTES_PER_PIXEL, "bgr8"),
    PixelFormat("mjpeg", MJPEG_BYTES_PER_PIXEL, "bgr8"),
    PixelFormat("yuyv", 2.0, "bgr8"),
    PixelFormat("nv12", 1.5, "bgr8"),
    PixelFormat("z16", 2.0, "16UC1"),
    PixelFormat("y16", 2.0, "mono16"),
)

_FPS_ALL = (5.0, 15.0, 30.0)
_FPS_SLOW = (5.0, 15.0)
_COLOR_COMPRESSED = ("bgra8", "mjpeg")

COLOR_MODES = (
    # k4a_color_resolution_t names; the hardware specification's colour table.
    StreamMode(StreamKind.COLOR, 1280, 720, _FPS_ALL, ("bgra8", "mjpeg", "yuyv", "nv12"), "720P"),
    StreamMode(StreamKind.COLOR, 1920, 1080, _FPS_ALL, _COLOR_COMPRESSED, "1080P"),
    StreamMode(StreamKind.COLOR, 2560, 1440, _FPS_ALL, _COLOR_COMPRESSED, "1440P"),
    StreamMode(StreamKind.COLOR, 2048, 1536, _FPS_ALL, _COLOR_COMPRESSED, "1536P"),
    StreamMode(StreamKind.COLOR, 3840, 2160, _FPS_ALL, _COLOR_COMPRESSED, "2160P"),
    StreamMode(StreamKind.COLOR, 4096, 3072, _FPS_SLOW, _COLOR_COMPRESSED, "3072P"),
)

DEPTH_MODES = (
    # k4a_depth_mode_t names; the hardware specification's depth table.
    StreamMode(StreamKind.DEPTH, 320, 288, _FPS_ALL, ("z16",), "NFOV_2X2BINNED"),
    StreamMode(StreamKind.DEPTH, 640, 576, _FPS_ALL, ("z16",), "NFOV_UNBINNED"),
    StreamMode(StreamKind.DEPTH, 512, 512, _FPS_ALL, ("z16",), "WFOV_2X2BINNED"),
    StreamMode(StreamKind.DEPTH, 1024, 1024, _FPS_SLOW, ("z16",), "WFOV_UNBINNED"),
)

IR_MODES = (
    # PASSIVE_IR first: at 1024x1024 it is the mode that allows 30 fps (CameraModel.mode returns the first
    # match); in the depth modes the IR image has the depth image's size and rate.
    StreamMode(StreamKind.IR, 1024, 1024, _FPS_ALL, ("y16",), "PASSIVE_IR"),
    StreamMode(StreamKind.IR, 320, 288, _FPS_ALL, ("y16",), "NFOV_2X2BINNED"),
    StreamMode(StreamKind.IR, 640, 576, _FPS_ALL, ("y16",), "NFOV_UNBINNED"),
    StreamMode(StreamKind.IR, 512, 512, _FPS_ALL, ("y16",), "WFOV_2X2BINNED"),
    StreamMode(StreamKind.IR, 1024, 1024, _FPS_SLOW, ("y16",), "WFOV_UNBINNED"),
)

LASER = (
    # Hardware specification, depth sensor raw timing: 9 pulses of 125 us, 8 idle periods of 1450 us
    # (exposure 12.8 ms) or of 2390 us in WFOV unbinned (exposure 20.3 ms). PASSIVE_IR fires no laser.
    LaserTiming("NFOV_2X2BINNED", 9, 125.0, 8, 1450.0, HW_SPEC_RAW_TIMING),
    LaserTiming("NFOV_UNBINNED", 9, 125.0, 8, 1450.0, HW_SPEC_RAW_TIMING),
    LaserTiming("WFOV_2X2BINNED", 9, 125.0, 8, 1450.0, HW_SPEC_RAW_TIMING),
    LaserTiming("WFOV_UNBINNED", 9, 125.0, 8, 2390.0, HW_SPEC_RAW_TIMING),
)

INTERFERENCE_OFFSET_US = 160.0
"""Smallest offset between overlapping depth cameras' captures (seed 001: 125 us pulse + clock margin)."""

CLOCK = ClockSpec(
    domain=ClockDomain.DEVICE,
    tick_ns=1_000,
    width_bits=64,
    semantics_free=TimestampSemantics.CENTER_OF_EXPOSURE,
    semantics_synced=TimestampSemantics.START_OF_EXPOSURE,
    source=f"{SDK_TIMESTAMP}; {SEED_TIMESTAMP}",
)

SYNC_IN = SyncPort(
    name="sync-in",
    direction="in",
    level_v=5.0,
    connector="3.5 mm audio jack 'Sync in' (tip = signal, sleeves and rings grounded)",
    min_pulse_us=8.0,
    drive_ma=8.0,
    source=SEED_TRIGGER,
)

SYNC_OUT = SyncPort(
    name="sync-out",
    direction="out",
    level_v=5.0,
    connector="3.5 mm audio jack 'Sync out' (tip = signal, sleeves and rings grounded)",
    min_pulse_us=None,
    drive_ma=8.0,
    source=SEED_TRIGGER,
)

SYNC = SyncCaps(
    methods=frozenset({SyncMethod.HARDWARE, SyncMethod.SOFTWARE}),
    roles=("standalone", "master", "subordinate"),
    ports=(SYNC_IN, SYNC_OUT),
    synced_kinds=frozenset({StreamKind.COLOR, StreamKind.DEPTH, StreamKind.IR}),
    topologies=frozenset({Topology.DAISY_CHAIN, Topology.STAR, Topology.NETWORK}),
    max_subordinates=((Topology.DAISY_CHAIN, 8), (Topology.STAR, 2)),
    external_trigger_rates_hz=(5.0, 15.0, 30.0),
    genlock=None,
    source=f"{SEED_PLAN}; {SEED_TRIGGER}; {SDK_SYNC_MODE}",
)

AZURE_KINECT_DK = CameraModel(
    key="azure-kinect-dk",
    name="Azure Kinect DK",
    vendor=Vendor.MICROSOFT,
    link=LinkKind.USB,
    modes=(*COLOR_MODES, *DEPTH_MODES, *IR_MODES),
    formats=FORMATS,
    shutter=(
        (StreamKind.COLOR, Shutter.ROLLING),
        (StreamKind.DEPTH, Shutter.GLOBAL),
        (StreamKind.IR, Shutter.GLOBAL),
    ),
    depth_tech=DepthTech.TOF,
    clock=CLOCK,
    sync=SYNC,
    hfov_deg=((StreamKind.COLOR, 90.0), (StreamKind.DEPTH, 75.0), (StreamKind.IR, 75.0)),
    readout_us=16_000.0,
    exposure_range_us=(500.0, 133_330.0),
    in_production=False,
    laser=LASER,
    host_computed=frozenset(),
    gpu_memory_mb=0,
    usb_memory_mb=16,
    notes=(
        "Laser timing: seed 001 says the laser is idle 'for either 14505us or 23905us'; that contradicts the "
        "hardware specification's depth sensor raw timing table it points to (8 idle periods of 1450 us or "
        "2390 us) and the exposure times 12.8 ms / 20.3 ms (9 x 125 + 8 x 1450 = 12725 us, "
        "9 x 125 + 8 x 2390 = 20245 us). We use the table; the seed figures are off by a factor of ten. "
        "An older revision of the same doc says 'idle for 1450us or 2390us', agreeing with the table.",
        "Interference: captures of overlapping depth cameras must be offset by >= 160 us (125 us pulse plus "
        "camera/firmware clock margin); with 160 us steps nine more cameras fit into one 1450 us idle period "
        "(seed 001). Set through depth_delay_off_color_usec / subordinate_delay_off_master_usec.",
        "Timestamps are the mid-point of exposure standalone (k4a docs) but 'Start of Frame' in master or "
        "subordinate roles (seed 001).",
        "External trigger: active high, > 8 us, 5 V TTL/CMOS, >= 8 mA, precisely 30, 15 or 5 Hz (the colour "
        "camera's master VSYNC), into the master's Sync in (seed 001).",
        "Master mode needs the colour camera running even if colour is not recorded (k4a_wired_sync_mode_t); "
        "start subordinates first and the master last (seed 001).",
        "The depth camera streams raw modulated IR captures that the host depth engine (GPU) turns into depth; "
        "z16 link bytes (2 per pixel) therefore underestimate the depth stream's USB load. The depth engine's "
        "GPU memory is not documented, so gpu_memory_mb stays 0.",
        "MJPEG/BGRA colour: 0.3 bytes per pixel on the link is a modelling value for typical MJPEG "
        "(assumption); the device sends MJPEG and the SDK decodes BGRA32 on the host CPU (hardware spec).",
        "readout_us = 16 ms is a modelling value (no vendor figure): roughly half a 30 fps frame for the "
        "rolling-shutter colour sensor; depth readout is inside the 12.8/20.3 ms capture.",
        "exposure_range_us is the colour camera's manual exposure table (500 us to 133.33 ms); depth exposure "
        "is fixed per mode (12.8 ms, 20.3 ms, passive IR 1.6 ms).",
        "hfov: colour 90 deg (all modes); depth/IR 75 deg is the NFOV value, WFOV modes see 120 deg.",
        "usb_memory_mb: the 16 MB Linux usbfs default is typically enough for one device; more devices need "
        "more (seed 001).",
        "Microsoft has retired the Azure Kinect DK; Orbbec's Femto Bolt is the recommended replacement, so "
        "in_production is False.",
    ),
    sources=(SEED_PLAN, SEED_TRIGGER, SEED_TIMESTAMP, SEED_INTERFERENCE, SEED_USB_MEMORY, HW_SPEC,
             HW_SPEC_RAW_TIMING, SDK_TIMESTAMP, SDK_SYNC_MODE),
)

MODELS: tuple[CameraModel, ...] = (AZURE_KINECT_DK,)
