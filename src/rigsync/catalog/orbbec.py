"""Orbbec Femto Bolt (ToF, the Azure Kinect's depth sensor) and Gemini 2 (active stereo IR).

Sources: the seed ``seeds/002`` (Orbbec multi-device sync JSON, PRIMARY/SECONDARY, device clock sync), the
Femto Bolt hardware specification and "Synchronize Multiple Femto Bolt Devices" (orbbec.com/documentation),
Orbbec's Multi-Device-Synchronization-Example docs (FemtoSeries.md, Gemini2Series.md), "Set up cameras for
external synchronization V1.2", the OrbbecSDK ``OBFrameMetadataType`` reference, and Seeed's Gemini 2 guide.
"""

from __future__ import annotations

from rigsync.catalog.azure_kinect import LASER as KINECT_LASER
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

SEED = "seeds/002 Orbbec: Multi-Camera Synchronization (multi_device_sync_config.json, enable_multi_device_sync)"
BOLT_SPEC = "Orbbec: Femto Bolt Hardware Specifications (orbbec.com/documentation)"
BOLT_SYNC = "Orbbec: Synchronize Multiple Femto Bolt Devices (orbbec.com/documentation)"
BOLT_VS_KINECT = "Orbbec: Femto Bolt vs Azure Kinect DK comparison (RGB FOV H80 V51)"
EXAMPLE_FEMTO = "orbbec/Multi-Device-Synchronization-Example docs/FemtoSeries.md"
EXAMPLE_GEMINI2 = "orbbec/Multi-Device-Synchronization-Example docs/Gemini2Series.md"
SYNC_HUB = "Orbbec: Set up cameras for external synchronization V1.2 (Sync Hub Pro / Dev)"
OB_METADATA = "OrbbecSDK OBFrameMetadataType: SENSOR_TIMESTAMP 'usually the middle of the exposure time'"
GEMINI2_GUIDE = "Seeed Studio wiki: Orbbec Gemini 2 (active stereo IR, 0.15-10 m, 1280x800@30, HFOV 91)"

MJPEG_BYTES_PER_PIXEL = 0.3
"""Typical compressed size of one MJPEG colour pixel on the link (modelling value)."""

_SYNC_CONNECTOR_BOLT = "8-pin GPIO sync port (SH1.2-8P) through an Orbbec Multi-Camera Sync Hub"
_SYNC_CONNECTOR_GEMINI = "8-pin sync port (SH1.0-8P) through an Orbbec Multi-Camera Sync Hub"

# --- Femto Bolt ---------------------------------------------------------------------------------

_BOLT_FPS = (5.0, 15.0, 25.0, 30.0)
_BOLT_FPS_SLOW = (5.0, 15.0, 25.0)

BOLT_FORMATS = (
    PixelFormat("bgra8", MJPEG_BYTES_PER_PIXEL, "bgr8"),
    PixelFormat("mjpeg", MJPEG_BYTES_PER_PIXEL, "bgr8"),
    PixelFormat("yuyv", 2.0, "bgr8"),
    PixelFormat("nv12", 1.5, "bgr8"),
    PixelFormat("z16", 2.0, "16UC1"),
    PixelFormat("y16", 2.0, "mono16"),
)

BOLT_MODES = (
    StreamMode(StreamKind.COLOR, 1280, 720, _BOLT_FPS, ("bgra8", "mjpeg", "yuyv", "nv12"), "720P"),
    StreamMode(StreamKind.COLOR, 1920, 1080, _BOLT_FPS, ("bgra8", "mjpeg"), "1080P"),
    StreamMode(StreamKind.COLOR, 2560, 1440, _BOLT_FPS, ("bgra8", "mjpeg"), "1440P"),
    StreamMode(StreamKind.COLOR, 3840, 2160, _BOLT_FPS, ("bgra8", "mjpeg"), "2160P"),
    StreamMode(StreamKind.DEPTH, 320, 288, _BOLT_FPS, ("z16",), "NFOV_2X2BINNED"),
    StreamMode(StreamKind.DEPTH, 640, 576, _BOLT_FPS, ("z16",), "NFOV_UNBINNED"),
    StreamMode(StreamKind.DEPTH, 512, 512, _BOLT_FPS, ("z16",), "WFOV_2X2BINNED"),
    StreamMode(StreamKind.DEPTH, 1024, 1024, _BOLT_FPS_SLOW, ("z16",), "WFOV_UNBINNED"),
    StreamMode(StreamKind.IR, 1024, 1024, _BOLT_FPS, ("y16",), "PASSIVE_IR"),
    StreamMode(StreamKind.IR, 320, 288, _BOLT_FPS, ("y16",), "NFOV_2X2BINNED"),
    StreamMode(StreamKind.IR, 640, 576, _BOLT_FPS, ("y16",), "NFOV_UNBINNED"),
    StreamMode(StreamKind.IR, 512, 512, _BOLT_FPS, ("y16",), "WFOV_2X2BINNED"),
    StreamMode(StreamKind.IR, 1024, 1024, _BOLT_FPS_SLOW, ("y16",), "WFOV_UNBINNED"),
)

