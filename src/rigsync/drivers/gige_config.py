"""A GigE Vision camera's configuration from the plan, through Aravis: which features the camera has, the values
written for the plan's role, and what it reads back.

Features are set by their GenICam SFNC names; where a vendor (Emergent's eSDK, older SFNC revisions) names one
differently, :data:`FEATURE_NAMES` lists the alternatives and the first one the camera implements is used. Each
value is read back after writing; a value the camera did not keep is refused. The stream packet size
(``GevSCPSPacketSize``) is set only where the rig file gives ``packet_size``; else the camera keeps its own and
Aravis adjusts it at stream start.

How a camera acquires (:class:`Acquisition`, reported by ``readback()``):

- a subordinate: ``triggered`` (FrameStart on Line0, rising edge); a master or standalone camera: ``free-run``;
- a PTP camera with Emergent's PTP frame sync (``PtpMode`` and the acquisition gate): ``ptp-frame-sync``, the
  seeds/003 settings - MultiFrame, trigger on, source Software, frame count 1, ``PtpMode`` from the group's step
  mode - the same lines the plan's ``.genicam.txt`` emits (:func:`rigsync.plan.emit.genicam.ptp_frame_sync`);
- any other PTP camera: ``ptp-timestamps``, Continuous with the trigger off and PTP timestamps, started at the PTP
  time by the acquisition gate or, without one, by a scheduled action command (:class:`Start`): the
  AcquisitionStart trigger on ``Action1`` with rigsync's keys (:meth:`ActionKeys.for_rig`). AcquisitionStart, not
  FrameStart: one action starts the acquisition and the camera then runs at its frame rate on one grid from the
  action time, as it does from the gate; a FrameStart action would take one frame per action command.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from rigsync.core.errors import DriverError
from rigsync.drivers._aravis import Aravis, GLib
from rigsync.drivers.base import DeviceConfig, StreamConfig
from rigsync.drivers.gige_stream import NAME
from rigsync.drivers.gvcp_action import ActionKeys
from rigsync.plan.emit.genicam import ptp_frame_sync
from rigsync.plan.model import Role

FEATURE_NAMES: dict[str, tuple[str, ...]] = {
    "frame_rate": ("AcquisitionFrameRate", "FrameRate"),  # FrameRate: Emergent eSDK
    "exposure": ("ExposureTime", "ExposureTimeAbs", "Exposure"),  # Abs: SFNC < 2.0; Exposure: Emergent
    "ptp_enable": ("PtpEnable", "GevIEEE1588"),  # GevIEEE1588: SFNC < 2.4 (Emergent, older firmware)
    "ptp_status": ("PtpStatus", "GevIEEE1588Status"),
    "ptp_offset": ("PtpOffsetFromMaster", "PtpOffset"),  # PtpOffset: Emergent eSDK
    "ptp_mode": ("PtpMode",),  # Emergent eSDK: OneStep/TwoStep (seeds/003); its presence marks PTP frame sync
    # The scheduled start (sources in rigsync.drivers.gige_schedule): one 64-bit gate (Allied Vision), or the upper
    # half of a 32-bit pair, GATE_PAIRS naming its lower half (High/Low: Emergent eSDK; Hi/Lo: older Allied Vision).
    "ptp_gate": ("PtpAcquisitionGateTime", "PtpAcquisitionGateTimeHigh", "PtpAcquisitionGateTimeHi"),
    "timestamp_latch": ("TimestampLatch", "GevTimestampControlLatch"),  # Gev...: GigE Vision 1.x / SFNC < 2.0
    "timestamp_value": ("TimestampLatchValue", "GevTimestampValue"),
    # SFNC Action Control (Basler, FLIR, Allied Vision, Lucid name them so): the scheduled action command's keys.
    "action_selector": ("ActionSelector",),
}
"""Concept -> the feature names cameras use for it, SFNC first."""

ACTION_FEATURES = ("ActionDeviceKey", "ActionGroupKey", "ActionGroupMask")
"""SFNC Action Control: the keys an ACTION_CMD must match (group key and mask per ``ActionSelector``)."""
ACTION_SIGNAL = 1
"""The action signal rigsync uses: ``ActionSelector`` 1, ``TriggerSource`` Action1."""

PACKET_SIZE = "GevSCPSPacketSize"
"""The stream channel's packet size (GigE Vision bootstrap register, bytes with IP + UDP + GVSP headers)."""

