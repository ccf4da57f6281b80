"""Every host of a capture across hosts in its status, summary and recording: host b's agent on loopback, host a's
capture in the test; what the capture shows of each host's link is what it received, by the recording's count."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from foxglove_schemas_protobuf.RawImage_pb2 import RawImage
from mcap.reader import make_reader
from tests.capture.conftest import read_contract

pytest.importorskip("zenoh")

from tests.cli.rendered import rows, text
from tests.net.test_agent import TWO_HOSTS, agent, client

from rigsync.capture.session import CaptureOptions, CaptureSession
from rigsync.capture.status import CaptureStatus
from rigsync.cli.view import hosts_table, info_tables, result_summary
from rigsync.net.link import LinkState
from rigsync.net.router import open_capture_drivers, remote_drivers
from rigsync.net.wire import FRAME_HEADER
from rigsync.net.zenoh_session import open_session
from rigsync.plan import build_plan
from rigsync.record.reader import open_recording
from rigsync.spec import load_rig

HOSTS_OF = {"k0": "a", "k1": "b", "web": "b", "cam": "b"}


def _host_messages(out: Path) -> dict[str, list[dict[str, Any]]]:
    by_host: dict[str, list[dict[str, Any]]] = {}
    with out.open("rb") as f:
        reader = make_reader(f)
        summary = reader.get_summary()
        assert summary is not None
        schemas = {c.topic: summary.schemas[c.schema_id].name for c in summary.channels.values()
                   if c.topic.startswith("/rigsync/hosts/")}
        assert schemas == {"/rigsync/hosts/a": "rigsync.HostStatus", "/rigsync/hosts/b": "rigsync.HostStatus"}
        for _, channel, message in reader.iter_messages(topics=list(schemas)):
            by_host.setdefault(channel.topic.rsplit("/", 1)[1], []).append(json.loads(message.data))
    return by_host


def _frame_sizes(out: Path) -> dict[tuple[str, str], tuple[int, int]]:
    """Per stream: its image's bytes, and its frame message's size on the wire (header, names, encoding, image)."""
    sizes: dict[tuple[str, str], tuple[int, int]] = {}
    with out.open("rb") as f:
        for _, channel, message in make_reader(f).iter_messages():
            if channel.topic.endswith("/image"):
                device, stream = channel.topic.split("/")[1:3]
                if (device, stream) not in sizes:
                    image = RawImage.FromString(message.data)
                    names = len(device) + len(stream) + len(image.encoding.encode())
                    sizes[(device, stream)] = (len(image.data), FRAME_HEADER.size + 3 * 2 + names + len(image.data))
    return sizes


def test_status_summary_and_recording_show_each_hosts_link_as_received(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each host's link as received, by the recording: frames and bytes received = its recorded frames plus warm-up
    (bytes: b's frame messages on the wire, a's images); b's agent sent exactly those (its heartbeats), whose queue
    and counters are shown; each recorded frames/s and MB/s are the frames b's link counted in that second; each
    host's PTP status is recorded with it; the live table, the summary and info show both hosts."""
    rig = load_rig(TWO_HOSTS)
    plan = build_plan(rig)
    origin = time.clock_gettime_ns(time.CLOCK_REALTIME)
    out = tmp_path / "two.mcap"
    statuses: list[CaptureStatus] = []
    with agent(TWO_HOSTS, "b", origin) as endpoint, open_session(client(endpoint)) as session:
        drivers = open_capture_drivers(rig, plan, session, "a", origin_realtime_ns=origin)
        links = remote_drivers(drivers)
        assert [r.host for r in links] == ["b"]
        arrivals: list[tuple[int, int]] = []  # (rx_ns, bytes) of each frame message b's link counted, in order
        count = links[0]._link.frame
        monkeypatch.setattr(links[0]._link, "frame", lambda size, rx_ns: (arrivals.append((rx_ns, size)),
                                                                           count(size, rx_ns)))
        options = CaptureOptions(out=out, seconds=3.0, force=True, status_interval_s=0.25)
        with CaptureSession(plan, options, drivers=drivers, links=links) as capture:
            result = capture.run(on_status=statuses.append)
        last_beat = links[0]._heartbeat[0]  # type: ignore[index]
        beats = links[0].link_status().heartbeats
        deadline = time.monotonic() + 10
        while links[0].link_status().heartbeats < beats + 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        fresh = links[0].link_status()  # the agent's counters since the capture ended (two heartbeats later)
    assert result.error is None

    rec = read_contract(out)
    recorded = Counter((f["device"], f["stream"]) for f in rec.frames)
    warmup = {tuple(k.split("/")): v["dropped"].get("warmup", 0) for k, v in rec.stats.items() if "/" in k}
    received = {key: recorded[key] + warmup[key] for key in warmup}
    sizes = _frame_sizes(out)
    final = {link.host: link for link in result.status.links}
    assert [link.host for link in result.status.links] == ["a", "b"]
    a, b = final["a"], final["b"]
    assert (a.state, b.state) == (LinkState.LOCAL, LinkState.UP)
    assert a.frames_received == sum(n for k, n in received.items() if HOSTS_OF[k[0]] == "a")
    assert a.bytes_received == sum(n * sizes[k][0] for k, n in received.items() if HOSTS_OF[k[0]] == "a")
    assert b.frames_received == sum(n for k, n in received.items() if HOSTS_OF[k[0]] == "b") > 200
    assert b.bytes_received == sum(n * sizes[k][1] for k, n in received.items() if HOSTS_OF[k[0]] == "b")
    assert fresh.frames_sent == b.frames_received  # loopback: every frame the agent sent arrived
    assert (b.queue_depth, b.queue_bytes, b.frames_sent, b.frames_spilled, b.frames_dropped) == (
        last_beat.queue_depth, last_beat.queue_bytes, last_beat.frames_sent, last_beat.frames_spilled,
        last_beat.frames_dropped)
    assert b.malformed == 0 and b.heartbeats >= 10

    messages = _host_messages(out)
    assert messages["b"][-1] == {**b.to_json(), "ptp": messages["b"][-1]["ptp"]}
    assert rec.stats["links"] == [a.to_json(), b.to_json()]
    assert len(messages["b"]) >= 2  # at the start, about once a second, and at the end
    for host in ("a", "b"):
        ptp = messages[host][-1]["ptp"]
        final_ptp = next(h for h in rec.stats["hosts"] if h["host"] == host)
        assert {k: ptp[k] for k in ("role", "mode", "level", "port_state")} == {
            k: final_ptp[k] for k in ("role", "mode", "level", "port_state")}
    assert messages["b"][-1]["ptp"]["port_state"] == "SLAVE"

    # Each recorded second's rates: exactly the frame messages b's link counted in that second.
    assert sum(n for _, n in arrivals) == b.bytes_received and len(arrivals) == b.frames_received
    assert b.receiving_s == (arrivals[-1][0] - arrivals[0][0]) / 1e9
    for m in messages["b"]:
        second = [n for t, n in arrivals if m["mono_ns"] - 1_000_000_000 < t <= m["mono_ns"]]
        assert (m["frames_per_s"], m["mb_per_s"]) == (len(second), pytest.approx(sum(second) / 1e6, rel=1e-12)), m
    assert any(m["frames_per_s"] > 0 for m in messages["b"])  # (not only empty seconds)

    live = next(s for s in reversed(statuses[:-1]) if s.links and s.links[1].frames_per_s > 0)
    cells = rows(text(hosts_table(live)))
    la, lb = live.links
    assert cells["a"][:6] == ["local", f"{la.frames_per_s:,.0f}", f"{la.mb_per_s:,.1f}", "-", "-", "-"]
    assert cells["b"][:6] == ["up", f"{lb.frames_per_s:,.0f}", f"{lb.mb_per_s:,.1f}",
                             f"{lb.queue_depth:,} ({(lb.queue_bytes or 0) / 1e6:,.1f} MB)",
                             f"{lb.frames_spilled:,}/{lb.frames_dropped:,}", "0"]
    assert cells["b"][6:8] == ["ptp (discipline)", "SLAVE"] and cells["a"][6:8] == ["reference", "MASTER"]
    summary = rows(text(result_summary(result)))
    assert summary["host a"][0].startswith(f"local; {a.frames_received:,} frames, {a.bytes_received / 1e6:,.1f} MB "
                                           f"received ({a.mean_frames_per_s:,.1f} frames/s")
    assert summary["host b"][0].startswith(f"up; {b.frames_received:,} frames, {b.bytes_received / 1e6:,.1f} MB "
                                           f"received ({b.mean_frames_per_s:,.1f} frames/s, {b.mean_mb_per_s:,.1f} "
                                           f"MB/s); agent sent {b.frames_sent:,}, spilled {b.frames_spilled:,}, "
                                           f"dropped {b.frames_dropped:,}")
    b_ptp = next(h for h in rec.stats["hosts"] if h["host"] == "b")
    assert summary["host b"][0].endswith(f"; clock {b_ptp['level']}: {b_ptp['reason']}")
    with open_recording(out) as recording:
        info = text(info_tables(recording.summary(), recording.metadata)[-1])
    assert "host links (totals of the capture)" in info
    assert rows(info)["b"][:2] == ["up", f"{b.frames_received:,}"]
