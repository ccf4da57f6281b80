"""Zenoh between real processes in network namespaces (one per host): mutual TLS with the rig's certificates,
peers from another CA or without TLS refused, a link taken down and brought back."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.net.netns import Lan, NetnsError, open_lan, skip_reason, stop
from tests.net.zpeer import SCRIPT, Peer, until

from rigsync.cli.main import main
from rigsync.core.errors import FieldError, RigsyncError

zenoh_session = pytest.importorskip("rigsync.net.zenoh_session", reason="eclipse-zenoh: pip install 'rigsync[net]'")
certs = pytest.importorskip("rigsync.net.certs", reason="cryptography: pip install 'rigsync[net]'")
SessionOptions, TlsFiles = zenoh_session.SessionOptions, zenoh_session.TlsFiles
PORT = 7447
OUTAGE_S = 2.0


def test_host_certificate_verifies_against_its_ca_only(tmp_path: Path) -> None:
    """A host's certificate is issued by its rig's CA and not by another rig's; keys are 0600; names and addresses
    are in the subject alternative names."""
    from cryptography import x509

    ours = certs.init_certs("lab", ["h0", "h1"], tmp_path / "ours", {"h1": ["10.0.0.2"]})
    other = certs.init_certs("lab", ["h1"], tmp_path / "other")
    assert certs.issued_by(ours.host("h1").cert, ours.ca_cert)
    assert not certs.issued_by(other.host("h1").cert, ours.ca_cert)
    assert not certs.issued_by(ours.host("h1").cert, other.ca_cert)
    for key in (ours.ca_key, *(h.key for h in ours.hosts)):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    san = x509.load_pem_x509_certificate(ours.host("h1").cert.read_bytes()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["h1"]
    assert [str(a) for a in san.get_values_for_type(x509.IPAddress)] == ["10.0.0.2"]
    with pytest.raises(RigsyncError, match="already there"):
        certs.init_certs("lab", ["h0"], tmp_path / "ours")
    with pytest.raises(FieldError, match=r"addresses = \"h9\": not a host of the rig \(allowed: h0\)"):
        certs.init_certs("lab", ["h0"], tmp_path / "x", {"h9": ["10.0.0.9"]})


def test_init_certs_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``rigsync agent RIG --init-certs --out DIR``: the CA and one key and certificate per host of the rig file."""
    rig = Path(__file__).parents[2] / "examples" / "three_hosts_ptp.toml"
    assert main(["agent", "--init-certs", str(rig), "--out", str(tmp_path / "c"), "--address", "gm=10.0.0.1"]) == 0
    names = sorted(p.name for p in (tmp_path / "c").iterdir())
    assert names == ["ca-key.pem", "ca.pem", "gm-key.pem", "gm.pem", "kin-key.pem", "kin.pem", "vis-key.pem", "vis.pem"]
    assert "gm:" in capsys.readouterr().out
    assert main(["agent", str(rig), "--init-certs", "--out", str(tmp_path / "c")]) == 2
    assert "already there" in capsys.readouterr().err


def test_session_options_refuse_bad_settings(tmp_path: Path) -> None:
    """Endpoints are checked, TLS excludes plain TCP endpoints, and a key Zenoh does not know fails loudly."""
    files = certs.init_certs("lab", ["h0"], tmp_path)
    tls = TlsFiles(files.ca_cert, files.host("h0").cert, files.host("h0").key)
    with pytest.raises(FieldError, match=r"listen\[0\] = \"tcp/10.0.0.1:7447\": a plain TCP endpoint next to TLS"):
        SessionOptions(listen=("tcp/10.0.0.1:7447",), tls=tls)
    with pytest.raises(FieldError, match=r"connect\[0\] = \"udp/h0:1\": not a Zenoh endpoint"):
        SessionOptions(connect=("udp/h0:1",))
    with pytest.raises(FieldError, match=r"tls.key = \".*nope.pem\": no such file"):
        TlsFiles(files.ca_cert, files.host("h0").cert, tmp_path / "nope.pem")
    with pytest.raises(zenoh_session.SessionConfigError, match=r"transport/link/tls/enable_mtl = true: .*unknown key"):
        zenoh_session.build_config(SessionOptions(), extra=(("transport/link/tls/enable_mtl", True),))
    config = zenoh_session.build_config(SessionOptions(listen=("tls/10.0.0.1:7447",), tls=tls, lease_ms=2000))
    assert json.loads(config.get_json("transport/link/tls/enable_mtls")) is True
    assert json.loads(config.get_json("transport/link/tls/listen_private_key")) == str(files.host("h0").key)
    assert json.loads(config.get_json("transport/link/tx/lease")) == 2000
    assert json.loads(config.get_json("scouting/multicast/enabled")) is False


