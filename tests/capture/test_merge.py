"""``rigsync merge``: a central recording with a window of host b's frames cut out, and host b's spill file (written
by the agent's own :class:`~rigsync.net.spill.SpillFile`) overlapping it, merge back into the whole recording -
held to the simulator's truth by the single-host examples' checker, each frame with its stamps, the framesets
recomputed as the capture made them; frames in no input are named with their reason; bad inputs are named."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.capture.conftest import held_to_truth, read_contract
from tests.record.schema_check import channel_schemas, schema_problems

from rigsync.capture import merge as merge_module
from rigsync.capture.merge import merge_recordings, stamped_frame
from rigsync.capture.options import CaptureOptions
from rigsync.capture.session import CaptureSession
from rigsync.cli.main import main
from rigsync.core.errors import RecordingError
from rigsync.core.frameset import DropReason
from rigsync.core.intrinsics import Intrinsics
from rigsync.drivers.base import DeviceEvent, EventKind
from rigsync.net.spill import SpillFile
from rigsync.plan import build_plan
from rigsync.record.reader import FrameStamp, Recording, open_recording
from rigsync.record.recorder import Recorder, RecorderConfig
from rigsync.spec import load_rig

TWO_HOSTS = Path(__file__).parents[1] / "sim" / "data" / "two_hosts.toml"
B_DEVICES = {"k1", "web", "cam"}
CUT = range(20, 40)
"""Host b's frames the central recording lacks (as if a partition had kept them on the agent)."""
SPILLED = range(12, 48)
"""Host b's frames in its spill file (overlapping the central recording on both sides of the cut)."""

