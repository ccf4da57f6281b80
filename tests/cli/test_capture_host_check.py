"""``rigsync capture``'s host part on one host: this machine's set-up as the rig's host, checked with the devices
before the capture starts. The machine stands for a recorded one (``check_cmd.local_probe``, the seam): a failing
finding refuses the capture with the table and the fix, ``--no-check`` captures anyway, a warning is said and the
capture goes on; the network options of ``rigsync check`` are refused without ``--all-hosts``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rigsync.cli import check_cmd
from rigsync.cli.main import main
from rigsync.hostcheck.probe import RecordedProbe
from rigsync.hostcheck.usbfs import PATH

STAR = str(Path(__file__).parents[2] / "examples" / "kinect_star.toml")  # three Kinects on capture-1: 48 MB
FIX = f"sudo sh -c 'echo 48 > {PATH}'"


@pytest.fixture
def usbfs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """This machine as one whose usbfs memory is ``usbfs[0]`` (None: the file is not there) and whose disk has room
    and speed for the take; counts the reads of the machine in ``usbfs[1:]``."""
    state: list[str | None] = [None]

    def probe() -> RecordedProbe:
        root = tmp_path / f"machine{len(state)}"
        if state[0] is not None:
            (root / "fs" / PATH.lstrip("/")).parent.mkdir(parents=True)
            (root / "fs" / PATH.lstrip("/")).write_text(state[0])
        root.mkdir(exist_ok=True)
        (root / "disk.json").write_text('{"/": {"total_bytes": 4e12, "free_bytes": 2e12, "write_seconds_per_gb": 0.2}}')
        state.append("read")
        return RecordedProbe(root)

    monkeypatch.setattr(check_cmd, "local_probe", probe)
    return state


def _capture(tmp_path: Path, capsys: pytest.CaptureFixture[str], *options: str) -> tuple[int, str, str, Path]:
    out = tmp_path / "take.mcap"
    status = main(["capture", STAR, "--fast", "--seconds", "0.3", "--out", str(out), "--overwrite", "--quiet",
                   *options])
    captured = capsys.readouterr()
    return status, captured.out, " ".join(captured.err.split()), out


def test_a_failing_host_finding_refuses_the_capture_and_no_check_captures_anyway(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], usbfs: list[str | None]) -> None:
    """16 MB of usbfs memory for three Kinects (48 MB): exit 2, nothing recorded, the host's table with the fix and
    an error naming the host, the item and --no-check; with --no-check the same machine is not read and the take
    is recorded."""
    usbfs[0] = "16\n"
    status, out, err, take = _capture(tmp_path, capsys, "--check")
    assert status == 2 and not take.exists()
    assert "host capture-1: 2 passed, 0 warnings, 1 failed, 3 skipped" in out  # disk; usbfs; the simulated Kinects
    assert "usbfs-memory" in out and "FAIL" in out and "sudo sh -c 'echo 48 >" in out
    assert err == (f"error: {STAR}: host capture-1's set-up failed (usbfs-memory): nothing was recorded (fix what "
                   "the table says, or capture anyway with --no-check)")
    reads = len(usbfs)
    status, out, err, take = _capture(tmp_path, capsys, "--no-check")
    assert status == 0 and take.exists() and "FAIL" not in out
    assert len(usbfs) == reads  # not checked at all


def test_a_host_warning_is_said_and_the_capture_goes_on(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       usbfs: list[str | None]) -> None:
    """usbfs memory not readable (usbcore not loaded): a warning line with what was seen, what the plan needs and
    the fix; the take is recorded. With 48 MB: no warning, recorded."""
    status, out, _err, take = _capture(tmp_path, capsys, "--check")
    assert status == 0 and take.exists()
    said = " ".join(out.split())
    assert (f"warning: host capture-1 usbfs-memory: {PATH} not readable (usbcore not loaded?); the plan needs >= 48 "
            f"MB (or 0: unlimited) for 3 device(s) (fix: {FIX} (now, until reboot); ") in said
    assert "sudo update-grub and reboot; docs/hosts.md#usbfs-memory)" in said
    usbfs[0] = "48\n"
    status, out, _err, take = _capture(tmp_path, capsys, "--check")
    assert status == 0 and take.exists() and "warning: host" not in " ".join(out.split())


def test_a_simulated_rig_is_not_checked_unless_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     usbfs: list[str | None]) -> None:
    """The default on an all-simulated rig is no check: the machine is never read, even when it would fail."""
    usbfs[0] = "16\n"
    status, _, _, take = _capture(tmp_path, capsys)
    assert status == 0 and take.exists() and len(usbfs) == 1


def test_check_json_holds_the_hosts_findings_and_fails_on_one(capsys: pytest.CaptureFixture[str],
                                                              usbfs: list[str | None]) -> None:
    """`rigsync check --host H --json --no-devices`: the host's findings as JSON, exit 1 on a failing one."""
    usbfs[0] = "16\n"
    assert main(["check", STAR, "--host", "capture-1", "--no-devices", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["devices"] == []
    statuses = [(f["host"], f["item"], f["subject"], f["status"]) for f in report["hosts"]]
    assert statuses == [("capture-1", "usbfs-memory", "", "fail"),
                        *[("capture-1", "usb-camera", d, "skip") for d in ("kinect-master", "kinect-sub1",
                                                                             "kinect-sub2")],
                        ("capture-1", "disk-space", str(Path.cwd()), "pass"),
                        ("capture-1", "disk-write", str(Path.cwd()), "pass")]
    assert report["hosts"][0]["fix"].startswith(FIX)
    assert report["hosts"][0]["doc"] == "docs/hosts.md#usbfs-memory"


@pytest.mark.parametrize(("argv", "message"), [
    (["--connect", "tcp/127.0.0.1:7447"], 'error: --connect: reaches the other hosts\' agents (allowed: with '
                                          '--all-hosts)'),
    (["--discover", "eth0"], "error: --discover: reaches the other hosts' agents (allowed: with --all-hosts)"),
    (["--all-hosts", "--tls", "certs"], 'error: --tls = "certs": a machine that is none of the rig\'s hosts has no '
                                        "certificate of its own"),
    (["--all-hosts", "--host", "nope"], f'error: --host = "nope": not a host of {STAR} (allowed: capture-1)'),
])
def test_bad_options_of_a_check_across_hosts_are_named(argv: list[str], message: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", STAR, "--no-devices", *argv]) == 2
    assert " ".join(capsys.readouterr().err.split()).startswith(message)