@dataclass(frozen=True)
class Net:
    lan: Lan
    rig: certs.RigCerts
    rogue: certs.RigCerts

    def endpoint(self, host: str = "h0") -> str:
        return f"tls/{self.lan.hosts[host].address}:{PORT}"

    def options(self, host: str, **fields: object) -> dict[str, object]:
        """Host ``x`` trusts the rig's CA (ca.pem is on every host, not a secret) but its certificate is from
        another CA: only the rig peers' check of the other side's certificate (mTLS) can keep it out."""
        own = (self.rogue if host == "x" else self.rig).host(host)
        tls = {"root_ca": str(self.rig.ca_cert), "cert": str(own.cert), "key": str(own.key)}
        return {"tls": tls, **fields}

    def peer(self, host: str, role: str, key: str, **fields: object) -> Peer:
        peer = Peer(self.lan.python(host, SCRIPT, role, json.dumps(self.options(host, **fields)), key))
        peer.expect("ready", 20)
        return peer


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    reason = skip_reason()
    if reason is not None:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("certs")
    try:
        with open_lan(["h0", "h1", "h2", "x"]) as lan:
            address = {n: [h.address] for n, h in lan.hosts.items()}
            rig = certs.init_certs("lab", ["h0", "h1", "h2"], tmp / "rig", {h: address[h] for h in ("h0", "h1", "h2")})
            rogue = certs.init_certs("lab", ["x"], tmp / "rogue", {"x": address["x"]})  # same names, another CA
            yield Net(lan, rig, rogue)
    except NetnsError as e:
        pytest.skip(f"cannot create network namespaces here ({e})")


@pytest.fixture
def subscriber(net: Net) -> Iterator[Peer]:
    sub = net.peer("h0", "sub", "lab/**", listen=[net.endpoint()])
    yield sub
    stop(sub.proc)


def seqs(peer: Peer, key: str) -> list[int]:
    return [r.seq for r in peer.rx if r.key == key]


def test_messages_arrive_over_mutual_tls(net: Net, subscriber: Peer) -> None:
    """Publishers in two other namespaces reach the subscriber over mTLS: every message, in order, once."""
    pubs = {h: net.peer(h, "pub", f"lab/{h}", connect=[net.endpoint()]) for h in ("h1", "h2")}
    try:
        for h, pub in pubs.items():
            assert pub.ask("match 10", "match", 15) == "match 1", h
            assert pub.ask("send 50 2000", "sent", 10) == "sent 50"
        subscriber.wait_rx(lambda rx: len(rx) >= 100, 10, "100 messages")
        for h in pubs:
            assert seqs(subscriber, f"lab/{h}") == list(range(50))
        assert {r.size for r in subscriber.rx} == {2000}
    finally:
        for pub in pubs.values():
            stop(pub.proc)


OPEN = """
import json, sys
from pathlib import Path
from rigsync.net.zenoh_session import SessionOptions, TlsFiles, SessionOpenError, open_session
o = json.loads(sys.argv[1])
tls = TlsFiles(**{k: Path(v) for k, v in o["tls"].items()}) if o.get("tls") else None
try:
    with open_session(SessionOptions(connect=tuple(o["connect"]), tls=tls, require_connect_ms=3000)) as s:
        print("connected", len(s.info.peers_zid()))
except SessionOpenError as e:
    print("refused", e)
"""


