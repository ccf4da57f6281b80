"""A GigE Vision camera's scheduled start at a PTP time (the acquisition gate): pure timing, no Aravis.

Feature names, and where they come from:

- ``PtpAcquisitionGateTimeHigh`` / ``PtpAcquisitionGateTimeLow``: Emergent's camera features (docs.emergentvisiontec
  .com/camera-features/ptpacquisitiongatetimehigh, .../ptpacquisitiongatetimelow: Uint32, read/write, the upper and
  lower 32 bits of the PTP time that gates the start of acquisition); seeds/003: eCapture sets this gate when PTP
  cameras start streaming.
- ``PtpAcquisitionGateTime`` (one 64-bit integer, ns) and the older ``PtpAcquisitionGateTimeHi`` / ``...Lo`` pair:
  Allied Vision's GigE camera features (AVT GigE Camera and Driver Features V2.0.0, and Attributes V1.3.1: "must be
  set beyond current camera GevTimeStampValue ... when set below, image acquisition stalls").
- The camera's current time: SFNC ``TimestampLatch`` then ``TimestampLatchValue``; GigE Vision 1.x cameras name them
  ``GevTimestampControlLatch`` and ``GevTimestampValue`` (docs.baslerweb.com/timestamp: execute the latch, then read
  the value; a tick is 1 ns on a PTP camera).

A gate the camera cannot make in time is never written as asked: the first exposure moves to the first frame slot of
the asked schedule (start + k frame periods) that leaves :data:`GATE_LEAD_NS`, so every camera of a PTP group keeps one
frame grid, and the time returned is never earlier than asked.
"""

from __future__ import annotations

from typing import Protocol

GATE_LEAD_NS = 100_000_000
"""The least time between the camera's clock at :meth:`~rigsync.drivers.gige.GigeDevice.arm` and the gate: after the
gate is written the capture still arms the rest of the group and starts every camera (stream channel, AcquisitionStart:
a few GVCP round trips each, milliseconds on a healthy link, more with a retried packet on a loaded host), and a gate
that passes before AcquisitionStart stalls acquisition on some cameras (Allied Vision) instead of starting it."""

GATE_PAIRS = {"PtpAcquisitionGateTimeHigh": "PtpAcquisitionGateTimeLow",  # Emergent eSDK
              "PtpAcquisitionGateTimeHi": "PtpAcquisitionGateTimeLo"}  # Allied Vision, older firmware
"""Upper half of a 32-bit gate pair -> its lower half."""

_U32 = 0xFFFF_FFFF


def gate_ns(start_ns: int, camera_now_ns: int | None, period_ns: int, lead_ns: int = GATE_LEAD_NS) -> int:
    """The gate (first exposure, camera PTP ns) for a start asked at ``start_ns``: the start itself, or - if the
    camera's clock ``camera_now_ns`` leaves less than ``lead_ns`` before it - the first frame slot ``start_ns + k *
    period_ns`` that leaves it. Without the camera's time (``None``: the camera cannot latch it) the start as asked."""
    if period_ns <= 0:
        raise ValueError(f"period_ns must be positive, got {period_ns}")
    earliest = None if camera_now_ns is None else camera_now_ns + lead_ns
    if earliest is None or start_ns >= earliest:
        return start_ns
    return start_ns + -(-(earliest - start_ns) // period_ns) * period_ns


def split_u64(value: int) -> tuple[int, int]:
    """(upper, lower) 32-bit halves of a 64-bit gate."""
    if not 0 <= value <= 0xFFFF_FFFF_FFFF_FFFF:
        raise ValueError(f"a gate time is an unsigned 64-bit integer, got {value}")
    return value >> 32, value & _U32


def join_u64(high: int, low: int) -> int:
    """The 64-bit gate from its 32-bit halves (as the camera reads them back)."""
    return ((high & _U32) << 32) | (low & _U32)


class GenicamCamera(Protocol):
    """The part of ``Aravis.Camera`` the gate needs (Aravis raises ``GLib.Error``; the driver turns it into a
    DriverError)."""

    def set_integer(self, feature: str, value: int) -> None: ...

    def get_integer(self, feature: str) -> int: ...

    def execute_command(self, feature: str) -> None: ...


def latch_now_ns(camera: GenicamCamera, latch: str, value: str) -> int:
    """The camera's clock now: execute ``latch``, read ``value``."""
    camera.execute_command(latch)
    return int(camera.get_integer(value))


def write_gate(camera: GenicamCamera, gate: str, value_ns: int) -> int:
    """Write the gate - one 64-bit feature, or a 32-bit pair (:data:`GATE_PAIRS`), upper half first - and return
    what the camera reads back."""
    low = GATE_PAIRS.get(gate)
    if low is None:
        camera.set_integer(gate, value_ns)
        return int(camera.get_integer(gate))
    high_value, low_value = split_u64(value_ns)
    camera.set_integer(gate, high_value)
    camera.set_integer(low, low_value)
    return join_u64(camera.get_integer(gate), camera.get_integer(low))
