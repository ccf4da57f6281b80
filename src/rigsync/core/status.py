"""The outcome of one check, shared by ``rigsync verify`` (a recording's checks) and ``rigsync check --host`` (a
host's set-up): pass, warn, fail, or skip (nothing to judge here, said why)."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"