BOLT_LASER = tuple(
    LaserTiming(t.depth_mode, t.ir_pulses, t.pulse_width_us, t.idle_periods, t.idle_time_us,
                f"reused from the Azure Kinect DK ({t.source}); see notes")
    for t in KINECT_LASER
)

FEMTO_BOLT = CameraModel(
    key="orbbec-femto-bolt",
    name="Orbbec Femto Bolt",
    vendor=Vendor.ORBBEC,
    link=LinkKind.USB,
    modes=BOLT_MODES,
    formats=BOLT_FORMATS,
    shutter=(
        (StreamKind.COLOR, Shutter.ROLLING),
        (StreamKind.DEPTH, Shutter.GLOBAL),
        (StreamKind.IR, Shutter.GLOBAL),
    ),
    depth_tech=DepthTech.TOF,
    clock=ClockSpec(
        domain=ClockDomain.DEVICE,
        tick_ns=1_000,
        width_bits=64,
        semantics_free=TimestampSemantics.CENTER_OF_EXPOSURE,
        semantics_synced=TimestampSemantics.START_OF_EXPOSURE,
        source=f"{OB_METADATA}; {SEED}",
    ),
    sync=SyncCaps(
        methods=frozenset({SyncMethod.HARDWARE, SyncMethod.SOFTWARE}),
        roles=("STANDALONE", "PRIMARY", "SECONDARY"),
        ports=(
            SyncPort("sync-in", "in", 1.8, _SYNC_CONNECTOR_BOLT, min_pulse_us=100.0, source=EXAMPLE_FEMTO),
            SyncPort("sync-out", "out", 1.8, _SYNC_CONNECTOR_BOLT, source=EXAMPLE_FEMTO),
        ),
        synced_kinds=frozenset({StreamKind.COLOR, StreamKind.DEPTH, StreamKind.IR}),
        topologies=frozenset({Topology.STAR, Topology.DAISY_CHAIN, Topology.NETWORK}),
        max_subordinates=((Topology.STAR, 8), (Topology.DAISY_CHAIN, 8)),
        external_trigger_rates_hz=_BOLT_FPS,
        genlock=None,
        source=f"{SEED}; {BOLT_SYNC}; {EXAMPLE_FEMTO}; {SYNC_HUB}",
    ),
    hfov_deg=((StreamKind.COLOR, 80.0), (StreamKind.DEPTH, 75.0), (StreamKind.IR, 75.0)),
    readout_us=16_000.0,
    exposure_range_us=(500.0, 133_330.0),
    in_production=True,
    laser=BOLT_LASER,
    host_computed=frozenset(),
    gpu_memory_mb=0,
    usb_memory_mb=16,
    notes=(
        "Chosen as the Orbbec ToF model: Femto Bolt 'integrates the 1 megapixel ToF depth camera designed by "
        "Microsoft' with the Azure Kinect's depth modes (NFOV/WFOV binned/unbinned, passive IR) and exposure "
        "times 12.8 / 20.3 ms, adding 25 fps (Femto Bolt hardware specification).",
        "Laser timing reuses the Azure Kinect DK raw timing table (9 x 125 us pulses, 8 idle periods of "
        "1450 us / 2390 us): Orbbec publishes no table of its own, and the Kinect table reproduces the "
        "Femto Bolt's stated exposure times. Orbbec's FemtoSeries.md sketch quotes 1350 us idle for NFOV "
        "binned, which would give 11.9 ms, not 12.8 ms; we keep the Kinect figures (assumption).",
        "Interference: stagger overlapping depth cameras with depthDelayUs in 160 us steps (125 us pulse + "
        "35 us margin) (FemtoSeries.md), the same rule as the Azure Kinect.",
        "Sync modes supported by the Femto Bolt: PRIMARY and SECONDARY (FemtoSeries.md); STANDALONE is the "
        "unsynchronized default of the K4A-compatible Femto series (assumption). Config fields: mode, "
        "depth_delay_us, color_delay_us, trigger_to_image_delay_us, trigger_out_enable, trigger_out_delay_us, "
        "frames_per_trigger (seed 002). Start secondaries first, the primary last.",
        "Sync signal: 8-pin port into a sync hub; external HW SYNC input needs a 100 us positive pulse at the "
        "nominal frame rate, high impedance, 1.8 V CMOS (FemtoSeries.md); the hub's logic level defaults to "
        "1.8 V. Star or daisy chain, one master and up to eight subordinates (Synchronize Multiple Femto "
        "Bolt Devices). Output drive current is not documented.",
        "Clock: the SDK reports device timestamps in microseconds (get_timestamp_us, 64-bit after SDK "
        "unwrapping); ctx.enable_multi_device_sync(60000) re-syncs device clocks to the host every 60 s "
        "(seed 002). The sensor timestamp is 'usually the middle of the exposure' (OrbbecSDK); like the "
        "Azure Kinect we assume start of exposure in PRIMARY/SECONDARY roles (assumption, unverified).",
        "Colour: 16:9 modes only (RGB FOV H80 V51 per Orbbec's comparison); colour frame rates assumed equal "
        "to the depth rates 5/15/25/30; YUYV/NV12 assumed at 720p only as on the Kinect (assumptions). "
        "exposure_range_us assumed equal to the Kinect's colour table (assumption).",
        "readout_us = 16 ms is a modelling value (no vendor figure), as for the Azure Kinect.",
        "Depth is computed by the Orbbec depth engine on the host from raw ToF data, like the Kinect; z16 link "
        "bytes underestimate the USB load and gpu_memory_mb is not documented (left 0).",
        "usb_memory_mb: the OrbbecSDK streams through libusb (usbfs); Orbbec notes the 16 MB Linux default "
        "may be too small for several devices and suggests raising it (to 128 MB).",
    ),
    sources=(SEED, BOLT_SPEC, BOLT_SYNC, BOLT_VS_KINECT, EXAMPLE_FEMTO, SYNC_HUB, OB_METADATA,
             "Azure Kinect DK hardware specification: depth sensor raw timing (reused)"),
)

