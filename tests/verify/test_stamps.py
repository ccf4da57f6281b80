"""Stamp-based verification against the simulator's truth: each figure recomputed independently, each failure
naming exactly the device at fault."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from tests.verify.rigs import GENLOCK, ORBBEC, capture

from rigsync.record import open_recording
from rigsync.spec import loads_rig
from rigsync.verify.limits import VerifyLimits
from rigsync.verify.load import load_stamps, rig_plan
from rigsync.verify.result import Check, Status, Verdict
from rigsync.verify.run import verify_recording
from rigsync.verify.stamps import verify_stamps

S = 1_000_000_000


def _by(verdict: Verdict, id: str) -> dict[str, Check]:
    return {c.subject: c for c in verdict.checks if c.id == id}


def _failed(verdict: Verdict) -> dict[tuple[str, str], tuple[str, ...]]:
    return {(c.id, c.subject): c.devices for c in verdict.checks if c.status is Status.FAIL}


def test_clean_genlock_rig_passes_with_every_figure_measured(genlock: Path) -> None:
    """A clean Genlock rig passes; every check is measured (pass), except those the recording cannot show (skip)."""
    verdict = verify_recording(genlock)
    assert verdict.passed
    assert {c.id for c in verdict.checks if c.status is Status.SKIP} == set()
    assert {c.status for c in verdict.checks} == {Status.PASS}
    assert {c.id for c in verdict.checks} >= {"SKEW", "FRAME-NUMBER", "DRIFT", "DRIFT-STABILITY", "BOUND",
                                                "CLOCK-SYNC", "DROPS", "GAP", "RATE", "SEEDS-000"}


def test_skew_is_the_stamps_spread_and_within_their_bounds_of_the_true_skew(genlock: Path) -> None:
    """The group's skew (max, p50 in the detail) is the spread of each frameset's member stamps, recomputed here;
    the true spread of their exposure starts (truth) differs from it by no more than the members' bounds."""
    with open_recording(genlock) as rec:
        truth = {(t.device, t.stream, t.seq): t.exposure_start_ns for t in rec.truth()}
        stamped, true, slack = [], [], []
        for fs in rec.framesets():
            m = [x for x in fs.members]
            if len(m) < 2:
                continue
            stamped.append(max(x.rig_time_ns for x in m) - min(x.rig_time_ns for x in m))
            starts = [truth[(x.device, x.stream, x.seq)] for x in m]
            true.append(max(starts) - min(starts))
            slack.append(2 * max(x.error_bound_ns for x in m))
    check = _by(verify_recording(genlock), "SKEW")["group gl"]
    assert check.value == pytest.approx(max(stamped) / 1e3, abs=1e-3)
    assert f"p50 {np.percentile(stamped, 50) / 1e3:,.1f} us" in check.detail
    assert all(abs(a - b) <= s for a, b, s in zip(stamped, true, slack, strict=True))
    assert max(true) / 1e3 < check.limit  # truly within 100 us: the pass is right


def test_drift_matches_the_crystals_the_rig_declares(genlock: Path) -> None:
    """Each device's drift against rig time is its declared crystal error plus the rig clock's own (one shared
    term): the differences between devices equal the declared ones within 1 ppm."""
    checks = _by(verify_recording(genlock), "DRIFT")
    drift = {d: float(c.detail.split(" ppm")[0]) for d, c in checks.items()}
    declared = {"rs-master": 40.0, "rs-a": -30.0, "rs-b": 10.0}
    for a, ppm_a in declared.items():
        for b, ppm_b in declared.items():
            assert drift[a] - drift[b] == pytest.approx(ppm_a - ppm_b, abs=1.0)
    assert all(c.value == pytest.approx(abs(drift[d]), abs=0.006) for d, c in checks.items())


