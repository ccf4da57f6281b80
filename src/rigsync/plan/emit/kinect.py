"""``k4arecorder.sh``: one ``k4arecorder`` command line per Azure Kinect, subordinates first, the master last.

Every flag and value form was checked against the recorder's source, microsoft/Azure-Kinect-Sensor-SDK
``tools/k4arecorder/main.cpp`` (option table and parsers), and its documentation page "Azure Kinect DK recorder"
(learn.microsoft.com/azure/kinect-dk/azure-kinect-recorder):

- ``--device N``: device index 0-255 (default 0); ``--list`` prints ``Index:N<TAB>Serial:S<TAB>...`` per device;
- ``-c|--color-mode``: 3072p, 2160p, 1536p, 1440p, 1080p, 720p, 720p_NV12, 720p_YUY2, OFF (MJPEG unless NV12/YUY2);
- ``-d|--depth-mode``: NFOV_2X2BINNED, NFOV_UNBINNED, WFOV_2X2BINNED, WFOV_UNBINNED, PASSIVE_IR, OFF;
- ``-r|--rate``: 30, 15, 5;
- ``--depth-delay``: microseconds, depth after colour (``depth_delay_off_color_usec``), under one frame period;
- ``--external-sync``: Master, Subordinate (or Sub), Standalone;
- ``--sync-delay``: microseconds, >= 0, only valid with ``--external-sync Subordinate`` (the recorder exits
  otherwise) - ``subordinate_delay_off_master_usec``;
- ``-e|--exposure-control``: manual colour exposure, 2 to 200,000 us, or the older exponent form -11..1
  (2^e seconds); early recorder builds (PR #161) took only the exponent form;
- ``--imu``: ON or OFF; the output file is the last argument.

The device index follows USB enumeration, which is not known offline: the script looks each serial up in
``k4arecorder --list`` before any recorder opens a device (an open device cannot be listed).
"""

from __future__ import annotations

import math
import shlex
from pathlib import Path

from rigsync.catalog import get_model
from rigsync.catalog.base import Vendor
from rigsync.core.frame import StreamKind
from rigsync.plan.emit._common import devices_of, fps_text, header, stream_of, us, write_files
from rigsync.plan.model import DevicePlan, Plan, Role
from rigsync.spec.model import DeviceSpec

FILE_NAME = "k4arecorder.sh"

_SYNC = {Role.MASTER: "Master", Role.SUBORDINATE: "Subordinate"}
_EXPOSURE_US = (2, 200_000)


def color_mode(device: DeviceSpec) -> str:
    """The ``-c`` value for the device's colour stream (``OFF`` without one)."""
    s = stream_of(device, StreamKind.COLOR)
    if s is None:
        return "OFF"
    mode = get_model(device.model).mode(StreamKind.COLOR, s.width, s.height)
    name = (mode.name if mode is not None else f"{s.height}P").lower()
    suffix = {"yuyv": "_YUY2", "nv12": "_NV12"}.get(s.pixel_format, "")
    return name + suffix


def depth_mode(device: DeviceSpec) -> str:
    """The ``-d`` value: the depth stream's mode, else the IR stream's (PASSIVE_IR), else ``OFF``."""
    model = get_model(device.model)
    for kind in (StreamKind.DEPTH, StreamKind.IR):
        s = stream_of(device, kind)
        if s is not None:
            mode = model.mode(kind, s.width, s.height)
            return mode.name if mode is not None else "OFF"
    return "OFF"


def recorder_args(device: DeviceSpec, dp: DevicePlan, index: str, out: str) -> list[str]:
    """The k4arecorder arguments of one device (``index``/``out`` are shell words)."""
    sync = _SYNC.get(dp.role, "Standalone")
    args = ["k4arecorder", "--device", index, "--external-sync", sync]
    if sync == "Subordinate":
        args += ["--sync-delay", str(us(dp.delay_ns))]
    args += ["--depth-delay", str(us(dp.depth_delay_ns)), "-c", color_mode(device), "-d", depth_mode(device),
             "-r", fps_text(max(s.fps for s in device.streams)), "--imu", "OFF"]
    color = stream_of(device, StreamKind.COLOR)
    if color is not None and color.exposure_us is not None and \
            _EXPOSURE_US[0] <= color.exposure_us <= _EXPOSURE_US[1]:
        args += ["-e", str(color.exposure_us)]
    return [*args, out]


