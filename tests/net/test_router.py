"""HostRouter's simulated starts and stops across worlds under a loaded machine: every agent is told whichever
fails, a late one is a warning for the capture, and the lead grows with the control round trips."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from rigsync.core.errors import DriverError
from rigsync.drivers.factory import open_drivers
from rigsync.net.keys import Verb
from rigsync.net.router import SIM_CONTROL_LEAD_NS, HostRouter
from rigsync.plan import build_plan
from rigsync.spec import load_rig

THREE_HOSTS = Path(__file__).parents[2] / "examples" / "three_hosts_ptp.toml"


class FakeRemote:
    """A remote host's agent as HostRouter uses it: answers a control with ``late_ns``, fails, or takes ``delay_s``."""

    def __init__(self, host: str, *, late_ns: int = 0, fails: bool = False, delay_s: float = 0.0) -> None:
        self.host, self.late_ns, self.fails, self.delay_s = host, late_ns, fails, delay_s
        self.silent = self.away = False
        self.asked: list[tuple[Verb, dict[str, Any]]] = []
        self.on_restart: Any = None

    def query(self, verb: Verb, body: dict[str, Any]) -> dict[str, Any]:
        self.asked.append((verb, body))
        time.sleep(self.delay_s)
        if self.fails:
            raise DriverError("remote", None, f"host {self.host}'s agent did not answer {verb} within 5 s")
        return {"late_ns": self.late_ns}


def router(**remotes: FakeRemote) -> HostRouter:
    rig = load_rig(THREE_HOSTS)
    local = open_drivers(rig, build_plan(rig), hosts=["gm"], origin_realtime_ns=time.clock_gettime_ns(
        time.CLOCK_REALTIME))["sim"]
    return HostRouter(rig, "gm", local, remotes)  # type: ignore[arg-type]


def test_every_agent_is_told_a_stop_even_when_one_fails_and_the_failure_names_its_host() -> None:
    """kin's agent fails the stop; vis is still told the same instant, the control is kept, and the error raised
    afterwards names kin (the capture makes it a warning and stops the other devices)."""
    kin, vis = FakeRemote("kin", fails=True), FakeRemote("vis")
    r = router(kin=kin, vis=vis)
    with pytest.raises(DriverError, match="host kin's agent did not answer stop"):
        r.sim_control(Verb.STOP, "zed")
    (verb, device, at_ns), = r.controls
    assert (verb, device) == (Verb.STOP, "zed")
    assert kin.asked == vis.asked == [(Verb.STOP, {"device": "zed", "at_ns": at_ns})]


def test_a_control_an_agent_applied_late_is_one_warning_naming_host_device_and_lateness() -> None:
    """vis's world took the start 350 ms late: one warning for the capture, once."""
    r = router(kin=FakeRemote("kin"), vis=FakeRemote("vis", late_ns=350_000_000))
    r.sim_control(Verb.START, "cam")
    warnings = r.take_warnings()
    assert len(warnings) == 1 and warnings[0].startswith("host vis's world took the start of cam 350 ms after its "
                                                         "instant")
    assert r.take_warnings() == []


def test_the_lead_grows_to_four_round_trips_when_controls_are_slow() -> None:
    """Controls answered within 1 ms keep the 200 ms lead; a round trip of 80 ms makes the next lead 4 x 80 ms or
    more (and not past 4 x the slowest seen plus the sleep's overshoot)."""
    slow = FakeRemote("vis")
    r = router(vis=slow)
    world = r._local.world  # type: ignore[attr-defined]
    now = max(r.sim_now_ns(), world.now_ns)
    first = r.sim_control(Verb.START, "cam")
    assert SIM_CONTROL_LEAD_NS <= first - now < SIM_CONTROL_LEAD_NS + 50_000_000
    slow.delay_s = 0.08
    r.sim_control(Verb.STOP, "cam")
    slow.delay_s = 0.0
    now = max(r.sim_now_ns(), world.now_ns)
    third = r.sim_control(Verb.START, "cam")
    assert 4 * 80_000_000 <= third - now < 4 * 130_000_000


def test_the_agents_are_told_at_once_not_one_after_another() -> None:
    """Both agents' queries are in flight together (each waits at a barrier for the other: told one after the
    other, the first would wait alone and the barrier break), so one slow agent delays no other."""
    barrier = threading.Barrier(2, timeout=5)

    class Meeting(FakeRemote):
        def query(self, verb: Verb, body: dict[str, Any]) -> dict[str, Any]:
            barrier.wait()
            return super().query(verb, body)

    kin, vis = Meeting("kin"), Meeting("vis")
    router(kin=kin, vis=vis).sim_control(Verb.START, "zed")
    assert len(kin.asked) == len(vis.asked) == 1
