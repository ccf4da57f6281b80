"""A frameset as the aligner decided it, turned into the record written on ``/rigsync/framesets``: the same for a
capture and for ``rigsync merge``."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from rigsync.align import AlignStream, Frameset
from rigsync.core.frame import StampedFrame
from rigsync.core.frameset import FramesetMember, FramesetMissing, FramesetRecord


def frameset_record(fs: Frameset[StampedFrame], streams: Mapping[str, AlignStream],
                    rig_of_base: Callable[[int], int]) -> FramesetRecord:
    """The record of ``fs``, matched on the base timeline, recorded on rig time (``rig_of_base``): its members,
    its missing streams with their reasons, and its spread (members' stamps less their streams' declared offsets;
    they differ from the base timeline's while a step of the reference slews)."""
    members = []
    for e in fs.members:
        f = e.payload.frame
        members.append(FramesetMember(f.device, f.stream, f.seq, e.payload.rig_time_ns, f.device_ts_ns,
                                      f.host_rx_ns, e.error_ns))
    missing = tuple(FramesetMissing(key.split("/", 1)[0], key.split("/", 1)[1], reason) for key, reason in fs.missing)
    rig_refs = [m.rig_time_ns - streams[f"{m.device}/{m.stream}"].offset_ns for m in members]
    spread = max(rig_refs) - min(rig_refs) if rig_refs else 0
    return FramesetRecord(fs.frameset_id, rig_of_base(fs.rig_time_ns), spread, tuple(members), missing)
