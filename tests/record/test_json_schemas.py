"""The JSON Schemas of the recording's JSON channels: valid, every property described, every JSON form rigsync writes
valid against its schema and a misspelled field not; write_json takes a schema by name and refuses a wrong one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from tests.record.schema_check import channel_schemas, schema_problems

from rigsync.capture.clocks import PtpRecord, StepRecord
from rigsync.capture.report import host_status_json
from rigsync.core.errors import RecordingError
from rigsync.core.frame import TimeFlags
from rigsync.core.frameset import FramesetMember, FramesetMissing, FramesetRecord, MissingReason
from rigsync.core.ptp import HostRole, PortState, PtpMode, PtpSample, SyncLevel
from rigsync.core.truth import FrameTruth
from rigsync.drivers.base import EventKind
from rigsync.net.link import LinkState, LinkStats
from rigsync.net.linuxptp import linuxptp_record
from rigsync.record import json_schemas as js
from rigsync.record.recorder import Recorder, RecorderConfig
from rigsync.spec.model import LEDCLOCK_FACES
from rigsync.timebase.host import HostSyncStatus, HostTime
from rigsync.timebase.steps import ReferenceStep, StepEvent, StepPhase, StepSchedule

S = 1_000_000_000


def _properties(schema: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every property of ``schema`` and of the objects in it, by path (``members[].device``)."""
    out = []
    for name, prop in schema.get("properties", {}).items():
        out.append((path + name, prop))
        items = prop.get("items", {})
        out += _properties(prop, f"{path}{name}.") + _properties(items, f"{path}{name}[].")
    return out


def _errors(name: str, payload: Any) -> list[str]:
    return [e.message for e in Draft202012Validator(js.JSON_SCHEMAS[name]).iter_errors(payload)]


@pytest.mark.parametrize("name", list(js.JSON_SCHEMAS))
def test_each_schema_is_draft_2020_12_with_every_property_required_described_and_no_other(name: str) -> None:
    """Each schema is a valid draft 2020-12 schema with ``$id`` and title; each of its objects requires every
    property it declares and allows no other; each property has a description, a time naming its unit."""
    schema = js.JSON_SCHEMAS[name]
    Draft202012Validator.check_schema(schema)
    assert (schema["$schema"], schema["$id"], schema["title"]) == (js.DRAFT, f"urn:rigsync:schema:{name}", name)
    objects = [schema] + [p for _, p in _properties(schema) if "properties" in p] + [
        p["items"] for _, p in _properties(schema) if "properties" in p.get("items", {})]
    for obj in objects:
        assert obj["required"] == list(obj["properties"]) and obj["additionalProperties"] is False, obj
    for path, prop in _properties(schema):
        assert len(prop.get("description", "")) > 10, path
        if path.endswith("_ns"):
            assert "ns" in prop["description"].replace(path.rsplit(".", 1)[-1], ""), path
    assert json.loads(js.json_schema_bytes(schema)) == schema


def test_enums_from_higher_layers_are_those_of_their_code() -> None:
    """The enum values the record layer repeats are the values of the enums they stand for."""
    assert tuple(s.value for s in LinkState) == js.LINK_STATES
    assert tuple(p.value for p in StepPhase) == js.STEP_PHASES
    assert tuple(k.value for k in EventKind) == js.EVENT_KINDS
    assert js.LEDCLOCK_FACES == LEDCLOCK_FACES


def _sample(host: str = "b") -> PtpSample:
    return PtpSample(host, 10 * S, 5 * S, PortState.SLAVE, -7, 1075, "59d8f3.fffe.ec5b13", True, 9, 1, 123)


def _forms() -> dict[str, list[dict[str, Any]]]:
    """Every JSON form rigsync writes, with nulls and without, by schema (the capture tests hold real recordings)."""
    step = ReferenceStep(0, 100 * S, S, 3 * S, 0.1, 5_000, "b")
    schedule = StepSchedule((step,))
    link = LinkStats("b")
    link.frame(1_000, S)
    holding = HostSyncStatus("b", HostRole.PTP, PtpMode.OBSERVE, SyncLevel.WARN, "holding", PortState.SLAVE, 3, 900,
                             "gm", 40, 2_000, 12, 1_000_000, 1, S, StepPhase.HOLDING, S)
    return {
        js.FRAMESET_SCHEMA: [FramesetRecord(1, 2, 3, (FramesetMember("d", "s", 1, 2, 3, 4, 5),),
                                            (FramesetMissing("d", "t", MissingReason.DROPPED),)).to_json(),
                             FramesetRecord(2, 5, 0, (), ()).to_json()],
        js.TRUTH_SCHEMA: [FrameTruth("d", "s", 1, 2, 3, None).to_json(),
                          FrameTruth("d", "s", 1, 2, 3, "g/4", delivered=False, lost="dropped").to_json()],
        js.PTP_SCHEMA: [PtpRecord(_sample(), HostTime(7 * S, 900, TimeFlags.PTP_WARN), SyncLevel.WARN,
                                  PtpMode.DISCIPLINE).to_json(),
                        PtpRecord(PtpSample("a", 1, 2, PortState.LISTENING, None, None, None, False),
                                  HostTime(3, 0, TimeFlags.NONE), SyncLevel.ERROR, None).to_json()],
        js.PTP_SAMPLE_SCHEMA: [linuxptp_record(_sample())[1]],
        js.STEP_SCHEMA: [StepRecord(StepEvent(kind, 0, "cam/color", 100 * S, S), schedule,
                                    HostTime(100 * S, 0, TimeFlags.NONE)).to_json() for kind in js.STEP_EVENTS],
        js.HOST_STATUS_SCHEMA: [host_status_json(link.status(2 * S), holding),
                                host_status_json(LinkStats("c", local=True).status(3), None)],
    }


