"""The flash method against the simulator's truth: where each camera places a flash, the uncertainty it
claims, cameras that missed it counted with the true reason, and a mis-synced camera named."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from statistics import median

import pytest
from mcap.reader import make_reader

from rigsync.capture import CaptureOptions, CaptureSession
from rigsync.core.truth import FrameTruth
from rigsync.drivers.sim._model import SIM_EPOCH_NS
from rigsync.plan import build_plan
from rigsync.record import open_recording
from rigsync.spec import load_rig
from rigsync.verify.flash import (
    Flash,
    FlashMeasurement,
    FlashStream,
    flash_section,
    judge_spread,
    measure_flashes,
)
from rigsync.verify.result import Check, Section, Status

EXAMPLES = Path(__file__).parents[2] / "examples"
def LIMITS(group: str | None) -> float:  # noqa: N802 - a constant limit of 250 us for every group
    return 250.0
# (true start ns, duration ns) of the flashes in the rigs below
STAR_FLASHES = ((1_000_000_000, 1_000_000), (1_600_000_000, 1_000_000))
GIGE_FLASHES = ((800_000_000, 1_000_000), (1_100_000_000, 100_000_000))


class Captured:
    """A short fast capture of a rig text, with what the flash method found in it and the truth."""

    def __init__(self, tmp: Path, name: str, text: str, seconds: float) -> None:
        rig_path = tmp / f"{name}.toml"
        rig_path.write_text(text)
        out = self.path = tmp / f"{name}.mcap"
        with CaptureSession(build_plan(load_rig(rig_path)), CaptureOptions(out=out, seconds=seconds, fast=True,
                                                                           force=True)) as session:
            session.run()
        with open_recording(out) as rec:
            measured = measure_flashes(rec)
            self.chunks_read = list(rec.chunks_decompressed)
            self.section: Section = flash_section(measured, LIMITS)
            self.streams, self.flashes = measured.streams, measured.flashes
            self.truth = {(t.device, t.stream, t.seq): t for t in rec.truth()}
            self.truth_list: list[FrameTruth] = list(rec.truth())

    def check(self, check_id: str, subject: str) -> Check:
        return next(c for c in self.section.checks if c.id == check_id and c.subject == subject)

    def stream(self, key: str) -> FlashStream:
        return next(s for s in self.streams if s.key == key)


def true_centre(flashes: tuple[tuple[int, int], ...], near_ns: int) -> int:
    start, duration = min(flashes, key=lambda f: abs(SIM_EPOCH_NS + f[0] - near_ns))
    return SIM_EPOCH_NS + start + duration // 2


def placement_errors(cap: Captured, flashes: tuple[tuple[int, int], ...],
                     flash: Flash) -> dict[str, tuple[int, int]]:
    """Per stream: (|measured - true| place of the flash after the onset frame's true start of exposure,
    the uncertainty claimed)."""
    out = {}
    for key, seen in flash.seen.items():
        device, stream = key.split("/")
        start = cap.truth[(device, stream, seen.onset_seq)].exposure_start_ns
        true_offset = true_centre(flashes, start + seen.offset_ns) - start
        out[key] = (abs(seen.offset_ns - true_offset), seen.uncertainty_ns)
    return out


@pytest.fixture(scope="module")
def star(tmp_path_factory: pytest.TempPathFactory) -> Captured:
    """Kinect star (rolling-shutter colour, global-shutter IR): two 1 ms flashes; kinect-sub1's colour on auto
    exposure (its start moves with the exposure: out of step); kinect-sub2 loses its frames around flash 2."""
    text = (EXAMPLES / "kinect_star.toml").read_text()
    flashes = ", ".join(f"{{ at_s = {a / 1e9}, duration_us = {d / 1000} }}" for a, d in STAR_FLASHES)
    text = text.replace("[sim]\nseed = 12\n", f"[sim]\nseed = 12\nflashes = [{flashes}]\n")
    sub1 = text.index('id = "kinect-sub1"')
    auto = text.index(", exposure_us = 10000", sub1)
    text = text[:auto] + text[auto + len(", exposure_us = 10000"):]
    text += '\n[[faults]]\ndevice = "kinect-sub2"\nkind = "drop-burst"\nat_s = 1.55\nduration_s = 0.1\n'
    return Captured(tmp_path_factory.mktemp("flash"), "star", text, 2.5)


@pytest.fixture(scope="module")
def gige(tmp_path_factory: pytest.TempPathFactory) -> Captured:
    """Four global-shutter PTP cameras (14 ms exposures at 60 fps): a 1 ms flash and a 100 ms one."""
    text = (EXAMPLES / "gige_ptp_four.toml").read_text().replace("exposure_us = 2000", "exposure_us = 14000")
    flashes = ", ".join(f"{{ at_s = {a / 1e9}, duration_us = {d / 1000}, gain = 250 }}" for a, d in GIGE_FLASHES)
    text = text.replace("[sim]\nseed = 31\n", f"[sim]\nseed = 31\nflashes = [{flashes}]\n")
    return Captured(tmp_path_factory.mktemp("flash"), "gige", text, 1.5)


def test_the_flash_method_reads_each_chunk_once(star: Captured) -> None:
    """It reads the file twice, in file order: once for the stamps, once for the images (the stamps share the
    images' chunks), each decompressing every chunk once."""
    with open(star.path, "rb") as f:
        summary = make_reader(f).get_summary()
    assert summary is not None
    offsets = sorted(c.chunk_start_offset for c in summary.chunk_indexes)
    assert offsets and star.chunks_read == offsets + offsets


def test_rolling_shutter_rows_place_the_flash_within_one_line_time(star: Captured) -> None:
    """Every rolling-shutter sighting places the flash's centre after its frame's true start of exposure
    within the one line time it claims (88.9 us: 16 ms readout over 180 rendered rows), most far closer."""
    errors = []
    for flash in star.flashes:
        for key, (error, claimed) in placement_errors(star, STAR_FLASHES, flash).items():
            if key.endswith("/color"):
                assert flash.seen[key].how.startswith("rolling shutter"), flash.seen[key].how
                assert claimed == round(star.stream(key).line_ns) == 88_889
                assert error <= claimed, (key, error)
                errors.append(error)
    assert len(errors) == 5  # 3 cameras x 2 flashes, less kinect-sub2's lost flash 2
    assert median(errors) < claimed / 4


def test_stamps_agree_on_the_flash_instant(star: Captured) -> None:
    """The rig-time instants the cameras give one flash agree within the methods' uncertainty (the stamps tell
    the truth), so the instant check passes for the group and the rig."""
    for subject in ("group star", "rig"):
        check = star.check("FLASH-INSTANT", subject)
        assert check.status is Status.PASS, check.detail
        assert check.value < 60


def test_a_camera_out_of_step_is_named(star: Captured) -> None:
    """kinect-sub1 on auto exposure starts its exposures milliseconds off its group: the exposure skew
    measured from the images matches the true skew within the claimed uncertainty, fails, and names it alone."""
    check = star.check("FLASH-SKEW", "group star")
    assert check.status is Status.FAIL and check.devices == ("kinect-sub1",)
    flash = star.flashes[1]  # the worst one, as the check says
    assert check.detail.startswith("flash 2:")
    starts = {}
    for key, seen in flash.seen.items():
        device, stream = key.split("/")
        starts[key] = star.truth[(device, stream, seen.onset_seq)].exposure_start_ns \
            - star.stream(key).declared_offset_ns
    true_skew_us = (max(starts.values()) - min(starts.values())) / 1000
    assert true_skew_us > 1000
    assert abs(check.value - true_skew_us) <= 2 * 88.9


def test_a_camera_that_lost_its_frames_is_counted_with_the_reason(star: Captured) -> None:
    """kinect-sub2 lost its frames around flash 2 (the truth says dropped): it is not placed, and the check
    names it with that reason instead of placing the flash from a later frame."""
    flash = star.flashes[1]
    centre = true_centre(STAR_FLASHES, flash.instant_ns)
    lost = [t for t in star.truth_list if t.device == "kinect-sub2" and t.stream == "color"
            and abs(t.exposure_start_ns - centre) < 40_000_000]
    assert lost and all(t.lost == "dropped" for t in lost)
    assert "kinect-sub2/color" not in flash.seen
    assert "missing" in flash.missed["kinect-sub2/color"]
    check = star.check("FLASH-SEEN", "flash 2")
    assert check.status is Status.WARN and "kinect-sub2" in check.devices
    assert check.value == 2 and check.limit == 6


def test_a_flash_between_exposures_is_counted_not_guessed(star: Captured) -> None:
    """The global-shutter IR streams (12.7 ms windows every 33 ms) placed neither 1 ms flash; the truth
    confirms none of their windows held it, and each is named with that reason."""
    for flash in star.flashes:
        start = true_centre(STAR_FLASHES, flash.instant_ns) - 500_000
        for device in ("kinect-master", "kinect-sub1"):
            windows = [t for t in star.truth_list if t.device == device and t.stream == "ir"]
            assert not any(t.exposure_start_ns < start + 1_000_000 and t.exposure_end_ns > start for t in windows)
            assert flash.missed[f"{device}/ir"].startswith("no frame brightened")


def test_global_shutter_fractions_place_a_long_flash(gige: Captured) -> None:
    """A 100 ms flash lights six frames: the fractions in the first and last place its centre within the
    uncertainty claimed, a fraction of a frame interval."""
    flash = gige.flashes[1]
    assert len(flash.seen) == 4
    for key, (error, claimed) in placement_errors(gige, GIGE_FLASHES, flash).items():
        assert flash.seen[key].how.startswith("global shutter, fractions"), key
        assert error <= claimed < 16_666_667 / 4, (key, error, claimed)


def test_global_shutter_short_flash_is_frame_level(gige: Captured) -> None:
    """A 1 ms flash inside one 14 ms window is placed at frame level: that frame, within half a frame
    interval; the cameras (PTP-synchronized) all saw it in the same trigger's frame."""
    flash = gige.flashes[0]
    assert len(flash.seen) == 4
    for key, (error, claimed) in placement_errors(gige, GIGE_FLASHES, flash).items():
        assert flash.seen[key].frame_level and claimed == round(gige.stream(key).period_ns / 2)
        assert error <= claimed
    assert len({gige.truth[(*k.split("/"), s.onset_seq)].trigger_id for k, s in flash.seen.items()}) == 1
    check = gige.check("FLASH-SKEW", "group ptp")
    assert check.status is Status.WARN


def test_judging_names_the_camera_whose_instant_disagrees() -> None:
    """One camera 500 us off the others fails a 100 us limit and is the only one named; within the limit it
    passes; when the uncertainty straddles the limit it warns without naming anyone."""
    values = {"a/color": (0, 10_000), "b/color": (20_000, 10_000), "c/color": (500_000, 10_000)}
    assert judge_spread(values, 100_000) == (Status.FAIL, 500_000.0, 20_000.0, ("c/color",))
    assert judge_spread({k: v for k, v in values.items() if k != "c/color"}, 100_000)[0] is Status.PASS
    assert judge_spread({"a/color": (0, 60_000), "b/color": (50_000, 60_000)}, 100_000) == (
        Status.WARN, 50_000.0, 120_000.0, ())


def test_the_plot_shows_each_cameras_instant_per_flash(star: Captured) -> None:
    """The section's plot has one series per stream that placed a flash: at each flash, its instant less the
    flash's median, in microseconds."""
    (plot,) = star.section.plots
    assert plot.key == "flash-instants" and plot.kind == "points"
    series = {s.label: s for s in plot.series}
    placed = {k for f in star.flashes for k in f.seen}
    assert set(series) == placed == {"kinect-master/color", "kinect-sub1/color", "kinect-sub2/color"}
    sub2 = series["kinect-sub2/color"]
    assert len(sub2.x) == 1  # it lost flash 2
    flash = star.flashes[0]
    assert sub2.y[0] == (flash.seen["kinect-sub2/color"].instant_rig_ns - flash.instant_ns) / 1000


def test_no_flash_is_a_skip_not_a_pass() -> None:
    """A recording where no stream saw a flash gives one skipped check saying so, and no plot."""
    section = flash_section(FlashMeasurement((), (), 0), LIMITS)
    assert [(c.id, c.status) for c in section.checks] == [("FLASH-SEEN", Status.SKIP)]
    assert "no flash found" in section.checks[0].detail and section.plots == ()


def test_the_command_verifies_with_the_flash_and_fails_naming_the_camera_out_of_step(star: Captured) -> None:
    """``rigsync verify --flash --json`` adds the flash section to the stamps' and exits 1, the flash's skew
    check failing on kinect-sub1 exactly as ``verify_flash`` judges it."""
    done = subprocess.run([sys.executable, "-m", "rigsync.cli.main", "verify", str(star.path), "--flash", "--json"],
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 1, done.stderr
    verdict = json.loads(done.stdout)
    assert {"stamps", "flash"} <= set(verdict["facts"])
    flash_checks = [c for c in verdict["checks"] if c["id"] == "FLASH-SKEW" and c["subject"] == "group star"]
    assert len(flash_checks) == 1 and flash_checks[0]["status"] == "fail"
    assert flash_checks[0]["devices"] == ["kinect-sub1"]
