"""StereoLabs ZED cameras: the USB 3 stereo family and the GMSL2 ZED X family.

Sources: the seed ``seeds/000`` (Setting Up Multiple 3D Cameras), the ZED SDK resolution/frame-rate lists
(zed-ros2-wrapper ``config/*.yaml``), the ZED Link Mono/Duo/Quad GPIO triggering guides, and Stereolabs
support articles on the ZED 2 readout time and on GMSL2 frame timestamps.
"""

from __future__ import annotations

from rigsync.catalog.base import (
    CameraModel,
    ClockSpec,
    DepthTech,
    PixelFormat,
    Shutter,
    StreamMode,
    SyncCaps,
    SyncPort,
    Vendor,
)
from rigsync.core.frame import ClockDomain, StreamKind, TimestampSemantics
from rigsync.core.sync import LinkKind, SyncMethod, Topology

SEED_FAMILIES = "seeds/000 StereoLabs: USB and GMSL2 camera families (ZED and ZED 2 out of production)"
SEED_USB = "seeds/000 StereoLabs: Hardware Recommendations for USB cameras (1080p30 ~250 MB/s)"
SEED_GMSL = "seeds/000 StereoLabs: Hardware Recommendations for GMSL2 cameras (ZED Link Mono/Duo/Quad)"
SEED_GPU = "seeds/000 StereoLabs: Increase GPU memory (up to 750 MB in NEURAL LIGHT)"
SEED_SYNC = "seeds/000 StereoLabs: Frame synchronization (GMSL2 hardware, USB timestamps)"
SEED_PTP = "seeds/000 StereoLabs: Setting up Multiple Cameras on a Local Network (PTP, system clock)"
ZED_WRAPPER = "stereolabs/zed-ros2-wrapper config/{zedx,zedxonegs,zedxone4k}.yaml (grab_resolution, fps)"
ZED_USB_MODES = "ZED SDK USB modes: HD2K@15, HD1080@15/30, HD720@15/30/60, VGA@15/30/60/100"
ZED_BOX_TABLE = "ZED Box Orin GMSL2 camera limits (ZED X One S/GS: HD1200@60, HD1080@60, SVGA@120)"
LINK_TRIGGERING = "Stereolabs: ZED Link Mono/Duo/Quad GPIO Triggering (trigger out, slave mode)"
README_LINE_TIME = "Stereolabs support: What is the readout time of the ZED 2 camera? (OV4689 line times)"
GMSL_TIMESTAMPS = ("Stereolabs support: Why frames from different ZED X GMSL2 cameras ... have different "
                   "timestamps (stamped when the frame is complete in the deserializer buffer)")

GPU_MEMORY_MB = 750
"""GPU memory the ZED SDK needs per camera for depth in NEURAL LIGHT mode (seed 000)."""

USB_FORMATS = (
    # Both sensors side by side in YUV 4:2:2 on the link: 2 sensors x 2 bytes per left-image pixel.
    PixelFormat("bgra8", 4.0, "bgr8"),
    # Depth is computed on the host GPU: nothing on the link (the model lists depth as host_computed).
    PixelFormat("z16", 0.0, "16UC1"),
)

GMSL_STEREO_FORMATS = (
    # Two sensors, raw Bayer in 16-bit containers over the GMSL2 link; the Jetson ISP makes BGRA.
    PixelFormat("bgra8", 4.0, "bgr8"),
    PixelFormat("z16", 0.0, "16UC1"),
)

GMSL_MONO_FORMATS = (PixelFormat("bgra8", 2.0, "bgr8"),)

_Table = tuple[tuple[str, int, int, tuple[float, ...]], ...]

USB_VIDEO: _Table = (
    ("HD2K", 2208, 1242, (15.0,)),
    ("HD1080", 1920, 1080, (15.0, 30.0)),
    ("HD720", 1280, 720, (15.0, 30.0, 60.0)),
    ("VGA", 672, 376, (15.0, 30.0, 60.0, 100.0)),
)

GMSL_VIDEO: _Table = (
    ("HD1200", 1920, 1200, (15.0, 30.0, 60.0)),
    ("HD1080", 1920, 1080, (15.0, 30.0, 60.0)),
    ("SVGA", 960, 600, (15.0, 30.0, 60.0, 120.0)),
)

GMSL_4K_VIDEO: _Table = (
    ("HD4K", 3840, 2160, (15.0,)),
    ("QHDPLUS", 3200, 1800, (15.0,)),
    *GMSL_VIDEO,
)


