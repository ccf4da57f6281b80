"""The plan as JSON (``rigsync plan --json``): the same content as the printed plan, for tools."""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

from rigsync import __version__
from rigsync.core.units import NS_PER_S
from rigsync.plan.model import Plan


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """A JSON-ready dict: rig identity, groups (with trigger rates), devices, start order, budgets (with ratios),
    host set-up, ToF windows, staggers, warm-up and every diagnostic."""
    groups = []
    for g in plan.groups:
        item = _plain(g)
        item["trigger_rate_hz"] = round(NS_PER_S / g.trigger_period_ns, 6) if g.trigger_period_ns else None
        groups.append(item)
    budgets = []
    for b in plan.budgets:
        item = _plain(b)
        item["ratio"] = b.ratio
        budgets.append(item)
    return {
        "rigsync_version": __version__,
        "rig": {"name": plan.rig.name, "path": plan.rig.path, "hosts": [h.name for h in plan.rig.hosts]},
        "summary": {"errors": len(plan.errors), "warnings": len(plan.warnings),
                    "devices": len(plan.devices), "groups": len(plan.groups)},
        "groups": groups,
        "devices": [_plain(d) for d in plan.devices],
        "start_order": list(plan.start_order),
        "start_steps": [_plain(s) for s in plan.start_steps],
        "warmup_s": plan.warmup_ns / NS_PER_S,
        "depth_windows": [_plain(w) for w in plan.depth_windows],
        "staggers": [_plain(s) for s in plan.staggers],
        "budgets": budgets,
        "hosts": [_plain(h) for h in plan.hosts],
        "diagnostics": [_plain(d) for d in plan.diagnostics],
    }
