"""Every number of a rig file is finite and within its range; files that are not UTF-8 TOML, nest too deeply or
hold impossible poses are refused with the file, the field, the value and what is allowed."""

from __future__ import annotations

import copy
import math
import tomllib
from pathlib import Path
from typing import Any

import pytest
from tests.fuzz.rigfuzz import dumps

from rigsync.core.errors import RigFileError
from rigsync.spec import limits as lim
from rigsync.spec import load_rig, loads_rig

# One rig holding every ranged field of FIELDS once (array entries are the first of their array).
FULL = """
[sim]
seed = 3
render_width = 64
max_drift_ppm = 50
ptp_running_s = 60
flashes = [{ at_s = 1, duration_us = 1000, gain = 80 }]

[sim.ledclock]
drift_ppm = 10
offset_s = 100
noise = 1

[[hosts]]
name = "h1"
gpu_memory_mb = 8000
usb_controllers = [{ name = "mb0", capacity_mb_s = 620 }]
nics = [{ name = "eth0", timestamping = "hardware", speed_gbps = 1 }]

[[triggers]]
name = "gen"
rate_hz = 30
level_v = 5
pulse_width_us = 100
drive_ma = 20
drift_ppm = 0

[[devices]]
id = "k0"
model = "azure-kinect-dk"
serial = "A0"
host = "h1"
connection = "usb:mb0"
pose = { position = [2, 0, 1.5], look_at = [0, 0, 1], up = [0, 0, 1] }
streams = [{ kind = "color", width = 1280, height = 720, fps = 30 }]
sim = { drift_ppm = 5, clock_start_s = 10, drop_rate = 0 }

[[devices]]
id = "g0"
model = "gige-ptp-area-scan"
serial = "G0"
host = "h1"
connection = "eth:eth0"
streams = [{ kind = "color", width = 1920, height = 1200, fps = 30 }]

[[sync]]
name = "kin"
method = "hardware"
topology = "star"
source = { trigger = "gen" }
burst = 1
stagger_us = 0
members = [{ device = "k0", delay_us = 0, depth_delay_us = 0, cable_m = 2 }]
[sync.verify]
max_skew_us = 100
max_drop_rate = 0.01
max_bound_us = 100
max_drift_ppm = 100
max_drift_change_ppm = 5
max_rate_jitter_us = 100
max_gap_frames = 10
max_image_skew_us = 100
max_stamp_error_us = 100

[[sync]]
name = "net"
method = "ptp"
members = [{ device = "g0" }]
[sync.ptp]
grandmaster = "h1"
domain = 0
log_sync_interval = 0
offset_warn_ns = 1000
offset_error_ns = 10000
start_delay_s = 1

[[faults]]
device = "k0"
kind = "disconnect"
at_s = 1
duration_s = 0.5

[[faults]]
host = "h1"
kind = "clock-step"
at_s = 1
step_ms = 100

[verify]
max_skew_us = 100
max_drop_rate = 0.01
max_bound_us = 100
max_drift_ppm = 100
max_drift_change_ppm = 5
max_rate_jitter_us = 100
max_gap_frames = 10
max_image_skew_us = 100
max_stamp_error_us = 100
"""


INTEGERS = {"seed", "packet_size", "render_width", "gpu_memory_mb", "burst", "domain", "log_sync_interval",
            "offset_warn_ns", "offset_error_ns"}
"""Fields read as integers (the others are numbers: an integer there is a number too)."""


def _path(key: str) -> tuple[tuple[str | int, ...], str]:
    """The place of a FIELDS key in FULL, and its field path as errors spell it."""
    parts = key.split(".")
    if key == "faults.step_ms":
        return ("faults", 1, "step_ms"), "faults[1].step_ms"
    if key == "devices.packet_size":  # GigE Vision cameras only: g0
        return ("devices", 1, "packet_size"), "devices[1].packet_size"
    if key.startswith("sync.ptp."):
        return ("sync", 1, "ptp", parts[-1]), f"sync[1].ptp.{parts[-1]}"
    path: list[str | int] = []
    shown = ""
    for i, part in enumerate(parts):
        path.append(part)
        shown += ("." if shown else "") + part
        if part in ("hosts", "triggers", "devices", "sync", "faults", "usb_controllers", "nics", "members",
                    "flashes") and \
                i < len(parts) - 1:
            path.append(0)
            shown += "[0]"
    return tuple(path), shown


