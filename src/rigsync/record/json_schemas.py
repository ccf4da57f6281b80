"""The JSON Schemas of a recording's JSON channels: one per kind of message, each stored in the file (schema
encoding ``jsonschema``, draft 2020-12) with the first channel that uses it, so no channel is schemaless.

Every property is required (a value that can be absent is ``null``) and no other property is allowed; every
description names the value's unit and clock. docs/recording.md's field tables are generated from these
descriptions (``python tests/record/test_recording_doc.py`` rewrites them; the test checks them).
"""

from __future__ import annotations

import json
from typing import Any, Final

from rigsync.core.frame import FrameFlags, TimeFlags
from rigsync.core.frameset import MissingReason
from rigsync.core.ptp import HostRole, PortState, PtpMode, SyncLevel

FRAMESET_SCHEMA: Final = "rigsync.Frameset"
TRUTH_SCHEMA: Final = "rigsync.FrameTruth"
FRAME_SCHEMA: Final = "rigsync.Frame"
HOST_STATUS_SCHEMA: Final = "rigsync.HostStatus"
PTP_SCHEMA: Final = "rigsync.PtpRecord"
PTP_SAMPLE_SCHEMA: Final = "rigsync.PtpSample"
STEP_SCHEMA: Final = "rigsync.StepEvent"
DEVICE_EVENT_SCHEMA: Final = "rigsync.DeviceEvent"
AGENT_EVENT_SCHEMA: Final = "rigsync.AgentEvent"
LEDCLOCK_SCHEMA: Final = "rigsync.LedClockTruth"

DRAFT: Final = "https://json-schema.org/draft/2020-12/schema"

# Values of enums that live above the record layer (tests/record/test_json_schemas.py holds them to their enums).
LINK_STATES: Final = ("up", "silent", "never", "local")  # rigsync.net.link.LinkState
STEP_PHASES: Final = ("before", "holding", "slewing", "done")  # rigsync.timebase.steps.StepPhase
STEP_EVENTS: Final = ("registered", "confirmed", "seen")  # the kinds rigsync.timebase.steps.RigSteps records
EVENT_KINDS: Final = ("disconnected", "reconnected", "overrun")  # rigsync.drivers.base.EventKind
LEDCLOCK_FACES: Final = ("-y", "+x", "+y", "-x")  # rigsync.spec.model.LEDCLOCK_FACES


def _flag_names(flags: type[FrameFlags] | type[TimeFlags]) -> list[str]:
    return [(flag.name or "").lower() for flag in flags if flag]


def _t(kind: str | list[str], description: str, **more: Any) -> dict[str, Any]:
    return {"type": kind, "description": description, **more}


def _int(description: str) -> dict[str, Any]:
    return _t("integer", description)


def _opt_int(description: str) -> dict[str, Any]:
    return _t(["integer", "null"], description)


def _str(description: str) -> dict[str, Any]:
    return _t("string", description)


def _enum(values: list[str] | tuple[str, ...], description: str, *, nullable: bool = False) -> dict[str, Any]:
    return _t(["string", "null"] if nullable else "string", description,
              enum=[*values, None] if nullable else list(values))


def _flags(values: list[str], description: str) -> dict[str, Any]:
    return _t("array", description, items={"type": "string", "enum": values}, uniqueItems=True)


def _object(properties: dict[str, Any], description: str, *, nullable: bool = False) -> dict[str, Any]:
    return _t(["object", "null"] if nullable else "object", description, properties=properties,
              required=list(properties), additionalProperties=False)


def _array_of(properties: dict[str, Any], description: str) -> dict[str, Any]:
    return _t("array", description, items=_object(properties, "One element."))


