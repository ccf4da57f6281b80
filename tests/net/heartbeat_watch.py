"""Prints an agent's heartbeats as JSON lines (run inside a host's namespace by the namespace tests):
``python3 heartbeat_watch.py ENDPOINT RIG HOST``; one line ``ready`` once subscribed, then one object per heartbeat
(seq, queue_depth, queue_bytes, frames_sent, frames_spilled, frames_dropped), until SIGTERM."""

from __future__ import annotations

import json
import signal
import sys
import threading
from dataclasses import asdict

from rigsync.net import wire
from rigsync.net.keys import Channel, channel_key
from rigsync.net.messages import Heartbeat
from rigsync.net.zenoh_session import Sample, SessionOptions, open_session

FIELDS = ("seq", "queue_depth", "queue_bytes", "frames_sent", "frames_spilled", "frames_dropped")


def main(endpoint: str, rig: str, host: str) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def on_sample(sample: Sample) -> None:
        beat = wire.decode(sample.payload.to_bytes())
        if isinstance(beat, Heartbeat):
            print(json.dumps({k: v for k, v in asdict(beat).items() if k in FIELDS}), flush=True)

    with open_session(SessionOptions(connect=(endpoint,))) as session:
        session.declare_subscriber(channel_key(rig, host, Channel.HEARTBEAT), on_sample)
        print("ready", flush=True)
        stop.wait()


if __name__ == "__main__":
    main(*sys.argv[1:4])
