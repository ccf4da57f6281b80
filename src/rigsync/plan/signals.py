"""Sync signals: which port drives which, and whether an output's level suits an input.

Logic-input thresholds: a 5 V TTL input sees a high level from 2.0 V (and takes up to 5.5 V); a CMOS input of
supply V sees high from 0.65 V and must not get more than 1.1 V. So a 3.3 V output drives a 5 V TTL input, but
a 1.8 V one does not (seeds/001: "5V TTL/CMOS"); a 5 V PPS output into a 1.8 V RealSense input needs a level
shifter (seeds/004: "PPS signals are usually 5V TTL signals, while Genlock ... requires 1.8V signals").
"""

from __future__ import annotations

from dataclasses import dataclass

from rigsync.catalog.base import CameraModel, SyncPort

TTL_HIGH_V = 2.0


@dataclass(frozen=True)
class LevelCheck:
    detected: bool
    """The input sees the pulses."""
    shifter: bool
    """A level shifter is needed (the output is too high for the input, or too low to be seen)."""
    problem: str


def port(model: CameraModel, direction: str) -> SyncPort | None:
    """The model's sync input (``in``) or output (``out``), if it has one."""
    return next((p for p in model.sync.ports if p.direction == direction), None)


def input_threshold_v(level_v: float) -> float:
    return TTL_HIGH_V if level_v >= 4.5 else 0.65 * level_v


def input_max_v(level_v: float) -> float:
    return 5.5 if level_v >= 4.5 else 1.1 * level_v


def check_level(out_v: float, in_v: float) -> LevelCheck:
    """Whether an output of ``out_v`` volts works into an input rated ``in_v`` volts."""
    if out_v < input_threshold_v(in_v):
        return LevelCheck(False, True, f"a {out_v:g} V output is below the {in_v:g} V input's "
                                       f"{input_threshold_v(in_v):.2g} V threshold: the pulses are not seen")
    if out_v > input_max_v(in_v):
        return LevelCheck(True, True, f"a {out_v:g} V output over-drives a {in_v:g} V input "
                                      f"(at most {input_max_v(in_v):.2g} V)")
    return LevelCheck(True, False, "")