PIXEL_FORMATS = {"mono8": "Mono8", "bayer_rggb8": "BayerRG8", "rgb8": "RGB8"}
"""Rig-file pixel format -> PFNC name (as in the plan's ``.genicam.txt``)."""

OUTPUT_LINE = "Line1"
"""The output line a camera drives for the cameras it triggers (as the plan's ``.genicam.txt`` says: model-specific,
wire it there)."""
OUTPUT_LINE_SETTINGS = {"LineSelector": OUTPUT_LINE, "LineMode": "Output", "LineSource": "ExposureActive"}
"""The output line of a master (vendor role ``LineSource=ExposureActive``) or of a plan's ``trigger_out``, in the
order they are set (SFNC; the emitted ``.genicam.txt``)."""


FRAME_SYNC_FEATURES = tuple(feature for feature, _, _ in ptp_frame_sync("two-step"))
"""The features of Emergent's PTP frame sync, in the order they are set."""


class Acquisition(StrEnum):
    FREE_RUN = "free-run"
    TRIGGERED = "triggered"
    PTP_FRAME_SYNC = "ptp-frame-sync"
    PTP_TIMESTAMPS = "ptp-timestamps"


class Start(StrEnum):
    """How a PTP camera starts at the PTP time (``none``: early, the capture discards what precedes the start)."""

    GATE = "gate"
    ACTION = "action"
    NONE = "none"


@dataclass(frozen=True)
class Configured:
    """What :func:`configure_camera` did: each feature written as the camera read it back, in order."""

    settings: dict[str, str]
    acquisition: Acquisition
    start: Start
    action_keys: ActionKeys | None = None
    stream: StreamConfig = field(kw_only=True)


def err(serial: str | None, problem: str, fix: str | None = None) -> DriverError:
    return DriverError(NAME, serial, problem, fix)


class CameraFeatures:
    """One open camera's GenICam features: which of :data:`FEATURE_NAMES` it implements, written and read back."""

    def __init__(self, camera: Aravis.Camera, serial: str) -> None:
        self.camera, self.serial = camera, serial
        self.names = {concept: next((n for n in names if camera.is_feature_available(n)), None)
                      for concept, names in FEATURE_NAMES.items()}

    def has(self, feature: str) -> bool:
        return bool(self.camera.is_feature_available(feature))

    def offers(self, feature: str, entry: str) -> bool:
        """The enumeration ``feature`` exists and offers ``entry``."""
        return self.has(feature) and entry in self.camera.dup_available_enumerations_as_strings(feature)

    def read(self, feature: str) -> str:
        """Any feature's value as text (enumeration entry, integer, float, boolean)."""
        return str(self.camera.get_device().get_feature(feature).get_value_as_string())

    def set(self, feature: str, value: str | float | bool | int) -> str:
        """Write one feature and return what the camera reads back (an ``int`` or ``str`` by its text)."""
        cam = self.camera
        try:
            if isinstance(value, bool):
                cam.set_boolean(feature, value)
                return str(cam.get_boolean(feature))
            if isinstance(value, float):
                cam.set_float(feature, value)
                return repr(cam.get_float(feature))
            cam.get_device().get_feature(feature).set_value_from_string(str(value))
            return self.read(feature)
        except (GLib.Error, AttributeError) as error:
            problem = error.message if isinstance(error, GLib.Error) else "no such feature"
            raise err(self.serial, f"could not set {feature} = {value}: {problem}",
                      "check the feature in the camera's GenICam description (arv-tool-0.8 features)") from None

    def set_concept(self, concept: str, value: float) -> dict[str, str]:
        name = self.names[concept]
        if name is None:
            raise err(self.serial, f"the camera has no {concept} feature (tried {', '.join(FEATURE_NAMES[concept])})")
        return {name: self.set(name, value)}

    def has_action(self) -> bool:
        """SFNC action control with an AcquisitionStart trigger an action can drive."""
        return (self.names["action_selector"] is not None and all(self.has(f) for f in ACTION_FEATURES)
                and self.offers("TriggerSelector", "AcquisitionStart")
                and self.offers("TriggerSource", f"Action{ACTION_SIGNAL}"))


