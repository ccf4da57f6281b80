"""Finding the agents: the rig file's ``[[hosts]] agent`` endpoints (an agent listens there, a capture connects
there), and Zenoh multicast scouting, opt-in and on one named interface, tested between network namespaces on a
bridge: a capture finds its agent without any endpoint, and with TLS no scouted peer without the rig's
certificate gets in."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.capture.conftest import account, check_stats, declared_offsets, read_contract
from tests.net.netns import Lan, NetnsError, open_lan, skip_reason, stop
from tests.net.test_agent import TWO_HOSTS, agent, free_port
from tests.net.zpeer import SCRIPT, Peer, until

pytest.importorskip("zenoh")

from rigsync.cli.main import main
from rigsync.core.errors import FieldError, RigFileError
from rigsync.net.certs import RigCerts, init_certs
from rigsync.net.discovery import AgentNotFoundError, agent_listen, capture_connect, find_agents
from rigsync.net.keys import frame_key
from rigsync.net.zenoh_session import Scouting, SessionOptions, TlsFiles, build_config, open_session
from rigsync.spec import load_rig

LOOPBACK = {"a": ["127.0.0.1"], "b": ["127.0.0.1"]}


def with_agent_endpoint(tmp_path: Path, endpoint: str) -> Path:
    """The two-hosts rig file with ``agent = endpoint`` on host b (a and b read this same file)."""
    text = TWO_HOSTS.read_text()
    assert text.count('name = "b"\n') == 1
    path = tmp_path / "two_hosts.toml"
    path.write_text(text.replace('name = "b"\n', f'name = "b"\nagent = "{endpoint}"\n'))
    return path


def test_scouting_is_off_unless_asked_and_then_only_on_the_named_interface(tmp_path: Path) -> None:
    """A session scouts only with a Scouting: on its interface (never Zenoh's ``auto``), the link-local group,
    TTL 1; with TLS the session allows the tls protocol only (a scouted tcp/ locator is never dialled)."""
    def get(options: SessionOptions, key: str) -> Any:
        return json.loads(build_config(options).get_json(key))

    assert get(SessionOptions(), "scouting/multicast/enabled") is False
    scouting = SessionOptions(scouting=Scouting("vb"))
    assert get(scouting, "scouting/multicast/enabled") is True
    assert get(scouting, "scouting/multicast/interface") == "vb"
    assert get(scouting, "scouting/multicast/address") == "224.0.0.224:7446"
    assert get(scouting, "scouting/multicast/ttl") == 1
    assert get(scouting, "transport/link/protocols") is None  # plain TCP: no authentication, nothing to keep out
    files = init_certs("lab", ["h0"], tmp_path)
    tls = TlsFiles(files.ca_cert, files.host("h0").cert, files.host("h0").key)
    assert get(SessionOptions(tls=tls, scouting=Scouting("vb")), "transport/link/protocols") == ["tls"]
    with pytest.raises(FieldError, match=r'scouting.interface = "auto": lets Zenoh choose the interface'):
        Scouting("auto")
    with pytest.raises(FieldError, match=r'scouting.interface = "eth0 lo": not a network interface name'):
        Scouting("eth0 lo")


def test_endpoints_come_from_the_rig_file_unless_given(tmp_path: Path) -> None:
    """An agent listens on its host's rig-file endpoint, a capture connects to the other hosts'; an endpoint whose
    protocol is not the session's (tcp/ with TLS, tls/ without) is an error naming the file and field."""
    rig = load_rig(with_agent_endpoint(tmp_path, "tls/10.0.0.2:7447"))
    assert agent_listen(rig, "b", tls=True) == ("tls/10.0.0.2:7447",)
    assert agent_listen(rig, "a", tls=True) == ()
    assert capture_connect(rig, "a", tls=True) == ("tls/10.0.0.2:7447",)
    assert capture_connect(rig, "b", tls=True) == ()  # a has devices but no endpoint: left to scouting
    with pytest.raises(RigFileError) as err:
        capture_connect(rig, "a", tls=False)
    assert str(err.value) == (f'{rig.path}: hosts[1].agent = "tls/10.0.0.2:7447": a TLS endpoint needs the rig\'s '
                              "certificates (allowed: --tls DIR, or tcp/<host>:<port> in the rig file)")
    plain = load_rig(with_agent_endpoint(tmp_path, "tcp/10.0.0.2:7447"))
    with pytest.raises(RigFileError, match=r'hosts\[1\].agent = "tcp/10.0.0.2:7447": a plain TCP endpoint, and '
                                           r"this process runs with TLS \(--tls\)"):
        agent_listen(plain, "b", tls=True)


def held_to_truth(out: Path) -> set[str]:
    """The recording is held to its own truth channel by the single-host examples' checker; its devices."""
    rec = read_contract(out)
    ledger = account(rec, declared_offsets(rec.rig))
    assert ledger.problems + check_stats(rec, ledger) == []
    return {f["device"] for f in rec.frames}


def test_cli_capture_connects_to_the_agent_at_the_endpoint_in_the_rig_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With ``agent = "tls/127.0.0.1:PORT"`` on host b in the rig file, the agent started without --listen listens
    there and the capture given no --connect reaches it there: one recording of both hosts' devices, held to its
    truth channel."""
    rig_path = with_agent_endpoint(tmp_path, f"tls/127.0.0.1:{free_port()}")
    certs = tmp_path / "certs"
    init_certs("two-hosts", ["a", "b"], certs, LOOPBACK)
    out = tmp_path / "two.mcap"
    with agent(rig_path, "b", tls=certs, rig_endpoint=load_rig(rig_path).host("b").agent):
        status = main(["capture", str(rig_path), "--host", "a", "--tls", str(certs), "--seconds", "2",
                       "--out", str(out), "--quiet", "--force"])
    assert status == 0, capsys.readouterr()
    assert held_to_truth(out) == {"k0", "k1", "web", "cam"}


def _error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    return " ".join(capsys.readouterr().err.split())


def test_bad_discovery_options_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--discover auto, --discover without --host, an agent scouting with nothing to announce, a capture with no
    way to its agents, and a rig-file endpoint of the wrong protocol: each error names the option or the field."""
    rig, out = str(TWO_HOSTS), ["--out", str(tmp_path / "x.mcap")]
    assert _error(["capture", rig, "--host", "a", "--discover", "auto", *out], capsys).startswith(
        'error: --discover = "auto": lets Zenoh choose the interface')
    assert _error(["capture", rig, "--discover", "eth1", *out], capsys) == (
        "error: --discover: is for a capture across hosts (allowed: with --host H or --station)")
    assert _error(["agent", rig, "--host", "b", "--discover", "vb"], capsys) == (
        'error: --discover = "vb": scouting announces the endpoints the agent listens on, and it listens on none '
        "(allowed: with --listen ENDPOINT, or an agent endpoint for host b in the rig file)")
    assert _error(["capture", rig, "--host", "a", *out], capsys) == (
        "error: --connect: the devices of host(s) b come from their agents: give their endpoints (allowed: "
        "tcp/ADDR:PORT or, with --tls, tls/ADDR:PORT (repeatable); an agent endpoint in the rig file ([[hosts]] "
        "agent = ...); or --discover IFACE)")
    tls_rig = with_agent_endpoint(tmp_path, "tls/127.0.0.1:9")
    assert _error(["capture", str(tls_rig), "--host", "a", *out], capsys) == (
        f'error: {tls_rig}: hosts[1].agent = "tls/127.0.0.1:9": a TLS endpoint needs the rig\'s certificates '
        "(allowed: --tls DIR, or tcp/<host>:<port> in the rig file)")
    assert _error(["agent", str(tls_rig), "--host", "b"], capsys).startswith(
        f'error: {tls_rig}: hosts[1].agent = "tls/127.0.0.1:9": a TLS endpoint needs the rig\'s certificates')


# ---- scouting between network namespaces ------------------------------------------------------------------------

AGENT_PORT = 7447
OTHER_NET = "oa"
"""Host a's second interface, on another network (an office LAN): scouting on a's rig interface must not use it."""


def _ip(*argv: str) -> str:
    proc = subprocess.run(["ip", *argv], capture_output=True, text=True, check=False, timeout=20)
    if proc.returncode != 0:
        raise NetnsError(["ip", *argv], proc.stderr)
    return proc.stdout


def add_other_network(lan: Lan, host: str) -> None:
    """A second multicast-capable interface in ``host``'s namespace (a veth whose peer sits, unbridged, in the hub
    namespace, removed with it), IPv4 only, so that anything sent on it is ours to count."""
    ns = lan.hosts[host].ns
    _ip("link", "add", OTHER_NET, "netns", ns, "type", "veth", "peer", "name", "o" + host, "netns", lan.hub_ns)
    _ip("netns", "exec", ns, "sysctl", "-qw", f"net.ipv6.conf.{OTHER_NET}.disable_ipv6=1")
    _ip("-n", ns, "addr", "add", "10.232.0.1/24", "dev", OTHER_NET)
    _ip("-n", ns, "link", "set", OTHER_NET, "up")
    _ip("-n", lan.hub_ns, "link", "set", "o" + host, "up")


def sent_packets(lan: Lan, host: str, iface: str) -> int:
    return int(json.loads(_ip("-n", lan.hosts[host].ns, "-j", "-s", "link", "show", iface))[0]["stats64"]["tx"]
               ["packets"])


@pytest.fixture(scope="module")
def lan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lan, RigCerts, RigCerts]]:
    """Hosts a (the capture), b (the agent) and x (a stranger) on one bridge, a also on another network; the rig's
    certificates name a's and b's addresses; x's certificate is from another CA."""
    reason = skip_reason()
    if reason is not None:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("scouting")
    try:
        with open_lan(["a", "b", "x"]) as lan:
            add_other_network(lan, "a")
            address = {n: [h.address] for n, h in lan.hosts.items()}
            rig = init_certs("two-hosts", ["a", "b"], tmp / "rig", {"a": address["a"], "b": address["b"]})
            rogue = init_certs("two-hosts", ["x"], tmp / "rogue", {"x": address["x"]})
            yield lan, rig, rogue
    except NetnsError as e:
        pytest.skip(f"cannot create network namespaces here ({e})")


