"""The values every number of a rig file may take: finite, and within a physical range.

Each range is stated once here; the model classes check their fields against it on construction, error
messages and ``docs/rig-file.md`` quote it, and the fuzz tests capture rigs at both of its ends.
"""

from __future__ import annotations

from rigsync.core.limits import SEED, Limits

__all__ = ["FIELDS", "SEED", "Limits"]

# [sim]
RENDER_WIDTH = Limits(16, 4096, "pixels")
MAX_DRIFT_PPM = Limits(0, 1000, "ppm")
PTP_RUNNING_S = Limits(0, 3600, "s")
FLASH_AT_S = Limits(0, 1_000_000, "s")
FLASH_DURATION_US = Limits(0, 10_000_000, "us", lo_open=True)
FLASH_GAIN = Limits(0, 255, "grey levels", lo_open=True)
LEDCLOCK_OFFSET_S = Limits(0, 1e6, "s")
LEDCLOCK_NOISE = Limits(0, 50, "levels of 255")
LEDCLOCK_CENTER_M = Limits(-100, 100, "m")
BOARD_CENTER_M = Limits(-100, 100, "m")
BOARD_REACH_M = Limits(0, 10, "m")
BOARD_TILT_DEG = Limits(0, 80, "degrees")
BOARD_HEADING_DEG = Limits(-360, 360, "degrees")
BOARD_SPIN_S = Limits(0, 3600, "s")
# [[hosts]]
GPU_MEMORY_MB = Limits(0, 1_048_576, "MB")
USB_CAPACITY_MB_S = Limits(0, 100_000, "MB/s", lo_open=True)
NIC_SPEED_GBPS = Limits(0, 1000, "Gbit/s", lo_open=True)
# [[triggers]]
TRIGGER_RATE_HZ = Limits(0.01, 10_000, "Hz")
LEVEL_V = Limits(0, 48, "V", lo_open=True)
PULSE_WIDTH_US = Limits(0, 100_000_000, "us", lo_open=True)
DRIVE_MA = Limits(0, 1000, "mA", lo_open=True)
DRIFT_PPM = Limits(-1000, 1000, "ppm")
# [[devices]]
POSITION_M = Limits(-10_000, 10_000, "m")
UP = Limits(-10_000, 10_000)
CLOCK_START_S = Limits(0, 1e9, "s")
DROP_RATE = Limits(0, 1, hi_open=True)
PACKET_SIZE = Limits(576, 16_384, "bytes")
"""GigE Vision ``GevSCPSPacketSize``: from the least IPv4 datagram every host takes (RFC 791) to the largest jumbo
frames NICs take."""
# [[sync]]
DELAY_US = Limits(0, 1_000_000, "us")
STAGGER_US = Limits(0, 1_000_000, "us")
CABLE_M = Limits(0, 1000, "m", lo_open=True)
BURST = Limits(1, 255)
PTP_DOMAIN = Limits(0, 255)
LOG_SYNC_INTERVAL = Limits(-7, 4, "(Sync every 2^n s)")
OFFSET_NS = Limits(0, 1_000_000_000, "ns", lo_open=True)
START_DELAY_S = Limits(0, 600, "s")
# [verify] and [[sync]] verify
VERIFY_US = Limits(0, 1e9, "us", lo_open=True)
VERIFY_RATE = Limits(0, 1)
VERIFY_PPM = Limits(0, 1e6, "ppm")
VERIFY_FRAMES = Limits(0, 1e9, "frames")
VERIFY_FIELDS: dict[str, Limits] = {
    "max_skew_us": VERIFY_US, "max_drop_rate": VERIFY_RATE, "max_bound_us": VERIFY_US, "max_drift_ppm": VERIFY_PPM,
    "max_drift_change_ppm": VERIFY_PPM, "max_rate_jitter_us": VERIFY_US, "max_gap_frames": VERIFY_FRAMES,
    "max_image_skew_us": VERIFY_US, "max_stamp_error_us": VERIFY_US,
}
"""Every key of a ``[verify]`` table (and of a sync group's ``verify``), with its range."""
# [[faults]]
FAULT_AT_S = Limits(0, 1_000_000, "s")
FAULT_DURATION_S = Limits(0, 1_000_000, "s", lo_open=True)
STEP_MS = Limits(-86_400_000, 86_400_000, "ms")

FIELDS: dict[str, Limits] = {
    "sim.seed": SEED,
    "sim.render_width": RENDER_WIDTH,
    "sim.max_drift_ppm": MAX_DRIFT_PPM,
    "sim.ptp_running_s": PTP_RUNNING_S,
    "sim.flashes.at_s": FLASH_AT_S,
    "sim.flashes.duration_us": FLASH_DURATION_US,
    "sim.flashes.gain": FLASH_GAIN,
    "sim.ledclock.drift_ppm": DRIFT_PPM,
    "sim.ledclock.offset_s": LEDCLOCK_OFFSET_S,
    "sim.ledclock.noise": LEDCLOCK_NOISE,
    "hosts.gpu_memory_mb": GPU_MEMORY_MB,
    "hosts.usb_controllers.capacity_mb_s": USB_CAPACITY_MB_S,
    "hosts.nics.speed_gbps": NIC_SPEED_GBPS,
    "triggers.rate_hz": TRIGGER_RATE_HZ,
    "triggers.level_v": LEVEL_V,
    "triggers.pulse_width_us": PULSE_WIDTH_US,
    "triggers.drive_ma": DRIVE_MA,
    "triggers.drift_ppm": DRIFT_PPM,
    "devices.packet_size": PACKET_SIZE,
    "devices.pose.position": POSITION_M,
    "devices.pose.look_at": POSITION_M,
    "devices.pose.up": UP,
    "devices.sim.drift_ppm": DRIFT_PPM,
    "devices.sim.clock_start_s": CLOCK_START_S,
    "devices.sim.drop_rate": DROP_RATE,
    "sync.burst": BURST,
    "sync.stagger_us": STAGGER_US,
    "sync.members.delay_us": DELAY_US,
    "sync.members.depth_delay_us": DELAY_US,
    "sync.members.cable_m": CABLE_M,
    "sync.ptp.domain": PTP_DOMAIN,
    "sync.ptp.log_sync_interval": LOG_SYNC_INTERVAL,
    "sync.ptp.offset_warn_ns": OFFSET_NS,
    "sync.ptp.offset_error_ns": OFFSET_NS,
    "sync.ptp.start_delay_s": START_DELAY_S,
    **{f"{table}.{key}": limits for table in ("verify", "sync.verify") for key, limits in VERIFY_FIELDS.items()},
    "faults.at_s": FAULT_AT_S,
    "faults.duration_s": FAULT_DURATION_S,
    "faults.step_ms": STEP_MS,
}
"""Every ranged number of the rig file, by its path with array indices left out."""
