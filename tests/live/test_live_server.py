"""The live server on its own: where it listens (loopback unless told), a port in use, the extra missing, and
``--live``'s values."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import numpy as np
import pytest
from tests.live.fgclient import FoxgloveClient

from rigsync.core.errors import OptionError, RigsyncError
from rigsync.live import LiveFeed, LiveOptions, LiveServer, parse_endpoint
from rigsync.live.preview import preview_image


def _listening_addresses(port: int) -> set[str]:
    """The local addresses of the sockets listening on TCP ``port`` (``/proc/net/tcp``, ``tcp6``), as text."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))  # per 32-bit word, host order
                found.add(socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, words))
    return found


def test_the_server_listens_on_loopback_only_by_default() -> None:
    """With no host given the server listens on 127.0.0.1 alone (the kernel's table of listening sockets), and a
    client connects there."""
    pytest.importorskip("foxglove")
    assert LiveOptions().host == "127.0.0.1" and LiveOptions().loopback
    with LiveServer(LiveOptions(port=0), LiveFeed(["a/b"], 10)) as server:
        assert _listening_addresses(server.port) == {"127.0.0.1"}
        assert server.url == f"ws://127.0.0.1:{server.port}"
        client = FoxgloveClient(server.url, timeout_s=5)
        client.advertised({"/a/b/image", "/a/b/camera_info", "/rigsync/live/status"})
        client.close()


def test_a_port_in_use_is_an_option_error_naming_it() -> None:
    """A port another socket listens on: an OptionError naming --live, the endpoint, and how to choose another."""
    pytest.importorskip("foxglove")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OptionError) as err, LiveServer(LiveOptions(port=port), LiveFeed([], 10)):
            pass
    assert str(err.value) == (f'--live = "127.0.0.1:{port}": ' "the port is in use (another capture's live view, or a "
                              "Foxglove bridge?) (allowed: a free port (--live :0 takes any free one) on an address "
                              "of this machine)")


def test_without_the_extra_the_error_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """foxglove-sdk missing: entering the server says which extra to install (no traceback, no server)."""
    monkeypatch.setitem(sys.modules, "foxglove", None)
    with pytest.raises(RigsyncError, match=r"pip install 'rigsync\[live\]'"), \
            LiveServer(LiveOptions(port=0), LiveFeed([], 10)):
        pass


@pytest.mark.parametrize(("text", "endpoint"), [
    ("9000", ("127.0.0.1", 9000)), (":0", ("127.0.0.1", 0)), ("0.0.0.0:8765", ("0.0.0.0", 8765)),
    ("[::1]:8766", ("::1", 8766)), ("studio-pc:8765", ("studio-pc", 8765)),
])
def test_live_endpoints_parse(text: str, endpoint: tuple[str, int]) -> None:
    """--live takes PORT, :PORT, HOST:PORT and [IPv6]:PORT; a bare port stays on loopback."""
    assert parse_endpoint(text) == endpoint


@pytest.mark.parametrize(("text", "problem"), [
    ("127.0.0.1", "'127.0.0.1' is not a port"), ("h:70000", "'70000' is not a port"),
    ("h:-1", "'-1' is not a port"), ("[::1]8765", "an IPv6 address in brackets needs :PORT after it"),
    ("a b:80", "not a host name or address"),
])
def test_bad_live_endpoints_are_named(text: str, problem: str) -> None:
    """A bad --live value: an OptionError naming --live, the value, the problem and the forms allowed."""
    with pytest.raises(OptionError, match="allowed: HOST:PORT, :PORT or PORT") as err:
        parse_endpoint(text)
    assert err.value.option == "--live" and problem in err.value.problem


@pytest.mark.parametrize(("field", "value", "option", "allowed"), [
    ("fps", 0.0, "--live-fps", "more than 0, up to 60 previews per second"),
    ("fps", float("nan"), "--live-fps", "more than 0, up to 60 previews per second"),
    ("max_width", 8, "--live-width", "16 to 4,096 px"),
])
def test_bad_live_rates_and_sizes_are_named(field: str, value: float, option: str, allowed: str) -> None:
    """--live-fps and --live-width out of range: an OptionError naming the option, the value and the range."""
    with pytest.raises(OptionError) as err:
        LiveOptions(**{field: value})  # type: ignore[arg-type]
    assert (err.value.option, err.value.allowed) == (option, allowed)


def test_yuv_previews_are_converted_to_rgb_then_averaged() -> None:
    """A YUYV frame (which cannot be resized as it is) previews as rgb8: black stays black, white white."""
    yuyv = np.full((4, 8, 2), 128, np.uint8)  # U = V = 128: no colour
    yuyv[:, :4, 0], yuyv[:, 4:, 0] = 16, 235  # Y: video-range black, then white
    image, encoding = preview_image(yuyv, "yuyv", 4)
    assert encoding == "rgb8" and image.shape == (2, 4, 3)
    assert (image[:, :2] <= 2).all() and (image[:, 2:] >= 253).all()