def _modes(table: _Table, *, stereo: bool) -> tuple[StreamMode, ...]:
    """Colour (left image) modes, plus depth at the same sizes and rates for stereo cameras."""
    kinds = (StreamKind.COLOR, StreamKind.DEPTH) if stereo else (StreamKind.COLOR,)
    return tuple(
        StreamMode(kind, w, h, fps, ("bgra8",) if kind is StreamKind.COLOR else ("z16",), name)
        for kind in kinds
        for name, w, h, fps in table
    )


CLOCK = ClockSpec(
    domain=ClockDomain.HOST,
    tick_ns=1,
    width_bits=64,
    semantics_free=TimestampSemantics.HOST_RECEIVE,
    semantics_synced=TimestampSemantics.HOST_RECEIVE,
    source=f"{SEED_PTP}; {GMSL_TIMESTAMPS}",
)

USB_SYNC = SyncCaps(
    methods=frozenset({SyncMethod.SOFTWARE, SyncMethod.PTP}),
    roles=("master", "slave"),
    ports=(),
    synced_kinds=frozenset(),
    topologies=frozenset({Topology.NETWORK}),
    max_subordinates=(),
    external_trigger_rates_hz=(),
    genlock=None,
    source=f"{SEED_SYNC}; {SEED_PTP}",
)

CARD_TRIGGER_OUT = SyncPort(
    name="trigger-out",
    direction="out",
    level_v=3.75,
    connector="ZED Link capture card GPIO (Duo: J13 pin 5 MFP0; Mono: J4 pin 6; Quad: J17 pins 16/13 at 3.3 V)",
    min_pulse_us=None,
    drive_ma=None,
    source=LINK_TRIGGERING,
)

CARD_TRIGGER_IN = SyncPort(
    name="trigger-in",
    direction="in",
    level_v=3.3,
    connector="ZED Link capture card GPIO in slave mode (sync_mode=2 in zed_x_daemon.service)",
    min_pulse_us=None,
    drive_ma=None,
    source=f"{LINK_TRIGGERING}; Stereolabs community: ZED Link Duo GPIO is 3.3 V only",
)


def _gmsl_sync(kinds: frozenset[StreamKind]) -> SyncCaps:
    return SyncCaps(
        methods=frozenset({SyncMethod.HARDWARE, SyncMethod.PTP, SyncMethod.SOFTWARE}),
        roles=("master", "slave"),
        ports=(CARD_TRIGGER_OUT, CARD_TRIGGER_IN),
        synced_kinds=kinds,
        topologies=frozenset({Topology.CAPTURE_CARD, Topology.NETWORK}),
        max_subordinates=((Topology.CAPTURE_CARD, 8),),
        external_trigger_rates_hz=(),
        genlock=None,
        source=f"{SEED_SYNC}; {SEED_GMSL}; {LINK_TRIGGERING}",
    )


GMSL_STEREO_SYNC = _gmsl_sync(frozenset({StreamKind.COLOR, StreamKind.DEPTH}))
GMSL_MONO_SYNC = _gmsl_sync(frozenset({StreamKind.COLOR}))

_USB_READOUT_US = 1080 * 25.6
"""OV4689 line time 25.6 us at HD1080/HD720 30 fps x 1080 lines (Stereolabs readout-time article)."""

_COMMON_NOTES = (
    "Timestamps: the ZED SDK's IMAGE timestamps are in the host's system clock (seed 000: 'each timestamp "
    "uses the system clock for reference'); modelled as host-receive instants, the timebase subtracts the "
    "nominal latency. Across hosts, align the system clocks with PTP (ptp4l + phc2sys -O 0) (seed 000).",
    "PTP roles here ('master', 'slave') are the camera hosts' PTP roles (seed 000); the IMAGE timestamp is "
    "slewed smoothly after a clock step, the CURRENT timestamp jumps.",
    "gpu_memory_mb = 750: the ZED SDK needs up to 750 MB of GPU memory per camera for depth in NEURAL LIGHT "
    "mode; a GPU with >= 6 GB is recommended for several cameras (seed 000). Depth is host_computed.",
)

_USB_NOTES = (
    "USB 3.0: both images travel side by side in YUV 4:2:2, i.e. 4 link bytes per left-image pixel; "
    "HD1080 at 30 fps = 1920 x 1080 x 4 x 30 = 249 MB/s, matching the seed's ~250 MB/s; USB 3.0 carries "
    "about 620 MB/s per controller; over budget frames turn green/purple or tear (seed 000).",
    "USB ZED cameras expose no hardware trigger: sync is by timestamps only (seed 000).",
    "readout_us = 1080 x 25.6 us = 27.6 ms: OV4689 line time at HD1080/HD720 30 fps (Stereolabs readout "
    "article for the ZED 2; all USB ZEDs use two OV4689 per the same article).",
    "exposure_range_us: the SDK sets exposure as 0-100 % of the frame period; 26 us (about one line time) "
    "to 66.7 ms (one frame at 15 fps) is a modelling range (assumption).",
    "usb_memory_mb = 0: the video streams through UVC/V4L2 (uvcvideo), not usbfs (assumption).",
)