def _schema(name: str, description: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {"$schema": DRAFT, "$id": f"urn:rigsync:schema:{name}", "title": name,
            **_object(properties, description)}


_DEVICE: Final = _str("Device id, as in the rig file.")
_HOST: Final = _str("The host, as named in the rig file.")
_STREAM: Final = _str("Stream name within the device (`color`, `depth`, `ir`, ...), as in the rig file.")
_SEQ: Final = _int("The device's frame counter of the stream, unwrapped (0 at the stream's first frame; it "
                   "restarts at 0 when the device reconnects). A gap means frames lost before the host.")
_DEVICE_TS: Final = _int("Device clock, ns: the device's own timestamp of the frame, unwrapped to 64 bits.")
_HOST_RX: Final = _int("The receiving host's CLOCK_MONOTONIC (never stepped), ns: when the frame reached the host.")
_ERROR_BOUND: Final = _int(
    "ns: bound on |`rig_time_ns` - true start of exposure| on the rig's timeline (the PTP reference, minus the "
    "correction the step schedule on `/rigsync/steps` still holds back while a step of the reference is held or "
    "slewed, the same for every stamp of the rig).")
_MEMBER_RIG: Final = _int(
    "Rig clock, ns: the frame's stamp, its estimated start of exposure (first row for a rolling shutter); the "
    "frame's image on `/<device>/<stream>/image` has it as `log_time`.")


def _time_flags(what: str) -> dict[str, Any]:
    return _flags(_flag_names(TimeFlags), (
        f"How far {what} can be trusted beyond its bound: `acquiring` (the device's clock mapping is still being "
        "acquired), `slewing` (a clock step is being absorbed: a step of the reference held or slewed, or a device "
        "mapping converging), `host_unsynced` (the host is tied to the reference by nothing), `ptp_unlocked` (the "
        "host had no PTP lock: holdover), `ptp_warn` / `ptp_error` (the host's PTP offset was beyond its group's "
        "levels, or - `ptp_error` - its clock, locked, did not show a registered step of the reference after the "
        "hold)."))


_BASE: Final = ("Base timeline (the reference with the registered steps taken out: rig time is base time plus each "
                "step's applied part), ns")

FRAME_JSON_SCHEMA: Final[dict[str, Any]] = _schema(FRAME_SCHEMA, (
    "`/rigsync/frames`: one recorded frame's stamps, written with its image (every recorded frame has one, in a "
    "frameset or not)."), {
    "device": _DEVICE,
    "stream": _STREAM,
    "seq": _SEQ,
    "rig_time_ns": _int("Rig clock, ns: the estimated start of exposure (first row for a rolling shutter); the "
                        "`log_time` of the frame's image and of this message."),
    "error_bound_ns": _ERROR_BOUND,
    "locked": _t("boolean", "False while the device's clock is still being acquired or a clock step absorbed."),
    "device_ts_ns": _DEVICE_TS,
    "host_rx_ns": _HOST_RX,
    "exposure_ns": _opt_int("ns: the exposure time as the device reports it; null when it reports none."),
    "flags": _flags(_flag_names(FrameFlags), (
        "Conditions the driver observed: `corrupt` (transport damage), `interfered` (a ToF depth frame whose "
        "laser overlapped another camera's), `after_reconnect` (the first frames after the device reconnected: "
        "its clock restarted).")),
    "time_flags": _time_flags("the stamp"),
})

FRAMESET_JSON_SCHEMA: Final[dict[str, Any]] = _schema(FRAMESET_SCHEMA, (
    "`/rigsync/framesets`: the frames of all streams taken at the same moment, and the streams that were due "
    "but have no frame in it. A stream's reference time of a frame is its `rig_time_ns` minus the stream's "
    "declared offset (docs/recording.md, \"Frameset times\")."), {
    "frameset_id": _int("Sets are numbered 0, 1, 2, ... in the order they were decided, which is the order "
                        "they are written."),
    "rig_time_ns": _int(
        "Rig clock, ns: the set's instant, the midpoint (rounded down to the ns) of the earliest and latest "
        "reference times of the frames the set took, a frame then left out as `corrupt` included; while a step "
        "of the reference is held or slewed, taken on the base timeline and mapped back to rig time. The "
        "`log_time` of this message."),
    "spread_ns": _int(
        "ns (a duration on the rig clock): the latest minus the earliest reference time of the `members`, "
        "that is the set's residual skew with the declared delays removed; 0 with fewer than two members."),
    "members": _array_of({
        "device": _DEVICE,
        "stream": _STREAM,
        "seq": _SEQ,
        "rig_time_ns": _MEMBER_RIG,
        "device_ts_ns": _DEVICE_TS,
        "host_rx_ns": _HOST_RX,
        "error_bound_ns": _ERROR_BOUND,
    }, "The frames in the set, at most one per stream (as on `/rigsync/frames`)."),
    "missing": _array_of({
        "device": _DEVICE,
        "stream": _STREAM,
        "reason": _enum([reason.value for reason in MissingReason],
                        "Why the stream has no frame in the set (the table below)."),
    }, "The streams that were due in the set and have no frame in it, each with its reason."),
})

TRUTH_JSON_SCHEMA: Final[dict[str, Any]] = _schema(TRUTH_SCHEMA, (
    "`/rigsync/sim/truth` (simulator only): the true exposure window of one frame a device exposed, delivered "
    "or not."), {
    "device": _DEVICE,
    "stream": _STREAM,
    "seq": _SEQ,
    "exposure_start_ns": _int("True time (the simulator's timeline, not rig time), ns: start of exposure of the "
                              "first image row. The `log_time` of this message."),
    "exposure_end_ns": _int("True time, ns: end of exposure of the first image row."),
    "trigger_id": _t(["string", "null"], "`<sync group>/<trigger number>` of the trigger that exposed the frame; "
                                         "null for a frame no trigger timed."),
    "delivered": _t("boolean", "The frame reached its host."),
    "lost": _enum(["dropped", "disconnected"], (
        "Why an undelivered frame never reached the host: `dropped` on the device or its link, `disconnected`; "
        "null when delivered."), nullable=True),
})

_PTP_SAMPLE: Final[dict[str, Any]] = {
    "host": _HOST,
    "host_ns": _int("The host's system clock (CLOCK_REALTIME), ns: the instant the offset refers to (the last "
                    "Sync's ingress with software timestamping, else the time of the reading)."),
    "mono_ns": _int("The host's CLOCK_MONOTONIC, ns, at the same instant (the clock rigsync maps to rig time: it "
                    "never steps)."),
    "port_state": _enum([s.value for s in PortState], "ptp4l's port state (PORT_DATA_SET portState)."),
    "offset_ns": _opt_int("ns: ptp4l's offsetFromMaster, the clock ptp4l steers (the NIC's PHC with hardware "
                          "timestamping, the system clock with software timestamping) minus the master's; null "
                          "without a master."),
    "mean_path_delay_ns": _opt_int("ns: ptp4l's meanPathDelay to the master; null without a master."),
    "gm_identity": _t(["string", "null"], "The grandmaster's clock identity; null when none is known."),
    "gm_present": _t("boolean", "ptp4l sees a grandmaster."),
    "sys_offset_ns": _opt_int("ns: with hardware timestamping, the system clock minus the PHC (phc2sys's offset); "
                              "null with software timestamping. The system clock's offset from the master is "
                              "`offset_ns` + `sys_offset_ns`."),
    "steps_removed": _opt_int("PTP stepsRemoved (hops to the grandmaster); null when not reported."),
    "ingress_ns": _opt_int("The clock ptp4l runs, ns: TIME_STATUS_NP ingress_time, the last Sync's arrival "
                           "(identifies the Sync); null when not reported."),
}

PTP_SAMPLE_JSON_SCHEMA: Final[dict[str, Any]] = _schema(PTP_SAMPLE_SCHEMA, (
    "`/rigsync/linuxptp/<host>`: one real linuxptp reading of a host of simulated devices, observed only (no "
    "timebase uses it: no rig time, bound or level)."), _PTP_SAMPLE)

_MODE: Final = _enum([m.value for m in PtpMode], (
    "How the host uses the PTP reference: `discipline` (ptp4l and phc2sys steer its clock), `observe` (ptp4l "
    "only measures; rigsync maps the host's clock itself); null for a host that is not a PTP slave."),
    nullable=True)
_LEVEL: Final = _enum([level.value for level in SyncLevel], "The host's PTP health against its group's levels.")

PTP_JSON_SCHEMA: Final[dict[str, Any]] = _schema(PTP_SCHEMA, (
    "`/rigsync/ptp/<host>`: one PTP sample of the host (what pmc reported, or the simulator's model of ptp4l), "
    "with where it put the host."), {
    **_PTP_SAMPLE,
    "mode": _MODE,
    "rig_ns": _int("Rig clock, ns: the sample's instant (`mono_ns` mapped to rig time). The `log_time` of this "
                   "message."),
    "bound_ns": _int("ns: the host's bound on |rig time - reference| at that instant."),
    "level": _LEVEL,
    "flags": _time_flags("`rig_ns`"),
})

STEP_JSON_SCHEMA: Final[dict[str, Any]] = _schema(STEP_SCHEMA, (
    "`/rigsync/steps`: one event of a step of the PTP reference, with the whole schedule so far."), {
    "event": _enum(STEP_EVENTS, (
        "`registered` (a clock found a step nobody had registered), `confirmed` (a clock's readings show it "
        "coming, e.g. a slave's servo about to step by it), `seen` (a clock's readings have taken it).")),
    "index": _int("The step's number in `schedule` (0, 1, ...)."),
    "clock": _str("The clock of the event: a host, or `<device>/<stream>` for a PTP camera."),
    "at_base_ns": _int(f"{_BASE}: when."),
    "jump_ns": _int("ns: the jump that clock measured (reference after minus before)."),
    "rig_ns": _int("Rig clock, ns: `at_base_ns` in rig time. The `log_time` of this message."),
    "schedule": _array_of({
        "index": _int("The step's number (0, 1, ... in order)."),
        "at_base_ns": _int("Base timeline, ns: the step's instant."),
        "step_ns": _int("ns: the reference after minus before."),
        "hold_ns": _int("ns: how long rig time holds its timeline after the step, before it slews."),
        "rate": _t("number", "Slew rate: ns of correction per ns of base time (0.1)."),
        "bound_ns": _int("ns: how far `step_ns` may be off the true step."),
        "found_by": _str("The host or `<device>/<stream>` that registered it."),
        "slew_from_base_ns": _int("Base timeline, ns: when the slew starts (`at_base_ns` + `hold_ns`)."),
        "done_base_ns": _int("Base timeline, ns: when rig time has taken the whole step."),
    }, "Every step registered so far, in order."),
})

DEVICE_EVENT_JSON_SCHEMA: Final[dict[str, Any]] = _schema(DEVICE_EVENT_SCHEMA, (
    "`/rigsync/events`: a device disconnected or reconnected, as the capture learned of it."), {
    "device": _DEVICE,
    "kind": _enum(EVENT_KINDS[:2], "What happened."),
    "rig_ns": _int("Rig clock, ns: when (`host_ns` mapped to rig time). The `log_time` of this message."),
    "host_ns": _int("The device's host's CLOCK_MONOTONIC, ns: when the host learned of it."),
    "reason": _str("What happened, when the driver says more than the kind (for a device on another host whose "
                   "agent went silent or came back: naming the host and how long it was silent); else empty."),
})

AGENT_EVENT_JSON_SCHEMA: Final[dict[str, Any]] = _schema(AGENT_EVENT_SCHEMA, (
    "`/rigsync/agent/events` (an agent's spill file only): a device event the agent spilled instead of sending "
    "it."), {
    "device": _DEVICE,
    "kind": _enum(EVENT_KINDS, "What happened; `overrun`: the driver's queue dropped `count` frames."),
    "host_ns": _int("The agent's host's CLOCK_MONOTONIC, ns: when it learned of it."),
    "stream": _t(["string", "null"], "The stream of an overrun, when the driver knows it; else null."),
    "seq": _opt_int("The first frame counter an overrun lost, when the driver knows it; else null."),
    "count": _int("Frames an overrun lost (0 for a disconnect or reconnect)."),
})

_POINT: Final = {"type": "array", "items": {"type": "number"}, "minItems": 3, "maxItems": 3}

LEDCLOCK_JSON_SCHEMA: Final[dict[str, Any]] = _schema(LEDCLOCK_SCHEMA, (
    "`/rigsync/sim/ledclock` (simulator with `[sim.ledclock]` only): the simulated LED clock's truth, for tests "
    "(the pipeline and `rigsync verify` never read it)."), {
    "board": _str("The board's name."),
    "board_file": _str("The board file's path."),
    "offset_ns": _int("Board clock, ns: the board's time at the simulation's start."),
    "drift_ppm": _t("number", "ppm: how fast the board clock runs against true time."),
    "epoch_true_ns": _int("True time, ns: the simulation's start."),
    "board_ns": _str("The formula of the board time of a true instant: `offset_ns + t + round(t * drift_ppm * "
                     "1e-6)` with `t = true_ns - epoch_true_ns`."),
    "center_m": _t("array", "World frame, metres: the lantern's centre (x, y, z).", items={"type": "number"},
                   minItems=3, maxItems=3),
    "faces": _t("object", (
        "World frame, metres: each face that carries a board, keyed by the direction it looks towards (`-y`, `+x`, "
        "`+y`, `-x`), with its corners (top-left, top-right, bottom-right, bottom-left as printed), each (x, y, z)."),
        propertyNames={"enum": list(LEDCLOCK_FACES)},
        additionalProperties={"type": "array", "items": _POINT, "minItems": 4, "maxItems": 4}),
})

_PTP_STATUS: Final = _object({
    "host": _HOST,
    "role": _enum([r.value for r in HostRole], (
        "How its clock relates to rig time: `reference` (it is the rig clock), `ptp` (a PTP slave), "
        "`unsynced` (tied to nothing).")),
    "mode": _MODE,
    "level": _LEVEL,
    "reason": _str("The level's reason, in words."),
    "port_state": _enum([s.value for s in PortState], "ptp4l's port state; null before any sample.",
                        nullable=True),
    "offset_ns": _opt_int("ns: the last measured system-clock offset from the master (host minus master); null "
                          "without one."),
    "mean_path_delay_ns": _opt_int("ns: the last meanPathDelay; null without one."),
    "gm_identity": _t(["string", "null"], "The grandmaster's clock identity; null when none is known."),
    "quality_ns": _opt_int("ns: what is held against the levels: the largest recent |offset| (discipline) or "
                           "the fit residual plus the slew still to come (observe); null before any sample."),
    "bound_ns": _opt_int("ns: the host's bound on |rig time - reference| now; null when it has none."),
    "samples": _int("PTP samples received from the host."),
    "last_sample_age_ns": _opt_int("ns on the host's CLOCK_MONOTONIC: the age of its latest sample; null "
                                   "before any."),
    "steps": _int("Steps of the reference the host has seen."),
    "step_ns": _opt_int("ns: a step of the reference in progress: its size (reference after minus before); null "
                        "when none is."),
    "step_phase": _enum(STEP_PHASES, "Where rig time is in following that step; null when none is in progress.",
                        nullable=True),
    "step_left_ns": _opt_int("ns: reference minus rig time still to be slewed (or held) for that step; null when "
                             "none is in progress."),
}, "The host's PTP status (as in `rigsync.stats` `hosts`); null for a host the rig ties to nothing.", nullable=True)

_OPT_BEAT: Final = "; null before the agent's first heartbeat, and for the local host."

HOST_STATUS_JSON_SCHEMA: Final[dict[str, Any]] = _schema(HOST_STATUS_SCHEMA, (
    "`/rigsync/hosts/<host>` (a capture across hosts only): a host's link as the capture sees it and its PTP "
    "status, about once a second and once after the last frame."), {
    "host": _HOST,
    "state": _enum(LINK_STATES, (
        "`up` (a frame or heartbeat arrived within the last second), `silent` (none for `silent_s` seconds), "
        "`never` (none yet), `local` (the capture's own host, whose devices it reads directly).")),
    "silent_s": _t(["number", "null"], "Seconds on the capture host's CLOCK_MONOTONIC since the last frame or "
                                       "heartbeat from the host; null if never heard, and for the local host."),
    "frames_per_s": _t("number", "Frames received in the last second."),
    "mb_per_s": _t("number", "MB (10^6 bytes) received in the last second: a remote host's frame messages as they "
                             "came over the network, header included; the local host's image bytes."),
    "frames_received": _int("Frames received since the capture subscribed, warm-up included."),
    "bytes_received": _int("Bytes received since the capture subscribed, warm-up included."),
    "receiving_s": _t("number", "Seconds from the first frame received to the last."),
    "mean_frames_per_s": _t("number", "Frames received after the first, per second of `receiving_s`."),
    "mean_mb_per_s": _t("number", "MB (10^6 bytes) received after the first frame, per second of `receiving_s`."),
    "malformed": _int("Messages from the host that did not decode, or came on a key the rig does not declare."),
    "heartbeats": _int("Heartbeats received from the host's agent."),
    "queue_depth": _opt_int("Messages waiting in the agent's send queue" + _OPT_BEAT),
    "queue_bytes": _opt_int("Bytes waiting in the agent's send queue" + _OPT_BEAT),
    "frames_sent": _opt_int("Frames the agent sent" + _OPT_BEAT),
    "frames_spilled": _opt_int("Frames the agent wrote to its local spill file" + _OPT_BEAT),
    "frames_dropped": _opt_int("Frames that reached neither the network nor the spill file" + _OPT_BEAT),
    "mono_ns": _int("The capture host's CLOCK_MONOTONIC, ns: when these values held."),
    "ptp": _PTP_STATUS,
})

JSON_SCHEMAS: Final[dict[str, dict[str, Any]]] = {s["title"]: s for s in (
    FRAMESET_JSON_SCHEMA, TRUTH_JSON_SCHEMA, FRAME_JSON_SCHEMA, HOST_STATUS_JSON_SCHEMA, PTP_JSON_SCHEMA,
    PTP_SAMPLE_JSON_SCHEMA, STEP_JSON_SCHEMA, DEVICE_EVENT_JSON_SCHEMA, AGENT_EVENT_JSON_SCHEMA,
    LEDCLOCK_JSON_SCHEMA)}
"""Every JSON Schema of a recording, by name."""

TOPIC_SCHEMAS: Final[tuple[tuple[str, str], ...]] = (
    ("/rigsync/framesets", FRAMESET_SCHEMA),
    ("/rigsync/frames", FRAME_SCHEMA),
    ("/rigsync/sim/truth", TRUTH_SCHEMA),
    ("/rigsync/sim/ledclock", LEDCLOCK_SCHEMA),
    ("/rigsync/hosts/", HOST_STATUS_SCHEMA),
    ("/rigsync/ptp/", PTP_SCHEMA),
    ("/rigsync/linuxptp/", PTP_SAMPLE_SCHEMA),
    ("/rigsync/steps", STEP_SCHEMA),
    ("/rigsync/events", DEVICE_EVENT_SCHEMA),
    ("/rigsync/agent/events", AGENT_EVENT_SCHEMA),
)
"""The schema of each JSON topic rigsync writes: a topic, or a prefix ending in ``/`` followed by a host."""


def topic_schema(topic: str) -> str | None:
    """The schema of a JSON topic rigsync writes (:data:`TOPIC_SCHEMAS`); None for any other topic."""
    for name, schema in TOPIC_SCHEMAS:
        if not name.endswith("/"):
            if topic == name:
                return schema
        elif topic.startswith(name) and topic[len(name):] and "/" not in topic[len(name):]:
            return schema
    return None


def json_schema_bytes(schema: dict[str, Any]) -> bytes:
    """A schema as stored in the file: compact UTF-8 JSON."""
    return json.dumps(schema, separators=(",", ":")).encode()
