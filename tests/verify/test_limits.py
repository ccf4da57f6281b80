"""The rig file's [verify] limits: parsed and validated, resolved per group (group, rig, method default)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.verify.rigs import GENLOCK, TWO_HOSTS_PTP

from rigsync.core.errors import RigFileError
from rigsync.plan import build_plan
from rigsync.record import open_recording
from rigsync.spec import loads_rig
from rigsync.verify.limits import FREE_RUNNING, VerifyLimits

WEBCAM = """
[[devices]]
id = "web"
model = "uvc-webcam"
serial = "W9"
host = "h"
connection = "usb:c9"
streams = [{ kind = "color", width = 640, height = 480, fps = 15 }]
"""


def test_method_defaults() -> None:
    """Without [verify]: hardware-class groups 100 us (seeds/001), PTP groups their own error level (seeds/003),
    free-running streams half their slowest frame period; each limit says where it came from."""
    genlock = VerifyLimits.from_plan(build_plan(loads_rig(GENLOCK + WEBCAM, "r.toml")))
    gl = genlock.group("gl")
    assert (gl.method, gl.max_skew_us, gl.max_bound_us, gl.max_drift_ppm, gl.max_drop_rate) == (
        "genlock", 100.0, 100.0, 100.0, 0.01)
    assert gl.source("max_skew_us") == "default (genlock)"
    free = genlock.device("web")
    assert (free.group, free.max_skew_us) == (FREE_RUNNING, pytest.approx(1e6 / 15 / 2, abs=1e-3))
    ptp = VerifyLimits.from_plan(build_plan(loads_rig(
        TWO_HOSTS_PTP.replace('grandmaster = "gm"', 'grandmaster = "gm"\noffset_error_ns = 4000'), "p.toml")))
    lan = ptp.group("lan")
    assert (lan.max_skew_us, lan.max_bound_us, lan.max_drift_ppm) == (4.0, 4.0, 1.0)


def test_group_overrides_rig_overrides_default() -> None:
    """A group's verify wins over the rig's [verify], which wins over the method default, key by key."""
    text = GENLOCK.replace('name = "gl"', 'name = "gl"\nverify = { max_skew_us = 50 }') + WEBCAM + \
        "\n[verify]\nmax_skew_us = 500\nmax_drop_rate = 0\n"
    limits = VerifyLimits.from_plan(build_plan(loads_rig(text, "r.toml")))
    gl, free = limits.group("gl"), limits.group(FREE_RUNNING)
    assert (gl.max_skew_us, gl.source("max_skew_us")) == (50.0, "sync[gl].verify")
    assert (gl.max_drop_rate, gl.source("max_drop_rate")) == (0.0, "[verify]")
    assert (free.max_skew_us, free.source("max_skew_us")) == (500.0, "[verify]")
    assert gl.max_bound_us == 100.0


@pytest.mark.parametrize(("snippet", "message"), [
    ("[verify]\nmax_skew = 5", 'r.toml: verify.max_skew = 5: unknown key (allowed: max_bound_us, '
     'max_drift_change_ppm, max_drift_ppm, max_drop_rate, max_gap_frames, max_image_skew_us, max_rate_jitter_us, '
     'max_skew_us, max_stamp_error_us)'),
    ("[verify]\nmax_skew_us = 0", "r.toml: verify.max_skew_us = 0.0: out of range (allowed: more than 0, up to "
     "1,000,000,000 us)"),
    ("[verify]\nmax_drop_rate = 1.5", "r.toml: verify.max_drop_rate = 1.5: out of range (allowed: 0 to 1)"),
    ("[verify]\nmax_drift_ppm = nan", "r.toml: verify.max_drift_ppm = nan: not a finite number (allowed: 0 to "
     "1,000,000 ppm)"),
    ('[verify]\nmax_gap_frames = "ten"', 'r.toml: verify.max_gap_frames = "ten": expected a number, got a string'),
    ("[verify]\nmax_stamp_error_us = -3", "r.toml: verify.max_stamp_error_us = -3.0: out of range (allowed: more "
     "than 0, up to 1,000,000,000 us)"),
])
def test_bad_verify_tables_name_file_field_value_and_allowed(snippet: str, message: str) -> None:
    """Every bad [verify] value or key is refused naming the file, the field, the value and what is allowed."""
    with pytest.raises(RigFileError) as err:
        loads_rig(GENLOCK + "\n" + snippet + "\n", "r.toml")
    assert str(err.value) == message


def test_bad_group_verify_is_refused_at_its_path() -> None:
    """A group's verify is checked the same way, at sync[i].verify."""
    with pytest.raises(RigFileError, match=r"^r\.toml: sync\[0\]\.verify\.max_image_skew_us = 0\.0: out of range"):
        loads_rig(GENLOCK.replace('name = "gl"', 'name = "gl"\nverify = { max_image_skew_us = 0 }'), "r.toml")


def test_limits_of_a_recording_come_from_its_embedded_rig(genlock_lost: Path) -> None:
    """VerifyLimits.of_recording reads the rig file the recording embeds: its groups and their methods."""
    with open_recording(genlock_lost) as rec:
        limits = VerifyLimits.of_recording(rec)
    assert [(g.group, g.method) for g in limits.groups] == [("gl", "genlock"), (FREE_RUNNING, FREE_RUNNING)]
    assert limits.device("rs-a").group == "gl"