Keep = Callable[[FrameStamp], bool]


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2 s capture of the two-host rig in one process (virtual clock), held to its truth."""
    out = tmp_path_factory.mktemp("merge") / "whole.mcap"
    with CaptureSession(build_plan(load_rig(TWO_HOSTS)), CaptureOptions(out=out, seconds=2.0, fast=True,
                                                                        force=True)) as capture:
        assert capture.run().error is None
    assert held_to_truth(out).problems == []
    assert schema_problems(out) == []
    return out


def central_without(whole: Path, out: Path, keep: Keep, orphaned: Keep | None = None) -> Path:
    """A copy of ``whole`` holding only the frames ``keep`` accepts (with every truth record and the statistics
    the merge reads); its framesets are left out (the merge recomputes them). The truth of the frames
    ``orphaned`` accepts says lost ``disconnected``, as a capture writes it when their agent fell silent first."""
    with open_recording(whole) as rec, Recorder(out, RecorderConfig(put_timeout_s=math.inf), rig_toml=rec.rig_toml,
                                                rig_path=str(TWO_HOSTS)) as recorder:
        stamps = {(s.device, s.stream, s.seq): s for s in rec.frames()}
        for info in rec.streams:
            intrinsics = rec.intrinsics(info.device, info.stream)
            assert intrinsics is not None
            recorder.add_stream(info.device, info.stream, intrinsics, info.encoding)
        for image in rec.images_of([(info.device, info.stream) for info in rec.streams]):  # in log-time order
            stamp = stamps[(image.device, image.stream, image.seq)]
            if keep(stamp):
                recorder.write_image(stamped_frame(stamp, image))
        for truth in rec.truth():
            stamp = stamps.get((truth.device, truth.stream, truth.seq))
            lost = orphaned is not None and stamp is not None and orphaned(stamp)
            recorder.write_truth(dataclasses.replace(truth, delivered=False, lost="disconnected") if lost else truth)
        stats = rec.metadata["rigsync.stats"]
        recorder.close(stats={k: v for k, v in stats.items() if k != "recorder"})
    return out


def spill_of(whole: Path, folder: Path, keep: Keep, events: tuple[DeviceEvent, ...] = (),
             truth: bool = False) -> Path:
    """Host b's spill file as its agent writes it, holding the frames of ``whole`` that ``keep`` accepts (and,
    with ``truth``, their truth records)."""
    plan = build_plan(load_rig(TWO_HOSTS))
    with open_recording(whole) as rec, SpillFile(plan, "b", folder, 1_700_000_000_000_000_000,
                                                 lambda d, s: _intrinsics(rec, d, s)) as spill:
        stamps = {(s.device, s.stream, s.seq): s for s in rec.frames()}
        for image in rec.images_of([(info.device, info.stream) for info in rec.streams]):  # in log-time order
            stamp = stamps[(image.device, image.stream, image.seq)]
            if keep(stamp):
                assert spill.write_frame(stamped_frame(stamp, image))
        for t in rec.truth() if truth else ():
            stamp = stamps.get((t.device, t.stream, t.seq))
            if stamp is not None and keep(stamp):
                assert spill.write_truth(t)
        for event in events:
            spill.write_event(event, 1)
    assert spill.path.name == "two-hosts-b-20231114T221320Z.spill.mcap"
    return spill.path


def _intrinsics(rec: Recording, device: str, stream: str) -> Intrinsics:
    intrinsics = rec.intrinsics(device, stream)
    assert intrinsics is not None
    return intrinsics


def in_cut(s: FrameStamp) -> bool:
    return s.device in B_DEVICES and s.seq in CUT


def in_spill(s: FrameStamp) -> bool:
    return s.device in B_DEVICES and s.seq in SPILLED


def test_a_central_recording_with_a_gap_and_the_agents_spill_file_merge_into_the_whole_recording(
        whole: Path, tmp_path: Path) -> None:
    """Every frame of the whole capture is in the merged file once, with the stamps it was recorded with (central
    first, the spill file for the cut), the framesets are the capture's own, and the file passes the truth
    checker (every exposure accounted for, statistics reason by reason); both files are in log-time order."""
    central = central_without(whole, tmp_path / "central.mcap", lambda s: not in_cut(s))
    spill = spill_of(whole, tmp_path, in_spill)
    result = merge_recordings(tmp_path / "merged.mcap", central, [spill])
    original, merged = read_contract(whole), read_contract(tmp_path / "merged.mcap")
    cut = sum(1 for f in original.frames if f["device"] in B_DEVICES and f["seq"] in CUT)
    assert cut > 50
    assert (result.frames, result.from_spill, result.from_central) == (len(original.frames), cut,
                                                                       len(original.frames) - cut)
    assert result.missing == {}
    key = ("device", "stream", "seq")
    assert sorted(merged.frames, key=lambda f: [f[k] for k in key]) == sorted(
        original.frames, key=lambda f: [f[k] for k in key])
    # The same sets; a frame the capture got too late for its set (the PTP camera's first) is in it now.
    assert len(merged.framesets) == len(original.framesets)
    in_a_set = {(m["device"], m["stream"], m["seq"]) for fs in original.framesets for m in fs["members"]}
    late = []
    for before, after in zip(original.framesets, merged.framesets, strict=True):
        was = {(m["device"], m["stream"], m["seq"]) for m in before["members"]}
        now = {(m["device"], m["stream"], m["seq"]) for m in after["members"]}
        assert was <= now and not (now - was) & in_a_set
        late += sorted(now - was)
    assert late == [("cam", "color", 0)]
    assert original.stats["cam/color"]["dropped"].get("late") == 1
    assert held_to_truth(tmp_path / "merged.mcap").problems == []
    assert sum(merged.images.values()) == len(merged.frames)  # each frame's image, found through its stamp
    # Both files in strict log-time order: the capture's (its watermark) and the merge's (inputs merged by time).
    for rec in (original, merged):
        assert rec.stats["file_order_regressions"] == 0 and rec.stats["recorder"]["late_messages"] == 0
    accounting = merged.stats["merge"]
    assert accounting["frames"] == {"central": len(original.frames) - cut, "spill": cut}
    assert [(i["role"], i["host"]) for i in accounting["inputs"]] == [("central", None), ("spill", "b")]


def test_the_agents_truth_of_frames_the_capture_called_lost_wins(whole: Path, tmp_path: Path) -> None:
    """Frames whose agent fell silent before sending them: the central recording's truth calls them lost
    ``disconnected``, the agent spilled them with its own truth (delivered). The merged truth says delivered, once
    per frame, and the merged file passes the truth checker."""
    central = central_without(whole, tmp_path / "central.mcap", lambda s: not in_cut(s), orphaned=in_cut)
    spill = spill_of(whole, tmp_path, in_spill, truth=True)
    merge_recordings(tmp_path / "merged.mcap", central, [spill])
    with open_recording(central) as rec:
        assert sum(1 for t in rec.truth() if t.lost == "disconnected") > 50
    with open_recording(tmp_path / "merged.mcap") as rec:
        truths = [(t.device, t.stream, t.seq, t.delivered) for t in rec.truth()]
    assert len(truths) == len({t[:3] for t in truths})
    assert all(d for dev, _, seq, d in truths if dev in B_DEVICES and seq in CUT)
    assert held_to_truth(tmp_path / "merged.mcap").problems == []


def test_frames_in_no_input_are_named_with_their_reason(whole: Path, tmp_path: Path) -> None:
    """k1/color seq 30 reported by the agent as sent nowhere (its overrun event in the spill file) is a named
    ``sent_nowhere`` frame and a ``host_overrun`` drop; web seq 33, in no input and unexplained, is named
    ``not_in_any_input`` and counted as a ``device`` drop; both are named missing (dropped) in one frameset."""
    central = central_without(whole, tmp_path / "central.mcap", lambda s: not in_cut(s))
    gone = {("k1", "color", 30), ("web", "color", 33)}
    spill = spill_of(whole, tmp_path, lambda s: in_spill(s) and (s.device, s.stream, s.seq) not in gone,
                     (DeviceEvent("k1", EventKind.OVERRUN, 0, "color", 1, 30),))
    result = merge_recordings(tmp_path / "merged.mcap", central, [spill])
    assert result.missing == {"k1/color": {"sent_nowhere": [30]}, "web/color": {"not_in_any_input": [33]}}
    merged = read_contract(tmp_path / "merged.mcap")
    assert merged.stats["merge"]["missing"] == result.missing
    assert merged.stats["k1/color"]["dropped"].get(DropReason.HOST_OVERRUN.value) == 1
    assert merged.stats["web/color"]["dropped"].get(DropReason.DEVICE.value) == 1
    assert DropReason.DEVICE.value not in merged.stats["k1/color"]["dropped"]
    named = [(m["device"], m["stream"], m["reason"]) for fs in merged.framesets for m in fs["missing"]]
    assert sorted(named) == [("k1", "color", "dropped"), ("web", "color", "dropped")]
    # The spill file's and the merged file's channels (the agent's events included) have their schemas.
    assert channel_schemas(spill)["/rigsync/agent/events"] == channel_schemas(tmp_path / "merged.mcap")[
        "/rigsync/agent/events"] == "rigsync.AgentEvent"
    assert schema_problems(spill) + schema_problems(tmp_path / "merged.mcap") == []


def test_a_topic_rigsync_does_not_write_is_not_merged(whole: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """An input topic with no JSON schema (here: the agent's events, as if rigsync did not know them) is refused with
    a RecordingError naming the input file and the topic, rather than copied without a schema."""
    central = central_without(whole, tmp_path / "central.mcap", lambda s: not in_cut(s))
    spill = spill_of(whole, tmp_path, in_spill, (DeviceEvent("k1", EventKind.OVERRUN, 0, "color", 1, 30),))
    real = merge_module.topic_schema
    monkeypatch.setattr(merge_module, "topic_schema", lambda t: None if t == "/rigsync/agent/events" else real(t))
    with pytest.raises(RecordingError, match="topic /rigsync/agent/events is not one rigsync writes") as err:
        merge_recordings(tmp_path / "merged.mcap", central, [spill])
    assert err.value.path == str(spill)


def _error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return " ".join(err.split())


def test_bad_inputs_of_a_merge_are_named(whole: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """OUT existing without --force, an input that is not MCAP, a central recording given as a spill file, a spill
    file given as the central one, a spill file of another rig file: one error line naming the file, exit 2."""
    spill = spill_of(whole, tmp_path, in_spill)
    out = tmp_path / "out.mcap"
    out.write_bytes(b"x")
    assert _error(["merge", str(out), str(whole), str(spill)], capsys) == f"error: {out}: exists (give --force to " \
                                                                            "replace it)"
    out.unlink()
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert _error(["merge", str(out), str(whole), str(text)], capsys) == f"error: {text}: not an MCAP file (bad magic)"
    assert _error(["merge", str(out), str(whole), str(whole)], capsys) == (
        f"error: {whole}: is not an agent's spill file (its rigsync metadata has no spill_host)")
    assert _error(["merge", str(out), str(spill), str(spill)], capsys) == (
        f"error: {spill}: is an agent's spill file (host b), not a central recording (give the capture's recording "
        "first)")
    other = tmp_path / "other"
    other_rig = tmp_path / "other.toml"
    other_rig.write_text(TWO_HOSTS.read_text().replace('name = "two-hosts"', 'name = "other-rig"'))
    with open_recording(whole) as rec, SpillFile(build_plan(load_rig(other_rig)), "b", other, 0,
                                                 lambda d, s: _intrinsics(rec, d, s)) as foreign:
        with open_recording(whole) as src:
            stamp = next(src.frames())
            image = next(src.images(stamp.device, stamp.stream))
        assert foreign.write_frame(stamped_frame(stamp, image))
    assert _error(["merge", str(out), str(whole), str(foreign.path)], capsys) == (
        f"error: {foreign.path}: is a recording of another rig file than {whole} ('other-rig' vs 'two-hosts')")
    assert not out.exists()


def test_merge_and_info_on_the_command_line(whole: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``rigsync merge`` prints what it took from where; ``rigsync info`` on the result lists its inputs and the
    frames missing (none)."""
    central = central_without(whole, tmp_path / "central.mcap", lambda s: not in_cut(s))
    spill = spill_of(whole, tmp_path, in_spill)
    out = tmp_path / "merged.mcap"
    assert main(["merge", str(out), str(central), str(spill)]) == 0
    said = " ".join(capsys.readouterr().out.split())
    total = len(read_contract(whole).frames)
    assert said.startswith(f"{out}: {total} frames (") and "0 frames missing" in said
    assert main(["info", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "merged from" in shown and "spill" in shown and "none" in shown
    stats = json.loads(open_recording(out).metadata["rigsync.stats"]["merge"])
    assert stats["missing"] == {}
