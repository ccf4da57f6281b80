"""Synchronization vocabulary shared by the rig file, the catalog and the simulator."""

from __future__ import annotations

from enum import StrEnum


class SyncMethod(StrEnum):
    """How a sync group ties its members' exposures together."""

    HARDWARE = "hardware"
    """A trigger signal on a cable (Kinect sync in/out, Orbbec sync port, ZED Link, RealSense slave)."""
    GENLOCK = "genlock"
    """RealSense Genlock: each trigger starts exposure of a burst of frames (inter-cam sync modes 4-258)."""
    PTP = "ptp"
    """Cameras start at a shared PTP time and run on PTP-disciplined clocks (GigE Vision, ZED IP cameras)."""
    SOFTWARE = "software"
    """Free-running cameras aligned afterwards by their timestamps."""


class Topology(StrEnum):
    """How the trigger signal is wired."""

    DAISY_CHAIN = "daisy-chain"
    """Each device's sync out drives the next device's sync in."""
    STAR = "star"
    """The source drives every member through a splitter."""
    CAPTURE_CARD = "capture-card"
    """A GMSL2 capture card triggers every camera on it (and chained cards)."""
    NETWORK = "network"
    """No cable: a network time reference (PTP) or none at all (software)."""


class LinkKind(StrEnum):
    """How a camera reaches its host."""

    USB = "usb"
    GMSL = "gmsl"
    ETHERNET = "eth"
