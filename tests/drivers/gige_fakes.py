"""Fake GigE Vision cameras for the GigE tests: ``arv-fake-gv-camera-0.8`` processes on loopback aliases (real
GVCP control, real GVSP streaming over UDP) with a GenICam XML of our own declaring the PTP features, started and
stopped by pid. Importing this module skips the importing test module where Aravis 0.8 through PyGObject is not
installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

try:
    import gi

    gi.require_version("Aravis", "0.8")
    from gi.repository import Aravis
except (ImportError, ValueError) as err:
    pytest.skip(f"Aravis 0.8 through PyGObject is not installed ({err}): apt-get install gir1.2-aravis-0.8 "
                "aravis-tools, then pip install 'rigsync[gige]'", allow_module_level=True)

FAKE = "arv-fake-gv-camera-0.8"
XML = Path(__file__).parent / "data" / "ptp_fake_camera.xml"
EMERGENT_FEATURES = Path(__file__).parent / "data" / "emergent_frame_sync.xml"


def emergent_xml(directory: Path) -> Path:
    """A copy of :data:`XML` that also declares Emergent's PTP frame-sync features (``PtpMode``,
    ``AcquisitionFrameCount``), written into ``directory``."""
    text = XML.read_text().replace("\t<!-- Port -->", EMERGENT_FEATURES.read_text() + "\n\t<!-- Port -->")
    path = directory / "emergent_fake_camera.xml"
    path.write_text(text)
    return path


def _lo_addresses() -> set[str]:
    out = subprocess.run(["ip", "-o", "-4", "addr", "show", "dev", "lo"], capture_output=True, text=True,
                         check=True).stdout
    return {line.split()[3].split("/")[0] for line in out.splitlines()}


def discovered() -> dict[str, str]:
    """Serial -> address of every GigE Vision camera that answers Aravis's discovery now."""
    Aravis.update_device_list()
    return {Aravis.get_device_serial_nbr(i): Aravis.get_device_address(i) for i in range(Aravis.get_n_devices())}


@contextmanager
def loopback_aliases(addresses: Sequence[str]) -> Iterator[None]:
    """The addresses on lo while inside (those missing added, which needs root: skipped otherwise, and removed
    again after)."""
    if shutil.which(FAKE) is None or shutil.which("ip") is None:
        pytest.skip(f"{FAKE} or ip is not installed: apt-get install aravis-tools iproute2")
    missing = sorted(set(addresses) - _lo_addresses())
    if missing and os.geteuid() != 0:
        pytest.skip(f"the fake cameras need loopback aliases {missing}, and adding them needs root "
                    f"(ip addr add ADDR/8 dev lo)")
    added: list[str] = []
    try:
        for addr in missing:
            subprocess.run(["ip", "addr", "add", f"{addr}/8", "dev", "lo"], check=True)
            added.append(addr)
        yield
    finally:
        for addr in added:
            subprocess.run(["ip", "addr", "del", f"{addr}/8", "dev", "lo"], check=False)


def spawn_camera(serial: str, addr: str, extra: Sequence[str] = (), *, ptp: bool = True,
                 xml: Path = XML) -> subprocess.Popen[bytes]:
    """A fake camera process (stop it with :func:`stop_camera`), with the PTP features of our GenICam XML (or
    ``xml``) or, if not ``ptp``, Aravis's own fake camera description (no PTP)."""
    genicam = ["-g", str(xml)] if ptp else []
    return subprocess.Popen([FAKE, "-i", addr, "-s", serial, *genicam, *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_camera(proc: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    """End a fake camera by its pid: terminated, or killed (as a camera losing power)."""
    if kill:
        proc.kill()
    else:
        proc.terminate()
    proc.wait(timeout=10)


def wait_discovered(cameras: Mapping[str, str], timeout_s: float = 15.0) -> None:
    """Return once discovery finds every ``serial -> address``; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not all((found := discovered()).get(s) == a for s, a in cameras.items()):
        if time.monotonic() > deadline:
            pytest.fail(f"fake cameras not discovered at their addresses: found {found}")


@contextmanager
def fake_gige_cameras(cameras: Mapping[str, tuple[str, Sequence[str]]],
                      xml: Mapping[str, Path] | None = None) -> Iterator[dict[str, str]]:
    """Run one fake camera per ``serial -> (loopback address, extra options)``, each on its own address (added to
    lo if missing, which needs root: skipped otherwise); yields serial -> address once discovery finds them all;
    stops each process by its pid and removes the aliases it added. ``xml``: serial -> another GenICam XML."""
    addresses = {serial: addr for serial, (addr, _) in cameras.items()}
    with loopback_aliases(list(addresses.values())):
        procs: list[subprocess.Popen[bytes]] = []
        try:
            for serial, (addr, extra) in cameras.items():
                procs.append(spawn_camera(serial, addr, extra, xml=(xml or {}).get(serial, XML)))
            wait_discovered(addresses)
            yield addresses
        finally:
            for proc in procs:
                stop_camera(proc)


def write_features(serial: str, **values: str | int) -> None:
    """Set features from a second client (the driver must not hold the camera), as a test's ground truth."""
    camera = Aravis.Camera.new(f"Aravis-Fake-{serial}")
    for name, value in values.items():
        if isinstance(value, str):
            camera.set_string(name, value)
        else:
            camera.set_integer(name, value)
    del camera  # releases the camera's control channel


def read_feature(serial: str, name: str) -> str:
    """A feature as a second client reads it."""
    camera = Aravis.Camera.new(f"Aravis-Fake-{serial}")
    value = str(camera.get_string(name))
    del camera
    return value


def read_integer(serial: str, name: str) -> int:
    """An integer feature as a second client reads it."""
    camera = Aravis.Camera.new(f"Aravis-Fake-{serial}")
    value = int(camera.get_integer(name))
    del camera
    return value
