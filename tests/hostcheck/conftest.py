"""Recorded hosts: build a RecordedProbe's directory from files and command outputs."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from rigsync.hostcheck.probe import RecordedProbe
from rigsync.plan import build_plan
from rigsync.plan.model import Plan
from rigsync.spec import loads_rig

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
"""Outputs recorded on real machines (each file says where it came from)."""

MakeHost = Callable[..., RecordedProbe]


def real_plan(text: str, driver: str, name: str = "<rig>") -> Plan:
    """The plan of rig-file ``text`` with every device given ``driver`` (the examples simulate their cameras; a host
    check looks for real ones)."""
    return build_plan(loads_rig(text.replace("[[devices]]\n", f'[[devices]]\ndriver = "{driver}"\n'), name))


def real_example(name: str, driver: str) -> Plan:
    """An example rig (``examples/<name>``) whose cameras are real ones of ``driver``."""
    return real_plan((EXAMPLES / name).read_text(encoding="utf-8"), driver, name)


@pytest.fixture
def make_host(tmp_path: Path) -> MakeHost:
    """``make_host(files={path: text}, commands={"ethtool -T eth0": stdout or (returncode, stdout)}, disks=...,
    links=...)``: a recorded host built in a fresh directory."""
    count = 0

    def make(files: Mapping[str, str] | None = None, commands: Mapping[str, object] | None = None,
             disks: Mapping[str, object] | None = None, links: Mapping[str, str] | None = None) -> RecordedProbe:
        nonlocal count
        count += 1
        root = tmp_path / f"host{count}"
        for path, text in (files or {}).items():
            target = root / "fs" / path.lstrip("/")
            if text.endswith("/"):  # a directory
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        root.mkdir(parents=True, exist_ok=True)
        cmds = {}
        for line, out in (commands or {}).items():
            rc, stdout = out if isinstance(out, tuple) else (0, out)
            cmds[line] = {"returncode": rc, "stdout": stdout, "stderr": ""}
        (root / "commands.json").write_text(json.dumps(cmds), encoding="utf-8")
        (root / "disk.json").write_text(json.dumps(disks or {}), encoding="utf-8")
        (root / "links.json").write_text(json.dumps(links or {}), encoding="utf-8")
        return RecordedProbe(root)

    return make
