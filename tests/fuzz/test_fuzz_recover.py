"""``rigsync recover`` on cut, damaged and foreign files: exit 0 with an output the ``mcap`` seeking reader reads
in full, its statistics matching its messages, or exit 2 with one line naming the file; never a traceback."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest
from mcap.reader import make_reader
from tests.fuzz import mcapfuzz

from rigsync.cli.main import main

CASES = 80


def test_recover_writes_a_readable_file_or_names_the_bad_one(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """80 seeded damaged, cut and foreign files: a recovered output opens with the seeking reader and its summary
    counts every message it holds (those the report says were kept); a refused input is one line naming it."""
    sources = [mcapfuzz.chunked(tmp_path, "zstd"), mcapfuzz.chunked(tmp_path, "lz4")]
    rng = random.Random(13)
    results: Counter[str] = Counter()
    for i in range(CASES):
        path, out = tmp_path / f"case{i}.mcap", tmp_path / f"case{i}.out.mcap"
        path.write_bytes(mcapfuzz.mutated(rng, sources)[1])
        code = main(["recover", str(path), "-o", str(out), "--json"])
        captured = capsys.readouterr()
        assert code in (0, 2), captured.err
        if code == 2:
            assert captured.err.startswith(f"error: {path}: ") and captured.err.count("\n") == 1, captured.err
            assert not out.exists()
            results["refused"] += 1
            continue
        report = json.loads(captured.out)
        if report["complete"]:  # a valid summary: copied as it is
            assert out.read_bytes() == path.read_bytes()
            results["complete"] += 1
            continue
        with open(out, "rb") as f:
            reader = make_reader(f)
            summary = reader.get_summary()
            counts = Counter(ch.topic for _, ch, _ in reader.iter_messages())
        assert summary is not None and summary.statistics is not None
        assert summary.statistics.message_count == sum(counts.values())
        assert dict(counts) == report["kept"]
        results["recovered"] += 1
    assert min(results["refused"], results["recovered"]) >= 5, results
