"""Mutated example rig files: only rigsync errors naming the file, never a hang, through load, plan, the plan's
rendering (terminal and JSON) and the command line."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from tests.fuzz.rigfuzz import mutated, run_case

from rigsync.cli.main import main
from rigsync.core.errors import RigsyncError
from rigsync.spec import load_rig

CASES = 300
CLI_CASES = 60
TIMEOUT_S = 10.0
"""Per case; a typical case takes tens of milliseconds."""


def test_mutated_rig_files_raise_only_rigsync_errors_naming_the_file(tmp_path: Path) -> None:
    """300 seeded mutations (edge numbers, markup text, other types, deep nesting, cut or non-UTF-8 bytes...)
    each load and plan cleanly or fail with a rigsync error that starts with the file's name, within 10 s."""
    outcomes = [run_case(seed, tmp_path, TIMEOUT_S, big=False) for seed in range(CASES)]
    failures = [o for o in outcomes if o.result not in ("ok", "rejected")]
    assert not failures, "\n".join(f"seed {o.seed} ({o.example}): {o.result}: {o.detail}" for o in failures[:10])
    counts = Counter(o.result for o in outcomes)
    assert counts["ok"] >= 20 and counts["rejected"] >= 150, counts  # the mutator reaches both outcomes


def _load_error(path: Path) -> str | None:
    try:
        load_rig(path)
    except RigsyncError as err:
        return str(err)
    return None


def test_command_line_prints_the_error_exactly_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """rigsync plan on mutated files: exit 0 or 1 for a rig that loads, else exit 2 with exactly the error's text
    on stderr (no markup or emoji interpretation) and nothing else."""
    exits: Counter[int] = Counter()
    for seed in range(CASES, CASES + CLI_CASES):
        path = tmp_path / f"case{seed}.toml"
        path.write_bytes(mutated(seed, big=False)[1])
        expected = _load_error(path)
        code = main(["plan", str(path), "--json"] if seed % 2 else ["plan", str(path)])
        captured = capsys.readouterr()
        exits[code] += 1
        if expected is None:
            assert code in (0, 1), (seed, captured.err)
        else:
            assert code == 2 and captured.err == f"error: {expected}\n", seed
    assert exits[2] >= 30 and exits[0] + exits[1] >= 3, exits


def test_a_rejected_rig_exits_2_without_traceback_in_a_process(tmp_path: Path) -> None:
    """As a process, capture and plan of rejected mutations exit 2 with one error line naming the file."""
    rejected = []
    for seed in range(1000, 1100):
        path = tmp_path / f"case{seed}.toml"
        path.write_bytes(mutated(seed, big=False)[1])
        if _load_error(path) is not None:
            rejected.append(path)
        if len(rejected) == 3:
            break
    for path, command in zip(rejected, (["capture", "--fast", "--seconds", "1"], ["plan"], ["plan", "--json"]),
                             strict=True):
        run = subprocess.run([sys.executable, "-m", "rigsync.cli.main", command[0], str(path), *command[1:]],
                             check=False, capture_output=True, text=True, timeout=60)
        assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
        assert run.stderr.startswith(f"error: {path.name}: ") and run.stderr.count("\n") == 1, run.stderr
