"""Every remote host's set-up checked from one place: the ``check`` query to each host's agent, which reads its own
machine (:mod:`rigsync.hostcheck`) and replies with its findings (``rigsync check --all-hosts``, and ``rigsync
capture`` across hosts before it starts)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from rigsync.core.errors import DriverError, RigsyncError
from rigsync.hostcheck.finding import Finding
from rigsync.net.remote import RemoteDriver


class HostCheckError(RigsyncError):
    """Some agents did not answer the check: names each host and why."""


def check_agents(remotes: Sequence[RemoteDriver], seconds: float) -> dict[str, list[Finding]]:
    """Each remote host's findings, by host in the order given, for a take of ``seconds``. The agents are asked
    all at once (one slow host delays no other); :class:`HostCheckError` naming every host that did not answer
    (silent, timed out, or an error of its own), after all have been heard."""
    if not remotes:
        return {}
    with ThreadPoolExecutor(max_workers=len(remotes)) as pool:
        futures = {r.host: pool.submit(r.check_host, seconds) for r in remotes}
    found: dict[str, list[Finding]] = {}
    errors: list[str] = []
    for host, future in futures.items():
        try:
            found[host] = future.result()
        except DriverError as err:
            errors.append(err.problem)
    if errors:
        raise HostCheckError(f"the host check could not be run on every host: {'; '.join(errors)}")
    return found
