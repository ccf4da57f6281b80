"""The GigE Vision action command (GVCP ``ACTION_CMD``), scheduled at a PTP time or immediate, and its
``ACTION_ACK``: packets built and parsed here (pure), and sent by UDP to one camera's GVCP port.

Aravis 0.8 exposes no action command through its introspected API, so rigsync builds the packet itself. The layout
(GigE Vision 2.0, GVCP; as Wireshark's GVCP dissector, epan/dissectors/packet-gvcp.c, reads it: ``dissect_gvcp``'s
command header and ``dissect_action_cmd``), all fields big-endian:

- command header, 8 bytes: key code ``0x42`` (u8); flags (u8): ``0x01`` acknowledge required, ``0x80`` scheduled
  action (an action time follows); command ``0x0100`` ACTION_CMD (u16); payload length (u16); request id (u16,
  not 0);
- payload: ``device_key``, ``group_key``, ``group_mask`` (u32 each), then, scheduled only, ``action_time`` (u64, the
  device's timestamp ticks: ns of its PTP clock on a PTP camera) - 12 or 20 bytes;
- the acknowledge, 8 bytes: status (u16, ``0x0000`` success; ``0x8013`` no reference time, i.e. the camera's PTP is
  not locked; ``0x8015`` overflow of its action queue; ``0x8016`` action late, the time was already past), answer
  ``0x0101`` ACTION_ACK (u16), length 0 (u16), the request id it answers (u16). Status codes as GigE Vision 2.0 names
  them (GEV_STATUS_*, the same dissector's table).

A camera fires the action on the signal whose ``ActionSelector`` holds a matching ``ActionDeviceKey``,
``ActionGroupKey`` and a ``ActionGroupMask`` sharing a bit with the command's mask (SFNC Action Control; Basler's
and FLIR's action command documentation); a scheduled action is queued and fires at ``action_time``, an immediate
one on receipt.
"""

from __future__ import annotations

import socket
import struct
import time
import zlib
from dataclasses import dataclass

GVCP_PORT = 3956
"""The UDP port a GigE Vision device listens on for GVCP commands (IANA)."""
KEY = 0x42
ACTION_CMD = 0x0100
ACTION_ACK = 0x0101
FLAG_ACK_REQUIRED = 0x01
FLAG_SCHEDULED = 0x80
STATUS = {0x0000: "success", 0x8001: "not implemented", 0x8002: "invalid parameter", 0x8006: "access denied",
          0x8013: "no reference time (the camera's PTP is not locked)", 0x8015: "action queue overflow",
          0x8016: "action late (its time had passed)", 0x8FFF: "error"}
"""GEV_STATUS codes an ACTION_ACK may carry -> what they mean."""

_HEADER = struct.Struct(">BBHHH")
_ACK = struct.Struct(">HHHH")
_KEYS = struct.Struct(">III")
_TIME = struct.Struct(">Q")
_U32, _U64 = 0xFFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFF


@dataclass(frozen=True)
class ActionKeys:
    """What a camera and the command must share for the action to fire (all unsigned 32-bit)."""

    device_key: int
    group_key: int
    group_mask: int = 0x1

    def __post_init__(self) -> None:
        for name in ("device_key", "group_key", "group_mask"):
            value = getattr(self, name)
            if not 0 <= value <= _U32:
                raise ValueError(f"{name} is an unsigned 32-bit integer, got {value}")
        if self.group_mask == 0:
            raise ValueError("group_mask must have at least one bit set (no camera fires on mask 0)")

    @classmethod
    def for_rig(cls, rig_name: str, group_name: str) -> ActionKeys:
        """rigsync's keys: the device key from the rig's name, the group key from the sync group's name (CRC-32 of
        each, so two rigs or two groups on one network do not fire each other's cameras), mask bit 0."""
        return cls(zlib.crc32(f"rigsync rig {rig_name}".encode()), zlib.crc32(f"rigsync group {group_name}".encode()))


@dataclass(frozen=True)
class ActionCommand:
    keys: ActionKeys
    action_time_ns: int | None
    """The camera's PTP time (ns) to fire at; None: an immediate action."""
    request_id: int
    ack_required: bool = True


