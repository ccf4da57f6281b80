"""A capture's recording in log-time order, published on the rig clock, its host times kept in the stamps."""

from __future__ import annotations

import json
from pathlib import Path

from mcap.reader import make_reader
from tests.capture.conftest import read_contract

from rigsync.capture.session import CaptureOptions, CaptureSession
from rigsync.plan import build_plan
from rigsync.record.reader import open_recording
from rigsync.spec import load_rig

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_a_capture_is_in_log_time_order_and_published_at_each_frames_arrival_in_rig_time(tmp_path: Path) -> None:
    """Single-host simulator capture: no log time goes back in file order and nothing was written late; every
    image (and camera_info) is published at its frame's arrival in rig time: after its true end of exposure, and
    its host_rx_ns moved by the host's one offset to the rig clock (never the host clock: no 1970 dates); the
    stamps are published at their log time; the reader gives host_rx_ns from the stamp, unchanged."""
    out = tmp_path / "rec.mcap"
    plan = build_plan(load_rig(EXAMPLES / "kinect_star.toml"))
    with CaptureSession(plan, CaptureOptions(out=out, seconds=1.5, fast=True)) as capture:
        assert capture.run().error is None
    contract = read_contract(out)
    assert contract.stats["file_order_regressions"] == 0 and contract.stats["recorder"]["late_messages"] == 0
    stamps, truth, published = {}, {}, {}
    with out.open("rb") as f:
        for _, channel, m in make_reader(f).iter_messages(log_time_order=False):
            topic = channel.topic
            if topic == "/rigsync/frames":
                p = json.loads(m.data)
                stamps[(p["device"], p["stream"], p["seq"])] = p
                assert m.publish_time == m.log_time == p["rig_time_ns"]
            elif topic == "/rigsync/sim/truth":
                p = json.loads(m.data)
                truth[(p["device"], p["stream"], p["seq"])] = p
            elif topic.endswith(("/image", "/camera_info")):
                device, stream, kind = topic.split("/")[1:]
                published.setdefault(kind, {})[(device, stream, m.sequence)] = m.publish_time
    assert published["image"] == published["camera_info"] and len(published["image"]) > 100
    offsets = set()
    for key, publish_ns in published["image"].items():
        stamp, t = stamps[key], truth[key]
        assert t["exposure_end_ns"] - stamp["error_bound_ns"] <= publish_ns, key  # arrived after its exposure
        offsets.add(publish_ns - stamp["host_rx_ns"])
    assert len(offsets) == 1 and offsets.pop() > 10**18  # one host, one offset from its clock to the rig's (2026)
    with open_recording(out) as rec:
        images = list(rec.images_of([(s.device, s.stream) for s in rec.streams]))
    assert len(images) == len(published["image"])
    for image in images:
        key = (image.device, image.stream, image.seq)
        assert image.host_rx_ns == stamps[key]["host_rx_ns"] and image.rig_rx_ns == published["image"][key]