def _exposure_note(device: DeviceSpec) -> str:
    color = stream_of(device, StreamKind.COLOR)
    if color is None or color.exposure_us is None:
        return "auto colour exposure (the rig declares none): set one for sync (seeds/001)"
    if not _EXPOSURE_US[0] <= color.exposure_us <= _EXPOSURE_US[1]:
        return f"exposure {color.exposure_us} us is outside k4arecorder's 2-200000 us: left on auto"
    exponent = round(math.log2(color.exposure_us * 1e-6))
    return f"-e {color.exposure_us} us; recorders that reject it take the exponent form: -e {exponent}"


def script(plan: Plan) -> str:
    """The whole shell script."""
    devices = devices_of(plan, Vendor.MICROSOFT, start_order=True)
    hosts = list(dict.fromkeys(spec.host for spec, _ in devices))
    master_host = next((spec.host for spec, dp in devices if dp.role is Role.MASTER), None)
    order = [h for h in hosts if h != master_host] + [h for h in hosts if h == master_host]
    lines = [
        "#!/bin/sh", f"# {header(plan, FILE_NAME)}", "#",
        "# Usage: ./k4arecorder.sh [HOST]   (default: this host's name); OUT=dir to choose where the .mkv go.",
        f"# Run it on the hosts in this order: {', '.join(order)} - the master's host last.",
        "# Within a host the subordinates start first and the master LAST: its first pulse must find every",
        "# subordinate waiting, or their timestamps do not align (seeds/001, 'start the master device last').",
        "#",
        "# Device index: k4arecorder opens devices by index in USB enumeration order, unknown offline. Check",
        "# `k4arecorder --list` (Index:N  Serial:S) against the serials below; this script looks them up the same",
        "# way before starting any recorder. Override with K4A_INDEX_<n>=N if needed.",
        "set -eu", 'OUT="${OUT:-.}"', 'HOST="${1:-$(hostname)}"', "",
        "k4a_index() {  # serial -> index, from the recorder's own device list",
        "    k4arecorder --list | awk -F'\\t' -v s=\"Serial:$1\" "
        "'{for (i = 2; i <= NF; i++) if ($i == s) {sub(/^Index:/, \"\", $1); print $1}}'",
        "}", "", 'case "$HOST" in',
    ]
    for host in hosts:
        here = [(n, spec, dp) for n, (spec, dp) in enumerate(devices) if spec.host == host]
        lines.append(f"{host})")
        for n, spec, _ in here:
            var = f"K4A_INDEX_{n}"
            lines += [f'    {var}="${{{var}:-$(k4a_index {shlex.quote(spec.serial)})}}"  # {spec.id}',
                      f'    [ -n "${var}" ] || {{ echo "{spec.id}: serial {spec.serial} not in k4arecorder --list" >&2;'
                      " exit 1; }"]
        for n, spec, dp in here:
            if dp.role is Role.MASTER and len(here) > 1:
                lines.append('    sleep "${SUBORDINATE_WAIT_S:-3}"  # let the subordinates open and wait')
            lines.append(f"    # {spec.id} (serial {spec.serial}): {dp.role.value}; {_exposure_note(spec)}")
            args = recorder_args(spec, dp, f'"$K4A_INDEX_{n}"', f'"$OUT/{spec.id}.mkv"')
            lines.append("    " + " ".join(args) + " &")
        lines.append("    ;;")
    lines += [f'*) echo "unknown host $HOST (hosts: {" ".join(hosts)})" >&2; exit 2 ;;', "esac", "wait", ""]
    return "\n".join(lines)


def files(plan: Plan) -> dict[str, str]:
    """``k4arecorder.sh`` if the rig has Azure Kinects, else nothing."""
    return {FILE_NAME: script(plan)} if devices_of(plan, Vendor.MICROSOFT) else {}


def write(plan: Plan, directory: Path) -> list[Path]:
    paths = write_files(directory, files(plan))
    for p in paths:
        p.chmod(0o755)
    return paths
