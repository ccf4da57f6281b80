"""A Foxglove layout for a rig (``rigsync capture RIG --live --live-layout FILE``; docs/foxglove-layout.json is the
studio example's): every stream's preview in a grid of Image panels (with its calibration), and the health plots
the live status feeds: each stream's rate, drops, skew (p99) and clock error bound, each host's PTP state.

The file is the layout JSON Foxglove imports and exports (Layouts > Import from file): ``configById`` (each panel's
settings, by an id ``<panel type>!<name>``), ``layout`` (a tree of splits, ``first`` / ``second``, ``direction``
and ``splitPercentage``), ``globalVariables``, ``userNodes`` and ``playbackConfig``. The image panels work on a
recording too (its topics are the same); the plots need the live status.
"""

from __future__ import annotations

import math
from typing import Any

from rigsync.core.frame import StreamKind
from rigsync.live.health import STATUS_TOPIC
from rigsync.record.recorder import camera_info_topic, image_topic
from rigsync.spec.model import RigSpec

DEPTH_MAX_MM = 6000
"""A depth preview's white (16UC1 millimetres; black is 0): a room. Its Image panel's settings change it."""
PLOT_WINDOW_S = 30
"""The plots show the last this many seconds."""
PLOTS = (("fps", "frames per second"), ("dropped", "frames dropped"), ("skew_p99_us", "skew p99 (us)"),
         ("error_bound_us", "clock error bound (us)"))
"""The per-stream plots: the status field, the panel's title."""

Tree = str | dict[str, Any]


def _split(items: list[Tree], direction: str) -> Tree:
    """``items`` side by side (``row``) or one above the other (``column``), each given an equal share."""
    if len(items) == 1:
        return items[0]
    half = len(items) // 2
    return {"first": _split(items[:half], direction), "second": _split(items[half:], direction),
            "direction": direction, "splitPercentage": round(100 * half / len(items), 3)}


def _plot(field: str, title: str, keys: list[str]) -> dict[str, Any]:
    paths = [{"value": f'{STATUS_TOPIC}.streams[:]{{key=="{key}"}}.{field}', "label": key, "enabled": True,
              "timestampMethod": "receiveTime"} for key in keys]
    return {"foxglovePanelTitle": title, "paths": paths, "showLegend": True, "legendDisplay": "floating",
            "showXAxisLabels": True, "showYAxisLabels": True, "isSynced": True, "xAxisVal": "timestamp",
            "followingViewWidth": PLOT_WINDOW_S}


def foxglove_layout(rig: RigSpec) -> dict[str, Any]:
    """The layout for ``rig``: its streams' previews in a grid (about as many columns as rows) on the left, the
    health plots and the hosts' PTP state on the right."""
    config: dict[str, Any] = {}
    images: list[Tree] = []
    keys = []
    for device in rig.devices:
        for stream in device.streams:
            key = f"{device.id}/{stream.name}"
            keys.append(key)
            mode: dict[str, Any] = {"imageTopic": image_topic(key), "calibrationTopic": camera_info_topic(key)}
            if stream.kind is StreamKind.DEPTH:
                mode |= {"minValue": 0, "maxValue": DEPTH_MAX_MM}
            panel = f"Image!{len(images)}"
            config[panel] = {"foxglovePanelTitle": key, "imageMode": mode}
            images.append(panel)
    columns = max(1, math.ceil(math.sqrt(len(images))))
    grid = _split([_split(images[i:i + columns], "row") for i in range(0, len(images), columns)], "column")
    health: list[Tree] = []
    for field, title in PLOTS:
        panel = f"Plot!{field}"
        config[panel] = _plot(field, title, keys)
        health.append(panel)
    config["RawMessages!hosts"] = {"foxglovePanelTitle": "hosts: PTP state", "topicPath": f"{STATUS_TOPIC}.hosts",
                                   "expansion": "all"}
    health.append("RawMessages!hosts")
    return {"configById": config, "globalVariables": {}, "userNodes": {}, "playbackConfig": {"speed": 1},
            "layout": {"first": grid, "second": _split(health, "column"), "direction": "row", "splitPercentage": 60}}
