"""``rigsync verify``: exit codes, the JSON verdict's shape, the terminal verdict, and bad input in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.verify.rigs import GENLOCK


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rigsync.cli.main", "verify", *map(str, args)], check=False,
                          capture_output=True, text=True, timeout=120)


def test_json_verdict_for_ci(genlock_lost: Path) -> None:
    """--json prints the verdict (passed false, every check with its fields) and exits 1 on a failed check; the
    failed checks name rs-a only."""
    out = _run(genlock_lost, "--json")
    assert out.returncode == 1, out.stderr
    verdict = json.loads(out.stdout)
    assert set(verdict) == {"recording", "rig", "duration_s", "passed", "checks", "facts"}
    assert verdict["passed"] is False and verdict["rig"] == "lost"
    assert all(set(c) == {"id", "title", "subject", "status", "value", "limit", "unit", "detail", "method", "devices"}
               for c in verdict["checks"])
    assert sorted({d for c in verdict["checks"] if c["status"] == "fail" for d in c["devices"]}) == ["rs-a"]
    assert verdict["facts"]["stamps"]["framesets"]


def test_terminal_verdict_and_exit_0(genlock: Path) -> None:
    """A passing recording: the verdict table, then PASS; exit 0."""
    out = _run(genlock)
    assert out.returncode == 0, out.stderr
    assert "SKEW" in out.stdout and out.stdout.rstrip().endswith("PASS: no check failed")


def test_terminal_verdict_names_the_failed_devices(genlock_lost: Path) -> None:
    """A failing recording: failures listed first, the last line names the device; exit 1."""
    out = _run(genlock_lost)
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    assert lines[-1] == "FAIL: 4 checks failed; devices: rs-a"
    rows = [line.split("│")[1].strip() for line in lines if line.startswith("│")]
    assert rows[:4] == ["FAIL"] * 4 and "FAIL" not in rows[4:]


def test_rig_option_lends_its_limits(genlock: Path, tmp_path: Path) -> None:
    """--rig with the recording's devices applies its [verify] limits (a skew limit no rig meets: exit 1);
    with other devices, or a bad [verify] key, it is refused in one line naming the file and field (exit 2)."""
    tight = tmp_path / "tight.toml"
    tight.write_text(GENLOCK + "\n[verify]\nmax_skew_us = 0.001\n")
    out = _run(genlock, "--rig", tight, "--json")
    assert out.returncode == 1
    skew = next(c for c in json.loads(out.stdout)["checks"] if c["id"] == "SKEW")
    assert (skew["status"], skew["limit"]) == ("fail", 0.001)
    other = tmp_path / "other.toml"
    other.write_text(GENLOCK.replace('"rs-b"', '"rs-c"'))
    out = _run(genlock, "--rig", other)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.strip().splitlines() == [
        f'error: --rig = "{other}": its devices differ from the recording\'s (allowed: a rig file of devices '
        "rs-master, rs-a, rs-b)"]
    bad = tmp_path / "bad.toml"
    bad.write_text(GENLOCK + "\n[verify]\nmax_skew = 5\n")
    out = _run(genlock, "--rig", bad)
    assert out.returncode == 2
    assert out.stderr.startswith("error: ") and "verify.max_skew = 5: unknown key (allowed: max_bound_us" in \
        out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_bad_recordings_are_one_line_errors(tmp_path: Path) -> None:
    """A missing file, a file that is not MCAP: exit 2, one line naming the file, no traceback."""
    missing = tmp_path / "none.mcap"
    out = _run(missing)
    assert (out.returncode, out.stderr.strip()) == (2, f"error: {missing}: cannot read: No such file or directory")
    text = tmp_path / "notes.mcap"
    text.write_text("not a recording")
    out = _run(text)
    assert (out.returncode, out.stderr.strip()) == (2, f"error: {text}: not an MCAP file (bad magic)")
