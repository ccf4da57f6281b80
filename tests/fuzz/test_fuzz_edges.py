"""A rig that loads and plans clean captures without crash or hang, even with its numbers at the ends of their
ranges (the values that used to crash or hang a capture: huge clock starts, drifts, steps, delays, fault times,
every device disconnected throughout), in at most ten times the time of its unchanged example."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from tests.fuzz.edgefuzz import capture_text, edge_cases
from tests.fuzz.rigfuzz import limited

from rigsync.core.errors import RigFileError
from rigsync.spec import loads_rig

EXAMPLES = Path(__file__).parents[2] / "examples"
SAMPLE = re.compile(
    r"^(zed_ptp_three_hosts|realsense_highspeed): ("
    r"devices\.sim\.(drift_ppm = -1000|clock_start_s = 1000000000)|triggers\.0\.rate_hz = 0\.01|"
    r"triggers\.drift_ppm = 1000|sync\.stagger_us = 1000000|sync\.(0\.)?ptp\.start_delay_s = 600|"
    r"sync\.ptp\.log_sync_interval = -7|sim\.ptp_running_s = 0\.0|"
    r"faults (clock-step step_ms=-8\.64e\+07|disconnect at_s=0 duration_s=1e\+06|ptp-loss duration_s=1e\+06|"
    r"disconnect at_s=1e\+06 duration_s=1e\+06|disconnect \(every device\) at_s=0 duration_s=1e\+06))")
CASES = [(what, text) for what, text in edge_cases([EXAMPLES / "zed_ptp_three_hosts.toml",
                                                     EXAMPLES / "realsense_highspeed.toml"])
         if SAMPLE.search(what) and not (what.startswith("realsense") and "ptp-loss" in what)]  # no PTP there
CASES += [(what, text) for what, text in edge_cases([EXAMPLES / "realsense_genlock.toml"])
          if what.startswith("realsense_genlock: devices.0.pose.position = [10000")]  # the renderer warned


SECONDS = 0.5
SLOWER = 10.0
"""A case may take this many times as long as its unchanged example (measured in the same run) ..."""
FLOOR_S = 3.0
"""... and at least this long (a loaded machine's hiccup is not a hang; the hangs this catches ran for minutes)."""


def test_the_sample_covers_the_risky_fields() -> None:
    """The sample holds every kind of edge value named above (a change to the generator cannot empty it)."""
    assert len(CASES) >= 14, [w for w, _ in CASES]
    assert sum("every device" in w for w, _ in CASES) == 2 and sum("at_s=1e+06" in w for w, _ in CASES) == 2


_normal_s: dict[str, float] = {}


def normal_seconds(example: str, folder: Path) -> float:
    """How long the unchanged example takes to capture (measured once per run, on this machine, now)."""
    if example not in _normal_s:
        text = (EXAMPLES / f"{example}.toml").read_text()
        capture_text(text, folder, SECONDS)  # the first capture of a process also pays for imports and caches
        t0 = time.perf_counter()
        result, detail = capture_text(text, folder, SECONDS)
        assert result == "capture", f"{example}: {result}: {detail}"
        _normal_s[example] = time.perf_counter() - t0
    return _normal_s[example]


@pytest.mark.parametrize(("what", "text"), CASES, ids=[w for w, _ in CASES])
def test_edge_values_capture_without_crash_or_hang(what: str, text: str, tmp_path: Path) -> None:
    """Half a second on the virtual clock: the capture ends, within ten times the time of its unchanged example
    measured in the same run, with frames recorded or a plan error, never an exception or a numpy
    RuntimeWarning (a camera 10 km away once made the renderer warn)."""
    limit_s = max(SLOWER * normal_seconds(what.split(":", 1)[0], tmp_path), FLOOR_S)
    result, detail, took = limited(lambda folder: capture_text(text, folder, SECONDS), tmp_path, limit_s)
    assert result in ("capture", "plan-errors"), f"{what}: {result}: {detail} ({took:.1f} s, limit {limit_s:.1f} s)"


@pytest.mark.parametrize(("fragment", "field"), [
    ('\n[[triggers]]\nname = "t"\nrate_hz = 30\ndrift_ppm = -2e6\n', "triggers[0].drift_ppm"),
    ('\n[[faults]]\nhost = "h"\nkind = "clock-step"\nat_s = 1\nstep_ms = 1e300\n', "faults[0].step_ms"),
    ('\n[[faults]]\ndevice = "d"\nkind = "disconnect"\nat_s = inf\nduration_s = 1\n', "faults[0].at_s"),
])
def test_values_that_crashed_or_hung_a_capture_are_refused_at_load(fragment: str, field: str) -> None:
    """The issue's crashing inputs (a -2e6 ppm trigger drift that hung the capture, huge and infinite fault
    times) are refused when the rig file loads, at their field."""
    base = ('[[hosts]]\nname = "h"\n[[devices]]\nid = "d"\nmodel = "uvc-webcam"\nserial = "1"\nhost = "h"\n'
            'connection = "usb:a"\nstreams = [{ kind = "color", width = 640, height = 480, fps = 30 }]\n')
    with pytest.raises(RigFileError) as info:
        loads_rig(base + fragment, "rig.toml")
    assert info.value.field == field
