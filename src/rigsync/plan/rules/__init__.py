"""The planner's rules: one module per vendor, plus cross-vendor signal, timing, network and budget rules.

Each rule has a stable id (``K4A-STAR-MAX``), a severity, the source it comes from, and reports the devices
concerned and a fix. ``docs/rules.md`` lists them all.
"""

from rigsync.plan.model import Diagnostic, Plan, Severity
from rigsync.plan.rules import (  # noqa: F401 (register)
    budgets,
    common,
    gige,
    kinect,
    orbbec,
    realsense,
    stereolabs,
    tof,
)
from rigsync.plan.rules._base import RULES, RuleInfo, run

LOAD_TIME_RULES = (
    RuleInfo("ID-UNIQUE", Severity.ERROR, "rigsync (devices are named by id everywhere)", "two devices share an id"),
    RuleInfo("SERIAL-UNIQUE", Severity.ERROR, "seeds/000 StereoLabs (open each camera by serial); every SDK",
             "two devices of one driver share a serial"),
    RuleInfo("HOST-DECLARED", Severity.ERROR, "rigsync (each device runs on a declared host)",
             "a device names a host the rig does not declare"),
)
"""Cross-vendor rules checked as the rig file loads (a ``RigFileError`` with ``rule`` set)."""


def check(plan: Plan) -> list[Diagnostic]:
    """Every diagnostic of a plan, errors first."""
    return run(plan)


def rules_markdown() -> str:
    """docs/rules.md: every rule with its id, severity, summary and source."""
    lines = [
        "# Planner rules",
        "",
        "Generated from the rule registry: `python -c \"from rigsync.plan.rules import rules_markdown; "
        "print(rules_markdown(), end='')\" > docs/rules.md`. Each diagnostic `rigsync plan` reports carries the",
        "rule id, the devices concerned, the source and a fix. Errors stop `rigsync capture` (unless `--force`).",
        "",
        "| rule | severity | what it catches | source |",
        "| --- | --- | --- | --- |",
    ]
    for info in sorted((*RULES.values(), *LOAD_TIME_RULES), key=lambda r: r.id):
        lines.append(f"| `{info.id}` | {info.severity.value} | {info.summary} | {info.source} |")
    return "\n".join(lines) + "\n"


__all__ = ["LOAD_TIME_RULES", "RULES", "RuleInfo", "check", "rules_markdown"]
