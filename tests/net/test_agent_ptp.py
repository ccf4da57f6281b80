"""An agent's PTP from linuxptp (``--ptp-state``: the state file ``rigsync ptp run`` keeps): the host's PTP source on
``@ptp`` when its devices are real, observed only on ``@linuxptp`` (and recorded by the capture on
``/rigsync/linuxptp/<host>``) when they are simulated; the readings come through unchanged, each once."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("zenoh")

from tests.drivers.uvc_fakes import write_clip
from tests.net.test_agent import TWO_HOSTS, client, free_port

from rigsync.core.ptp import PortState, PtpSample
from rigsync.net import wire
from rigsync.net.agent import Agent
from rigsync.net.keys import Channel, channel_key
from rigsync.net.remote import RemoteDriver
from rigsync.net.zenoh_session import SessionOptions, open_session
from rigsync.plan import build_plan
from rigsync.ptp.status import StateFileSource
from rigsync.ptp.supervisor import state_file
from rigsync.spec import load_rig

REAL = """
[rig]
name = "real-ptp"

[[hosts]]
name = "gm"
nics = [{ name = "eth0", timestamping = "software" }]

[[hosts]]
name = "h1"
nics = [{ name = "eth0", timestamping = "software" }]

[[devices]]
id = "web"
model = "uvc-webcam"
driver = "uvc"
serial = "CLIP1"
file = "clip.mkv"
host = "h1"
connection = "usb:mb0"
streams = [{ kind = "color", width = 640, height = 480, fps = 30 }]

[[sync]]
name = "lan"
method = "ptp"
members = []
[sync.ptp]
grandmaster = "gm"
hosts = ["h1"]
"""


def reading(host: str, ingress_ns: int) -> PtpSample:
    """A slave's linuxptp reading as ``rigsync ptp run`` publishes it (values no simulator would model)."""
    return PtpSample(host, ingress_ns, ingress_ns - 7_000_000_000, PortState.UNCALIBRATED, -3_000_123, 41_000,
                     "aaaaaa.fffe.000001", True, steps_removed=1, ingress_ns=ingress_ns)


def publish(state_dir: Path, sample: PtpSample) -> None:
    """Write the supervisor's state file with ``sample`` as its last reading (as it replaces it: a new file)."""
    path = state_file(state_dir, sample.host)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"host": sample.host, "stopped": False, "last_sample": sample.to_json()}))
    tmp.replace(path)


@contextmanager
def listening(endpoint: str) -> Iterator[dict[Channel, list[Any]]]:
    """What arrives on every host's ``@ptp`` and ``@linuxptp``, decoded, by channel."""
    got: dict[Channel, list[Any]] = {Channel.PTP: [], Channel.LINUXPTP: []}
    lock = threading.Lock()
    with open_session(client(endpoint)) as session:
        subscribers = []
        for channel, received in got.items():
            def on(sample: Any, received: list[Any] = received) -> None:
                with lock:
                    received.append(wire.decode(sample.payload.to_bytes()))
            subscribers.append(session.declare_subscriber(f"rigsync/*/*/{channel.value}", on))
        yield got


def wait_until(done: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, "nothing arrived"
        time.sleep(0.02)


def feed_until(state_dir: Path, host: str, seen: Any, timeout_s: float = 10.0) -> list[PtpSample]:
    """A new reading in the state file every 0.3 s until ``seen()`` (a subscription reaches the agent some time
    after it is declared, and the agent sends each reading once); the readings written, in order."""
    written: list[PtpSample] = []
    deadline = time.monotonic() + timeout_s
    while not seen():
        assert time.monotonic() < deadline, "nothing arrived"
        written.append(reading(host, time.time_ns()))
        publish(state_dir, written[-1])
        time.sleep(0.3)
    return written


def test_real_devices_are_stamped_from_the_hosts_linuxptp_state(tmp_path: Path) -> None:
    """An agent of a real device (a webcam clip) with --ptp-state: each new reading of the state file goes out on
    ``@ptp`` unchanged, once; none on ``@linuxptp``."""
    write_clip(tmp_path / "clip.mkv", [np.zeros((480, 640, 3), np.uint8)] * 3, 30.0)
    (tmp_path / "rig.toml").write_text(REAL)
    rig = load_rig(tmp_path / "rig.toml")
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    endpoint = f"tcp/127.0.0.1:{free_port()}"
    with Agent(rig, build_plan(rig), "h1", SessionOptions(listen=(endpoint,)),
               linuxptp=StateFileSource(state_file(state_dir, "h1"))), listening(endpoint) as got:
        written = feed_until(state_dir, "h1", lambda: got[Channel.PTP])
        last = reading("h1", time.time_ns())
        publish(state_dir, last)
        wait_until(lambda: last in got[Channel.PTP])
        time.sleep(0.5)  # several more reads of the unchanged file: nothing more may come
    sent = [*written, last]
    assert len(got[Channel.PTP]) >= 2 and got[Channel.PTP] == sent[-len(got[Channel.PTP]):]  # each once, in order
    assert got[Channel.LINUXPTP] == []


def test_simulated_devices_keep_the_modelled_ptp_and_the_capture_records_linuxptp_as_observed(
        tmp_path: Path) -> None:
    """An agent of simulated devices with --ptp-state: its ``@ptp`` carries the simulator's model of the host's
    ptp4l (never the real reading), the real reading goes on ``@linuxptp``; a capture's RemoteDriver hands it to
    its records sink as ``/rigsync/linuxptp/<host>`` with the reading's fields."""
    rig = load_rig(TWO_HOSTS)
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    endpoint = f"tcp/127.0.0.1:{free_port()}"
    records: list[tuple[str, dict[str, Any]]] = []
    with Agent(rig, build_plan(rig), "b", SessionOptions(listen=(endpoint,)),
               origin_realtime_ns=time.clock_gettime_ns(time.CLOCK_REALTIME),
               linuxptp=StateFileSource(state_file(state_dir, "b"))), listening(endpoint) as got, \
            open_session(client(endpoint)) as session:
        remote = RemoteDriver(session, rig, build_plan(rig), "b")
        remote.send_records_to(lambda topic, payload: records.append((topic, payload)))

        def recorded() -> bool:
            remote.take("k1")  # (the records go to the sink as the host's devices are polled)
            return bool(records)

        written = feed_until(state_dir, "b", lambda: got[Channel.LINUXPTP] and recorded())
        wait_until(lambda: got[Channel.PTP])
    observed = got[Channel.LINUXPTP]
    assert observed == written[-len(observed):]  # each reading once, unchanged, in order
    assert records == [("/rigsync/linuxptp/b", w.to_json()) for w in written[-len(records):]]
    assert not set(written) & set(got[Channel.PTP]) and all(s.host == "b" for s in got[Channel.PTP])
    assert channel_key(rig.name, "b", Channel.LINUXPTP) == "rigsync/two-hosts/b/@linuxptp"
