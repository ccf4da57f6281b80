"""``nic-rmem``: the kernel's socket receive buffers for the GigE Vision streams (one UDP socket per camera).

- ``net.core.rmem_default`` is the buffer each camera's stream socket gets: rigsync's GigE driver keeps Aravis's
  default socket policy (``socket-buffer`` = fixed, ``socket-buffer-size`` = 0: Aravis leaves the kernel's default,
  arvgvstream.c ``_update_socket``). Below the need: fail (packets arriving while the reader thread is late are
  dropped once the buffer is full).
- ``net.core.rmem_max`` caps what a program may ask for (socket(7), SO_RCVBUF): Aravis's ``auto`` mode asks for
  one frame + 1024 bytes and warns "Most likely /proc/sys/net/core/rmem_max is too low" when it gets less
  (arvnetwork.c); eCapture, ``arv-camera-test --auto`` and other viewers ask too. Below the need: warn.

The need: 16 MiB, the value GigE Vision vendors document for Linux (MATRIX VISION / Balluff "Checklist for Linux":
``net.core.rmem_max=16777216`` and ``net.core.rmem_default=16777216`` in /etc/sysctl.d), or one frame of the host's
largest GigE Vision stream + 1024 bytes (Aravis's auto buffer) when that is more. The seed (seeds/003) gives no
value; Emergent's manual was not available.
"""

from __future__ import annotations

from rigsync.hostcheck.context import HostContext
from rigsync.hostcheck.finding import Finding, Status
from rigsync.hostcheck.nic_gige import ARAVIS_SOCKET_OVERHEAD_BYTES, frame_bytes, gige_nics

ITEM = "nic-rmem"
ANCHOR = "#nic-rmem"
DOCUMENTED_RMEM_BYTES = 16 * 1024 * 1024
"""net.core.rmem_max / rmem_default for GigE Vision on Linux (MATRIX VISION / Balluff, see the module docstring)."""
RMEM_MAX = "/proc/sys/net/core/rmem_max"
RMEM_DEFAULT = "/proc/sys/net/core/rmem_default"
SYSCTL_FILE = "/etc/sysctl.d/60-rigsync-gige.conf"


def need_bytes(ctx: HostContext) -> tuple[int, str]:
    """The socket buffer the host's GigE Vision streams need, and why (0: no GigE Vision camera on the host)."""
    devices = [d for nic in gige_nics(ctx) for d in nic.devices]
    if not devices:
        return 0, ""
    largest = max(devices, key=frame_bytes)
    frame = frame_bytes(largest) + ARAVIS_SOCKET_OVERHEAD_BYTES
    if frame > DOCUMENTED_RMEM_BYTES:
        return frame, f"one frame of {largest.id} ({frame_bytes(largest)} bytes) + {ARAVIS_SOCKET_OVERHEAD_BYTES}"
    return DOCUMENTED_RMEM_BYTES, "16 MiB, the GigE Vision vendors' Linux value"


def _read(ctx: HostContext, path: str) -> int | None:
    text = ctx.probe.read(path)
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


def _fix(need: int, keys: list[str]) -> str:
    """Set the short values now, and in a file of /etc/sysctl.d for the next boots (a value already above the need
    is left alone)."""
    keys = [k for k in ("rmem_max", "rmem_default") if k in keys]
    sets = " ".join(f"net.core.{k}={need}" for k in keys)
    lines = "".join(f"net.core.{k}={need}\\n" for k in keys)
    return f"sudo sysctl -w {sets} (now, until reboot); to keep it: printf '{lines}' | sudo tee {SYSCTL_FILE}"


def check(ctx: HostContext) -> list[Finding]:
    need, why = need_bytes(ctx)
    if need == 0:
        return []
    wanted = f"rmem_default and rmem_max >= {need} bytes ({why})"
    have = {"rmem_default": _read(ctx, RMEM_DEFAULT), "rmem_max": _read(ctx, RMEM_MAX)}
    unread = [k for k, v in have.items() if v is None]
    if unread:
        return [ctx.finding(ITEM, Status.WARN, f"{', '.join(unread)} not readable (/proc/sys/net/core)", wanted,
                            _fix(need, ["rmem_max", "rmem_default"]), anchor=ANCHOR)]
    seen = f"rmem_default {have['rmem_default']}, rmem_max {have['rmem_max']} bytes (/proc/sys/net/core)"
    short = [k for k, v in have.items() if v is not None and v < need]
    if not short:
        return [ctx.finding(ITEM, Status.PASS, seen, wanted, anchor=ANCHOR)]
    status = Status.FAIL if "rmem_default" in short else Status.WARN
    return [ctx.finding(ITEM, status, seen, wanted, _fix(need, short), anchor=ANCHOR)]