def test_drift_stability_is_small_and_its_limit_applies(genlock: Path) -> None:
    """The simulated crystals wander by at most 0.3 ppm: the measured change stays under 1 ppm; a group limit
    below what was measured fails naming each device over it, and only the group's devices."""
    stability = _by(verify_recording(genlock), "DRIFT-STABILITY")
    assert all(0 < c.value < 1.0 for c in stability.values())
    with open_recording(genlock) as rec:
        plan = rig_plan(rec)
        tight = loads_rig(GENLOCK.replace('name = "gl"', 'name = "gl"\nverify = { max_drift_change_ppm = 1e-6 }'),
                          "tight.toml")
        section = verify_stamps(rec, VerifyLimits.from_plan(plan, tight.verify))
    failed = {c.subject: c for c in section.checks if c.id == "DRIFT-STABILITY"}
    assert {d: (c.status, c.limit, c.devices) for d, c in failed.items()} == {
        d: (Status.FAIL, 1e-6, (d,)) for d in ("rs-master", "rs-a", "rs-b")}


def test_bound_is_the_largest_locked_bound_and_holds_the_truth(genlock: Path) -> None:
    """BOUND is the largest error bound of a locked frame; each locked stamp is within its bound of the true
    exposure start (on the rig's timeline: the rig clock's offset from true time removed as the median)."""
    with open_recording(genlock) as rec:
        truth = {(t.device, t.stream, t.seq): t.exposure_start_ns for t in rec.truth()}
        rows = defaultdict(list)
        for f in rec.frames():
            if f.locked:
                rows[f.device].append((f.rig_time_ns - truth[(f.device, f.stream, f.seq)], f.error_bound_ns))
    bounds = _by(verify_recording(genlock), "BOUND")
    offset = np.median([e for r in rows.values() for e, _ in r])
    for device, r in rows.items():
        assert bounds[device].value == pytest.approx(max(b for _, b in r) / 1e3)
        assert all(abs(e - offset) <= b + 1_000 for e, b in r)  # 1 us: the rig clock's own drift over the take


def test_lost_genlock_trigger_fails_naming_the_camera(genlock_lost: Path) -> None:
    """A Genlock camera whose input lost its trigger for 0.5 s: frame numbers, missing frames (the 15 triggers it
    did not take, counted from the truth), the gap and the frame rate fail, naming rs-a and nothing else."""
    verdict = verify_recording(genlock_lost)
    assert not verdict.passed
    assert _failed(verdict) == {("FRAME-NUMBER", "group gl"): ("rs-a",), ("DROPS", "rs-a"): ("rs-a",),
                                ("GAP", "rs-a"): ("rs-a",), ("RATE", "rs-a"): ("rs-a",)}
    with open_recording(genlock_lost) as rec:
        taken = {t.trigger_id for t in rec.truth() if t.device == "rs-a"}
        peer = [t.trigger_id for t in rec.truth() if t.device == "rs-b" and t.trigger_id not in taken]
        sets = sum(1 for _ in rec.framesets())
    drops = _by(verdict, "DROPS")["rs-a"]
    assert len(peer) == 15
    assert drops.value == pytest.approx(15 / sets, abs=1e-6)
    assert "absent, not named 15" in drops.detail
    assert _by(verdict, "GAP")["rs-a"].value == 15
    assert _by(verdict, "RATE")["rs-a"].value == pytest.approx(0.5e6, abs=50)  # one interval 0.5 s too long


def test_host_without_ptp_fails_naming_its_devices(ptp_lost: Path) -> None:
    """A host that had no PTP master through the take: the frames its clock stamped are flagged (counted here
    from /rigsync/frames) and fail CLOCK-SYNC for its webcam; its PTP samples stop (PTP-OFFSET fails for host b);
    the PTP cameras, on their own PTP clocks, and the grandmaster pass."""
    verdict = verify_recording(ptp_lost)
    assert _failed(verdict) == {("CLOCK-SYNC", "web-b"): ("web-b",), ("PTP-OFFSET", "host b"): ("cam-b", "web-b")}
    with open_recording(ptp_lost) as rec:
        flagged = sum(1 for f in rec.frames() if f.device == "web-b" and "ptp_unlocked" in f.time_flags)
    assert flagged > 0
    assert _by(verdict, "CLOCK-SYNC")["web-b"].value == flagged
    assert _by(verdict, "PTP-OFFSET")["host gm"].status is Status.PASS


