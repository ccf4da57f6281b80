"""``<device>.genicam.txt``: the GenICam features of each GigE Vision camera, one ``Feature = Value`` per line.

Names are GenICam SFNC (AcquisitionMode, TriggerSelector/Mode/Source/Activation, AcquisitionFrameCount,
AcquisitionFrameRate, ExposureAuto/ExposureTime, Width, Height, PixelFormat with PFNC values Mono8, BayerRG8,
RGB8, LineSelector/LineMode/LineSource) plus Emergent's PTP features as its eSDK names them (``PtpMode``
OneStep/TwoStep, ``PtpStatus``, ``PtpOffset``, ``PtpAcquisitionGateTimeHigh/Low``; Emergent EVT_PTP example).
Emergent's eSDK calls the frame rate ``FrameRate`` and the exposure ``Exposure`` (us): noted where they differ.

PTP frame sync follows seeds/003: MultiFrame, trigger on, source Software, frame count 1, PtpMode matching
the grandmaster's packets, the same frame rate on every camera of the group; parameters change only while
stopped; the PTP acquisition gate time is left to the acquisition software.
"""

from __future__ import annotations

from pathlib import Path

from rigsync.catalog.base import Vendor
from rigsync.core.frame import StreamKind
from rigsync.plan.emit._common import devices_of, fps_text, header, stream_of, us, write_files
from rigsync.plan.model import DevicePlan, Plan, Role
from rigsync.spec.model import DeviceSpec
from rigsync.spec.sync import PtpTimestampMode

SUFFIX = ".genicam.txt"

PIXEL_FORMATS = {"mono8": "Mono8", "bayer_rggb8": "BayerRG8", "rgb8": "RGB8"}
"""Rig-file pixel format -> PFNC name (older Emergent firmware may list RGB8 as RGB8Packed)."""

_PTP_MODE = {PtpTimestampMode.ONE_STEP: "OneStep", PtpTimestampMode.TWO_STEP: "TwoStep"}

Line = tuple[str, str, str]
"""(feature, value, comment); an empty feature is a comment-only line."""


def ptp_step_mode(plan: Plan, device_id: str) -> PtpTimestampMode:
    """The PTP step mode of the device's group (two-step when the group does not say)."""
    group = plan.index.group_of.get(device_id)
    return group.ptp.step_mode if group is not None and group.ptp is not None else PtpTimestampMode.TWO_STEP


def ptp_frame_sync(step_mode: str) -> list[Line]:
    """Emergent's PTP frame sync (seeds/003) for a group in ``step_mode`` (``one-step``/``two-step``), in the order
    to set them: the emitted file's PTP lines, and what the GigE driver writes to a camera that has ``PtpMode`` and
    the acquisition gate."""
    return [("AcquisitionMode", "MultiFrame", "PTP frame sync (seeds/003)"),
            ("TriggerMode", "On", ""), ("TriggerSource", "Software", ""),
            ("AcquisitionFrameCount", "1", ""),
            ("PtpMode", _PTP_MODE[PtpTimestampMode(step_mode)], "match the grandmaster's one-/two-step packets")]


def _acquisition(plan: Plan, dp: DevicePlan) -> list[Line]:
    if dp.role is Role.PTP:
        return ptp_frame_sync(ptp_step_mode(plan, dp.device_id))
    if dp.role is Role.SUBORDINATE:
        lines = [("AcquisitionMode", "Continuous", "hardware trigger on an input line"),
                 ("TriggerSelector", "FrameStart", ""), ("TriggerMode", "On", ""),
                 ("TriggerSource", "Line0", "the opto-isolated input wired to the trigger (model-specific)"),
                 ("TriggerActivation", "RisingEdge", "")]
        if dp.delay_ns:
            lines.append(("TriggerDelay", str(us(dp.delay_ns)), "us after the trigger edge"))
        return lines
    return [("AcquisitionMode", "Continuous", "free-running"), ("TriggerMode", "Off", "")]


def _image(device: DeviceSpec) -> list[Line]:
    s = stream_of(device, StreamKind.COLOR) or device.streams[0]
    lines: list[Line] = [("Width", str(s.width), ""), ("Height", str(s.height), ""),
                         ("PixelFormat", PIXEL_FORMATS.get(s.pixel_format, s.pixel_format), "")]
    if s.exposure_us is None:
        lines.append(("ExposureAuto", "Continuous", "auto exposure: timing drifts, prefer a manual value"))
    else:
        lines += [("ExposureAuto", "Off", ""),
                  ("ExposureTime", str(s.exposure_us), "us; Emergent eSDK: Exposure")]
    lines.append(("AcquisitionFrameRate", fps_text(s.fps),
                  "Hz, set after the format (recheck it after any format change); Emergent eSDK: FrameRate"))
    return lines


def features(plan: Plan, device_id: str) -> list[Line]:
    """The features of one camera, in the order to set them (acquisition, image format, then rate)."""
    spec, dp = plan.spec(device_id), plan.device(device_id)
    lines = _acquisition(plan, dp) + _image(spec)
    if spec.packet_size is not None:
        lines.append(("GevSCPSPacketSize", str(spec.packet_size),
                      "bytes per stream packet (IP + UDP + GVSP headers included): at most the NIC's MTU"))
    if dp.trigger_out:
        lines += [("LineSelector", "Line1", "the output line wired to the next camera (model-specific)"),
                  ("LineMode", "Output", ""), ("LineSource", "ExposureActive", "")]
    return lines


def text(plan: Plan, device_id: str) -> str:
    spec, dp = plan.spec(device_id), plan.device(device_id)
    out = [f"# {header(plan, device_id + SUFFIX)}",
           f"# Camera {spec.id}, serial {spec.serial}, role {dp.role.value} ({dp.vendor_role}).",
           "# Set these only while the camera is stopped: parameters change only while stopped (seeds/003).",
           "# Names: GenICam SFNC; Emergent eSDK names noted where they differ."]
    if dp.role is Role.PTP:
        group = plan.index.group_of.get(device_id)
        ptp = group.ptp if group is not None else None
        out += ["# PTP acquisition gate time (PtpAcquisitionGateTimeHigh/Low) is left alone: the acquisition",
                "# software sets it when streaming starts (seeds/003). Same AcquisitionFrameRate on every camera",
                "# of the group keeps frame numbers aligned. Before streaming check PtpStatus = Slave and a stable",
                f"# PtpOffset (warn > {ptp.offset_warn_ns if ptp else 1000} ns, "
                f"error > {ptp.offset_error_ns if ptp else 10000} ns)."]
    for feature, value, comment in features(plan, device_id):
        if comment:
            out.append(f"# {comment}")
        out.append(f"{feature} = {value}")
    return "\n".join(out) + "\n"


def files(plan: Plan) -> dict[str, str]:
    """One feature list per GigE Vision camera."""
    return {spec.id + SUFFIX: text(plan, spec.id) for spec, _ in devices_of(plan, Vendor.GIGE_VISION)}


def write(plan: Plan, directory: Path) -> list[Path]:
    return write_files(directory, files(plan))
