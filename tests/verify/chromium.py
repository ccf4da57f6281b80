"""Headless Chromium driven over the Chrome DevTools Protocol on a pipe (``--remote-debugging-pipe``): no port, no
websocket library, no browser download. The tests load pages, read console errors, exceptions and every request
the page made, query the DOM and take screenshots.

Chromium is started with its networking fenced off (every host name resolves to nothing, background services off)
and stopped by its pid (Browser.close, then its process group if it has not exited).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import selectors
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

REPLY_TIMEOUT_S = 30.0

FLAGS = ("--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--hide-scrollbars", "--remote-debugging-pipe")


def find_chromium() -> str | None:
    """The Chromium (or Chrome) executable on PATH, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageLoad:
    """What one page load showed: console errors, uncaught exceptions, log errors and the URLs requested."""

    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


class Chromium:
    """One headless Chromium with one page (tab), as a context manager."""

    def __init__(self, executable: str, profile_dir: Path, log_path: Path) -> None:
        self._executable, self._profile_dir, self._log_path = executable, profile_dir, log_path
        self._next_id = 0
        self._buffer = b""
        self._events: list[dict[str, Any]] = []
        self._session = ""

    def __enter__(self) -> Chromium:
        to_child, from_parent = os.pipe()  # Chromium reads commands on its fd 3
        to_parent, from_child = os.pipe()  # and writes replies and events on its fd 4
        # Copies above 10 (closed on exec) that the child puts at 3 and 4: neither can overwrite the other. The
        # child closes no other descriptor (close_fds=False: pass_fds would need 3 and 4 open in this process), and
        # Python opens none inheritable, so Chromium gets only these two beyond its standard streams.
        high_read = fcntl.fcntl(to_child, fcntl.F_DUPFD_CLOEXEC, 10)
        high_write = fcntl.fcntl(from_child, fcntl.F_DUPFD_CLOEXEC, 10)

        def in_child() -> None:
            os.dup2(high_read, 3)  # dup2 leaves the copy open across exec
            os.dup2(high_write, 4)

        args = [self._executable, *FLAGS, f"--user-data-dir={self._profile_dir}", "about:blank"]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        with self._log_path.open("wb") as log:
            self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log, close_fds=False,
                                            preexec_fn=in_child,  # noqa: PLW1509 (two dup2 calls, no lock)
                                            start_new_session=True)
        for fd in (to_child, from_child, high_read, high_write):
            os.close(fd)
        self._write, self._read = from_parent, to_parent
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._read, selectors.EVENT_READ)
        try:
            target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            self._session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.call(f"{domain}.enable")
        except BaseException:
            self.__exit__(None, None, None)  # a browser that never answered is stopped all the same
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            self._session = ""
            self.call("Browser.close")
            self.process.wait(timeout=15)
        except (OSError, TimeoutError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)  # its own process group: Chromium and its children only
            self.process.wait()
        finally:
            self._selector.close()
            os.close(self._write)
            os.close(self._read)

    def _message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            if not self._selector.select(max(0.0, deadline - time.monotonic())):
                raise TimeoutError(f"Chromium did not answer within {REPLY_TIMEOUT_S:g} s (log: {self._log_path})")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise OSError(f"Chromium closed its DevTools pipe (exit {self.process.poll()}; log: {self._log_path})")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        parsed: dict[str, Any] = json.loads(message)
        return parsed

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one command (to the page once attached) and return its result; events met meanwhile are kept."""
        self._next_id += 1
        command: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if self._session:
            command["sessionId"] = self._session
        os.write(self._write, json.dumps(command).encode() + b"\0")
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        while True:
            message = self._message(deadline)
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message["result"]
                return result
            if "method" in message:
                self._events.append(message)

    def _wait_event(self, method: str) -> None:
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        while not any(e["method"] == method for e in self._events):
            message = self._message(deadline)
            if "method" in message:
                self._events.append(message)

    def load(self, url: str) -> PageLoad:
        """Navigate to ``url``, wait for its load event, and say what the page logged and requested."""
        self._events.clear()
        self.call("Page.navigate", {"url": url})
        self._wait_event("Page.loadEventFired")
        self.evaluate("0")  # a round trip: console messages sent during load have arrived
        found = PageLoad()
        for e in self._events:
            p = e.get("params", {})
            if e["method"] == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
                found.console_errors.append(" ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
            elif e["method"] == "Runtime.exceptionThrown":
                found.console_errors.append(p["exceptionDetails"].get("text", "exception"))
            elif e["method"] == "Log.entryAdded" and p["entry"]["level"] == "error":
                found.console_errors.append(f"{p['entry']['text']} ({p['entry'].get('url', '')})")
            elif e["method"] == "Network.requestWillBeSent":
                found.requests.append(p["request"]["url"])
        return found

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page."""
        reply = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in reply:
            raise RuntimeError(f"{expression}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def screenshot(self, path: Path, width: int = 1200) -> None:
        """A PNG of the whole page at ``width`` CSS pixels."""
        metrics = {"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": False}
        self.call("Emulation.setDeviceMetricsOverride", metrics)  # the width first: the height follows from it
        metrics["height"] = int(self.evaluate("document.documentElement.scrollHeight"))
        self.call("Emulation.setDeviceMetricsOverride", metrics)
        shot = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        path.write_bytes(base64.b64decode(shot["data"]))