def _with(key: str, value: Any) -> str:
    data = tomllib.loads(FULL)
    path, _ = _path(key)
    node: Any = data
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = [value, 0.5, 0.25] if key.startswith("devices.pose") else value
    if key == "sync.ptp.offset_warn_ns":
        node["offset_error_ns"] = max(value, 1) if isinstance(value, int) else 10_000
    return dumps(data)


def _outside(limits: lim.Limits) -> list[float]:
    step = max(abs(limits.hi - limits.lo) * 1e-3, 1e-6)
    below = limits.lo if limits.lo_open else limits.lo - (1 if float(limits.lo).is_integer() else step)
    above = limits.hi if limits.hi_open else limits.hi + (1 if float(limits.hi).is_integer() else step)
    return [below, above]


def test_full_rig_loads() -> None:
    """The rig holding every ranged field loads as written (so each case below changes one field only)."""
    rig = loads_rig(FULL, "rig.toml")
    assert rig.sync_groups[1].ptp is not None and rig.faults[1].step_ms == 100


@pytest.mark.parametrize("key", sorted(lim.FIELDS))
def test_every_ranged_field_refuses_inf_nan_and_values_outside(key: str) -> None:
    """inf, -inf, nan and a value just outside the range are refused at the field, quoting the range."""
    limits = lim.FIELDS[key]
    _, shown = _path(key)
    integer = key.rsplit(".", 1)[-1] in INTEGERS
    bad: list[Any] = [int(v) if integer else v for v in _outside(limits)]
    if not integer:
        bad += [math.inf, -math.inf, math.nan]
    for value in bad:
        with pytest.raises(RigFileError) as info:
            loads_rig(_with(key, value), "rig.toml")
        err = info.value
        assert err.field == shown, str(err)
        assert str(err).startswith(f"rig.toml: {shown} = ")
        if key.startswith("devices.pose"):
            assert err.allowed == f"coordinates {limits.describe()}"
        else:
            assert err.allowed == limits.describe(), str(err)
        finite = isinstance(value, int) or math.isfinite(value)
        assert ("out of range" if finite else "not a finite number") in err.problem, str(err)


@pytest.mark.parametrize("key", sorted(lim.FIELDS))
def test_both_ends_of_every_range_are_allowed(key: str) -> None:
    """The lowest and the highest allowed value of each field pass its own check."""
    limits = lim.FIELDS[key]
    _, shown = _path(key)
    integer = key.rsplit(".", 1)[-1] in INTEGERS
    for end in (limits.lo, limits.hi):
        value: float = int(end) if integer else float(end)
        if (end == limits.lo and limits.lo_open) or (end == limits.hi and limits.hi_open):
            value = value + (1 if integer else 1e-6) * (1 if end == limits.lo else -1)
        try:
            loads_rig(_with(key, value), "rig.toml")
        except RigFileError as err:  # another rule may refuse the combination, never this field's range
            assert not (err.field == shown and err.allowed == limits.describe()), str(err)


def test_not_finite_numbers_are_refused_where_they_are_read() -> None:
    """inf or nan in a number with no range of its own (a frame rate) is refused as not finite."""
    err = _error(FULL.replace("fps = 30 }]\nsim", "fps = nan }]\nsim"))
    assert str(err) == "rig.toml: devices[0].streams[0].fps = nan: not a finite number (allowed: a finite number)"


def test_integer_too_large_for_a_number_is_refused() -> None:
    """An integer beyond a float's range in a number field is refused as not finite, not an OverflowError."""
    err = _error(FULL.replace("level_v = 5", f"level_v = {10**400}"))
    assert err.field == "triggers[0].level_v" and "not a finite number" in str(err)
    assert "(an integer of 401 digits)" in str(err)


def _error(text: str) -> RigFileError:
    with pytest.raises(RigFileError) as info:
        loads_rig(text, "rig.toml")
    return info.value


