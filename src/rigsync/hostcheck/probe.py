"""The one seam through which host checks read the machine: files, directories and commands.

Every check reads the host through a :class:`Probe`, never ``open``/``subprocess`` directly, so the same check
runs on the live machine (:class:`LocalProbe`, optionally inside a network namespace) and against recorded
outputs of real machines (:class:`RecordedProbe`: a directory holding a copy of the files read, under ``fs/``,
and the commands' outputs in ``commands.json``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from rigsync.core.errors import RigsyncError

COMMAND_TIMEOUT_S = 5.0
"""A command that takes longer is reported as not answering (a hung ``nvidia-smi``, ``ethtool`` on a dead NIC)."""


@dataclass(frozen=True, slots=True)
class Ran:
    """A command's outcome: exit status and output (``returncode`` None: it did not finish in time)."""

    returncode: int | None
    stdout: str
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@dataclass(frozen=True, slots=True)
class DiskSpace:
    total_bytes: int
    free_bytes: int


class Probe(Protocol):
    """What a host check may ask of a host."""

    def read(self, path: str) -> str | None:
        """A text file's content (None: it does not exist or cannot be read)."""

    def listdir(self, path: str) -> list[str] | None:
        """A directory's entries, sorted (None: not a directory)."""

    def readlink(self, path: str) -> str | None:
        """Where a symbolic link points, resolved to an absolute path (None: not a link)."""

    def run(self, argv: Sequence[str]) -> Ran | None:
        """Run a command (None: the program is not installed)."""

    def disk_space(self, path: str) -> DiskSpace | None:
        """Free and total space of the file system holding ``path`` (None: it does not exist)."""

    def timed_write(self, path: str, nbytes: int) -> float | None:
        """Seconds to write ``nbytes`` to a new file in directory ``path`` and fsync it (the file is removed);
        None: the directory cannot be written."""


NETNS_PATHS = ("/sys/class/net",)
"""Files that show the reader's network namespace: sysfs lists the interfaces of the namespace it was mounted in,
so inside ``netns`` they are read by a command run there (``ip netns exec`` mounts that namespace's sysfs)."""


class LocalProbe:
    """This machine (commands, and the files of :data:`NETNS_PATHS`, optionally inside network namespace
    ``netns``)."""

    def __init__(self, netns: str | None = None) -> None:
        self.netns = netns

    def _in_netns(self, path: str) -> bool:
        return self.netns is not None and any(path == p or path.startswith(p + "/") for p in NETNS_PATHS)

    def read(self, path: str) -> str | None:
        if self._in_netns(path):
            ran = self.run(["cat", path])
            return ran.stdout if ran is not None and ran.ok else None
        try:
            return Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def listdir(self, path: str) -> list[str] | None:
        if self._in_netns(path):
            ran = self.run(["ls", "-1", path])
            return sorted(ran.stdout.split()) if ran is not None and ran.ok else None
        try:
            return sorted(os.listdir(path))
        except OSError:
            return None

    def readlink(self, path: str) -> str | None:
        p = Path(path)
        try:  # a link the caller may not follow (/proc/1/ns/net of another user's process) reads as none
            return str(p.resolve()) if p.is_symlink() else None
        except OSError:
            return None

    def run(self, argv: Sequence[str]) -> Ran | None:
        if shutil.which(argv[0]) is None:
            return None
        full = (["ip", "netns", "exec", self.netns] if self.netns else []) + list(argv)
        try:
            done = subprocess.run(full, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            return Ran(None, out, f"did not finish within {COMMAND_TIMEOUT_S:g} s")
        return Ran(done.returncode, done.stdout, done.stderr)

    def disk_space(self, path: str) -> DiskSpace | None:
        try:
            usage = shutil.disk_usage(path)
        except OSError:
            return None
        return DiskSpace(usage.total, usage.free)

    def timed_write(self, path: str, nbytes: int) -> float | None:
        target = Path(path) / f".rigsync-write-test-{os.getpid()}"
        block = os.urandom(1 << 20)  # incompressible, so a compressing file system is measured fairly
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError:
            return None
        try:
            started = time.perf_counter()
            left = nbytes
            while left > 0:
                left -= os.write(fd, block[: min(left, len(block))])
            os.fsync(fd)
            return time.perf_counter() - started
        except OSError:
            return None
        finally:
            os.close(fd)
            target.unlink(missing_ok=True)


class FixtureError(RigsyncError):
    """A recorded host's directory is malformed."""


class RecordedProbe:
    """A machine as recorded: ``DIR/fs/<path>`` for each file and directory read, ``DIR/commands.json`` mapping
    each command line (arguments joined by one space) to ``{"returncode", "stdout", "stderr"}`` (a command
    missing from it: not installed), and optionally ``DIR/disk.json`` (``{"<path>": {"total_bytes", "free_bytes",
    "write_seconds_per_gb"}}``) and ``DIR/links.json`` (``{"<path>": "<target>"}``)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.commands = self._json("commands.json")
        self.disks = self._json("disk.json")
        self.links = self._json("links.json")

    def _json(self, name: str) -> dict[str, object]:
        path = self.root / name
        if not path.exists():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise FixtureError(f"{path}: not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise FixtureError(f"{path}: must be a JSON object")
        return data

    def _fs(self, path: str) -> Path:
        return self.root / "fs" / path.lstrip("/")

    def read(self, path: str) -> str | None:
        try:
            return self._fs(path).read_text(encoding="utf-8")
        except OSError:
            return None

    def listdir(self, path: str) -> list[str] | None:
        try:
            return sorted(os.listdir(self._fs(path)))
        except OSError:
            return None

    def readlink(self, path: str) -> str | None:
        target = self.links.get(path)
        return str(target) if target is not None else None

    def run(self, argv: Sequence[str]) -> Ran | None:
        entry = self.commands.get(" ".join(argv))
        if entry is None:
            return None
        if not isinstance(entry, dict):
            raise FixtureError(f"{self.root / 'commands.json'}: {' '.join(argv)!r}: must be an object")
        rc = entry.get("returncode", 0)
        return Ran(None if rc is None else int(rc), str(entry.get("stdout", "")), str(entry.get("stderr", "")))

    def _disk(self, path: str) -> dict[str, float] | None:
        best = max((p for p in self.disks if path == p or path.startswith(p.rstrip("/") + "/")), key=len,
                   default=None)
        entry = self.disks.get(best) if best is not None else None
        return entry if isinstance(entry, dict) else None

    def disk_space(self, path: str) -> DiskSpace | None:
        d = self._disk(path)
        return None if d is None else DiskSpace(int(d["total_bytes"]), int(d["free_bytes"]))

    def timed_write(self, path: str, nbytes: int) -> float | None:
        d = self._disk(path)
        if d is None or d.get("write_seconds_per_gb") is None:
            return None
        return float(d["write_seconds_per_gb"]) * nbytes / 1e9