@pytest.mark.parametrize("name", list(_forms()))
def test_every_json_form_validates_and_a_misspelled_field_does_not(name: str) -> None:
    """Each JSON form rigsync writes validates against its schema; the same with one field misspelled, or one left
    out, does not."""
    for payload in _forms()[name]:
        assert _errors(name, payload) == []
        key = next(iter(payload))
        misspelled = {(k + "x" if k == key else k): v for k, v in payload.items()}
        assert any("additional" in e.lower() for e in _errors(name, misspelled))
        assert any("required" in e for e in _errors(name, {k: v for k, v in payload.items() if k != key}))


def test_each_topic_rigsync_writes_has_its_schema() -> None:
    """Topics map to their schemas, a host's topic by its prefix; other topics (a host level with a ``/``) have
    none."""
    assert js.topic_schema("/rigsync/ptp/vision-1") == js.PTP_SCHEMA
    assert js.topic_schema("/rigsync/linuxptp/b") == js.PTP_SAMPLE_SCHEMA
    assert js.topic_schema("/rigsync/hosts/b") == js.HOST_STATUS_SCHEMA
    assert js.topic_schema("/rigsync/agent/events") == js.AGENT_EVENT_SCHEMA
    assert js.topic_schema("/rigsync/events") == js.DEVICE_EVENT_SCHEMA
    assert {js.topic_schema(t) for t, _ in js.TOPIC_SCHEMAS if not t.endswith("/")} | {
        js.PTP_SCHEMA, js.PTP_SAMPLE_SCHEMA, js.HOST_STATUS_SCHEMA} == set(js.JSON_SCHEMAS)
    for topic in ("/rigsync/ptp/", "/rigsync/ptp/a/b", "/rigsync/status", "/rigsync/framesets/x"):
        assert js.topic_schema(topic) is None, topic


def test_a_wrong_schema_name_is_refused_naming_it_and_what_is_allowed(tmp_path: Path) -> None:
    """write_json with a schema that does not exist (or a protobuf one) raises a RecordingError naming the file, the
    topic, the name and the allowed names, and creates no channel; a topic keeps the schema it was created with."""
    path = tmp_path / "w.mcap"
    event = {"device": "k0", "kind": "disconnected", "rig_ns": 5, "host_ns": 4, "reason": ""}
    with Recorder(path, RecorderConfig(), rig_toml="", rig_path="") as rec:
        for wrong in ("rigsync.DeviceEvents", "foxglove.RawImage"):
            with pytest.raises(RecordingError, match="does not exist") as err:
                rec.write_json("/rigsync/events", event, 5, schema=wrong)
            assert str(err.value).startswith(f"{path}: topic /rigsync/events: JSON schema {wrong!r}")
            assert "allowed: rigsync.Frameset, " in str(err.value) and js.DEVICE_EVENT_SCHEMA in str(err.value)
        rec.write_json("/rigsync/events", event, 5, schema=js.DEVICE_EVENT_SCHEMA)
        with pytest.raises(RecordingError, match=f"has JSON schema {js.DEVICE_EVENT_SCHEMA}, not {js.PTP_SCHEMA}"):
            rec.write_json("/rigsync/events", event, 6, schema=js.PTP_SCHEMA)
    assert channel_schemas(path) == {"/rigsync/framesets": js.FRAMESET_SCHEMA, "/rigsync/frames": js.FRAME_SCHEMA,
                                     "/rigsync/events": js.DEVICE_EVENT_SCHEMA}
    assert schema_problems(path) == []


def test_the_checker_finds_a_misspelled_field_and_a_channel_without_schema(tmp_path: Path) -> None:
    """The recording checker is not blind: a message with a misspelled field fails its channel's schema, and a
    schemaless channel (as rigsync wrote them before) is named."""
    from mcap.writer import Writer

    path = tmp_path / "m.mcap"
    with Recorder(path, RecorderConfig(), rig_toml="", rig_path="") as rec:
        rec.write_json("/rigsync/events", {"device": "k0", "kind": "disconnected", "rig_ns": 5, "host_ns": 4,
                                           "reasons": ""}, 5, schema=js.DEVICE_EVENT_SCHEMA)
    (problem,) = schema_problems(path)
    assert "m.mcap /rigsync/events message at 5:" in problem and "'reasons' was unexpected" in problem
    foreign = tmp_path / "f.mcap"
    with foreign.open("wb") as f:
        writer = Writer(f)
        writer.start()
        channel = writer.register_channel("/rigsync/ptp/a", "json", 0)
        writer.add_message(channel, 1, b"{}", 1)
        writer.finish()
    assert schema_problems(foreign) == ["f.mcap /rigsync/ptp/a: no schema (schema id 0)"]
