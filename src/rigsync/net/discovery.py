"""Where a rig's agents are: the endpoints the rig file names, or the peers Zenoh's multicast scouting finds.

A host's agent endpoint may be written in the rig file (``[[hosts]] agent = "tls/10.0.0.2:7447"``): that host's
``rigsync agent`` listens there unless given ``--listen``, and a capture on another host connects there unless
given ``--connect``. Without endpoints, scouting (:class:`~rigsync.net.zenoh_session.Scouting`, opt-in, on one
named interface) finds them: every agent and the capture scout on the rig's LAN, and each connects to the
listening endpoints the others announce. Either way a capture then waits for each host's agent to answer
``hello`` (:func:`find_agents`) before it drives any device, and names every host it did not find.

With TLS, endpoints must be ``tls/`` (a rig-file endpoint that is not is an error naming the file and the field),
and a scouted peer is reached only over TLS with a certificate of the rig's CA (the session allows no other
protocol): scouting tells a peer where the agents are, never lets it in.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from typing import Any

from rigsync.core.errors import RigFileError, RigsyncError
from rigsync.net import wire
from rigsync.net.keys import Verb, control_key
from rigsync.net.messages import Reply, Request
from rigsync.net.zenoh_session import Session
from rigsync.spec.model import RigSpec

FIND_TIMEOUT_S = 10.0
"""How long a capture looks for its agents (scouting included) before it names the hosts it did not find."""
_ASK_S = 0.5
"""One round of hello queries: an agent on a link that is up answers within milliseconds."""
_ids = itertools.count(1)


class AgentNotFoundError(RigsyncError):
    """No agent of some hosts answered: names them and how they were looked for."""


def agent_hosts(rig: RigSpec, capture_host: str | None) -> list[str]:
    """The hosts whose devices a capture on ``capture_host`` gets from their agents, in rig-file order."""
    with_devices = {d.host for d in rig.devices}
    return [h.name for h in rig.hosts if h.name in with_devices and h.name != capture_host]


def rig_endpoint(rig: RigSpec, host: str, *, tls: bool) -> str | None:
    """``host``'s agent endpoint from the rig file (None if it names none); its protocol must be the session's:
    ``tls/`` with TLS, ``tcp/`` without (an error naming the file, the field and the value)."""
    index = next(i for i, h in enumerate(rig.hosts) if h.name == host)
    endpoint = rig.hosts[index].agent
    if endpoint is None:
        return None
    field = f"hosts[{index}].agent"
    if tls and not endpoint.startswith("tls/"):
        raise RigFileError(rig.path, field, endpoint, "a plain TCP endpoint, and this process runs with TLS (--tls): "
                           "a peer without a certificate could use it", "tls/<host>:<port>")
    if not tls and endpoint.startswith("tls/"):
        raise RigFileError(rig.path, field, endpoint, "a TLS endpoint needs the rig's certificates",
                           "--tls DIR, or tcp/<host>:<port> in the rig file")
    return endpoint


def agent_listen(rig: RigSpec, host: str, *, tls: bool) -> tuple[str, ...]:
    """Where ``host``'s agent listens when not told: its rig-file endpoint, if any."""
    endpoint = rig_endpoint(rig, host, tls=tls)
    return () if endpoint is None else (endpoint,)


def capture_connect(rig: RigSpec, capture_host: str, *, tls: bool, peers: Sequence[str] | None = None
                    ) -> tuple[str, ...]:
    """Where a capture on ``capture_host`` connects when not told: the rig-file endpoints of the other hosts'
    agents (``peers``, default :func:`agent_hosts`; hosts without one are left to scouting)."""
    hosts = agent_hosts(rig, capture_host) if peers is None else peers
    endpoints = (rig_endpoint(rig, h, tls=tls) for h in hosts)
    return tuple(dict.fromkeys(e for e in endpoints if e is not None))


def _ask_hello(session: Session, rig: RigSpec, host: str) -> tuple[int, Any]:
    """Send ``host``'s agent a hello: the request id and the replies to come (until :data:`_ASK_S`)."""
    request = Request(Verb.HELLO, next(_ids), {})
    return request.request_id, session.get(control_key(rig.name, host, Verb.HELLO), payload=wire.encode(request),
                                           timeout=_ASK_S)


def _answered(request_id: int, replies: Any, host: str) -> bool:
    """Whether the agent of ``host`` answered the hello ``request_id`` (waits for its replies)."""
    for answer in replies:
        if answer.ok is None:
            continue
        try:
            reply = wire.decode(answer.ok.payload.to_bytes())
        except wire.WireError:
            continue
        if (isinstance(reply, Reply) and reply.request_id == request_id and reply.ok
                and reply.body.get("host") == host):
            return True
    return False


def find_agents(session: Session, rig: RigSpec, hosts: Sequence[str], *, how: str,
                timeout_s: float = FIND_TIMEOUT_S) -> None:
    """Wait until the agent of every host in ``hosts`` answers ``hello`` on ``session`` (asked again every
    :data:`_ASK_S` while links open and scouting goes on); :class:`AgentNotFoundError` naming the hosts not found
    within ``timeout_s`` and ``how`` they were looked for."""
    missing = list(hosts)
    deadline = time.monotonic() + timeout_s
    while missing:
        round_end = time.monotonic() + _ASK_S
        asked = {h: _ask_hello(session, rig, h) for h in missing}  # asked together, answered in parallel
        missing = [h for h, (request_id, replies) in asked.items() if not _answered(request_id, replies, h)]
        if missing and time.monotonic() >= deadline:
            raise AgentNotFoundError(
                f"no agent of host(s) {', '.join(missing)} found {how} within {timeout_s:g} s (is `rigsync agent "
                f"{rig.path} --host H` running there, on the same network options?)")
        time.sleep(max(0.0, round_end - time.monotonic()) if missing else 0.0)
