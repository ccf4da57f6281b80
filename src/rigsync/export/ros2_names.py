"""ROS 2 topic names and frame ids for rigsync's streams (docs/recording.md, ROS 2 export).

A device id or stream name becomes one ROS name token: every character outside ``[A-Za-z0-9_]`` becomes ``_``,
runs of ``_`` become one, leading and trailing ``_`` are dropped (a leading one would hide the topic), and a token
that is then empty or starts with a digit gets an ``n`` in front. Two streams whose tokens are the same are an
error naming both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rigsync.core.errors import RigsyncError

_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_]")
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def ros_token(name: str) -> str:
    """``name`` as one legal ROS 2 name token (``cam-0.left`` -> ``cam_0_left``, ``0cam`` -> ``n0cam``)."""
    token = re.sub("_+", "_", _NOT_ALLOWED.sub("_", name)).strip("_")
    return token if token[:1].isalpha() else f"n{token}"


def topic_problem(topic: str) -> str | None:
    """Why ``topic`` is not a legal fully qualified ROS 2 topic name, or None if it is."""
    if not topic.startswith("/"):
        return "does not start with '/'"
    tokens = topic[1:].split("/")
    for token in tokens:
        if not token:
            return "has an empty token ('//' or a trailing '/')"
        if not _TOKEN.fullmatch(token):
            return f"token {token!r} is not [A-Za-z_][A-Za-z0-9_]*"
        if "__" in token:
            return f"token {token!r} has '__'"
    return None


@dataclass(frozen=True, slots=True)
class StreamNames:
    """A rigsync stream's ROS 2 names."""

    device: str
    stream: str
    namespace: str
    """``/<device token>/<stream token>``."""

    @property
    def image_topic(self) -> str:
        return f"{self.namespace}/image_raw"

    @property
    def camera_info_topic(self) -> str:
        return f"{self.namespace}/camera_info"

    @property
    def frame_id(self) -> str:
        """The camera's optical frame: ``<device token>/<stream token>_optical_frame``."""
        return f"{self.namespace[1:]}_optical_frame"


def stream_names(streams: Iterable[tuple[str, str]]) -> dict[tuple[str, str], StreamNames]:
    """The names of each ``(device, stream)``. Raises :class:`RigsyncError` when two map to the same names."""
    names: dict[tuple[str, str], StreamNames] = {}
    owner: dict[str, tuple[str, str]] = {}
    for device, stream in streams:
        namespace = f"/{ros_token(device)}/{ros_token(stream)}"
        other = owner.setdefault(namespace, (device, stream))
        if other != (device, stream):
            raise RigsyncError(f"devices {other[0]!r} (stream {other[1]!r}) and {device!r} (stream {stream!r}) both "
                               f"map to the ROS 2 topic namespace {namespace}: rename one device in the rig file "
                               "(ROS names allow only [A-Za-z0-9_], see docs/recording.md, ROS 2 export)")
        names[(device, stream)] = StreamNames(device, stream, namespace)
    return names
