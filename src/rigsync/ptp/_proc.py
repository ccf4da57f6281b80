"""Running linuxptp's tools, optionally inside a network namespace. Not public API."""

from __future__ import annotations


def netns_argv(netns: str | None) -> list[str]:
    """The prefix that runs a command inside network namespace ``netns`` (none: here)."""
    return ["ip", "netns", "exec", netns] if netns else []