_GMSL_NOTES = (
    "GMSL2 through a ZED Link capture card on an NVIDIA Jetson: one camera per GMSL2 link; ZED Link Mono 1, "
    "Duo up to 4, Quad up to 8 cameras (seed 000), hence max_subordinates capture-card 8 per card.",
    "Cameras on the same ZED Link Duo/Quad card are frame-synchronized automatically; the card can be "
    "trigger master or slave to an external source and cards can be chained (seed 000). On the Quad, only "
    "cameras on the same GMSL2 connector are natively synchronized until the full-sync setup is done "
    "(ZED Link Quad triggering guide).",
    "Sync roles are the card's: master (sync_mode=0/1, trigger out) or slave (sync_mode=2, trigger in). The "
    "trigger out is a square wave whose rising edge marks the end of exposure, 3.75 V +/- 12 % on Mono/Duo "
    "(3.3 V on Quad), width half the frame period (2.08 ms at 120 fps). Trigger-in level 3.3 V per a "
    "Stereolabs forum answer for the Duo; input pulse width not documented (ZED Link guides).",
    "GMSL2 frame timestamps are host-clock stamps taken when the frame is complete in the deserializer "
    "buffer; separate cameras on one card may differ slightly because of serial buffering (support article).",
    "Link bytes: raw sensor data in 16-bit containers per sensor (assumption); GMSL2 links are dedicated per "
    "camera, so they do not share a bus budget. usb_memory_mb = 0 (no USB).",
    "exposure_range_us 28 us to 30 ms: the ZED X auto-exposure range of the SDK configuration "
    "(zed-ros2-wrapper zedx.yaml).",
)


def _usb(key: str, name: str, hfov: float, *, in_production: bool, extra: tuple[str, ...] = ()) -> CameraModel:
    return CameraModel(
        key=key,
        name=name,
        vendor=Vendor.STEREOLABS,
        link=LinkKind.USB,
        modes=_modes(USB_VIDEO, stereo=True),
        formats=USB_FORMATS,
        shutter=((StreamKind.COLOR, Shutter.ROLLING), (StreamKind.DEPTH, Shutter.ROLLING)),
        depth_tech=DepthTech.PASSIVE_STEREO,
        clock=CLOCK,
        sync=USB_SYNC,
        hfov_deg=((StreamKind.COLOR, hfov), (StreamKind.DEPTH, hfov)),
        readout_us=_USB_READOUT_US,
        exposure_range_us=(26.0, 66_667.0),
        in_production=in_production,
        laser=(),
        host_computed=frozenset({StreamKind.DEPTH}),
        gpu_memory_mb=GPU_MEMORY_MB,
        usb_memory_mb=0,
        notes=(*extra, *_USB_NOTES, *_COMMON_NOTES),
        sources=(SEED_FAMILIES, SEED_USB, SEED_GPU, SEED_SYNC, SEED_PTP, ZED_USB_MODES, README_LINE_TIME),
    )


def _gmsl(key: str, name: str, table: _Table, *, shutter: Shutter, hfov: float, readout_us: float,
          stereo: bool, extra: tuple[str, ...]) -> CameraModel:
    kinds = (StreamKind.COLOR, StreamKind.DEPTH) if stereo else (StreamKind.COLOR,)
    return CameraModel(
        key=key,
        name=name,
        vendor=Vendor.STEREOLABS,
        link=LinkKind.GMSL,
        modes=_modes(table, stereo=stereo),
        formats=GMSL_STEREO_FORMATS if stereo else GMSL_MONO_FORMATS,
        shutter=tuple((k, shutter) for k in kinds),
        depth_tech=DepthTech.PASSIVE_STEREO if stereo else DepthTech.NONE,
        clock=CLOCK,
        sync=GMSL_STEREO_SYNC if stereo else GMSL_MONO_SYNC,
        hfov_deg=tuple((k, hfov) for k in kinds),
        readout_us=readout_us,
        exposure_range_us=(28.0, 30_000.0),
        in_production=True,
        laser=(),
        host_computed=frozenset({StreamKind.DEPTH}) if stereo else frozenset(),
        gpu_memory_mb=GPU_MEMORY_MB if stereo else 0,
        usb_memory_mb=0,
        notes=(*extra, *_GMSL_NOTES, *(_COMMON_NOTES if stereo else _COMMON_NOTES[:2])),
        sources=(SEED_FAMILIES, SEED_GMSL, SEED_GPU, SEED_SYNC, SEED_PTP, ZED_WRAPPER, ZED_BOX_TABLE,
                 LINK_TRIGGERING, GMSL_TIMESTAMPS),
    )


