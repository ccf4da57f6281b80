"""``rigsync clock-test``: seeds/000's CURRENT - IMAGE test, on the simulator or on a real host in observe mode."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from rigsync.cli.args import PRINT_EVERY_S, folder, integer, number
from rigsync.core.errors import OptionError, RigsyncError
from rigsync.core.limits import CAPTURE_SECONDS, SEED

if TYPE_CHECKING:
    from rigsync.capture.clocktest import ClockTestResult, ClockTestRow


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("clock-test", help="CURRENT - IMAGE across a clock step (the ZED PTP test), with a plot")
    p.add_argument("rig", type=Path, nargs="?", help="rig with a PTP grandmaster host (default: the ZED document's "
                                                     "two-host set-up)")
    p.add_argument("--device", help="the camera to watch (default: the first on a PTP slave host)")
    p.add_argument("--step-ms", type=_step_ms, default=1000.0, help="how far the grandmaster's clock is set (1000)")
    p.add_argument("--at", type=_at_s, default=5.0, help="when, in seconds after the start (5)")
    p.add_argument("--seconds", type=number(CAPTURE_SECONDS), default=30.0, help="how long the test runs (30)")
    p.add_argument("--seed", type=integer(SEED), help="simulation seed")
    p.add_argument("--every", type=number(PRINT_EVERY_S), default=0.5,
                   help="print a line every this many seconds (0.5)")
    p.add_argument("--png", type=Path, default=Path("clock-test.png"), help="the plot (clock-test.png)")
    p.add_argument("--observe", action="store_true", help="real host: read its ptp4l (observe mode) instead")
    p.add_argument("--host", help="--observe: the rig host this machine is (its rigsync ptp run state)")
    p.add_argument("--state-dir", type=folder, help="--observe: where rigsync ptp run keeps its state")


def _step_ms(text: str) -> float:
    """``--step-ms``: a clock-step fault's step (the rig file's range; imported only when the option is given)."""
    from rigsync.spec.limits import STEP_MS

    return number(STEP_MS, nonzero=True)(text)


def _at_s(text: str) -> float:
    from rigsync.spec.limits import FAULT_AT_S

    return number(FAULT_AT_S)(text)


def run_command(args: argparse.Namespace, console: Console) -> int:
    from rigsync.capture.clocktest import sim_clock_test
    from rigsync.verify.report_plots import save_png
    from rigsync.verify.result import Plot, Series

    next_print = [0.0]

    def show(row: ClockTestRow) -> None:
        if row.t_s >= next_print[0]:
            next_print[0] = row.t_s + args.every
            console.print(Text(f"t = {row.t_s:6.2f} s   CURRENT - IMAGE = {row.current_minus_image_ns / 1e6:12.3f} "
                               f"ms   (bound {row.bound_ns / 1e6:.3f} ms)"), highlight=False)

    result: ClockTestResult
    if not args.observe and args.at >= args.seconds:
        raise OptionError("--at", args.at, f"not before the end of the test (--seconds {args.seconds:g})",
                          f"0 to less than {args.seconds:g} s")
    if args.observe:
        result = _observe(args, show)
    else:
        from rigsync.spec import load_rig

        rig = load_rig(args.rig) if args.rig is not None else None
        result = sim_clock_test(rig, device=args.device, step_ms=args.step_ms, at_s=args.at, seconds=args.seconds,
                                seed=args.seed)
        for row in result.rows:
            show(row)
    console.print(Text(result.title, style="bold"), highlight=False)
    held = (f"held by the rig's schedule until {result.hold_s:.1f} s after the step, then slewed at 10 %; "
            if result.hold_s is not None else "")
    console.print(Text(f"before the step CURRENT - IMAGE = {result.baseline_ns / 1e6:.3f} ms; the step showed as "
                       f"{result.peak_ns / 1e6:.3f} ms; {held}back within {result.tolerance_ns / 1e6:.1f} ms "
                       + (f"{result.recovery_s:.1f} s after the step" if result.recovery_s is not None
                          else "(not within the test)")), highlight=False)
    console.print(Text(f"IMAGE: never back ({result.backwards} backward steps); its advance changed by at most "
                       f"{result.max_interval_change:.1%} of a frame interval from one frame to the next"),
                  highlight=False)
    marks = [(result.step_at_s, "clock step")] if result.step_at_s is not None else []
    if result.step_at_s is not None and result.hold_s is not None:
        marks.append((result.step_at_s + result.hold_s, "slew starts"))
    curve = Series("CURRENT - IMAGE", tuple(r.t_s for r in result.rows),
                   tuple(r.current_minus_image_ns / 1e6 for r in result.rows))
    save_png(Plot("clock-test", result.title[:110], "line", "time (s)", "CURRENT - IMAGE (ms)", (curve,),
                  "The host's clock when each frame was grabbed (CURRENT) minus the frame's rig-time stamp (IMAGE)."),
             args.png, marks=marks)
    console.print(Text(f"wrote {args.png}"), highlight=False)
    return 0 if result.backwards == 0 else 1


def _observe(args: argparse.Namespace, show: Callable[[ClockTestRow], None]) -> ClockTestResult:
    from rigsync.capture.clocktest import observe_clock_test
    from rigsync.ptp.monitor import PmcMonitor
    from rigsync.ptp.pmc import Pmc
    from rigsync.ptp.status import default_state_dir, read_states

    if args.host is None:
        raise RigsyncError("--observe needs --host: the host whose rigsync ptp run (observe mode) to read")
    states = {str(s["host"]): s for s in read_states(args.state_dir or default_state_dir())}
    state = states.get(args.host)
    if state is None:
        raise RigsyncError(f"no rigsync ptp run state for host {args.host} in {args.state_dir or default_state_dir()} "
                           f"(found: {', '.join(states) or 'none'}); start: rigsync ptp run RIG --host {args.host} "
                           "--mode observe")
    if state.get("mode") != "observe":
        raise RigsyncError(f"host {args.host} runs PTP in {state.get('mode')} mode: the test on a real host reads "
                           "ptp4l in observe mode (rigsync ptp run ... --mode observe)")
    software = state.get("timestamping") != "hardware"
    domain = state.get("domain", 0)
    pmc = Pmc(Path(str(state["uds"])), domain=domain if isinstance(domain, int) else 0)
    with PmcMonitor(pmc, args.host, software=software, interval_s=0.25) as monitor:
        return observe_clock_test(monitor, args.host, seconds=args.seconds, on_row=show)
