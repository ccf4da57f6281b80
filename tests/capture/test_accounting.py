"""Every frame the simulator produced is accounted for in the recording, through faults: an image (in a
frameset, or named in the stream's drop statistics), a warm-up frame, a frame lost in rigsync's queues, or a
frame that never reached the host and is named missing, with the exact reason, in the frameset nearest it; the
statistics agree with the truth. The checker is the independent one of ``conftest.py``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from tests.capture.rigs import RIG, fault

from rigsync.capture import CaptureOptions, CaptureSession
from rigsync.core.frame import StampedFrame
from rigsync.plan import build_plan
from rigsync.record.recorder import Recorder
from rigsync.spec import loads_rig


def capture(text: str, out: Path, seconds: float = 3.0) -> None:
    """Three seconds on the virtual clock; the recording starts after the warm-up, ~0.5 s in."""
    rig = loads_rig(text, "accounting.toml")
    with CaptureSession(build_plan(rig), CaptureOptions(out=out, seconds=seconds, fast=True)) as session:
        session.run()


PTP_RIG = (Path(__file__).parents[2] / "examples" / "three_hosts_ptp.toml").read_text()
LOSSY = 'sim = { drop_rate = 0.05 }\n'
RANDOM_DROPS = RIG.replace('fps = 30 }]\n\n[[devices]]\nid = "cam"', f'fps = 30 }}]\n{LOSSY}\n[[devices]]\nid = "cam"'
                           ).replace('serial = "W0"\n', f'serial = "W0"\n{LOSSY}')

SCENARIOS = {  # rig, and the losses the truth must show (so that each scenario tests what it says)
    "clean": (RIG, {}),
    "random-drops": (RANDOM_DROPS, {"dropped"}),
    "disconnect-subordinate": (RIG + fault("disconnect", 1.0, 0.5, device="k1"), {"disconnected"}),
    "disconnect-master": (RIG + fault("disconnect", 1.0, 0.4, device="k0"), {"disconnected"}),
    "disconnect-webcam-twice": (RIG + fault("disconnect", 0.9, 0.3, device="cam")
                                + fault("disconnect", 1.8, 0.2, device="cam"), {"disconnected"}),
    "drop-burst": (RIG + fault("drop-burst", 1.2, 0.25, device="k1") + fault("drop-burst", 2.0, 0.1, device="cam"),
                   {"dropped"}),
    "clock-step": (RIG + fault("clock-step", 1.5, step_ms=250.0, host="h"), {}),
    "ptp-loss": (PTP_RIG + fault("ptp-loss", 1.0, 1.0, host="vis") + fault("disconnect", 1.5, 0.3, device="web"),
                 {"disconnected"}),
    "host-clock-step": (PTP_RIG + fault("clock-step", 1.5, step_ms=-500.0, host="vis"), {}),
    "grandmaster-step": (PTP_RIG + fault("clock-step", 1.5, step_ms=-500.0, host="gm"), {}),
    # Around the start of the recording and its end:
    "away-before-first-frame-throughout": (RIG + fault("disconnect", 0.0, 1e6, device="cam"), {"disconnected"}),
    "away-before-first-frame-back-after-start": (RIG + fault("disconnect", 0.1, 0.6, device="k1"),
                                                 {"disconnected"}),
    "away-during-warm-up-back-after-start": (RIG + fault("disconnect", 0.25, 0.5, device="cam"), {"disconnected"}),
    "away-at-the-end": (RIG + fault("disconnect", 2.8, 1.0, device="k1"), {"disconnected"}),
}


def accounted(out: Path, contract: SimpleNamespace) -> Any:
    ledger = contract.held_to_truth(out)
    assert not ledger.problems, "\n".join(ledger.problems[:20])
    return ledger


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_frame_is_accounted_for(name: str, tmp_path: Path, contract: SimpleNamespace) -> None:
    """Through disconnects, reconnects, drop bursts and host faults: every exposed frame is an image, a named
    drop or a named missing member with its exact reason, and the statistics agree with the truth."""
    rig, losses = SCENARIOS[name]
    out = tmp_path / f"{name}.mcap"
    capture(rig, out)
    ledger = accounted(out, contract)
    fates = Counter(f.fate for f in ledger.frames)
    assert fates["member"] > 200 and fates["warmup"] > 0
    assert {f.lost for f in ledger.frames if f.fate == "lost"} == set(losses)
    assert not absent_while_coming_back(contract.read(out), ledger)


def test_a_device_away_before_its_first_frame_is_named_in_every_set(tmp_path: Path,
                                                                    contract: SimpleNamespace) -> None:
    """A webcam disconnected before its first frame and never back: every frameset of the recording names it
    missing, disconnected, and its statistics count each."""
    out = tmp_path / "away.mcap"
    capture(SCENARIOS["away-before-first-frame-throughout"][0], out)
    ledger = accounted(out, contract)
    rec = contract.read(out)
    named = [next((m["reason"] for m in fs["missing"] if m["device"] == "cam"), None) for fs in rec.framesets]
    assert len(named) > 70 and set(named) == {"disconnected"}
    assert rec.stats["cam/color"]["missing"] == {"disconnected": len(named)}
    assert {f.fate for f in ledger.frames if f.key[0] == "cam"} == {"lost"}
    rec.framesets[40]["missing"] = [m for m in rec.framesets[40]["missing"] if m["device"] != "cam"]
    assert contract.account(rec, contract.offsets(rec.rig)).problems  # the checker sees a set that omits it


def test_a_device_back_after_the_recording_started_is_recorded_not_warm_up(tmp_path: Path,
                                                                           contract: SimpleNamespace) -> None:
    """A webcam that delivered its first frames during the warm-up, went away and came back after the recording
    started: only its first connection's frames are warm-up; every frame of its second connection is recorded,
    and the sets between its last warm-up frame and its return name it disconnected."""
    out = tmp_path / "back.mcap"
    capture(SCENARIOS["away-during-warm-up-back-after-start"][0], out)
    ledger = accounted(out, contract)
    cam = [f for f in ledger.frames if f.key == ("cam", "color")]
    first, second = [f for f in cam if f.epoch == 0], [f for f in cam if f.epoch == 1]
    assert {f.fate for f in first if f.delivered} == {"warmup"}
    assert second and {f.fate for f in second if f.delivered} == {"member"}
    rec = contract.read(out)
    assert rec.stats["cam/color"]["dropped"]["warmup"] == sum(f.delivered for f in first) > 0
    back = min(r["rig_time_ns"] for r in rec.frames if r["device"] == "cam")
    half = 33_333_333 // 2
    before = [fs for fs in rec.framesets if fs["rig_time_ns"] < back - half]
    after = [fs for fs in rec.framesets if fs["rig_time_ns"] > back + half]
    assert len(before) > 5 and all({"device": "cam", "stream": "color", "reason": "disconnected"} in fs["missing"]
                                   for fs in before)
    assert all(any(m["device"] == "cam" for m in fs["members"]) for fs in after[:-1])
    assert rec.stats["cam/color"]["missing"]["disconnected"] in (len(before), len(before) + 1)  # + the boundary


def test_a_device_away_at_the_end_is_named_disconnected_not_stopped(tmp_path: Path,
                                                                   contract: SimpleNamespace) -> None:
    """A subordinate disconnected 0.2 s before the capture ends and still away: the last sets name it
    disconnected (what the truth says), none stopped."""
    out = tmp_path / "end.mcap"
    capture(SCENARIOS["away-at-the-end"][0], out)
    accounted(out, contract)
    rec = contract.read(out)
    last = [next((m["reason"] for m in fs["missing"] if m["device"] == "k1"), None) for fs in rec.framesets[-5:]]
    assert last == ["disconnected"] * 5
    assert "stopped" not in rec.stats["k1/color"]["missing"]
    next(m for m in rec.framesets[-3]["missing"] if m["device"] == "k1")["reason"] = "stopped"
    assert contract.account(rec, contract.offsets(rec.rig)).problems  # the checker holds it to the truth


def absent_while_coming_back(rec: Any, ledger: Any) -> list[str]:
    """Framesets in which a device that went away and came back is neither a member nor named missing, between
    its last delivered frame and its first delivered frame after it returned."""
    by_record = {(f.key, f.recorded["seq"], f.recorded["rig_time_ns"]): f for f in ledger.frames if f.recorded}
    out = []
    for key in {f.key for f in ledger.frames}:
        frames = [f for f in ledger.frames if f.key == key]
        for epoch in range(1, max(f.epoch for f in frames) + 1):
            before = [f.ref_ns for f in frames if f.epoch == epoch - 1 and f.delivered]
            after = [f.ref_ns for f in frames if f.epoch == epoch and f.delivered]
            if not before or not after:
                continue
            for fs in rec.framesets:
                refs = [by_record[((m["device"], m["stream"]), m["seq"], m["rig_time_ns"])].ref_ns
                        for m in fs["members"]]
                listed = {(m["device"], m["stream"]) for m in fs["members"] + fs["missing"]}
                if refs and max(before) < min(refs) and max(refs) < min(after) and key not in listed:
                    out.append(f"frameset {fs['frameset_id']} does not list {key}")
    return out


def test_frames_the_recorder_refuses_are_accounted_for(tmp_path: Path, contract: SimpleNamespace,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A frame the recorder's queue refused is not recorded; its frameset names it dropped and the stream's
    statistics count it as a recorder overrun."""
    original = Recorder.write_image

    def picky(self: Recorder, frame: StampedFrame) -> bool:
        if frame.frame.device == "k1" and frame.frame.seq % 7 == 3:
            return False
        return original(self, frame)

    monkeypatch.setattr(Recorder, "write_image", picky)
    out = tmp_path / "refused.mcap"
    capture(RIG, out)
    ledger = accounted(out, contract)
    assert Counter(f.fate for f in ledger.frames if f.key[0] == "k1")["overrun"] >= 10


