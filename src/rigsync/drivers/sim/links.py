"""Transport from camera to host: per-link latency with heavy tails, and USB controller budgets.

A frame leaves the sensor after exposure and readout, then crosses its link: a fixed minimum, the transfer
of its bytes at the link's throughput, and a random excess (scheduling, bus arbitration, interrupts)
whose tail reaches milliseconds on USB. A USB controller shared beyond its budget (ZED document: about
620 MB/s for USB 3.0) slows transfers, corrupts frames ("green or purple frames, tearing") and drops them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rigsync.core.sync import LinkKind


@dataclass(frozen=True)
class LinkProfile:
    base_ns: int
    """Fixed minimum delay after the frame leaves the sensor."""
    throughput_bytes_s: float
    """Payload throughput one device gets on an unloaded link."""
    small_mean_ns: float
    """Mean of the common exponential jitter."""
    mid_p: float
    mid_mean_ns: float
    tail_p: float
    tail_xm_ns: float
    tail_alpha: float
    tail_cap_ns: float

    def excess_ns(self, rng: np.random.Generator) -> int:
        u = rng.random()
        if u < self.tail_p:
            value = self.tail_xm_ns * (1.0 + rng.pareto(self.tail_alpha))
            return int(min(value, self.tail_cap_ns))
        if u < self.tail_p + self.mid_p:
            return int(rng.exponential(self.mid_mean_ns))
        return int(rng.exponential(self.small_mean_ns))


PROFILES: dict[LinkKind, LinkProfile] = {
    # USB 3: 125 us bus intervals, host controller interrupts; rare multi-millisecond stalls.
    LinkKind.USB: LinkProfile(125_000, 400e6, 40_000, 0.08, 400_000, 0.01, 1_000_000, 1.8, 8_000_000),
    # GMSL2: a dedicated serial link into a capture card's DMA: small and tight.
    LinkKind.GMSL: LinkProfile(40_000, 750e6, 5_000, 0.01, 50_000, 0.0, 1.0, 2.0, 1.0),
    # GigE Vision: switch and NIC interrupt coalescing; throughput is set per NIC speed.
    LinkKind.ETHERNET: LinkProfile(60_000, 110e6, 20_000, 0.05, 300_000, 0.005, 1_000_000, 1.8, 5_000_000),
}

LATENCY_UNCERTAINTY_NS = 20_000
"""How far a device's real fixed latency may differ from the nominal one (the simulator draws a hidden
bias within +-15 us per device, so the declared 20 us bounds it)."""


def eth_profile(speed_gbps: float) -> LinkProfile:
    base = PROFILES[LinkKind.ETHERNET]
    return LinkProfile(
        base.base_ns,
        speed_gbps * 1e9 / 8 * 0.9,
        base.small_mean_ns,
        base.mid_p,
        base.mid_mean_ns,
        base.tail_p,
        base.tail_xm_ns,
        base.tail_alpha,
        base.tail_cap_ns,
    )


@dataclass(frozen=True)
class Overload:
    """Effects of a USB controller's demand beyond its capacity (``ratio`` = demand / capacity)."""

    ratio: float

    @property
    def corrupt_p(self) -> float:
        return 0.0 if self.ratio <= 1.0 else min(0.9, 3.0 * (self.ratio - 1.0))

    @property
    def drop_p(self) -> float:
        return 0.0 if self.ratio <= 1.0 else min(0.6, 1.5 * (self.ratio - 1.0))

    @property
    def slowdown(self) -> float:
        return max(1.0, self.ratio)