def _rigsync(lan: Lan, host: str, *argv: str) -> subprocess.Popen[str]:
    return lan.popen(host, [sys.executable, "-m", "rigsync.cli.main", *argv], stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)


def test_a_capture_finds_its_agent_by_scouting_and_no_peer_without_the_rigs_certificate_gets_in(
        lan: tuple[Lan, RigCerts, RigCerts], tmp_path: Path) -> None:
    """Host b's agent and host a's capture, both with --discover on their own interface and --tls, no endpoint to
    each other: the capture finds the agent by scouting and records b's devices (the recording held to its truth
    channel). Host x scouts on the same LAN and publishes on b's webcam key from a plain TCP listener and from a
    TLS listener with another CA's certificate: a scouting peer without TLS does connect to x (so x is found),
    but the capture never does: x has no peer and no subscriber matches its key while the capture runs. Nothing
    scouting on a's rig interface sends a single packet on a's other network."""
    net, rig_certs, rogue = lan
    tls_dir = rig_certs.ca_cert.parent
    addr = {h: net.hosts[h].address for h in net.hosts}
    key = frame_key("two-hosts", "b", "web", "color")
    x_files = rogue.host("x")
    strangers = [Peer(net.python("x", SCRIPT, "pub", json.dumps(o), key)) for o in (
        {"listen": [f"tcp/{addr['x']}:{AGENT_PORT}"], "scouting": net.hosts["x"].iface},
        {"listen": [f"tls/{addr['x']}:{AGENT_PORT + 1}"], "scouting": net.hosts["x"].iface,
         "tls": {"root_ca": str(rig_certs.ca_cert), "cert": str(x_files.cert), "key": str(x_files.key)}})]
    procs: list[subprocess.Popen[str]] = []
    try:
        for s in strangers:
            s.expect("ready", 20)
        plain = Peer(net.python("a", SCRIPT, "sub", json.dumps({"scouting": net.hosts["a"].iface}), key))
        try:
            plain.expect("ready", 20)
            assert strangers[0].ask("send 20 100 0.05", "sent", 20) == "sent 20"
            plain.wait_rx(lambda rx: len(rx) >= 1, 10, "x's messages at a scouting peer without TLS")
        finally:
            stop(plain.proc)
        until(lambda: strangers[0].ask("peers", "peers", 5) == "peers 0", 10, "x alone again")

        agent_b = _rigsync(net, "b", "agent", str(TWO_HOSTS), "--host", "b", "--tls", str(tls_dir),
                           "--listen", f"tls/{addr['b']}:{AGENT_PORT}", "--discover", net.hosts["b"].iface)
        procs.append(agent_b)
        Peer(agent_b).expect("agent of host b", 30)
        out = tmp_path / "scouted.mcap"
        capture = _rigsync(net, "a", "capture", str(TWO_HOSTS), "--host", "a", "--tls", str(tls_dir), "--discover",
                           net.hosts["a"].iface, "--seconds", "2", "--out", str(out), "--quiet", "--force")
        procs.append(capture)
        seen = []
        while capture.poll() is None:
            seen += [s.ask("peers", "peers", 5) for s in strangers] + [s.ask("match 0", "match", 5) for s in strangers]
            time.sleep(0.2)  # sampled while it runs (a link, once made, would stay up until the capture ends)
        _, err = capture.communicate(timeout=30)
        assert capture.returncode == 0, err
        assert len(seen) >= 4 and set(seen) == {"peers 0", "match 0"}, seen
    finally:
        for p in procs:
            stop(p)
        for s in strangers:
            stop(s.proc)
    assert held_to_truth(out) == {"k0", "k1", "web", "cam"}
    assert sent_packets(net, "a", OTHER_NET) == 0


def test_find_agents_names_the_hosts_not_found_and_how_they_were_sought() -> None:
    """With no agent reachable, a capture's search ends after its timeout naming each host and how it looked."""
    rig = load_rig(TWO_HOSTS)
    with open_session(SessionOptions()) as session, pytest.raises(AgentNotFoundError) as err:  # reaches no one
        find_agents(session, rig, ["b"], how="by scouting on vb", timeout_s=1.0)
    assert str(err.value) == (f"no agent of host(s) b found by scouting on vb within 1 s (is `rigsync agent "
                              f"{rig.path} --host H` running there, on the same network options?)")