def test_the_checker_is_not_blind(tmp_path: Path, contract: SimpleNamespace) -> None:
    """A missing entry removed, a reason changed, an entry without a cause or a statistic off by one: each is
    reported."""
    out = tmp_path / "drops.mcap"
    capture(SCENARIOS["random-drops"][0], out)
    accounted(out, contract)

    def problems(tamper: Any) -> list[str]:
        rec = contract.read(out)
        tamper(rec)
        ledger = contract.account(rec, contract.offsets(rec.rig))
        return list(ledger.problems + contract.check_stats(rec, ledger))

    def first_dropped(rec: Any) -> dict[str, Any]:
        return next(fs for fs in rec.framesets if any(m["reason"] == "dropped" for m in fs["missing"]))

    def remove(rec: Any) -> None:
        first_dropped(rec)["missing"].pop()

    def change(rec: Any) -> None:
        first_dropped(rec)["missing"][0]["reason"] = "not_received"

    def invent(rec: Any) -> None:
        fs = rec.framesets[40]
        fs["missing"].append({"device": fs["members"][0]["device"], "stream": "ghost", "reason": "dropped"})
        fs["members"] = fs["members"][1:]

    def miscount(rec: Any) -> None:
        key = next(k for k, v in rec.stats.items() if isinstance(v, dict) and v.get("dropped", {}).get("device"))
        rec.stats[key]["dropped"]["device"] += 1

    for tamper in (remove, change, invent, miscount):
        assert problems(tamper), tamper.__name__


def test_a_late_starting_streams_first_frame_late_for_a_set_that_left_before_it(tmp_path: Path,
                                                                               contract: SimpleNamespace) -> None:
    """A PTP camera starts start_delay_s after the rest, past the aligner's start-up grace; with this seed its
    first frame comes late for a set that left before the camera had started (a set names only started streams as
    missing): the frame is recorded in no set, counted as a late drop, and every other frame keeps the ledger."""
    rig_path = Path(__file__).parents[1] / "sim" / "data" / "two_hosts.toml"
    rig = loads_rig(rig_path.read_text(), str(rig_path))
    out = tmp_path / "late-first.mcap"
    with CaptureSession(build_plan(rig), CaptureOptions(out=out, seconds=4.0, fast=True, force=True, seed=0)) as s:
        s.run()
    ledger = contract.held_to_truth(out)
    assert ledger.problems == []
    first = next(f for f in ledger.frames if f.key == ("cam", "color") and f.seq == 0)
    assert first.fate == "image" and first.in_set is None
    assert ledger.expected_stats[("cam", "color")]["missing"]["not_received"] == 0
    assert contract.read(out).stats["cam/color"]["dropped"].get("late") == 1
