"""The package layering of README's "Development" section, checked on the source's imports."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "rigsync"

# Which rigsync packages each package may import (README, "Development"). Lower layers never import higher
# ones; the edges that go sideways say why in README.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "catalog": {"core"},
    "spec": {"core", "catalog", "boards"},  # a rig file names camera models; [sim.ledclock] names a board file
    "boards": {"core", "spec"},  # board files are read with the spec's validated tables
    "plan": {"core", "catalog", "spec"},
    "timebase": {"core"},
    "align": {"core"},
    "record": {"core"},
    "ptp": {"core", "timebase"},
    "drivers": {"core", "catalog", "spec", "plan", "boards"},  # a driver opens the device the plan configured
    # an agent is a host's capture; it checks its own host's set-up when the capture asks (the check query)
    "net": {"core", "timebase", "drivers", "spec", "plan", "record", "capture", "hostcheck"},
    "capture": {"core", "catalog", "spec", "plan", "timebase", "align", "drivers", "record", "ptp", "net"},
    "verify": {"core", "catalog", "spec", "plan", "record", "boards"},  # re-plans the rig the recording embeds
    "calib": {"core", "catalog", "spec", "record", "boards"},  # board views; the rig file's poses and shutters
    "hostcheck": {"core", "catalog", "spec", "plan", "ptp", "record"},  # real set-up vs plan; PTP state; bytes recorded
    "export": {"core", "spec", "record"},  # a recording in other tools' formats; the rig file's poses (Rerun)
    "live": {"core", "spec", "capture", "record"},  # a capture served to Foxglove as it runs; its layout for a rig
    "cli": {"core", "catalog", "spec", "plan", "timebase", "drivers", "record", "ptp", "net", "capture", "verify",
            "boards", "export", "live", "calib", "hostcheck"},
}


def _imported_packages(source: str, rel: tuple[str, ...]) -> set[str]:
    """The rigsync packages a module (its path under src/rigsync: ``rel``) imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's own package
                module = ".".join(["rigsync", *rel[: len(rel) - node.level], *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            # ``from rigsync import capture`` / ``from .. import capture`` import the packages they name
            if module == "rigsync":
                names.extend(f"rigsync.{alias.name}" for alias in node.names)
            else:
                names.append(module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        found.update(n.split(".")[1] for n in names if n.startswith("rigsync."))
    return {name for name in found if (SRC / name).is_dir()}  # packages, not rigsync.__version__


def test_every_package_imports_only_the_layers_it_may() -> None:
    """No module imports a rigsync package its layer may not (a new upward import fails here, naming the file)."""
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).parts
        if len(rel) < 2:
            continue  # rigsync/__init__.py: the public top level
        pkg = rel[0]
        assert pkg in ALLOWED, f"package {pkg!r} is missing from the layering table (README, Development)"
        for other in _imported_packages(path.read_text(encoding="utf-8"), rel) - {pkg}:
            if other not in ALLOWED[pkg]:
                bad.append(f"{path.relative_to(SRC)} imports rigsync.{other}")
    assert not bad, "\n".join(bad)


def test_the_scan_sees_absolute_relative_and_lazy_imports() -> None:
    """The import scan resolves absolute, relative and function-level imports to their package."""
    source = (
        "import rigsync.record.reader\n"
        "from .. import capture\n"
        "from ..net.link import HostLink\n"
        "def f():\n    from rigsync.plan import build_plan\n"
        "import numpy\n"
    )
    assert _imported_packages(source, ("verify", "x.py")) == {"record", "capture", "net", "plan"}
    assert _imported_packages("from .load import StampData\n", ("verify", "x.py")) == {"verify"}
