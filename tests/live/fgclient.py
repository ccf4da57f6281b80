"""A Foxglove WebSocket client of the tests' own (protocol ``foxglove.sdk.v1``: JSON control messages, binary
``messageData`` frames: opcode 1, uint32 subscription id, uint64 log time, payload; all little-endian)."""

from __future__ import annotations

import json
import socket
import struct
import time
from dataclasses import dataclass
from typing import Any

import websocket

SUBPROTOCOL = "foxglove.sdk.v1"
_MESSAGE_DATA = 1


@dataclass(frozen=True)
class Message:
    topic: str
    log_time_ns: int
    payload: bytes


class FoxgloveClient:
    """Connects, reads ``serverInfo`` and the advertised channels, subscribes by topic, reads messages."""

    def __init__(self, url: str, *, receive_buffer: int | None = None, timeout_s: float = 10.0) -> None:
        options = ((socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer),) if receive_buffer else ()
        self.ws = websocket.create_connection(url, subprotocols=[SUBPROTOCOL], timeout=timeout_s, sockopt=options)
        self.subprotocol = self.ws.getsubprotocol()
        self.server_info: dict[str, Any] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self._topics: dict[int, str] = {}
        self._pending: list[Message] = []

    def close(self) -> None:
        self.ws.close()

    def _handle(self, data: str | bytes) -> Message | None:
        if isinstance(data, str):
            msg = json.loads(data)
            if msg["op"] == "serverInfo":
                self.server_info = msg
            elif msg["op"] == "advertise":
                self.channels.update((c["topic"], c) for c in msg["channels"])
            return None
        opcode, sub_id, log_time = struct.unpack_from("<BIQ", data)
        assert opcode == _MESSAGE_DATA, opcode
        return Message(self._topics[sub_id], log_time, data[13:])

    def advertised(self, topics: set[str], timeout_s: float = 10.0) -> None:
        """Read until every topic of ``topics`` is advertised."""
        deadline = time.monotonic() + timeout_s
        while not topics <= set(self.channels):
            assert time.monotonic() < deadline, f"not advertised: {sorted(topics - set(self.channels))}"
            try:
                data = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            if (m := self._handle(data)) is not None:
                self._pending.append(m)

    def subscribe(self, topics: list[str]) -> None:
        subs = []
        for topic in topics:
            sub_id = len(self._topics) + 1
            self._topics[sub_id] = topic
            subs.append({"id": sub_id, "channelId": self.channels[topic]["id"]})
        self.ws.send(json.dumps({"op": "subscribe", "subscriptions": subs}))

    def next_message(self) -> Message | None:
        """The next message (None when nothing came within the socket's timeout)."""
        if self._pending:
            return self._pending.pop(0)
        while True:
            try:
                data = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                return None
            if (m := self._handle(data)) is not None:
                return m
