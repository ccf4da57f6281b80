"""A generic UVC webcam read through V4L2: no sync hardware, host-clock timestamps.

Sources: the Linux V4L2 buffer API (``struct v4l2_buffer.timestamp``, ``V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC``)
and the ``uvcvideo`` driver; typical webcam format lists (``v4l2-ctl --list-formats-ext``).
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
    Vendor,
)
from rigsync.core.frame import ClockDomain, StreamKind, TimestampSemantics
from rigsync.core.sync import LinkKind, SyncMethod, Topology

V4L2_BUFFER = "Linux V4L2 API: struct v4l2_buffer timestamp (CLOCK_MONOTONIC, struct timeval in us)"
UVC_FORMATS = "typical UVC webcam v4l2-ctl --list-formats-ext (YUYV full rate only at low resolutions)"

MJPEG_BYTES_PER_PIXEL = 0.3
"""Typical compressed size of one MJPEG pixel on the link (modelling value)."""

FORMATS = (
    PixelFormat("yuyv", 2.0, "bgr8"),
    PixelFormat("mjpeg", MJPEG_BYTES_PER_PIXEL, "bgr8"),
)

_FPS = (5.0, 10.0, 15.0, 20.0, 25.0, 30.0)

MODES = (
    StreamMode(StreamKind.COLOR, 640, 480, _FPS, ("yuyv", "mjpeg"), "VGA"),
    StreamMode(StreamKind.COLOR, 1280, 720, _FPS, ("mjpeg",), "HD720"),
    StreamMode(StreamKind.COLOR, 1920, 1080, _FPS, ("mjpeg",), "HD1080"),
)

UVC_WEBCAM = CameraModel(
    key="uvc-webcam",
    name="Generic UVC webcam",
    vendor=Vendor.UVC,
    link=LinkKind.USB,
    modes=MODES,
    formats=FORMATS,
    shutter=((StreamKind.COLOR, Shutter.ROLLING),),
    depth_tech=DepthTech.NONE,
    clock=ClockSpec(
        domain=ClockDomain.HOST,
        tick_ns=1_000,
        width_bits=64,
        semantics_free=TimestampSemantics.HOST_RECEIVE,
        semantics_synced=TimestampSemantics.HOST_RECEIVE,
        source=V4L2_BUFFER,
    ),
    sync=SyncCaps(
        methods=frozenset({SyncMethod.SOFTWARE}),
        roles=(),
        ports=(),
        synced_kinds=frozenset(),
        topologies=frozenset({Topology.NETWORK}),
        max_subordinates=(),
        external_trigger_rates_hz=(),
        genlock=None,
        source="UVC class: no trigger input or sync output",
    ),
    hfov_deg=((StreamKind.COLOR, 70.0),),
    readout_us=15_000.0,
    exposure_range_us=(100.0, 200_000.0),
    in_production=True,
    laser=(),
    host_computed=frozenset(),
    gpu_memory_mb=0,
    usb_memory_mb=0,
    notes=(
        "No sync ports and no sync roles: webcams free-run and are aligned afterwards by timestamps only.",
        "Timestamps are V4L2 buffer timestamps in the host's CLOCK_MONOTONIC with microsecond resolution, "
        "treated as host-receive instants; uvcvideo may back-date them from the device's UVC PTS/SCR "
        "(V4L2_BUF_FLAG_TSTAMP_SRC_SOE), but that is not reliable across webcams, so rigsync assumes receive "
        "time and a wide error bound (assumption).",
        "Modes: YUYV is offered only at 640x480 because uncompressed HD exceeds a USB 2.0 webcam's bandwidth "
        "(typical webcams list YUYV 1080p at 5-6 fps); HD uses MJPEG (0.3 bytes per pixel, modelling value).",
        "hfov 70 deg, readout 15 ms (rolling shutter, about half a 30 fps frame) and exposure 100 us to 200 ms "
        "(V4L2 exposure_time_absolute is in 100 us units) are modelling values (assumptions).",
        "usb_memory_mb = 0: uvcvideo streams through the kernel driver, not usbfs.",
    ),
    sources=(V4L2_BUFFER, UVC_FORMATS),
)

MODELS: tuple[CameraModel, ...] = (UVC_WEBCAM,)
