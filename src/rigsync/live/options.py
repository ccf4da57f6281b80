"""What the live view is asked to do: where it listens (``--live [HOST:PORT]``), how many previews a second each
stream gets (``--live-fps``) and how wide they are at most (``--live-width``)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from rigsync.core.errors import OptionError
from rigsync.core.limits import Limits

DEFAULT_HOST = "127.0.0.1"
"""The live view listens on loopback unless a host is given: it has no authentication."""
DEFAULT_PORT = 8765
"""Foxglove's default WebSocket port (its "Open connection" dialog proposes ws://localhost:8765)."""
PORT = Limits(0, 65535)
"""A TCP port; 0 asks the system for any free one."""
LIVE_FPS = Limits(0, 60, "previews per second", lo_open=True)
"""How many previews a second each stream gets at most."""
LIVE_WIDTH = Limits(16, 4096, "px")
"""How wide a preview is at most (narrower images are sent as they are)."""
ENDPOINT_ALLOWED = (f"HOST:PORT, :PORT or PORT (HOST an IPv4 address, [IPv6] or a name; PORT {PORT.describe()}, "
                    f"0 for any free port); default {DEFAULT_HOST}:{DEFAULT_PORT}")


@dataclass(frozen=True)
class LiveOptions:
    """The live view's options, validated (an :class:`OptionError` names the command-line option)."""

    host: str = DEFAULT_HOST
    """Where to listen: an address or a name (loopback by default)."""
    port: int = DEFAULT_PORT
    """0: any free port (:attr:`LiveServer.port <rigsync.live.server.LiveServer.port>` says which)."""
    fps: float = 10.0
    """Previews a second per stream at most (all streams together: ``feed.TOTAL_FPS``)."""
    max_width: int = 320
    """A preview's width at most, in pixels (aspect kept)."""

    def __post_init__(self) -> None:
        if not self.host or any(c.isspace() or c in "/[]" for c in self.host):
            raise OptionError("--live", self.host, "not a host name or address", ENDPOINT_ALLOWED)
        if not PORT.allows(self.port) or self.port != int(self.port):
            raise OptionError("--live", self.port, "not a port", ENDPOINT_ALLOWED)
        problem = LIVE_FPS.problem(self.fps)
        if problem is not None:
            raise OptionError("--live-fps", self.fps, problem, LIVE_FPS.describe())
        if not LIVE_WIDTH.allows(self.max_width) or self.max_width != int(self.max_width):
            raise OptionError("--live-width", self.max_width, "out of range", LIVE_WIDTH.describe())

    @property
    def endpoint(self) -> str:
        """``HOST:PORT`` (an IPv6 address in brackets)."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def loopback(self) -> bool:
        """Whether only this machine can connect (a loopback address, or ``localhost``)."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def parse_endpoint(text: str) -> tuple[str, int]:
    """``--live``'s value -> (host, port): ``HOST:PORT``, ``[IPv6]:PORT``, ``:PORT`` or ``PORT`` (loopback then).
    Raises :class:`OptionError` naming ``--live``."""
    host, port = DEFAULT_HOST, text
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or text[end + 1:end + 2] != ":":
            raise OptionError("--live", text, "an IPv6 address in brackets needs :PORT after it", ENDPOINT_ALLOWED)
        host, port = text[1:end], text[end + 2:]
    elif ":" in text:
        host, port = text.rsplit(":", 1)
        host = host or DEFAULT_HOST
    if not port.isdigit() or not PORT.allows(int(port)):
        raise OptionError("--live", text, f"{port!r} is not a port", ENDPOINT_ALLOWED)
    LiveOptions(host=host, port=int(port))  # the host's own checks
    return host, int(port)
