"""Verdicts built from the result types for the report's tests: every plot kind and every check status."""

from __future__ import annotations

import math

from rigsync.verify.result import Check, Plot, Section, Series, Status, Verdict

DURATION_S = 10.0
FPS = 30


def _times(n: int = int(DURATION_S * FPS)) -> tuple[float, ...]:
    return tuple(i / FPS for i in range(n))


def _skew_us(device: int, i: int) -> float:
    """A deterministic skew sample: a few microseconds, one device offset from the others."""
    return round(3.0 * device + 2.0 * math.sin(i * 0.37 + device) + 0.5 * math.cos(i * 1.3), 3)


SKEW_METHOD = "Per frameset, each member's exposure start minus the group's median exposure start (rig time)."


def stamps_section() -> Section:
    """What a stamp verification could return: pass, warn, fail and skip checks and every plot kind."""
    t = _times()
    devices = ("kinect-master", "kinect-sub1", "kinect-sub2")
    checks = (
        Check("SKEW", "Inter-camera skew p99", "group kinects", Status.PASS, 9.3, 50.0, "us",
              "p99 of 300 framesets within the limit.", SKEW_METHOD),
        Check("SKEW", "Inter-camera skew p99", "group realsense", Status.FAIL, 8311.6, 50.0, "us",
              "rs-right lost its Genlock trigger at 4.2 s: its frames drift a frame apart.", SKEW_METHOD,
              ("rs-right",)),
        Check("DRIFT", "Clock drift", "kinect-sub2", Status.WARN, 31.5, 30.0, "ppm",
              "Drift 31.5 ppm, above the 30 ppm warning level.", "Least-squares slope of device time on rig time.",
              ("kinect-sub2",)),
        Check("PTP-OFFSET", "PTP offset <max>", "host capture-b", Status.SKIP, None, 1.0, "us",
              "No PTP samples in the recording (a single-host rig).", "Max |offset| of /rigsync/ptp/<host>."),
        Check("DROPS", "Drop rate & gaps", "rig", Status.PASS, 0.002, 0.01, "",
              "1 frame dropped of 900.", "Dropped frames over expected frames, per device."),
    )
    plots = (
        Plot("skew-histogram-kinects", "Skew histogram, group kinects", "histogram", "skew (us)", "framesets",
             tuple(Series(d, (), tuple(_skew_us(k, i) for i in range(len(t)))) for k, d in enumerate(devices)),
             SKEW_METHOD),
        Plot("skew-over-time-kinects", "Skew over time, group kinects", "line", "time (s)", "skew (us)",
             tuple(Series(d, t, tuple(_skew_us(k, i) for i in range(len(t)))) for k, d in enumerate(devices)),
             SKEW_METHOD),
        Plot("bounds-over-time", "Clock error bound over time", "points", "time (s)", "bound (us)",
             (Series("kinect-sub1", t[::10], tuple(25.0 + 0.01 * i for i in range(len(t[::10])))),),
             "The error bound each frame's stamp carries."),
        Plot("drops-timeline", "Drops on a timeline", "events", "time (s)", "device",
             (Series("rs-right", (4.2, 4.23, 7.9), (0.0, 0.0, 0.0)), Series("kinect-sub2", (6.0,), (0.0,)),
              Series("zed", (), ())),
             "Each dropped frame at the rig time it was expected."),
    )
    return Section("stamps", checks, plots, (("framesets", "300"), ("devices", "7")))


def ledclock_section() -> Section:
    """An image-based section: a scatter of image-measured against stamped skew, and gaps with levels."""
    stamped = tuple(float(i % 17) - 8.0 for i in range(120))
    measured = tuple(s + 0.4 * math.sin(i) for i, s in enumerate(stamped))
    checks = (Check("LEDCLOCK-SKEW", "Image-measured skew p99", "group kinects", Status.PASS, 12.0, 20.0, "us",
                    "Measured on 118 of 120 frames (2 without the board in view).",
                    "Exposure start decoded from the LED rows, board time fitted to rig time."),)
    plots = (
        Plot("ledclock-skew-vs-stamped", "Image-measured vs stamped skew", "scatter", "stamped skew (us)",
             "image-measured skew (us)", (Series("kinect-sub1", stamped, measured),),
             "Per frame: skew from the decoded LED clock against skew from the stamps."),
        Plot("ledclock-undecodable", "Frames without a decodable board", "events", "time (s)", "frames",
             (Series("kinect-sub1", (2.0, 5.5), (1.0, 3.0)),), "Frames where the board was not found, per second."),
    )
    return Section("ledclock", checks, plots, (("frames decoded", "118 of 120"),))


def sample_verdict() -> Verdict:
    """A failing verdict (one FAIL) with both sections, a rig summary and every plot kind."""
    return Verdict("studio.mcap", "studio <test>", DURATION_S, (stamps_section(), ledclock_section()),
                   ("sync group kinects: hardware, star, source kinect-master, 30 Hz",
                    "sync group realsense: genlock, star, 30 Hz", "devices: kinect-master, kinect-sub1, kinect-sub2"))


def passing_verdict() -> Verdict:
    """A verdict whose only section passes (a warning and a skip do not fail it)."""
    s = stamps_section()
    checks = tuple(c for c in s.checks if c.status is not Status.FAIL)
    return Verdict("ok.mcap", "ok", DURATION_S, (Section(s.name, checks, s.plots, s.facts),))
