"""GPU memory for the ZED depth the plan computes on this host, read with ``nvidia-smi`` (seeds/000: "The ZED SDK
needs up to 750MB of GPU memory when retrieving depth information in NEURAL LIGHT mode ... we recommend using an
NVIDIA GPU with at least 6GB of memory").

The need is the plan's ``gpu-memory`` budget: 750 MB per camera with a depth stream (the catalog's
``gpu_memory_mb``). seeds/000 gives that one figure (NEURAL LIGHT); no source gives the other depth modes'
memory, so every depth mode is held to it, an upper bound. On a Jetson the GPU shares the system memory
(seeds/000: "make sure the device has enough total RAM"), so the need is held against ``MemAvailable``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rigsync.hostcheck.context import HostContext
from rigsync.hostcheck.finding import Finding, Status
from rigsync.plan.rules.budgets import RECOMMENDED_GPU_MB
from rigsync.spec.model import Platform

ANCHOR = "#gpu-memory"
QUERY = ("nvidia-smi", "--query-gpu=name,memory.total,memory.used", "--format=csv,noheader,nounits")
MEMINFO = "/proc/meminfo"
DRIVER_FIX = ("install the NVIDIA driver (Ubuntu: `sudo ubuntu-drivers install`, then reboot) and the ZED SDK for "
              "its CUDA version (https://www.stereolabs.com/developers/release); `nvidia-smi` then lists the GPU")
MEMORY_FIX = ("free GPU memory (`nvidia-smi` lists the processes holding it), or use a GPU with more memory, fewer "
              "depth streams on this host, or a lighter depth mode")


@dataclass(frozen=True, slots=True)
class Gpu:
    """One line of ``nvidia-smi --query-gpu=name,memory.total,memory.used --format=csv,noheader,nounits``."""

    name: str
    total_mb: float
    used_mb: float

    @property
    def free_mb(self) -> float:
        return self.total_mb - self.used_mb


def parse(stdout: str) -> list[Gpu]:
    """The GPUs nvidia-smi listed (lines it could not read, e.g. ``[N/A]`` memory, are left out)."""
    out = []
    for line in stdout.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 3:
            continue
        try:
            total, used = float(parts[-2]), float(parts[-1])
        except ValueError:
            continue
        out.append(Gpu(", ".join(parts[:-2]), total, used))
    return out


def _need(ctx: HostContext) -> tuple[float, tuple[str, ...], float | None] | None:
    for b in ctx.plan.budgets:
        if b.kind == "gpu-memory" and b.host == ctx.host:
            return b.used, b.devices, b.capacity
    return None


def _jetson(ctx: HostContext, need: float, wanted: str) -> Finding:
    text = ctx.probe.read(MEMINFO) or ""
    fields = {k.strip(): v.split()[0] for k, _, v in (line.partition(":") for line in text.splitlines()) if v.strip()}
    try:
        available = float(fields["MemAvailable"]) / 1024
    except (KeyError, ValueError):
        return ctx.finding("gpu-memory", Status.WARN, f"MemAvailable not readable in {MEMINFO}", wanted,
                           "check `free -m` against the need", anchor=ANCHOR)
    seen = f"Jetson, memory shared with the CPU: {available:.0f} MB available ({MEMINFO} MemAvailable)"
    if available < need:
        return ctx.finding("gpu-memory", Status.FAIL, seen, wanted, "stop other programs, or move depth streams to "
                           "another host / a Jetson with more memory", anchor=ANCHOR)
    return ctx.finding("gpu-memory", Status.PASS, seen, wanted, anchor=ANCHOR)


def check(ctx: HostContext) -> list[Finding]:
    found = _need(ctx)
    if found is None:
        return []
    need, devices, declared = found
    wanted = (f">= {need:.0f} MB free GPU memory for the depth of {len(devices)} ZED camera(s) (750 MB each, NEURAL "
              "LIGHT, seeds/000)")
    if ctx.spec.platform is Platform.JETSON:
        return [_jetson(ctx, need, wanted)]
    ran = ctx.probe.run(QUERY)
    if ran is None:
        return [ctx.finding("gpu-memory", Status.FAIL, "nvidia-smi is not installed: no NVIDIA driver, so no CUDA "
                            "GPU for the ZED SDK's depth", wanted, DRIVER_FIX, anchor=ANCHOR)]
    if not ran.ok:
        said = (ran.stdout.strip() or ran.stderr.strip() or f"exit status {ran.returncode}").splitlines()[0]
        return [ctx.finding("gpu-memory", Status.FAIL, f"nvidia-smi failed: {said}", wanted, DRIVER_FIX,
                            anchor=ANCHOR)]
    gpus = parse(ran.stdout)
    if not gpus:
        return [ctx.finding("gpu-memory", Status.WARN, f"nvidia-smi gave no memory figures: {ran.stdout.strip()!r}",
                            wanted, "run `nvidia-smi` and compare the free memory with the need", anchor=ANCHOR)]
    best = max(gpus, key=lambda g: g.free_mb)
    seen = "; ".join(f"{g.name}: {g.free_mb:.0f} MB free of {g.total_mb:.0f} MB" for g in gpus) + " (nvidia-smi)"
    if best.free_mb < need:
        return [ctx.finding("gpu-memory", Status.FAIL, seen, wanted, MEMORY_FIX, anchor=ANCHOR)]
    warnings = []
    if best.total_mb < RECOMMENDED_GPU_MB and len(devices) > 1:
        warnings.append(f"use a GPU with {RECOMMENDED_GPU_MB // 1024} GB or more, as seeds/000 recommends for "
                        "several cameras")
    if declared is not None and best.total_mb < 0.95 * declared:
        warnings.append(f"set gpu_memory_mb = {best.total_mb:.0f} for host {ctx.host} in the rig file (it declares "
                        f"{declared:.0f})")
    if warnings:
        return [ctx.finding("gpu-memory", Status.WARN, seen, wanted, "; ".join(warnings), anchor=ANCHOR)]
    return [ctx.finding("gpu-memory", Status.PASS, seen, wanted, anchor=ANCHOR)]
