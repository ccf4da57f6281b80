"""The end-to-end network benchmark's own arithmetic (bench/bench_net_e2e.py, bench/_e2e_capture.py): its rigs plan
cleanly and its added latency turns a host's simulated CLOCK_MONOTONIC back into true time to the nanosecond."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("zenoh")

from rigsync.drivers.sim._model import SIM_EPOCH_NS
from rigsync.drivers.sim.world import SimWorld
from rigsync.plan import build_plan
from rigsync.spec import loads_rig

BENCH = Path(__file__).parents[2] / "bench"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_rigs_plan_without_a_diagnostic() -> None:
    """The throughput rig and the camera-count rigs (4 agents) have no plan error or warning: no frame of theirs is
    dropped or corrupted by an over-budget link the benchmark did not ask for."""
    bench = _load("bench_net_e2e")
    for agents, per_agent, width, size in ((3, 2, 1280, (1280, 720)), (3, 1, 320, (640, 480)),
                                           (4, 1, 320, (640, 480)), (4, 10, 320, (640, 480))):
        plan = build_plan(loads_rig(bench.rig_text(agents, per_agent, width, size), "bench.toml"))
        assert not plan.errors and not plan.warnings, (agents, per_agent, plan.errors, plan.warnings)
        assert len(plan.rig.devices) == agents * per_agent


def test_a_hosts_receive_stamp_maps_back_to_the_true_instant_within_a_nanosecond() -> None:
    """``true_rx_ns`` inverts a PTP-steered agent host's simulated CLOCK_MONOTONIC (its rate steered by the servo)
    from a guess up to 3 s off, to within 1 ns of the true instant that produced the reading; the host's reading is
    not the true time itself (an offset of hours), so a missing conversion would be off by far more."""
    probe = _load("_e2e_capture")
    bench = sys.modules["bench_net_e2e"] if "bench_net_e2e" in sys.modules else _load("bench_net_e2e")
    rig = loads_rig(bench.rig_text(3, 1, 320, (640, 480)), "bench.toml")
    world = SimWorld(rig, build_plan(rig), hosts=[])
    host = world.hosts["a2"]
    for k in range(200):
        t_true = SIM_EPOCH_NS + k * 49_999_937
        reading = host.mono_ns(t_true)
        assert abs(reading - t_true) > 1_000_000_000
        for guess_off in (0, 30_000_000, 3_000_000_000):
            assert abs(probe.true_rx_ns(host, reading, t_true + guess_off) - t_true) <= 1
