"""Kernel USB memory against the plan's need (seeds/001): pass, fail with the fix, warn when unreadable."""

from __future__ import annotations

import pytest

from rigsync.hostcheck.finding import Status
from rigsync.hostcheck.run import check_host
from rigsync.hostcheck.usbfs import PATH
from rigsync.plan import build_plan
from rigsync.spec import load_rig

from .conftest import EXAMPLES, MakeHost

STAR = build_plan(load_rig(EXAMPLES / "kinect_star.toml"))  # three Azure Kinects on capture-1: 48 MB


def _usbfs(make_host: MakeHost, text: str | None) -> tuple[Status, str, str]:
    probe = make_host(files={PATH: text} if text is not None else {})
    [f] = [f for f in check_host(STAR, "capture-1", probe) if f.item == "usbfs-memory"]
    return f.status, f.seen, f.fix


@pytest.mark.parametrize(("text", "status"), [("48\n", Status.PASS), ("256\n", Status.PASS), ("0\n", Status.PASS),
                                              ("47\n", Status.FAIL), ("16\n", Status.FAIL)])
def test_usbfs_memory_against_three_kinects(make_host: MakeHost, text: str, status: Status) -> None:
    got, seen, fix = _usbfs(make_host, text)
    assert got is status
    assert seen.startswith(("0: unlimited", f"{int(text)} MB")) and PATH in seen
    if status is Status.FAIL:
        assert fix.startswith(f"sudo sh -c 'echo 48 > {PATH}'")
        assert "usbcore.usbfs_memory_mb=48 to GRUB_CMDLINE_LINUX_DEFAULT" in fix
    else:
        assert fix == ""


def test_unreadable_usbfs_memory_warns(make_host: MakeHost) -> None:
    got, seen, _ = _usbfs(make_host, None)
    assert got is Status.WARN and "not readable" in seen
    assert _usbfs(make_host, "lots")[0] is Status.WARN


def test_a_host_without_libusb_cameras_has_no_usbfs_finding(make_host: MakeHost) -> None:
    plan = build_plan(load_rig(EXAMPLES / "gige_ptp_four.toml"))
    host = plan.rig.hosts[0].name
    assert [f for f in check_host(plan, host, make_host()) if f.item == "usbfs-memory"] == []


def test_an_unknown_host_is_refused_naming_the_rigs_hosts(make_host: MakeHost) -> None:
    from rigsync.core.errors import OptionError

    with pytest.raises(OptionError, match=r'--host = "nope": not a host of the rig \(allowed: capture-1\)'):
        check_host(STAR, "nope", make_host())