_GS_READOUT = ("readout_us = 8 ms: modelling value for the global-shutter AR0234 sensors (must read out "
               "within a 120 fps frame at SVGA; no vendor figure).")
_OUT = "ZED and ZED 2 camera models are out of production (seed 000)."

ZED = _usb("zed", "ZED", 90.0, in_production=False, extra=(_OUT, "hfov 90 deg (ZED datasheet)."))
ZED_MINI = _usb("zed-mini", "ZED Mini", 90.0, in_production=True, extra=("hfov 90 deg (ZED Mini datasheet).",))
ZED_2 = _usb("zed-2", "ZED 2", 110.0, in_production=False, extra=(_OUT, "hfov 110 deg (ZED 2 datasheet)."))
ZED_2I = _usb("zed-2i", "ZED 2i", 110.0, in_production=True,
              extra=("hfov 110 deg with the 2.1 mm lens (the 4 mm option is narrower).",))

ZED_X = _gmsl(
    "zed-x", "ZED X", GMSL_VIDEO, shutter=Shutter.GLOBAL, hfov=110.0, readout_us=8_000.0, stereo=True,
    extra=("Two 1920x1200 global-shutter sensors; HD1200/HD1080 at 15/30/60, SVGA at 15/30/60/120 (zedx.yaml).",
           _GS_READOUT, "hfov 110 deg with the 2.2 mm lens."),
)
ZED_X_MINI = _gmsl(
    "zed-x-mini", "ZED X Mini", GMSL_VIDEO, shutter=Shutter.GLOBAL, hfov=110.0, readout_us=8_000.0, stereo=True,
    extra=("Same sensors and modes as the ZED X, shorter baseline; SVGA 15/30/60/120.",
           _GS_READOUT, "hfov 110 deg with the 2.2 mm lens."),
)
ZED_X_NANO = _gmsl(
    "zed-x-nano", "ZED X Nano", GMSL_VIDEO, shutter=Shutter.GLOBAL, hfov=110.0, readout_us=8_000.0, stereo=True,
    extra=("Two AR0234 global-shutter sensors like the ZED X; its mode list and 110 deg hfov are assumed equal "
           "to the ZED X Mini's (assumption: no Nano mode table found; needs ZED SDK 5.3+).", _GS_READOUT),
)
ZED_X_ONE_S = _gmsl(
    "zed-x-one-s", "ZED X One S", GMSL_VIDEO, shutter=Shutter.ROLLING, hfov=110.0, readout_us=16_000.0,
    stereo=False,
    extra=("Monocular; HD1200@60, HD1080@60, SVGA@120 (ZED Box camera table).",
           "Rolling shutter assumed: the 'S' sibling of the global-shutter 'GS' model (assumption); readout_us "
           "16 ms and hfov 110 deg are modelling values (assumptions)."),
)
ZED_X_ONE_GS = _gmsl(
    "zed-x-one-gs", "ZED X One GS", GMSL_VIDEO, shutter=Shutter.GLOBAL, hfov=110.0, readout_us=8_000.0,
    stereo=False,
    extra=("Monocular global shutter; HD1200/HD1080 15/30/60, SVGA 15/30/60/120 (zedxonegs.yaml).",
           _GS_READOUT, "hfov 110 deg assumed (2.2 mm lens)."),
)
ZED_X_ONE_4K = _gmsl(
    "zed-x-one-4k", "ZED X One 4K", GMSL_4K_VIDEO, shutter=Shutter.ROLLING, hfov=110.0, readout_us=16_000.0,
    stereo=False,
    extra=("Monocular 4K; HD4K and QHDPLUS at 15 fps, HD1200/HD1080 15/30/60, SVGA 15/30/60/120 "
           "(zedxone4k.yaml); on a ZED Box one 4K camera per port group and SVGA@60 only (ZED Box camera table).",
           "Rolling-shutter 4K sensor (assumption); readout_us 16 ms and hfov 110 deg are modelling values."),
)

MODELS: tuple[CameraModel, ...] = (
    ZED, ZED_MINI, ZED_2, ZED_2I,
    ZED_X, ZED_X_MINI, ZED_X_NANO, ZED_X_ONE_S, ZED_X_ONE_GS, ZED_X_ONE_4K,
)