def acquisition_of(features: CameraFeatures, role: str) -> tuple[Acquisition, Start]:
    """How a camera in ``role`` acquires and starts (module docstring); the gate first where it has both."""
    if role == Role.SUBORDINATE.value:
        return Acquisition.TRIGGERED, Start.NONE
    if role != Role.PTP.value:
        return Acquisition.FREE_RUN, Start.NONE
    if features.names["ptp_gate"] is not None:
        frame_sync = features.names["ptp_mode"] is not None
        return Acquisition.PTP_FRAME_SYNC if frame_sync else Acquisition.PTP_TIMESTAMPS, Start.GATE
    return Acquisition.PTP_TIMESTAMPS, Start.ACTION if features.has_action() else Start.NONE


def configure_camera(features: CameraFeatures, config: DeviceConfig, rig_name: str) -> Configured:
    """Write the plan's settings for ``config`` (the camera stopped), each read back; DriverError naming the value
    the camera refused or did not keep."""
    serial = features.serial
    if len(config.streams) != 1:
        raise err(serial, f"a GigE Vision camera has one stream, the plan gives {[s.name for s in config.streams]}",
                  "give the device one stream in the rig file")
    stream = config.streams[0]
    fmt = PIXEL_FORMATS.get(stream.pixel_format)
    if fmt is None:
        raise err(serial, f"pixel format {stream.pixel_format!r} is not supported",
                  f"use one of {', '.join(PIXEL_FORMATS)}")
    acquisition, start = acquisition_of(features, config.sync.role)
    settings = _configure_ptp(features, config.sync.role == Role.PTP.value)
    wanted: dict[str, str] = {}
    if features.has("TriggerSelector"):
        wanted["TriggerSelector"] = "FrameStart"
    if acquisition is Acquisition.PTP_FRAME_SYNC:
        wanted |= {f: v for f, v, _ in ptp_frame_sync(config.sync.ptp_step_mode)}
    else:
        wanted["AcquisitionMode"] = "Continuous"
        if acquisition is Acquisition.TRIGGERED:
            wanted |= {"TriggerMode": "On", "TriggerSource": "Line0", "TriggerActivation": "RisingEdge"}
        else:
            wanted["TriggerMode"] = "Off"
    keys = None
    if start is Start.ACTION:
        assert config.sync.group is not None  # a PTP role belongs to a group
        keys = ActionKeys.for_rig(rig_name, config.sync.group)
        wanted |= _action_settings(keys)
    for feature, value in wanted.items():
        settings[feature] = features.set(feature, value)
    if config.sync.role == Role.MASTER.value or config.sync.trigger_out:
        settings |= _configure_output_line(features)
        wanted |= OUTPUT_LINE_SETTINGS
    try:
        features.camera.set_region(0, 0, stream.width, stream.height)
    except GLib.Error as error:
        raise err(serial, f"could not set the image to {stream.width}x{stream.height}: {error.message}",
                  "choose a size the camera supports") from None
    settings["Width"], settings["Height"] = (str(v) for v in features.camera.get_region()[2:])
    settings["PixelFormat"] = features.set("PixelFormat", fmt)
    if config.packet_size is not None:
        settings |= _configure_packet_size(features, config.packet_size)
        wanted[PACKET_SIZE] = str(config.packet_size)
    if stream.exposure_us is not None:
        settings |= features.set_concept("exposure", float(stream.exposure_us))
    settings |= features.set_concept("frame_rate", float(stream.fps))  # last: after the format (seeds/003)
    wanted |= {"Width": str(stream.width), "Height": str(stream.height), "PixelFormat": fmt}
    _check_read_back(features, settings, wanted, stream.fps)
    return Configured(settings, acquisition, start, keys, stream=stream)


