"""Without the net extra, the commands across hosts say how to install it: one line, exit 2, no traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rigsync.cli.main import main

RIG = str(Path(__file__).parents[2] / "examples" / "three_hosts_ptp.toml")


@pytest.fixture
def no_net_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """zenoh and cryptography unimportable (a None entry in sys.modules makes an import fail), rigsync.net reloaded."""
    for name in [n for n in sys.modules if n.startswith("rigsync.net")]:
        monkeypatch.delitem(sys.modules, name)
    for name in ("zenoh", "cryptography"):
        monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.parametrize(("argv", "needs"), [
    (["capture", RIG, "--host", "gm", "--connect", "tcp/127.0.0.1:7447", "--seconds", "1", "--quiet"],
     "rigsync.net needs eclipse-zenoh"),
    (["agent", RIG, "--host", "kin"], "rigsync's certificates need the Python package 'cryptography'"),
    (["agent", RIG, "--init-certs", "--out", "certs"], "rigsync's certificates need the Python package 'cryptography'"),
])
def test_a_command_across_hosts_without_the_net_extra_names_the_install(
        no_net_extra: None, argv: list[str], needs: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The error names what is missing and `pip install 'rigsync[net]'`; exit status 2."""
    monkeypatch.chdir(tmp_path)
    assert main([*argv, "--out", "x.mcap"] if argv[0] == "capture" else argv) == 2
    err = capsys.readouterr().err
    assert needs in err and "pip install 'rigsync[net]'" in err and "Traceback" not in err
