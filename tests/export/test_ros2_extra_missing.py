"""Without the ros2 extra, the ROS 2 export and ``capture --profile ros2`` say how to install it, before capturing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rigsync.cli.main import main

RIG = str(Path(__file__).parents[2] / "examples" / "realsense_genlock.toml")


@pytest.mark.parametrize("argv", [["export", "rec.mcap", "--ros2", "out.mcap"],
                                  ["capture", RIG, "--seconds", "1", "--fast", "--quiet", "--out", "take.mcap",
                                   "--profile", "ros2"]])
def test_the_ros2_export_without_its_extra_names_the_install(
        argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """One line naming mcap_ros2 and `pip install 'rigsync[ros2]'`, exit 2, and no capture made."""
    monkeypatch.chdir(tmp_path)
    for name in ("mcap_ros2", "mcap_ros2.writer"):
        monkeypatch.setitem(sys.modules, name, None)  # a None entry makes the import fail
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "needs the Python module 'mcap_ros2'" in err and "pip install 'rigsync[ros2]'" in err
    assert "Traceback" not in err and list(tmp_path.iterdir()) == []