def _action_settings(keys: ActionKeys) -> dict[str, str]:
    """The action's keys on :data:`ACTION_SIGNAL`, then the AcquisitionStart trigger on it, in the order to set
    them (the FrameStart trigger is off before: set first by the caller)."""
    return {"ActionSelector": str(ACTION_SIGNAL), "ActionDeviceKey": str(keys.device_key),
            "ActionGroupKey": str(keys.group_key), "ActionGroupMask": str(keys.group_mask),
            "TriggerSelector": "AcquisitionStart", "TriggerMode": "On", "TriggerSource": f"Action{ACTION_SIGNAL}"}


def _configure_ptp(features: CameraFeatures, on: bool) -> dict[str, str]:
    name = features.names["ptp_enable"]
    if name is None:
        if on:
            raise err(features.serial, "the plan gives this camera a PTP role but it has no PtpEnable (or "
                      "GevIEEE1588) feature", "use a PTP-capable camera or another sync method")
        return {}
    return {name: features.set(name, on)}


def _configure_output_line(features: CameraFeatures) -> dict[str, str]:
    """:data:`OUTPUT_LINE` as an output carrying ExposureActive (the emitted ``.genicam.txt``'s lines); a camera
    without these features cannot trigger others."""
    missing = [f for f in OUTPUT_LINE_SETTINGS if not features.has(f)]
    if missing:
        raise err(features.serial, "the plan has this camera drive an output line but it has no "
                  f"{', '.join(missing)}", "use a camera with a digital output, or another sync method")
    return {name: features.set(name, value) for name, value in OUTPUT_LINE_SETTINGS.items()}


def _configure_packet_size(features: CameraFeatures, size: int) -> dict[str, str]:
    """The rig file's ``packet_size`` as the camera's stream packet size, kept by Aravis at stream start (no test
    packet adjustment: a size the network cannot carry shows as lost frames and in ``rigsync check``'s nic-mtu,
    not as a silently smaller size)."""
    if not features.has(PACKET_SIZE):
        raise err(features.serial, f"the rig file sets packet_size = {size} but the camera has no {PACKET_SIZE}",
                  "leave packet_size out of the rig file for this camera")
    features.camera.gv_set_packet_size_adjustment(Aravis.GvPacketSizeAdjustment.NEVER)
    return {PACKET_SIZE: features.set(PACKET_SIZE, size)}


def _check_read_back(features: CameraFeatures, settings: dict[str, str], wanted: dict[str, str], fps: float) -> None:
    wrong = [f"{k} = {settings[k]} (wanted {v})" for k, v in wanted.items() if settings[k] != v]
    rate = features.names["frame_rate"]
    if rate is not None and abs(float(settings[rate]) - fps) > 0.01 * fps:
        wrong.append(f"{rate} = {settings[rate]} (wanted {fps})")
    if wrong:
        raise err(features.serial, "the camera did not keep the plan's settings: " + "; ".join(wrong),
                  "choose values the camera supports (arv-tool-0.8 features shows its ranges)")


def read_acquisition(features: CameraFeatures, configured: Configured) -> dict[str, str]:
    """The acquisition and trigger settings as the camera reports them now, under their SFNC names, with
    ``acquisition`` and, for a PTP camera, ``start``."""
    out: dict[str, str] = {}
    if configured.acquisition is Acquisition.PTP_FRAME_SYNC:
        out |= {f: features.read(f) for f in FRAME_SYNC_FEATURES}
    else:
        if configured.start is Start.ACTION:
            features.set("ActionSelector", ACTION_SIGNAL)
            out["TriggerSelector"] = features.set("TriggerSelector", "AcquisitionStart")
            out |= {f: features.read(f) for f in ACTION_FEATURES}
        out["TriggerMode"] = features.read("TriggerMode")
        if out["TriggerMode"] == "On":
            out["TriggerSource"] = features.read("TriggerSource")
    out["acquisition"] = configured.acquisition.value
    if configured.acquisition in (Acquisition.PTP_FRAME_SYNC, Acquisition.PTP_TIMESTAMPS):
        out["start"] = configured.start.value
    return out
