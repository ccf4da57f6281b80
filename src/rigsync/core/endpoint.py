"""The network endpoints rigsync's processes listen on and connect to (Zenoh's locator syntax, the two protocols
rigsync uses): pure text checks, shared by the rig file (``[[hosts]] agent``) and the Zenoh session settings."""

from __future__ import annotations

import re

from rigsync.core.errors import FieldError

PROTOCOLS = ("tcp", "tls")
ENDPOINT_RULE = "tcp/<host>:<port> or tls/<host>:<port> (an IPv6 host in brackets), port 0-65535"
_ENDPOINT = re.compile(r"^(?P<proto>[a-z]+)/(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+):(?P<port>\d{1,5})$")


def endpoint_protocol(field: str, endpoint: str) -> str:
    """The protocol (``tcp`` or ``tls``) of ``endpoint``; anything else is a :class:`FieldError` naming ``field``."""
    m = _ENDPOINT.match(endpoint)
    if m is None or m["proto"] not in PROTOCOLS or int(m["port"]) > 65535:
        raise FieldError(field, endpoint, "not a Zenoh endpoint rigsync uses", ENDPOINT_RULE)
    return m["proto"]
