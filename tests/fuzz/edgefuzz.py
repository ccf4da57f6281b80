"""Rigs at the ends of every range, captured: what loads and plans clean must capture without crash or hang.

For each example rig and each ranged number it holds (``rigsync.spec.limits.FIELDS``, plus each stream's
exposure within its camera's range), the number is set to the lowest and to the highest value allowed; faults
of every kind are added at the ends of their ranges. Each rig that loads and plans without errors is captured
for a moment on the virtual clock. The suite runs a sample (``test_fuzz_edges.py``); all of them:
``PYTHONPATH=src python3 -m tests.fuzz.edgefuzz``.
"""

from __future__ import annotations

import argparse
import copy
import math
import re
import tempfile
import time
import tomllib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.fuzz.rigfuzz import EXAMPLES, CaseTimeout, crash, dumps, limited


def _ends(lo: float, hi: float, lo_open: bool, hi_open: bool, integer: bool) -> list[float]:
    low = lo + (1 if integer else max(abs(lo), 1.0) * 1e-6) if lo_open else lo
    high = hi - (1 if integer else max(abs(hi), 1.0) * 1e-6) if hi_open else hi
    return [int(v) if integer else float(v) for v in (low, high)]


def _numbers(node: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _numbers(v, (*path, k))
    elif isinstance(node, list) and node and all(isinstance(v, int | float) for v in node) and len(node) == 3:
        yield path, node
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _numbers(v, (*path, i))
    elif isinstance(node, int | float) and not isinstance(node, bool):
        yield path, node


def _key(path: tuple[str | int, ...]) -> str:
    return ".".join(p for p in path if isinstance(p, str))


def _set(data: Any, path: tuple[str | int, ...], value: Any) -> None:
    for p in path[:-1]:
        data = data[p]
    data[path[-1]] = value


def _faults(data: dict[str, Any]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(what, the rig's faults): each kind at the ends of its ranges, and every device disconnected throughout."""
    from rigsync.spec import limits as lim

    device = data["devices"][0]["id"]
    host = data["hosts"][0]["name"]
    at, dur, step = lim.FAULT_AT_S, lim.FAULT_DURATION_S, lim.STEP_MS
    for kind in ("disconnect", "drop-burst"):
        for at_s in _ends(at.lo, at.hi, at.lo_open, at.hi_open, False):
            for duration_s in _ends(dur.lo, dur.hi, dur.lo_open, dur.hi_open, False):
                yield (f"faults {kind} at_s={at_s:g} duration_s={duration_s:g}",
                       [{"device": device, "kind": kind, "at_s": at_s, "duration_s": duration_s}])
    for step_ms in (step.lo, step.hi, 1e-6, -1e-6):
        yield f"faults clock-step step_ms={step_ms:g}", [{"host": host, "kind": "clock-step", "at_s": 0.2,
                                                            "step_ms": step_ms}]
    for duration_s in _ends(dur.lo, dur.hi, dur.lo_open, dur.hi_open, False):
        yield f"faults ptp-loss duration_s={duration_s:g}", [{"host": host, "kind": "ptp-loss", "at_s": 0.0,
                                                                "duration_s": duration_s}]
    yield (f"faults disconnect (every device) at_s=0 duration_s={dur.hi:g}",
           [{"device": d["id"], "kind": "disconnect", "at_s": 0.0, "duration_s": dur.hi} for d in data["devices"]])


_INTEGERS = {"seed", "packet_size", "render_width", "gpu_memory_mb", "burst", "domain", "log_sync_interval",
             "offset_warn_ns", "offset_error_ns"}


def _place(data: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The table (the first of its array; of a sync group, the first with [ptp]) that would hold ``key``, made if
    it is a missing ``[sim]`` or ``[devices.sim]``; None if ``key`` is already set there or the table is absent."""
    *tables, name = key.split(".")
    node: Any = data
    for i, t in enumerate(tables):
        child = node.get(t)
        if child is None and t == "sim" and i == len(tables) - 1:
            child = node[t] = {}
        if isinstance(child, list):
            child = next((c for c in child if tables[i + 1:i + 2] != ["ptp"] or "ptp" in c), None)
        if not isinstance(child, dict):
            return None
        node = child
    return None if name in node else node


def edge_cases(examples: list[Path] = EXAMPLES) -> Iterator[tuple[str, str]]:
    """(what was changed, rig-file text) for every end of every range in every example."""
    from rigsync.catalog import get_model
    from rigsync.spec import limits as lim

    for example in examples:
        base = tomllib.loads(example.read_text())
        for path, value in list(_numbers(base)):
            key = _key(path)
            limits = lim.FIELDS.get(key)
            if key == "devices.streams.exposure_us":
                lo, hi = get_model(base["devices"][path[1]]["model"]).exposure_range_us
                ends: list[Any] = [math.ceil(lo), math.floor(hi)]
            elif limits is None:
                continue
            else:
                integer = isinstance(value, int) and float(limits.lo).is_integer() and float(limits.hi).is_integer()
                ends = _ends(limits.lo, limits.hi, limits.lo_open, limits.hi_open, integer)
                if isinstance(value, list):
                    ends = [[e, e * 0.5, 1.0] for e in ends]
            for end in ends:
                data = copy.deepcopy(base)
                _set(data, path, end)
                yield f"{example.stem}: {'.'.join(map(str, path))} = {end}", dumps(data)
        for key, limits in lim.FIELDS.items():  # ranged fields the example leaves at their defaults
            if key.startswith("devices.pose") or _place(copy.deepcopy(base), key) is None:
                continue
            integer = key.rsplit(".", 1)[-1] in _INTEGERS
            for end in _ends(limits.lo, limits.hi, limits.lo_open, limits.hi_open, integer):
                data = copy.deepcopy(base)
                table = _place(data, key)
                assert table is not None
                table[key.rsplit(".", 1)[-1]] = end
                yield f"{example.stem}: {key} = {end} (added)", dumps(data)
        for what, faults in _faults(base):
            data = copy.deepcopy(base)
            data["faults"] = faults
            yield f"{example.stem}: {what}", dumps(data)
        for rate in (lim.TRIGGER_RATE_HZ.lo, lim.TRIGGER_RATE_HZ.hi):
            if base.get("triggers"):
                data = copy.deepcopy(base)
                data["triggers"][0].update(rate_hz=rate, pulse_width_us=min(100.0, 0.5e6 / rate))
                yield f"{example.stem}: triggers[0].rate_hz = {rate:g}", dumps(data)


def capture_text(text: str, folder: Path, seconds: float) -> tuple[str, str]:
    """Load, plan and (if the plan is clean) capture ``seconds`` on the virtual clock: (result, detail), result
    ``capture`` (captured), ``rejected`` (a rigsync error), ``plan-errors`` (not captured) or ``crash`` (an
    exception, a RuntimeWarning included)."""
    from rigsync.capture.session import CaptureOptions, CaptureSession
    from rigsync.core.errors import RigsyncError
    from rigsync.plan import build_plan
    from rigsync.spec import loads_rig

    try:
        plan = build_plan(loads_rig(text, "edge.toml"))
        if plan.errors:
            return "plan-errors", plan.errors[0].rule
        options = CaptureOptions(out=folder / "edge.mcap", seconds=seconds, fast=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # numpy's overflow and nan warnings: a user sees them
            with CaptureSession(plan, options) as session:
                result = session.run()
        (folder / "edge.mcap").unlink(missing_ok=True)
    except RigsyncError as err:
        return "rejected", str(err)[:200]
    except CaseTimeout:
        raise
    except BaseException as exc:
        return "crash", crash(exc)
    return "capture", f"{result.frames} frames" + (f", error: {result.error}" if result.error else "")


def main() -> None:
    from collections import Counter

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--only", help="only cases whose description matches this regular expression")
    args = ap.parse_args()
    results: Counter[str] = Counter()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for what, text in edge_cases():
            if args.only and not re.search(args.only, what):
                continue
            result, detail, took = limited(lambda folder, t=text: capture_text(t, folder, args.seconds), Path(tmp),
                                           args.timeout)
            results[result] += 1
            print(f"{took:6.1f} s  {result:11s} {what}: {detail[:150]}", flush=True)
    print(f"{sum(results.values())} cases in {time.perf_counter() - t0:.0f} s: {dict(results)}")


if __name__ == "__main__":
    main()
