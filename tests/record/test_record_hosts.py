"""``/rigsync/hosts/<host>``: a capture across hosts' per-host status, JSON with the ``rigsync.HostStatus`` schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from mcap.reader import make_reader

from rigsync.capture.report import host_status_json
from rigsync.core.errors import RecordingError
from rigsync.core.ptp import HostRole, SyncLevel
from rigsync.net.link import LinkStats
from rigsync.net.messages import Heartbeat
from rigsync.record.recorder import Compression, Recorder, RecorderConfig
from rigsync.timebase.host import HostSyncStatus

S = 1_000_000_000


def _payloads() -> list[dict[str, object]]:
    b = LinkStats("b")
    b.frame(1_000, S)
    b.heartbeat(Heartbeat("0.1", "r", "p", "b", 1, 0, 0, queue_depth=2, queue_bytes=3, frames_sent=4,
                          frames_spilled=5, frames_dropped=6), S)
    sync = HostSyncStatus("b", HostRole.REFERENCE, None, SyncLevel.OK, "the rig's reference clock")
    return [host_status_json(b.status(2 * S), sync), host_status_json(LinkStats("c").status(3), None)]


def test_each_host_gets_its_channel_and_the_schema_is_written_once_and_only_when_used(tmp_path: Path) -> None:
    """Two hosts' statuses: one channel each on /rigsync/hosts/<host>, one rigsync.HostStatus JSON Schema that
    both payloads validate against (PTP status or null, heartbeat fields or null); a recording without host status
    has no such schema."""
    path = tmp_path / "hosts.mcap"
    b, c = _payloads()
    with Recorder(path, RecorderConfig(compression=Compression.NONE), rig_toml="", rig_path="") as rec:
        rec.write_host_status("b", b, 10)
        rec.write_host_status("c", c, 11)
        rec.write_host_status("b", b, 12)
    with path.open("rb") as f:
        reader = make_reader(f)
        summary = reader.get_summary()
        assert summary is not None
        [schema] = [s for s in summary.schemas.values() if s.name == "rigsync.HostStatus"]
        assert schema.encoding == "jsonschema"
        got = [(ch.topic, m.log_time, json.loads(m.data)) for _, ch, m in reader.iter_messages()]
    assert got == [("/rigsync/hosts/b", 10, b), ("/rigsync/hosts/c", 11, c), ("/rigsync/hosts/b", 12, b)]
    for payload in (b, c):
        jsonschema.validate(payload, json.loads(schema.data))
    assert b["queue_depth"] == 2 and b["ptp"]["level"] == "ok" and c["ptp"] is None and c["state"] == "never"
    plain = tmp_path / "plain.mcap"
    with Recorder(plain, RecorderConfig(), rig_toml="", rig_path=""):
        pass
    with plain.open("rb") as f:
        summary = make_reader(f).get_summary()
    assert summary is not None and "rigsync.HostStatus" not in {s.name for s in summary.schemas.values()}


def test_a_host_name_that_cannot_be_a_topic_level_is_refused(tmp_path: Path) -> None:
    """A host name with a slash would make another topic: refused, naming the recording and the name."""
    with Recorder(tmp_path / "x.mcap", RecorderConfig(), rig_toml="", rig_path="") as rec, \
            pytest.raises(RecordingError, match="host name 'a/b' cannot be a topic level"):
        rec.write_host_status("a/b", _payloads()[1], 1)