def test_auto_exposure_on_a_triggered_kinect_shows_in_the_stamps(kinect_ae: Path) -> None:
    """Auto exposure on a triggered Kinect subordinate: its colour camera ends exposure on the frame clock, so its
    start moves with the exposure (seeds/001), and its synced timestamp is that start ("Start of Frame"): the
    stamps show the skew, close to the true one, and SKEW fails naming k1. With two members the skew alone cannot
    tell which is off; the one that is not the trigger source is named."""
    verdict = verify_recording(kinect_ae)
    skew = _by(verdict, "SKEW")["group star"]
    assert (skew.status, skew.devices) == (Status.FAIL, ("k1",))
    with open_recording(kinect_ae) as rec:
        truth = {(t.device, t.seq): t.exposure_start_ns for t in rec.truth()}
        spreads = [abs(truth[("k1", m[1].seq)] - truth[("k0", m[0].seq)] - 160_000)
                   for fs in rec.framesets() if len(m := sorted(fs.members, key=lambda x: x.device)) == 2]
    assert skew.value == pytest.approx(max(spreads) / 1e3, abs=100)


def test_no_frame_skips_frame_number_for_bursts_and_stamps_load_per_stream(genlock: Path) -> None:
    """The loader gives every declared stream its frames (group, declared offset, period) even without frames."""
    with open_recording(genlock) as rec:
        data = load_stamps(rec)
    assert {k: (s.group, s.period_ns, len(s.seq) > 300) for k, s in data.streams.items()} == {
        "rs-master/depth": ("gl", 33_333_333, True), "rs-a/depth": ("gl", 33_333_333, True),
        "rs-b/depth": ("gl", 33_333_333, True)}


def test_orbbec_primary_vs_secondary_timestamps(folder: Path) -> None:
    """seeds/002's check: each SECONDARY stream's stamp against the PRIMARY's of the same kind, set by set, the
    declared depth delay removed; the figure is the largest difference, recomputed here, and passes 100 us."""
    path = capture(ORBBEC, folder / "orbbec.mcap", 3)
    check = _by(verify_recording(path), "SEEDS-002")["group bolts"]
    with open_recording(path) as rec:
        diffs = []
        for fs in rec.framesets():
            t = {(m.device, m.stream): m.rig_time_ns for m in fs.members}
            for kind, delay in (("color", 0), ("depth", 160_000)):
                if ("primary", kind) in t and ("secondary", kind) in t:
                    diffs.append(abs(t[("secondary", kind)] - delay - t[("primary", kind)]))
    assert check.status is Status.PASS
    assert check.value == pytest.approx(max(diffs) / 1e3, abs=1e-3)
    assert check.detail.startswith("primary (PRIMARY) vs secondary ")


def test_plots_hold_the_figures_per_group_device_and_host(genlock_lost: Path, ptp_lost: Path) -> None:
    """The section's plots: skew histogram and skew over time per group, drift per device (one fit when the
    recording is too short for spans), bounds per device, drops on a timeline (rs-a's 15 missing frames), PTP
    offsets per host."""
    with open_recording(genlock_lost) as rec:
        plots = {p.key: p for p in verify_stamps(rec, VerifyLimits.of_recording(rec)).plots}
    assert set(plots) == {"skew-histogram-gl", "skew-over-time-gl", "drift", "bounds", "drops"}
    assert {s.label for s in plots["drift"].series} == {"rs-master", "rs-a", "rs-b"}
    assert all(len(s.x) == 1 for s in plots["drift"].series)
    drops = {s.label: s for s in plots["drops"].series}
    assert set(drops) == {"rs-a"} and len(drops["rs-a"].x) == 15
    assert drops["rs-a"].x[-1] - drops["rs-a"].x[0] == pytest.approx(14 / 30, abs=1e-3)  # 15 sets in a row
    assert len(plots["skew-histogram-gl"].series[0].y) == len(plots["skew-over-time-gl"].series[0].x)
    with open_recording(ptp_lost) as rec:
        ptp = {p.key: p for p in verify_stamps(rec, VerifyLimits.of_recording(rec)).plots}["ptp-offsets"]
    assert {s.label for s in ptp.series} == {"gm", "b"}
