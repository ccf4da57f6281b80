"""A generic PTP-synchronized GigE Vision area-scan camera (as in Emergent Vision's eCapture Pro workflow).

Sources: the seed ``seeds/003`` (Synchronize Area-Scan Cameras with PTP in eCapture Pro) and the GenICam
Standard Features Naming Convention (``AcquisitionFrameRate``, ``TriggerMode``/``TriggerSource``,
``PtpMode``/``PtpStatus``, ``Timestamp``; IEEE 1588 time in nanoseconds).
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

SEED = "seeds/003 Emergent: Synchronize Area-Scan Cameras with PTP in eCapture Pro"
SEED_SETTINGS = "seeds/003 Emergent: Configure the PTP and acquisition settings"
SEED_VERIFY = "seeds/003 Emergent: Verify PTP synchronization in Live View / Troubleshooting"
SFNC = "GenICam SFNC: AcquisitionFrameRate, TriggerMode/TriggerSource, PtpMode/PtpStatus, Timestamp (ns)"

FORMATS = (
    PixelFormat("mono8", 1.0, "mono8"),
    # Raw Bayer on the link, demosaiced by the driver (OpenCV BayerRG -> BGR) before recording.
    PixelFormat("bayer_rggb8", 1.0, "bgr8"),
    PixelFormat("rgb8", 3.0, "rgb8"),
)

_ALL = ("mono8", "bayer_rggb8", "rgb8")

MODES = (
    # Typical 10GigE area-scan resolutions; the rate is continuous up to the sensor/link limit.
    StreamMode(StreamKind.COLOR, 1920, 1200, (), _ALL, "2.3MP", fps_range=(1.0, 160.0)),
    StreamMode(StreamKind.COLOR, 2448, 2048, (), _ALL, "5MP", fps_range=(1.0, 75.0)),
    StreamMode(StreamKind.COLOR, 4096, 3000, (), _ALL, "12MP", fps_range=(1.0, 30.0)),
    StreamMode(StreamKind.COLOR, 5120, 5120, (), _ALL, "26MP", fps_range=(1.0, 15.0)),
)

CLOCK = ClockSpec(
    domain=ClockDomain.DEVICE,
    tick_ns=1,
    width_bits=64,
    semantics_free=TimestampSemantics.START_OF_EXPOSURE,
    semantics_synced=TimestampSemantics.START_OF_EXPOSURE,
    source=f"{SEED}; {SFNC}",
)

TRIGGER_IN = SyncPort(
    name="trigger-in",
    direction="in",
    level_v=5.0,
    connector="opto-isolated GPIO input (TriggerSource=Line0, model-specific connector)",
    min_pulse_us=None,
    drive_ma=None,
    source="generic GigE Vision camera I/O (assumption, see notes)",
)

STROBE_OUT = SyncPort(
    name="strobe-out",
    direction="out",
    level_v=5.0,
    connector="opto-isolated GPIO output (exposure-active strobe, model-specific connector)",
    min_pulse_us=None,
    drive_ma=None,
    source="generic GigE Vision camera I/O (assumption, see notes)",
)

SYNC = SyncCaps(
    methods=frozenset({SyncMethod.PTP, SyncMethod.HARDWARE, SyncMethod.SOFTWARE}),
    roles=("PtpStatus=Slave", "TriggerSource=Software", "TriggerSource=Line0"),
    ports=(TRIGGER_IN, STROBE_OUT),
    synced_kinds=frozenset({StreamKind.COLOR}),
    topologies=frozenset({Topology.NETWORK, Topology.STAR}),
    max_subordinates=(),
    external_trigger_rates_hz=(),
    genlock=None,
    source=f"{SEED}; {SEED_SETTINGS}; {SFNC}",
)

GIGE_PTP_AREA_SCAN = CameraModel(
    key="gige-ptp-area-scan",
    name="Generic PTP GigE Vision area-scan camera",
    vendor=Vendor.GIGE_VISION,
    link=LinkKind.ETHERNET,
    modes=MODES,
    formats=FORMATS,
    shutter=((StreamKind.COLOR, Shutter.GLOBAL),),
    depth_tech=DepthTech.NONE,
    clock=CLOCK,
    sync=SYNC,
    hfov_deg=((StreamKind.COLOR, 50.0),),
    readout_us=5_000.0,
    exposure_range_us=(10.0, 1_000_000.0),
    in_production=True,
    laser=(),
    host_computed=frozenset(),
    gpu_memory_mb=0,
    usb_memory_mb=0,
    notes=(
        "PTP frame synchronization (seed 003): Acquisition Mode MultiFrame, Trigger Mode On, Trigger Source "
        "Software, Acquisition Frame Count 1, Ptp Mode OneStep or TwoStep to match the grandmaster; the "
        "software starts the cameras at a shared PTP time (eCapture sets the PTP acquisition gate time).",
        "Frame numbers stay aligned only if every camera in the group runs the same Frame Rate; cameras with "
        "different rates still start together but their frame N differ in time (seed 003).",
        "Verify: each camera reports Ptp Status = Slave before streaming, and Ptp Offset stays stable within "
        "warning/error levels (seed 003). The role strings are GenICam feature=value pairs.",
        "Hardware triggering on a GPIO line with PTP only for timestamps is the other workflow the seed names "
        "(not detailed there): SyncMethod.HARDWARE with a star-wired trigger source.",
        "Clock: the device Timestamp is the PTP-disciplined IEEE 1588 time as a 64-bit nanosecond count; "
        "start of exposure is assumed as its instant (assumption: SFNC leaves the latch point to the model).",
        "Modes: a few common 10GigE sensor sizes with a continuous AcquisitionFrameRate up to typical limits "
        "(assumption); recheck the rate after any format, resolution or pixel format change (seed 003).",
        "Trigger/strobe I/O: opto-isolated 5 V lines are assumed; levels, minimum pulse and drive are "
        "model-specific and not given by the seed (assumption).",
        "hfov 50 deg (lens-dependent), readout 5 ms and exposure 10 us to 1 s are modelling values "
        "(assumptions). Bayer frames are demosaiced by the driver and recorded as bgr8.",
    ),
    sources=(SEED, SEED_SETTINGS, SEED_VERIFY, SFNC),
)

MODELS: tuple[CameraModel, ...] = (GIGE_PTP_AREA_SCAN,)
