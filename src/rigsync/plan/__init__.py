"""The plan: roles, trigger wiring, delays and start order computed from a rig."""

from rigsync.plan.build import build_plan, vendor_role
from rigsync.plan.model import DevicePlan, GroupPlan, Plan, Role, TriggerLink

__all__ = ["DevicePlan", "GroupPlan", "Plan", "Role", "TriggerLink", "build_plan", "vendor_role"]
