"""Who can read from and write into a capture across hosts, over mutual TLS on loopback: a peer without the rig's
credentials reads nothing from an agent and cannot pose as one; an authenticated peer's malformed messages are
each counted and ignored, and the recording stays true."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from tests.net.test_agent import TWO_HOSTS, agent, check_two_hosts_recording, free_port
from tests.net.wiremsgs import frame

pytest.importorskip("zenoh")

import zenoh

from rigsync.capture.session import CaptureOptions, CaptureSession
from rigsync.cli.main import main
from rigsync.drivers.base import DeviceEvent, EventKind
from rigsync.net import wire
from rigsync.net.certs import RigCerts, init_certs
from rigsync.net.keys import Channel, Verb, channel_key, control_key, frame_key
from rigsync.net.messages import FrameMessage, Heartbeat
from rigsync.net.remote import RemoteDriver
from rigsync.net.router import open_capture_drivers
from rigsync.net.zenoh_session import Session, SessionOptions, TlsFiles, build_config, open_session
from rigsync.plan import build_plan
from rigsync.spec import load_rig

LOOPBACK = {"a": ["127.0.0.1"], "b": ["127.0.0.1"]}
RIG = "two-hosts"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> tuple[RigCerts, RigCerts]:
    """The rig's CA and host files, and another CA's files for the same rig and host names."""
    tmp = tmp_path_factory.mktemp("certs")
    return init_certs(RIG, ["a", "b"], tmp / "rig", LOOPBACK), init_certs(RIG, ["a", "b"], tmp / "other", LOOPBACK)


def tls_of(files: RigCerts, host: str, ca: Path | None = None) -> TlsFiles:
    return TlsFiles(ca or files.ca_cert, files.host(host).cert, files.host(host).key)


def test_a_peer_without_the_rigs_credentials_reads_nothing_from_an_agent(certs: tuple[RigCerts, RigCerts]) -> None:
    """While host b's agent publishes its webcam's frames over mTLS, peers connecting to it with another CA's
    certificate, with no certificate (TLS that trusts the rig's CA) or over plain TCP get no link, no frame on
    ``rigsync/**`` and no answer to ``hello``; an authenticated peer on the same endpoint gets both."""
    rig_files, other = certs
    rig = load_rig(TWO_HOSTS)
    received: dict[str, int] = {}

    def subscribe(name: str, session: Session) -> None:
        received[name] = 0

        def count(_: object) -> None:
            received[name] += 1

        session.declare_subscriber("rigsync/**", count)

    def hello_answers(session: Session) -> int:
        return sum(1 for r in session.get(control_key(RIG, "b", Verb.HELLO), timeout=1.0) if r.ok is not None)

    with agent(TWO_HOSTS, "b", time.clock_gettime_ns(time.CLOCK_REALTIME), tls=rig_files.ca_cert.parent) as endpoint, \
            ExitStack() as stack:
        port = endpoint.rpartition(":")[2]
        strangers = {
            "another CA": stack.enter_context(open_session(SessionOptions(
                connect=(endpoint,), tls=tls_of(other, "a", ca=rig_files.ca_cert)))),
            "no certificate": stack.enter_context(zenoh.open(build_config(SessionOptions(), extra=(
                ("connect/endpoints", [endpoint]),
                ("transport/link/tls/root_ca_certificate", str(rig_files.ca_cert)))))),
            "plain TCP": stack.enter_context(open_session(SessionOptions(connect=(f"tcp/127.0.0.1:{port}",))))}
        for name, session in strangers.items():
            subscribe(name, session)
        ours = stack.enter_context(open_session(SessionOptions(connect=(endpoint,), tls=tls_of(rig_files, "a"),
                                                               require_connect_ms=10_000)))
        subscribe("ours", ours)
        remote = RemoteDriver(ours, rig, build_plan(rig), "b")
        web = remote.open("W0")
        web.configure(None)  # type: ignore[arg-type]  # the agent configures from its own plan
        web.start()
        deadline = time.monotonic() + 10
        while received["ours"] < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        web.stop()
        assert received["ours"] >= 20
        assert hello_answers(ours) == 1
        for name, session in strangers.items():
            assert list(session.info.peers_zid()) == [], name
            assert received[name] == 0, name
            assert hello_answers(session) == 0, name


def test_a_fake_agent_cannot_feed_a_capture(tmp_path: Path, certs: tuple[RigCerts, RigCerts],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """An agent of host b whose files come from another CA (same rig, same names, listening where the capture
    connects) is refused by the capture's check of its certificate: exit 2, the hosts named, no recording."""
    rig_files, other = certs
    out = tmp_path / "x.mcap"
    with agent(TWO_HOSTS, "b", tls=other.ca_cert.parent) as endpoint:
        status = main(["capture", str(TWO_HOSTS), "--host", "a", "--connect", endpoint, "--tls",
                       str(rig_files.ca_cert.parent), "--seconds", "1", "--out", str(out), "--quiet", "--force"])
    err = " ".join(capsys.readouterr().err.split())
    assert status == 2
    assert f"the capture on host a cannot reach the agents of host(s) b at {endpoint} within 5 s" in err
    assert not out.exists()


def malformed() -> list[tuple[str, bytes]]:
    """Messages on host b's keys that a capture must count and ignore: (key, payload)."""
    web_key = frame_key(RIG, "b", "web", "color")
    events, heartbeat = channel_key(RIG, "b", Channel.EVENTS), channel_key(RIG, "b", Channel.HEARTBEAT)
    web = wire.encode(FrameMessage(frame(None, device="web", stream="color", seq=10**9)))
    beat = wire.encode(Heartbeat("0", "0" * 64, "0" * 64, "b", 10**9, 1, 2, 0, 0, 0, 0, 0))
    return [
        (web_key, b""),
        (web_key, b"not rigsync"),
        (web_key, web[:2] + b"\x02" + web[3:]),  # a version no receiver knows
        (web_key, web[:-1]),  # cut short
        (web_key, wire.encode(FrameMessage(frame(None, device="k1", stream="color", seq=10**9)))),  # another stream
        (web_key, beat),  # not a frame
        (frame_key(RIG, "b", "web", "depth"), web),  # a stream the rig does not declare
        (events, b"RS\x01\x02\xff"),
        (events, wire.encode(DeviceEvent("k0", EventKind.DISCONNECTED, 1))),  # host a's device
        (events, web),
        (heartbeat, beat[:-3]),
        (heartbeat, wire.encode(Heartbeat("0", "0" * 64, "0" * 64, "a", 10**9, 1, 2, 0, 0, 0, 0, 0))),  # host a's
        (heartbeat, wire.encode(DeviceEvent("web", EventKind.DISCONNECTED, 1))),  # an event on the heartbeat key
    ]


@pytest.fixture
def injector(certs: tuple[RigCerts, RigCerts]) -> Iterator[tuple[str, Session]]:
    """A peer with host b's credentials listening on loopback (a capture connected to it is linked to it)."""
    endpoint = f"tls/127.0.0.1:{free_port()}"
    with open_session(SessionOptions(listen=(endpoint,), tls=tls_of(certs[0], "b"))) as session:
        yield endpoint, session


def test_malformed_messages_from_an_authenticated_peer_are_each_counted_and_the_recording_stays_true(
        tmp_path: Path, certs: tuple[RigCerts, RigCerts], injector: tuple[str, Session]) -> None:
    """During a two-host capture over mTLS, a peer holding the rig's credentials publishes 13 malformed messages
    on host b's frame, event and heartbeat keys (garbage, an unknown version, cut short, another stream's or host's,
    a kind of another channel, an undeclared stream): the capture counts exactly 13, and its recording is held to
    its truth channel as without them. The same messages from an authenticated peer linked to the agent only never
    reach the capture (agents do not forward)."""
    rig_files, _ = certs
    rig = load_rig(TWO_HOSTS)
    plan = build_plan(rig)
    inject_endpoint, inject = injector
    messages = malformed()
    out = tmp_path / "two.mcap"
    with agent(TWO_HOSTS, "b", time.clock_gettime_ns(time.CLOCK_REALTIME), tls=rig_files.ca_cert.parent) as endpoint, \
            open_session(SessionOptions(connect=(endpoint, inject_endpoint), tls=tls_of(rig_files, "a"),
                                        require_connect_ms=10_000)) as session, ExitStack() as stack:
        drivers = open_capture_drivers(rig, plan, session, "a")
        remote = drivers["sim"]._remotes["b"]  # type: ignore[attr-defined]
        publishers = {key: inject.declare_publisher(key, congestion_control=zenoh.CongestionControl.BLOCK)
                      for key in dict.fromkeys(k for k, _ in messages)}
        deadline = time.monotonic() + 10
        while not all(p.matching_status.matching for p in publishers.values()) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert all(p.matching_status.matching for p in publishers.values()), "the capture is not linked to the peer"

        relay = stack.enter_context(open_session(SessionOptions(connect=(endpoint,), tls=tls_of(rig_files, "b"),
                                                                require_connect_ms=10_000)))
        relayed = {key: relay.declare_publisher(key, congestion_control=zenoh.CongestionControl.BLOCK)
                   for key in publishers}

        def send() -> None:
            for key, payload in messages:
                publishers[key].put(payload)
                relayed[key].put(payload)
                time.sleep(0.05)  # spread over the capture's first second

        sender = threading.Thread(target=send)
        with CaptureSession(plan, CaptureOptions(out=out, seconds=2.5, force=True), drivers=drivers) as capture:
            sender.start()
            result = capture.run()
        sender.join()
        controls = list(drivers["sim"].controls)  # type: ignore[attr-defined]
        assert remote.malformed == len(messages) == 13
    assert result.error is None
    check_two_hosts_recording(out, controls)


def test_a_host_key_other_users_can_read_is_refused(tmp_path: Path, certs: tuple[RigCerts, RigCerts],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """A --tls folder whose host key has group or other permission bits is refused before any network use,
    naming the folder, the key, its mode and the fix; with mode 0600 the same folder is accepted."""
    rig_files, _ = certs
    folder = tmp_path / "copied"
    folder.mkdir()
    for source in (rig_files.ca_cert, rig_files.host("b").cert, rig_files.host("b").key):
        (folder / source.name).write_bytes(source.read_bytes())  # a careless copy: mode 0644 by the umask
    key = folder / "b-key.pem"
    key.chmod(0o640)
    argv = ["agent", str(TWO_HOSTS), "--host", "b", "--listen", "tls/127.0.0.1:9", "--tls", str(folder),
            "--discover", "auto"]
    assert main(argv) == 2
    assert " ".join(capsys.readouterr().err.split()) == (
        f'error: --tls = "{folder}": b-key.pem can be read by other users of this host (mode 0640): any of them '
        f"could join the rig as host b (allowed: the key readable by its owner only: chmod 600 {key})")
    key.chmod(0o600)
    assert main(argv) == 2  # past the key: the next option's error
    assert "error: --discover" in capsys.readouterr().err