@pytest.mark.parametrize(("pose", "field", "problem"), [
    ("position = [1, 1, 1], look_at = [1, 1, 1]", "look_at", "looks at its own position"),
    ("position = [2, 0, 1], look_at = [0, 0, 1], up = [0, 0, 0]", "up", "zero, or along the viewing direction"),
    ("position = [2, 0, 1], look_at = [0, 0, 1], up = [-3, 0, 0]", "up", "zero, or along the viewing direction"),
    ("position = [20000, 0, 1]", "position", "out of range"),
])
def test_degenerate_poses_are_refused(pose: str, field: str, problem: str) -> None:
    """A camera that looks at itself, or whose up vector is zero or along its view, has no image orientation."""
    err = _error(FULL.replace("position = [2, 0, 1.5], look_at = [0, 0, 1], up = [0, 0, 1]", pose))
    assert err.field == f"devices[0].pose.{field}" and problem in err.problem, str(err)


def test_non_utf8_file_names_the_byte_line_and_column(tmp_path: Path) -> None:
    """A file that is not UTF-8 is refused with the byte, its line and column, not a UnicodeDecodeError."""
    path = tmp_path / "latin.toml"
    path.write_bytes(FULL.encode().replace(b'serial = "A0"', b'serial = "A\xe90"'))
    with pytest.raises(RigFileError) as info:
        load_rig(path)
    line = FULL.split("\n").index('serial = "A0"') + 1
    assert str(info.value) == (f"latin.toml: not UTF-8 text: byte 0xe9 at line {line}, column 12 (invalid "
                               "continuation byte) (allowed: a TOML file saved as UTF-8)")


@pytest.mark.parametrize(("path", "problem"), [
    ("/dev/zero", "/dev/zero: larger than 64 MiB: not a rig file"),
    (".", ".: is a folder, not a rig file"),
])
def test_endless_files_and_folders_are_refused_without_reading_them(path: str, problem: str) -> None:
    """A device that never ends (/dev/zero) is read only up to 64 MiB and refused; a folder is named as one."""
    with pytest.raises(RigFileError) as info:
        load_rig(path)
    assert str(info.value).startswith(problem)


def test_utf16_file_is_refused_and_a_utf8_bom_is_read(tmp_path: Path) -> None:
    """UTF-16 text is refused saying so; UTF-8 with a byte-order mark loads."""
    path = tmp_path / "r.toml"
    path.write_bytes(FULL.encode("utf-16"))
    with pytest.raises(RigFileError, match=r"r\.toml: the file is UTF-16 text; a rig file is UTF-8"):
        load_rig(path)
    path.write_bytes(b"\xef\xbb\xbf" + FULL.encode())
    assert load_rig(path).devices[0].id == "k0"


@pytest.mark.parametrize("opening", ["[", "{a = "])
def test_deep_nesting_is_refused_with_its_line(opening: str) -> None:
    """Arrays or inline tables nested past the limit are refused with the line, whether or not the TOML reader
    itself would run out of stack (5000 levels) or not (150 levels)."""
    closing = "]" if opening == "[" else "}"
    for depth in (150, 5000):
        text = FULL + f"\nx = {opening * depth}1{closing * depth}\n"
        err = _error(text)
        line = FULL.count("\n") + 2
        assert str(err) == (f"rig.toml: arrays or tables nested too deeply (line {line}) (allowed: at most "
                            f"{100} levels)")


def test_values_in_errors_are_shown_short_and_on_one_line() -> None:
    """A huge or multi-line value in an error is cut and escaped, so the message stays one readable line."""
    err = _error(FULL.replace('serial = "A0"', 'serial = "A0"\nnote = "' + "x" * 500 + '\\nend"'))
    text = str(err)
    assert "\n" not in text and '..." (504 characters)' in text and len(text) < 400
    deep = copy.deepcopy([1])
    for _ in range(90):
        deep = [deep]
    err = _error(FULL.replace('serial = "A0"', f'serial = "A0"\nnote = {deep}'))
    assert "note = [[[[...]]]]: unknown key" in str(err)


def test_docs_state_every_range() -> None:
    """docs/rig-file.md quotes every range exactly as the errors do."""
    docs = (Path(__file__).parents[2] / "docs" / "rig-file.md").read_text()
    missing = [key for key, limits in lim.FIELDS.items() if limits.describe() not in docs]
    assert not missing, missing
