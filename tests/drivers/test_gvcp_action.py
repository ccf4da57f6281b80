"""The GigE Vision action command: ACTION_CMD and ACTION_ACK byte for byte against the GigE Vision 2.0 layout, and the
sender against a camera stand-in on loopback that receives the datagram and answers (or does not)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from rigsync.drivers.gvcp_action import (
    ActionAckError,
    ActionCommand,
    ActionKeys,
    build_ack,
    build_action,
    parse_ack,
    parse_action,
    send_action,
)

KEYS = ActionKeys(0x12345678, 0x9ABCDEF0, 0x00000003)
TIME_NS = 1_795_000_000_123_456_789


def test_scheduled_action_is_the_spec_layout_byte_for_byte() -> None:
    """Header 0x42, flags 0x81 (scheduled + ack required), command 0x0100, length 20, request id; then the three keys
    big-endian and the 64-bit action time big-endian; it parses back to the same command."""
    command = ActionCommand(KEYS, TIME_NS, request_id=0x0102)
    packet = build_action(command)
    assert packet == (bytes([0x42, 0x81, 0x01, 0x00, 0x00, 0x14, 0x01, 0x02])
                      + bytes.fromhex("12345678" "9abcdef0" "00000003" "18e91efd632f4d15"))
    assert TIME_NS == 0x18E91EFD632F4D15
    assert parse_action(packet) == command


def test_immediate_action_has_no_time_and_no_scheduled_flag() -> None:
    """An immediate action: flags 0x01, length 12, the keys only; without an ACK asked, flags 0x00."""
    assert build_action(ActionCommand(KEYS, None, 7)) == (bytes([0x42, 0x01, 0x01, 0x00, 0x00, 0x0C, 0x00, 0x07])
                                                          + bytes.fromhex("123456789abcdef000000003"))
    assert build_action(ActionCommand(KEYS, None, 7, ack_required=False))[1] == 0x00
    assert parse_action(build_action(ActionCommand(KEYS, None, 7))).action_time_ns is None


def test_bad_values_and_packets_are_refused() -> None:
    """Keys over 32 bits, a zero mask, a time over 64 bits, request id 0, and a payload length that contradicts the
    scheduled flag are ValueErrors naming the field."""
    with pytest.raises(ValueError, match="device_key"):
        ActionKeys(2**32, 1)
    with pytest.raises(ValueError, match="group_mask"):
        ActionKeys(1, 1, 0)
    with pytest.raises(ValueError, match="action_time_ns"):
        build_action(ActionCommand(KEYS, 2**64, 1))
    with pytest.raises(ValueError, match="request_id"):
        build_action(ActionCommand(KEYS, None, 0))
    truncated = build_action(ActionCommand(KEYS, TIME_NS, 1))[:-8]
    with pytest.raises(ValueError, match="20-byte payload, the header says 20 and 12 came"):
        parse_action(truncated)


def test_ack_layout_and_parse() -> None:
    """ACTION_ACK: status, 0x0101, length 0, the request id, big-endian; a non-ACK answer is refused."""
    assert build_ack(0x0102, 0x8016) == bytes([0x80, 0x16, 0x01, 0x01, 0x00, 0x00, 0x01, 0x02])
    assert parse_ack(build_ack(0x0102, 0x8016)) == (0x8016, 0x0102)
    with pytest.raises(ValueError, match="not an ACTION_ACK: answer 0x0081"):
        parse_ack(bytes([0, 0, 0x00, 0x81, 0, 4, 0, 1]))


def test_rig_keys_differ_by_rig_and_group() -> None:
    """rigsync's keys: one device key per rig, one group key per sync group, mask bit 0."""
    a, b = ActionKeys.for_rig("lab", "ptp"), ActionKeys.for_rig("lab", "ptp2")
    assert a.device_key == b.device_key != ActionKeys.for_rig("lab2", "ptp").device_key
    assert a.group_key != b.group_key and a.group_mask == 1


@contextmanager
def camera_stand_in(answer: Callable[[ActionCommand], list[bytes]]) -> Iterator[tuple[tuple[str, int],
                                                                                     list[bytes]]]:
    """A UDP socket on 127.0.0.1 that records each datagram and sends back what ``answer`` returns for it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.05)
    received: list[bytes] = []
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                data, peer = sock.recvfrom(64)
            except TimeoutError:
                continue
            received.append(data)
            for reply in answer(parse_action(data)):
                sock.sendto(reply, peer)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield sock.getsockname(), received
    finally:
        done.set()
        thread.join()
        sock.close()


def test_sender_delivers_the_packet_and_takes_the_matching_ack() -> None:
    """The stand-in receives exactly the built datagram once; an answer for another request id and a non-ACK are
    skipped, the matching ACK ends the send."""
    command = ActionCommand(KEYS, TIME_NS, 42)
    with camera_stand_in(lambda c: [build_ack(c.request_id + 1), b"junk", build_ack(c.request_id)]) as (addr, got):
        send_action(addr, command, timeout_s=1.0)
    assert got == [build_action(command)]


def test_silence_is_resent_then_an_error_naming_the_address() -> None:
    """A camera that never answers gets the same datagram ``attempts`` times, then ActionAckError names its
    address."""
    command = ActionCommand(KEYS, TIME_NS, 9)
    with camera_stand_in(lambda c: []) as (addr, got), pytest.raises(ActionAckError) as raised:
        send_action(addr, command, timeout_s=0.05, attempts=3)
    assert str(raised.value) == f"no ACTION_ACK from 127.0.0.1:{addr[1]} after 3 tries 50 ms apart"
    assert got == [build_action(command)] * 3


def test_an_error_status_is_an_error_naming_it() -> None:
    """An ACK with status 0x8013 (the camera's PTP not locked) is refused with its meaning."""
    with camera_stand_in(lambda c: [build_ack(c.request_id, 0x8013)]) as (addr, _), \
            pytest.raises(ActionAckError, match=r"status 0x8013 \(no reference time"):
        send_action(addr, ActionCommand(KEYS, TIME_NS, 5), timeout_s=1.0)