# --- Gemini 2 -----------------------------------------------------------------------------------

_G2_FPS = (5.0, 10.0, 15.0, 30.0)
_G2_FPS_FAST = (5.0, 10.0, 15.0, 30.0, 60.0)

GEMINI2_FORMATS = (
    PixelFormat("mjpeg", MJPEG_BYTES_PER_PIXEL, "bgr8"),
    PixelFormat("yuyv", 2.0, "bgr8"),
    PixelFormat("rgb8", 3.0, "rgb8"),
    PixelFormat("z16", 2.0, "16UC1"),
    PixelFormat("y8", 1.0, "mono8"),
    PixelFormat("y16", 2.0, "mono16"),
)

GEMINI2_MODES = (
    StreamMode(StreamKind.COLOR, 1920, 1080, _G2_FPS, ("mjpeg", "yuyv", "rgb8")),
    StreamMode(StreamKind.COLOR, 1280, 720, _G2_FPS_FAST, ("mjpeg", "yuyv", "rgb8")),
    StreamMode(StreamKind.COLOR, 640, 480, _G2_FPS_FAST, ("mjpeg", "yuyv", "rgb8")),
    StreamMode(StreamKind.DEPTH, 1280, 800, _G2_FPS, ("z16",)),
    StreamMode(StreamKind.DEPTH, 640, 400, _G2_FPS_FAST, ("z16",)),
    StreamMode(StreamKind.IR, 1280, 800, _G2_FPS, ("y8", "y16")),
    StreamMode(StreamKind.IR, 640, 400, _G2_FPS_FAST, ("y8", "y16")),
)