def build_action(command: ActionCommand) -> bytes:
    """The ACTION_CMD datagram."""
    if not 1 <= command.request_id <= 0xFFFF:
        raise ValueError(f"request_id is 1..65535, got {command.request_id}")
    flags = FLAG_ACK_REQUIRED if command.ack_required else 0
    payload = _KEYS.pack(command.keys.device_key, command.keys.group_key, command.keys.group_mask)
    if command.action_time_ns is not None:
        if not 0 <= command.action_time_ns <= _U64:
            raise ValueError(f"action_time_ns is an unsigned 64-bit integer, got {command.action_time_ns}")
        flags |= FLAG_SCHEDULED
        payload += _TIME.pack(command.action_time_ns)
    return _HEADER.pack(KEY, flags, ACTION_CMD, len(payload), command.request_id) + payload


def parse_action(data: bytes) -> ActionCommand:
    """An ACTION_CMD datagram back (what a camera reads); ValueError if it is not one."""
    if len(data) < _HEADER.size:
        raise ValueError(f"a GVCP command has an 8-byte header, got {len(data)} bytes")
    key, flags, command, length, request_id = _HEADER.unpack_from(data)
    if key != KEY or command != ACTION_CMD:
        raise ValueError(f"not an ACTION_CMD: key 0x{key:02x}, command 0x{command:04x}")
    scheduled = bool(flags & FLAG_SCHEDULED)
    want = _KEYS.size + (_TIME.size if scheduled else 0)
    if length != want or len(data) != _HEADER.size + want:
        raise ValueError(f"an ACTION_CMD{' (scheduled)' if scheduled else ''} has a {want}-byte payload, the header "
                         f"says {length} and {len(data) - _HEADER.size} came")
    keys = ActionKeys(*_KEYS.unpack_from(data, _HEADER.size))
    time_ns = _TIME.unpack_from(data, _HEADER.size + _KEYS.size)[0] if scheduled else None
    return ActionCommand(keys, time_ns, request_id, bool(flags & FLAG_ACK_REQUIRED))


def build_ack(request_id: int, status: int = 0) -> bytes:
    """An ACTION_ACK datagram (what a camera answers)."""
    return _ACK.pack(status, ACTION_ACK, 0, request_id)


def parse_ack(data: bytes) -> tuple[int, int]:
    """(status, request id) of an ACTION_ACK; ValueError if it is not one."""
    if len(data) < _ACK.size:
        raise ValueError(f"a GVCP acknowledge has an 8-byte header, got {len(data)} bytes")
    status, answer, _, request_id = _ACK.unpack_from(data)
    if answer != ACTION_ACK:
        raise ValueError(f"not an ACTION_ACK: answer 0x{answer:04x}")
    return status, request_id


class ActionAckError(Exception):
    """The camera did not acknowledge the action (no answer, or an error status)."""


def send_action(address: tuple[str, int], command: ActionCommand, *, timeout_s: float = 0.2,
                attempts: int = 3) -> None:
    """Send the command to one camera (unicast to ``address``, its GVCP port) and, if it asks for one, wait for
    the ACTION_ACK of its request id, resending the same datagram (same request id) up to ``attempts`` times.
    Raises :class:`ActionAckError` naming the address on silence or an error status."""
    packet = build_action(command)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _ in range(attempts):
            sock.sendto(packet, address)
            if not command.ack_required:
                return
            deadline = time.monotonic() + timeout_s
            while (left := deadline - time.monotonic()) > 0:
                sock.settimeout(left)
                try:
                    data, _ = sock.recvfrom(64)
                except TimeoutError:
                    break
                try:
                    status, request_id = parse_ack(data)
                except ValueError:
                    continue  # not our answer
                if request_id != command.request_id:
                    continue
                if status != 0:
                    raise ActionAckError(f"{address[0]}:{address[1]} answered the action with status "
                                                f"0x{status:04x} ({STATUS.get(status, 'unknown')})")
                return
    raise ActionAckError(f"no ACTION_ACK from {address[0]}:{address[1]} after {attempts} tries "
                                f"{timeout_s * 1000:.0f} ms apart")