def _open_once(net: Net, host: str, options: dict[str, object]) -> str:
    proc = net.lan.popen(host, [sys.executable, "-c", OPEN, json.dumps(options)], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    out, _ = proc.communicate(timeout=30)
    return str(out).strip()


def test_peer_without_the_rigs_certificate_is_refused(net: Net, subscriber: Peer) -> None:
    """A peer whose certificate is from another CA, or a peer without TLS, cannot connect to a rig peer (a rig
    host with the same settings can); a publisher with another CA's certificate reaches no one, and what it
    publishes never reaches the subscriber, while the rig's publisher's later messages do."""
    address = net.lan.hosts["h0"].address
    assert _open_once(net, "h1", net.options("h1", connect=[net.endpoint()])) == "connected 1"
    other_ca = _open_once(net, "x", net.options("x", connect=[net.endpoint()]))
    assert other_ca.startswith("refused") and "Unable to connect" in other_ca, other_ca
    no_tls = _open_once(net, "x", {"connect": [f"tcp/{address}:{PORT}"]})
    assert no_tls.startswith("refused") and "Unable to connect" in no_tls, no_tls

    rogue = net.peer("x", "pub", "lab/h1", connect=[net.endpoint()])  # tries to pass as h1
    ours = net.peer("h2", "pub", "lab/h2", connect=[net.endpoint()])
    try:
        assert ours.ask("match 10", "match", 15) == "match 1"
        assert rogue.ask("match 3", "match", 10) == "match 0"
        assert rogue.ask("peers", "peers", 5) == "peers 0"
        assert rogue.ask("send 20 100", "sent", 10) == "sent 20"
        assert ours.ask("send 20 100", "sent", 10) == "sent 20"
        subscriber.wait_rx(lambda rx: len(seqs(subscriber, "lab/h2")) == 20, 10, "the rig publisher's messages")
        assert seqs(subscriber, "lab/h1") == []
        assert rogue.ask("peers", "peers", 5) == "peers 0"
    finally:
        stop(rogue.proc)
        stop(ours.proc)


@pytest.mark.parametrize("lease_ms", [None, 1000])
def test_session_survives_a_link_down_for_two_seconds(net: Net, subscriber: Peer, lease_ms: int | None) -> None:
    """h1's link down for 2 s, then up: later messages arrive. Zenoh's default 10 s lease keeps the session over
    the outage and TCP delivers what was published during it, late; with a 1 s lease the session is closed
    during the outage, the publisher reconnects by itself, and what was published with no session is lost."""
    fields: dict[str, object] = {"connect": [net.endpoint()], **({"lease_ms": lease_ms} if lease_ms else {})}
    pub = net.peer("h1", "pub", "lab/h1", **fields)
    try:
        assert pub.ask("match 10", "match", 15) == "match 1"
        assert pub.ask("send 5 1000", "sent", 5) == "sent 5"
        subscriber.wait_rx(lambda rx: len(rx) == 5, 5, "messages before the outage")
        down_at = time.monotonic()
        net.lan.link("h1", up=False)
        try:
            if lease_ms:  # the lease expires: the publisher loses its peer (a bounded wait on its real state)
                until(lambda: pub.ask("peers", "peers", 5) == "peers 0", 10, "the session closed")
            assert pub.ask("send 5 1000", "sent", 5) == "sent 5"
            time.sleep(max(0.0, down_at + OUTAGE_S - time.monotonic()))  # the fault's length, not a wait for it
            assert len(subscriber.rx) == 5  # nothing crossed the link while it was down
            up_ns = time.monotonic_ns()
        finally:
            net.lan.link("h1", up=True)
        assert pub.ask("match 20", "match", 25) == "match 1"
        assert pub.ask("send 5 1000", "sent", 5) == "sent 5"
        subscriber.wait_rx(lambda rx: 14 in seqs(subscriber, "lab/h1"), 20, "messages after the outage")
        got = seqs(subscriber, "lab/h1")
        if lease_ms:
            assert got == [*range(5), *range(10, 15)]
        else:
            assert got == list(range(15))
            assert min(r.rx_ns for r in subscriber.rx if 5 <= r.seq < 10) > up_ns
    finally:
        stop(pub.proc)
