"""Sample wire messages of every kind and an exact comparison of decoded messages (frames hold numpy images)."""

from __future__ import annotations

import dataclasses

import numpy as np

from rigsync.core.frame import ClockDomain, Frame, FrameFlags, TimeFlags, TimestampSemantics
from rigsync.core.ptp import PortState, PtpSample
from rigsync.core.truth import FrameTruth
from rigsync.drivers.base import DeviceEvent, EventKind
from rigsync.net.keys import Verb
from rigsync.net.messages import FrameMessage, Heartbeat, Message, Reply, Request, RigStamp


def frame(image: np.ndarray | None = None, **changes: object) -> Frame:
    fields: dict[str, object] = dict(
        device="cam-ö", stream="depth", seq=1234, device_ts_ns=-5_000_000_123, host_rx_ns=987_654_321_000,
        semantics=TimestampSemantics.CENTER_OF_EXPOSURE, domain=ClockDomain.DEVICE, min_latency_ns=4_500_000,
        exposure_ns=8_000_000, image=image, encoding="16UC1", flags=FrameFlags.INTERFERED)
    fields.update(changes)
    return Frame(**fields)  # type: ignore[arg-type]


def samples() -> list[Message]:
    """One small message of every kind (every optional part both set and absent across the list)."""
    small = np.arange(6, dtype=np.uint16).reshape(2, 3) * 1000
    return [
        FrameMessage(frame(small), RigStamp(1_700_000_000_000_000_000, 12_345, TimeFlags.SLEWING, locked=False)),
        FrameMessage(frame(None, exposure_ns=None, flags=FrameFlags.NONE)),
        DeviceEvent("cam1", EventKind.OVERRUN, 55_000, stream="color", count=3, seq=17),
        DeviceEvent("cam1", EventKind.DISCONNECTED, 56_000),
        PtpSample("host-b", 1_700_000_000_000_000_000, 42_000_000_000, PortState.SLAVE, -250, 18_000,
                  "001122.fffe.334455", True, sys_offset_ns=-40, steps_removed=1, ingress_ns=1_699_999_999_999_000_000),
        PtpSample("host-c", 1, 2, PortState.LISTENING, None, None, None, False),
        Heartbeat("0.1.0", "a" * 64, "b" * 64, "host-b", 7, 1_700_000_000_000_000_000, 42_000_000_000, 12,
                  3_000_000, 900, 5, 1),
        Request(Verb.CONFIGURE, 2**64 - 1, {"devices": ["cam1", "cam ö"], "start_at_ns": 1_700_000_000_000_000_000}),
        Reply(Verb.ARM, 3, ok=True, body={"armed": ["cam1"]}),
        Reply(Verb.START, 4, ok=False, error="cam1: USB disconnected"),
        FrameTruth("cam-ö", "depth", 41, 1_700_000_000_000_000_000, 1_700_000_000_008_000_000, "kinects/41"),
        FrameTruth("web", "color", 2**63 - 1, -5, -1, None, delivered=False, lost="disconnected"),
    ]


def assert_same(got: Message, want: Message) -> None:
    """Equal in every field; a frame's image equal in dtype, shape and every pixel."""
    assert type(got) is type(want)
    if isinstance(got, FrameMessage) and isinstance(want, FrameMessage):
        assert got.stamp == want.stamp
        g, w = got.frame, want.frame
        for name in (f.name for f in dataclasses.fields(Frame)):
            if name != "image":
                assert getattr(g, name) == getattr(w, name), name
                assert type(getattr(g, name)) is type(getattr(w, name)), name
        if w.image is None:
            assert g.image is None
        else:
            assert g.image is not None
            assert g.image.dtype == w.image.dtype.newbyteorder("<") and g.image.shape == w.image.shape
            assert np.array_equal(g.image, w.image)
    else:
        assert got == want