GEMINI_2 = CameraModel(
    key="orbbec-gemini-2",
    name="Orbbec Gemini 2",
    vendor=Vendor.ORBBEC,
    link=LinkKind.USB,
    modes=GEMINI2_MODES,
    formats=GEMINI2_FORMATS,
    shutter=(
        (StreamKind.COLOR, Shutter.ROLLING),
        (StreamKind.DEPTH, Shutter.GLOBAL),
        (StreamKind.IR, Shutter.GLOBAL),
    ),
    depth_tech=DepthTech.ACTIVE_STEREO,
    clock=ClockSpec(
        domain=ClockDomain.DEVICE,
        tick_ns=1_000,
        width_bits=64,
        semantics_free=TimestampSemantics.CENTER_OF_EXPOSURE,
        semantics_synced=TimestampSemantics.CENTER_OF_EXPOSURE,
        source=f"{OB_METADATA}; {SEED}",
    ),
    sync=SyncCaps(
        methods=frozenset({SyncMethod.HARDWARE, SyncMethod.SOFTWARE}),
        roles=("FREE_RUN", "PRIMARY", "SECONDARY_SYNCED", "SOFTWARE_TRIGGERING", "HARDWARE_TRIGGERING"),
        ports=(
            SyncPort("sync-in", "in", 1.8, _SYNC_CONNECTOR_GEMINI, min_pulse_us=100.0, source=SYNC_HUB),
            SyncPort("sync-out", "out", 1.8, _SYNC_CONNECTOR_GEMINI, source=SYNC_HUB),
        ),
        synced_kinds=frozenset({StreamKind.COLOR, StreamKind.DEPTH, StreamKind.IR}),
        topologies=frozenset({Topology.STAR, Topology.DAISY_CHAIN, Topology.NETWORK}),
        max_subordinates=((Topology.STAR, 8), (Topology.DAISY_CHAIN, 4)),
        external_trigger_rates_hz=(),
        genlock=None,
        source=f"{SEED}; {EXAMPLE_GEMINI2}; {SYNC_HUB}",
    ),
    hfov_deg=((StreamKind.COLOR, 86.0), (StreamKind.DEPTH, 91.0), (StreamKind.IR, 91.0)),
    readout_us=8_000.0,
    exposure_range_us=(20.0, 30_000.0),
    in_production=True,
    laser=(),
    host_computed=frozenset(),
    gpu_memory_mb=0,
    usb_memory_mb=16,
    notes=(
        "Chosen as the Orbbec active-stereo model: its sync modes are the seed's vocabulary (PRIMARY, "
        "SECONDARY_SYNCED, SOFTWARE_TRIGGERING, HARDWARE_TRIGGERING) per Gemini2Series.md. The newer "
        "Gemini 330 series (335/336) is Orbbec's current stereo line with the same sync scheme; Gemini 2 is "
        "kept because its sync behaviour is documented in the example repository.",
        "Depth is computed on the camera's ASIC (active stereo IR, 0.15-10 m); modes 1280x800 @ 30 and "
        "640x400 @ 60 follow the datasheet's maxima; the intermediate rates 5/10/15 and the colour modes "
        "below 1080p are the usual Orbbec rate ladder (assumption).",
        "HARDWARE_TRIGGERING captures frames_per_trigger frames per external pulse at any rate; PRIMARY / "
        "SECONDARY_SYNCED follow the primary's frame rate, so no fixed external_trigger_rates_hz. "
        "SOFTWARE_TRIGGERING needs trigger rate x frames_per_trigger below the stream rate (Gemini2Series.md).",
        "FREE_RUN (unsynchronized) is listed as the default mode (assumption); Gemini 2 sync settings are "
        "retained across power cycles (Gemini2Series.md).",
        "Sync port: 8-pin via a sync hub; Sync Hub Pro takes one primary and up to 8 secondaries (star), Sync "
        "Hub Dev one primary and up to 4 (star/daisy chain) (external synchronization V1.2). Signal level "
        "1.8 V (hub default logic level) and 100 us pulse assumed as documented for the Femto series.",
        "Clock: device timestamps in microseconds; sensor timestamp 'usually the middle of the exposure' "
        "(OrbbecSDK); device clocks re-synced to the host every 60 s with enable_multi_device_sync(60000) "
        "(seed 002). Same semantics assumed in sync roles (assumption).",
        "Shutters: global-shutter IR stereo pair, rolling-shutter RGB (assumption, not stated in the sources "
        "read). hfov: depth/IR 91 deg (Seeed guide); colour 86 deg (assumption from Orbbec's datasheet).",
        "readout_us = 8 ms and exposure_range_us 20 us to 30 ms are modelling values (assumptions).",
        "usb_memory_mb: the OrbbecSDK streams through libusb (usbfs); the 16 MB Linux default may be too "
        "small for several devices (Gemini2Series.md suggests 128 MB).",
    ),
    sources=(SEED, EXAMPLE_GEMINI2, SYNC_HUB, OB_METADATA, GEMINI2_GUIDE),
)

MODELS: tuple[CameraModel, ...] = (FEMTO_BOLT, GEMINI_2)
