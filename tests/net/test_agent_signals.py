"""``rigsync agent`` stops on SIGTERM whichever of its threads the kernel hands the signal to (a process-directed
signal may go to any thread that does not block it, Zenoh's among them)."""

from __future__ import annotations

import ctypes
import os
import platform
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("zenoh")

from tests.net.test_agent import TWO_HOSTS, free_port, says_ready

SYS_TGKILL = {"x86_64": 234, "aarch64": 131}.get(platform.machine())


def _tgkill(pid: int, tid: int, sig: int) -> None:
    """Send ``sig`` to thread ``tid`` of process ``pid`` (tgkill(2): what the kernel does when it picks that thread)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(SYS_TGKILL, pid, tid, sig) != 0:
        raise OSError(ctypes.get_errno(), f"tgkill {pid} {tid}")


@pytest.mark.skipif(SYS_TGKILL is None, reason=f"tgkill's syscall number is not known for {platform.machine()}")
def test_the_agent_stops_when_sigterm_lands_on_a_thread_other_than_the_main_one() -> None:
    """SIGTERM delivered to one of Zenoh's threads, not the main one: the agent says it is stopping and exits 0
    within 10 s (a main thread blocked in an untimed wait would never run the Python handler)."""
    proc = subprocess.Popen([sys.executable, "-m", "rigsync.cli.main", "agent", str(TWO_HOSTS), "--host", "b",
                             "--listen", f"tcp/127.0.0.1:{free_port()}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert says_ready(proc), proc.poll()
        threads = {int(t.name): (t / "comm").read_text().strip() for t in Path(f"/proc/{proc.pid}/task").iterdir()}
        zenoh = [tid for tid, name in threads.items() if tid != proc.pid and not name.startswith("python")]
        assert zenoh, threads
        _tgkill(proc.pid, zenoh[0], signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 0, err
    assert "agent of host b stopping" in out
