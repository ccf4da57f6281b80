"""A recording's channels held to their schemas, as an independent reader sees them (the plain ``mcap`` library and
``jsonschema``): used on the recordings the capture, merge and multi-host tests make."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from mcap.reader import make_reader

from rigsync.record.json_schemas import JSON_SCHEMAS, json_schema_bytes, topic_schema

_PROTOBUF = {"image": "foxglove.RawImage", "camera_info": "foxglove.CameraCalibration"}


def schema_problems(path: Path) -> list[str]:
    """Every channel has a schema: ``/<device>/<stream>/image`` and ``camera_info`` their Foxglove protobuf ones,
    every JSON channel the JSON Schema of its topic (``topic_schema``), stored as rigsync defines it; and every JSON
    message validates against its channel's schema as stored in the file. Returns each problem found (the first 3 per
    channel)."""
    problems: list[str] = []
    with path.open("rb") as f:
        reader = make_reader(f)
        summary = reader.get_summary()
        assert summary is not None, f"{path}: no summary"
        validators: dict[int, Draft202012Validator] = {}
        for channel in summary.channels.values():
            schema = summary.schemas.get(channel.schema_id)
            where = f"{path.name} {channel.topic}"
            if schema is None:
                problems.append(f"{where}: no schema (schema id {channel.schema_id})")
                continue
            if channel.message_encoding == "protobuf":
                want = _PROTOBUF.get(channel.topic.rsplit("/", 1)[-1])
                if (schema.name, schema.encoding) != (want, "protobuf"):
                    problems.append(f"{where}: schema {schema.name} ({schema.encoding}), not {want}")
                continue
            name = topic_schema(channel.topic)
            if channel.message_encoding != "json" or (schema.name, schema.encoding) != (name, "jsonschema"):
                problems.append(f"{where}: {channel.message_encoding} with schema {schema.name} ({schema.encoding}), "
                                f"not json with {name}")
                continue
            if schema.data != json_schema_bytes(JSON_SCHEMAS[name]):
                problems.append(f"{where}: the stored {name} is not rigsync's")
            validators[channel.id] = Draft202012Validator(json.loads(schema.data))
        failed: dict[int, int] = {}
        topics = [summary.channels[i].topic for i in validators]
        for _, channel, message in reader.iter_messages(topics=topics, log_time_order=False):
            errors = [e.message for e in validators[channel.id].iter_errors(json.loads(message.data))]
            if errors:
                failed[channel.id] = failed.get(channel.id, 0) + 1
                if failed[channel.id] <= 3:
                    problems.append(f"{path.name} {channel.topic} message at {message.log_time}: {errors}")
    return problems


def channel_schemas(path: Path) -> dict[str, Any]:
    """Each topic's schema name (None: schemaless)."""
    with path.open("rb") as f:
        summary = make_reader(f).get_summary()
    assert summary is not None
    return {c.topic: (s.name if (s := summary.schemas.get(c.schema_id)) else None) for c in summary.channels.values()}
