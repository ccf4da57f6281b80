"""A Foxglove viewer stand-in for bench_live.py, in a process of its own (as Foxglove is): connects to URL with the
``foxglove.sdk.v1`` subprotocol, subscribes to every channel advertised, reads everything until the server closes,
then prints the messages it got per topic as JSON.

Run: python bench/_foxglove_watch.py ws://127.0.0.1:PORT
"""

from __future__ import annotations

import json
import sys
from collections import Counter

import websocket


def main() -> None:
    ws = websocket.create_connection(sys.argv[1], subprotocols=["foxglove.sdk.v1"], timeout=None)
    counts: Counter[str] = Counter()
    topics: dict[int, str] = {}
    print("connected", flush=True)
    while True:
        try:
            data = ws.recv()
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            break
        if not data:
            break
        if isinstance(data, bytes):
            counts[topics[int.from_bytes(data[1:5], "little")]] += 1
            continue
        msg = json.loads(data)
        if msg["op"] == "advertise":
            subs = [{"id": len(topics) + n + 1, "channelId": c["id"]} for n, c in enumerate(msg["channels"])]
            topics.update((s["id"], c["topic"]) for s, c in zip(subs, msg["channels"], strict=True))
            ws.send(json.dumps({"op": "subscribe", "subscriptions": subs}))
    print(json.dumps(counts), flush=True)


if __name__ == "__main__":
    main()
