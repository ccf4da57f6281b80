"""Bad command-line input: options refused naming the option, value and range; values printed as plain text;
recordings never written over an existing file without --overwrite, nor ever over the rig file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rigsync.cli.main import main
from rigsync.core.errors import RigFileError
from rigsync.spec import load_rig

EXAMPLES = Path(__file__).parents[2] / "examples"
GENLOCK = EXAMPLES / "realsense_genlock.toml"
MARKUP = "[bold] [[hosts]] :smile: a:b:c [red]"
"""Text rich would read as markup and emoji codes (a file name cannot hold the closing tag [/x])."""


def _exit_code(argv: list[str]) -> int:
    """main's exit status, also when argparse exits."""
    try:
        return main(argv)
    except SystemExit as stop:
        return int(stop.code or 0)


@pytest.mark.parametrize(("argv", "expected"), [
    (["capture", "R", "--seconds", "inf"], "argument --seconds: 'inf': not a finite number (allowed: more than 0, "
                                           "up to 1,000,000 s)"),
    (["capture", "R", "--seconds", "nan"], "argument --seconds: 'nan': not a finite number"),
    (["capture", "R", "--seconds", "0"], "argument --seconds: '0': out of range (allowed: more than 0, up to "
                                         "1,000,000 s)"),
    (["capture", "R", "--seconds", "1e7"], "argument --seconds: '1e7': out of range"),
    (["capture", "R", "--seconds", "ten"], "argument --seconds: 'ten': not a number"),
    (["capture", "R", "--seed", "-1"], "argument --seed: '-1': out of range (allowed: 0 to "
                                       "9,223,372,036,854,775,807)"),
    (["capture", "R", "--seed", "1.5"], "argument --seed: '1.5': not a whole number"),
    (["capture", "R", "--start-at", "+7200"], "argument --start-at: '+7200': too far ahead (allowed: at most "
                                              "+3600 s)"),
    (["capture", "R", "--start-at", "99999999999"], "argument --start-at: '99999999999': outside the times a rig "
                                                    "clock can hold (allowed: 1970 to 2262)"),
    (["clock-test", "--step-ms", "0"], "argument --step-ms: '0': is 0 (allowed: -86,400,000 to 86,400,000 ms, "
                                       "not 0)"),
    (["clock-test", "--step-ms=-inf"], "argument --step-ms: '-inf': not a finite number"),
    (["clock-test", "--at", "-1"], "argument --at: '-1': out of range (allowed: 0 to 1,000,000 s)"),
    (["clock-test", "--every", "nan"], "argument --every: 'nan': not a finite number"),
    (["ptp", "run", "R", "--host", "h", "--seconds", "-5"], "argument --seconds: '-5': out of range"),
    (["plan", "R", "--emit", "R"], "argument --emit: 'R': is a file, not a folder (allowed: a folder (made if "
                                   "missing))"),
    (["ptp", "config", "R", "--out", "R"], "argument --out: 'R': is a file, not a folder"),
])
def test_bad_option_values_name_the_option_value_and_range(argv: list[str], expected: str,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """A bad option value exits 2 with the option, the value and what is allowed, before anything runs."""
    argv = [str(GENLOCK) if a == "R" else a for a in argv]
    assert _exit_code(argv) == 2
    err = capsys.readouterr().err
    assert expected.replace("'R'", repr(str(GENLOCK))) in err and "Traceback" not in err


def test_clock_test_at_must_fall_inside_the_test(capsys: pytest.CaptureFixture[str]) -> None:
    """clock-test --at past --seconds is refused naming both, not run to show nothing."""
    assert main(["clock-test", "--at", "40", "--seconds", "30"]) == 2
    assert capsys.readouterr().err.strip() == ("error: --at = 40.0: not before the end of the test (--seconds 30) "
                                               "(allowed: 0 to less than 30 s)")


@pytest.mark.parametrize("text", [
    '"[/x]" = 2\n',
    '[rig]\nname = "r"\n',
    '[[hosts]]\nname = "h"\n[[devices]]\nid = "d"\nmodel = "uvc-webcam"\nserial = ":smile:"\nhost = "h"\n'
    'connection = "usb:a:smile:"\nstreams = [{ kind = "color", width = 640, height = 480, fps = 30 }]\n',
    '[[hosts]]\nname = "[bold]h[/bold]"\n',
])
def test_errors_are_printed_exactly_as_raised(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The message on screen is the error's text character for character: no markup ([/x], [[hosts]]) and
    no emoji codes (:smile:) are interpreted."""
    path = tmp_path / "rig.toml"
    path.write_text(text)
    with pytest.raises(RigFileError) as info:
        load_rig(path)
    assert main(["plan", str(path)]) == 2
    assert capsys.readouterr().err == f"error: {info.value}\n"
    assert any(s in str(info.value) for s in ("[/x]", "[[hosts]]", ":smile:", "[bold]"))


def test_values_in_capture_and_info_output_are_plain_text(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A recording path holding markup-like text is shown as it is by capture and info, and the devices of a
    warning keep their brackets."""
    monkeypatch.chdir(tmp_path)  # a relative path: the title must not depend on how long the temporary one is
    folder = Path(MARKUP)
    folder.mkdir()
    out = folder / "[[hosts]].mcap"
    assert main(["capture", str(EXAMPLES / "kinect_star.toml"), "--fast", "--seconds", "0.3", "--quiet", "--out",
                 str(out)]) == 0
    text = capsys.readouterr().out
    assert str(out) in text.replace("\n", "")
    assert "warning USBFS-MEMORY [kinect-master, kinect-sub1, kinect-sub2]: host" in text
    assert main(["info", str(out)]) == 0
    assert str(out) in capsys.readouterr().out.replace("\n", "")  # the title, wrapped at the console's width


def test_plan_output_keeps_paths_as_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """plan prints the rig path and the files --emit wrote exactly, whatever characters they hold."""
    rig = tmp_path / f"{MARKUP}.toml"
    rig.write_text(GENLOCK.read_text())
    emit = tmp_path / "[red]out"
    assert main(["plan", str(rig), "--emit", str(emit)]) == 0
    text = capsys.readouterr().out
    assert f"({rig})" in text.replace("\n", "") and f"wrote {emit}" in text


def test_capture_refuses_an_existing_recording_unless_overwrite(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """An existing --out is left untouched and the capture refused; --overwrite replaces it."""
    out = tmp_path / "take.mcap"
    out.write_bytes(b"precious")
    argv = ["capture", str(GENLOCK), "--fast", "--seconds", "0.2", "--quiet", "--out", str(out)]
    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == (f'error: --out = "{out}": exists (allowed: a new file name, or '
                                               "--overwrite to replace it)")
    assert out.read_bytes() == b"precious"
    assert main([*argv, "--overwrite"]) == 0
    assert out.read_bytes()[:8] == b"\x89MCAP0\r\n"


@pytest.mark.parametrize("how", ["same", "relative", "symlink", "hardlink"])
def test_capture_never_writes_over_the_rig_file(tmp_path: Path, how: str, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """--out naming the rig file, by its path, another spelling, a symlink or a hard link, is refused even with
    --overwrite, and the rig file is unchanged."""
    rig = tmp_path / "rig.toml"
    rig.write_text(GENLOCK.read_text())
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    out = {"same": rig, "relative": Path("..") / "sub" / ".." / "rig.toml", "symlink": tmp_path / "link.mcap",
           "hardlink": tmp_path / "hard.mcap"}[how]
    if how == "symlink":
        out.symlink_to(rig)
    if how == "hardlink":
        os.link(rig, out)
    assert main(["capture", str(rig), "--fast", "--seconds", "0.2", "--quiet", "--overwrite", "--out", str(out)]) == 2
    assert f"is the rig file {rig}: a recording never replaces it" in capsys.readouterr().err
    assert rig.read_text() == GENLOCK.read_text()


def test_capture_refuses_a_folder_as_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--out naming a folder is refused (even with --overwrite)."""
    assert main(["capture", str(GENLOCK), "--fast", "--seconds", "0.2", "--overwrite", "--out", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_default_recording_name_is_a_plain_file_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Without --out the recording is named after the rig, with path separators replaced: a rig named
    ``../x`` writes into the current folder."""
    rig = tmp_path / "rig.toml"
    rig.write_text(GENLOCK.read_text().replace('name = "realsense-genlock"', 'name = "../../x/y"'))
    assert 'name = "../../x/y"' in rig.read_text()
    (tmp_path / "run").mkdir()
    monkeypatch.chdir(tmp_path / "run")
    assert main(["capture", str(rig), "--fast", "--seconds", "0.2", "--quiet"]) == 0
    (written,) = list((tmp_path / "run").iterdir())
    assert written.name.startswith("_.._x_y-") and written.suffix == ".mcap"


def test_info_on_magic_bytes_only_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file holding only the MCAP magic is not shown as an empty recovered recording: exit 2 naming it."""
    path = tmp_path / "magic.mcap"
    path.write_bytes(b"\x89MCAP0\r\n")
    assert main(["info", str(path)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {path}: not a recording: no MCAP header after the magic")
