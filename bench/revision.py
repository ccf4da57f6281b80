"""Load a subpackage of rigsync as it was at another git revision, for same-run comparisons in benchmarks.

``load_package("48521c4", "align")`` returns ``rigsync.align`` of that revision as a package of its own
(``rev_48521c4_align``); its imports of the other subpackages loaded the same way go to those copies, every
other import of rigsync (core, ...) to this tree. Load the subpackages that import each other together, in one
call: ``load_packages(rev, "timebase", "align")``.
"""

from __future__ import annotations

import atexit
import importlib
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True).stdout


def load_packages(rev: str, *packages: str) -> dict[str, ModuleType]:
    """``rigsync.<package>`` of git revision ``rev`` for each of ``packages``, by package name."""
    commit = _git("rev-parse", "--short", rev).strip()
    names = {p: f"rev_{commit}_{p}" for p in packages}
    if all(name in sys.modules for name in names.values()):  # loaded before: the same modules
        return {package: sys.modules[name] for package, name in names.items()}
    root = Path(tempfile.mkdtemp(prefix="rigsync-revision-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)  # submodules are imported from it until then
    pattern = re.compile(r"\brigsync\.(" + "|".join(map(re.escape, packages)) + r")\b")
    for package, name in names.items():
        target = root / name
        target.mkdir()
        for path in _git("ls-tree", "--name-only", rev, f"src/rigsync/{package}/").split():
            if path.endswith(".py"):
                text = _git("show", f"{rev}:{path}")
                (target / Path(path).name).write_text(pattern.sub(lambda m: names[m.group(1)], text))
    sys.path.insert(0, str(root))
    return {package: importlib.import_module(name) for package, name in names.items()}


def load_package(rev: str, package: str) -> ModuleType:
    """``rigsync.<package>`` of git revision ``rev`` (see the module docstring)."""
    return load_packages(rev, package)[package]
