"""``/rigsync/live/status``: the capture's live status as the terminal shows it, one JSON message (with its JSON
Schema) the health plots of the Foxglove layout read: per stream its rate, drops by reason, skew, clock error
bound and lock; per host its PTP state (and, across hosts, its link); the preview's own counts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from rigsync.capture.status import CaptureStatus, StreamStatus
from rigsync.core.frame import TimeFlags
from rigsync.record import json_schemas as js

STATUS_TOPIC: Final = "/rigsync/live/status"
STATUS_SCHEMA: Final = "rigsync.LiveStatus"

_NUM: Final = {"type": ["number", "null"]}
_INT: Final = {"type": "integer"}
_COUNTS: Final = {"type": "object", "additionalProperties": {"type": "integer"}}
_HOST_STATUS: Final = js.HOST_STATUS_JSON_SCHEMA["properties"]


def _strict(properties: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"type": "object", "description": description, "properties": properties, "required": list(properties),
            "additionalProperties": False}


STATUS_JSON_SCHEMA: Final[dict[str, Any]] = {
    "$schema": js.DRAFT,
    "$id": f"urn:rigsync:schema:{STATUS_SCHEMA}",
    "title": STATUS_SCHEMA,
    **_strict({
        "rig_time_ns": {"type": ["integer", "null"], "description": "rig clock, ns: when the status was taken"},
        "elapsed_s": {"type": "number", "description": "seconds since the capture started"},
        "framesets": {**_INT, "description": "framesets written"},
        "complete": {**_INT, "description": "of them, complete"},
        "written_mb": {"type": "number", "description": "MB (10^6 bytes) the recorder wrote"},
        "recorder_queue_mb": {"type": "number", "description": "the recorder queue's peak, MB"},
        "streams": {"type": "array", "items": _strict({
            "key": {"type": "string", "description": "<device>/<stream>"},
            "frames": {**_INT, "description": "frames that arrived"},
            "fps": {"type": "number", "description": "frames that arrived in the last second of rig time"},
            "dropped": {"type": "integer", "description": "frames in no frameset (warm-up aside)"},
            "dropped_by": {**_COUNTS, "description": "dropped, by reason (late, corrupt, host_overrun, ...)"},
            "skew_p50_us": {**_NUM, "description": "us: distance from the sync group's centre in each frameset"},
            "skew_p99_us": {**_NUM, "description": "us: its 99th percentile"},
            "error_bound_us": {**_NUM, "description": "us: the last stamp's clock error bound"},
            "locked": {"type": "boolean", "description": "the device's clock mapping is locked"},
            "time_flags": {"type": "array", "items": {"type": "string"}, "description": "the last stamp's flags"},
            "previews": {**_INT, "description": "previews the live view took"},
            "previews_replaced": {"type": "integer", "description": "previews a newer one replaced unsent"},
        })},
        "hosts": {"type": "array", "description": "each host's PTP state (rigsync.HostStatus's ptp)",
                  "items": {**_HOST_STATUS["ptp"], "type": "object"}},
        "links": {"type": "array", "description": "across hosts: each host's link (rigsync.HostStatus less ptp)",
                  "items": _strict({k: v for k, v in _HOST_STATUS.items() if k != "ptp"})},
        "warnings": {"type": "array", "items": {"type": "string"}, "description": "the capture's warnings"},
        "framesets_dropped": {"type": "integer", "description": "framesets the live view could not send"},
    }, "/rigsync/live/status: the capture's live health, about once a second"),
}


def _stream(s: StreamStatus, previews: int, replaced: int) -> dict[str, Any]:
    return {"key": s.key, "frames": s.frames, "fps": s.fps, "dropped": s.dropped, "dropped_by": s.dropped_by,
            "skew_p50_us": s.skew_p50_us, "skew_p99_us": s.skew_p99_us, "error_bound_us": s.error_bound_us,
            "locked": s.locked, "time_flags": [f.name for f in TimeFlags if f and f in s.time_flags],
            "previews": previews, "previews_replaced": replaced}


def status_json(status: CaptureStatus, taken: Mapping[str, int], replaced: Mapping[str, int],
                framesets_dropped: int) -> dict[str, Any]:
    """The ``/rigsync/live/status`` message of ``status``, with the live view's counts per stream."""
    return {"rig_time_ns": status.rig_time_ns, "elapsed_s": status.elapsed_s, "framesets": status.framesets,
            "complete": status.complete, "written_mb": status.written_mb,
            "recorder_queue_mb": status.recorder_queue_mb,
            "streams": [_stream(s, taken.get(s.key, 0), replaced.get(s.key, 0)) for s in status.streams],
            "hosts": [h.to_json() for h in status.hosts], "links": [link.to_json() for link in status.links],
            "warnings": list(status.warnings), "framesets_dropped": framesets_dropped}
