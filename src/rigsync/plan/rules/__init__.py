"""The planner's rules: one module per vendor, plus cross-vendor signal, timing, network and budget rules.

Each rule has a stable id (``K4A-STAR-MAX``), a severity, the source it comes from, and reports the devices
concerned and a fix. ``docs/rules.md`` lists them all.
"""

from rigsync.plan.model import Diagnostic, Plan
from rigsync.plan.rules import budgets, common, gige, kinect, orbbec, realsense, stereolabs  # noqa: F401 (register)
from rigsync.plan.rules._base import RULES, RuleInfo, run


def check(plan: Plan) -> list[Diagnostic]:
    """Every diagnostic of a plan, errors first."""
    return run(plan)


__all__ = ["RULES", "RuleInfo", "check"]
