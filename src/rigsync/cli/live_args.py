"""``rigsync capture``'s live view options (``--live [HOST:PORT]``, ``--live-fps``, ``--live-width``,
``--live-layout``) and their wiring: the feed the capture hands its frames to, the server, the layout file."""

from __future__ import annotations

import argparse
import json
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from rigsync.cli import args as opt
from rigsync.core.errors import OptionError
from rigsync.live.options import DEFAULT_HOST, DEFAULT_PORT, LIVE_FPS, LIVE_WIDTH, LiveOptions, parse_endpoint

if TYPE_CHECKING:
    from rigsync.live import LiveFeed, LiveServer
    from rigsync.spec.model import RigSpec

_DEFAULTS = LiveOptions()


def _endpoint(text: str) -> tuple[str, int]:
    try:
        return parse_endpoint(text)
    except OptionError as err:
        raise argparse.ArgumentTypeError(f"{text!r}: {err.problem} (allowed: {err.allowed})") from None


def add_live_args(cap: argparse.ArgumentParser) -> None:
    cap.add_argument("--live", nargs="?", metavar="HOST:PORT", type=_endpoint, const=(DEFAULT_HOST, DEFAULT_PORT),
                     help=f"serve the capture to Foxglove while it runs (Open connection > Foxglove WebSocket) at "
                          f"ws://HOST:PORT (default {DEFAULT_HOST}:{DEFAULT_PORT}; only this machine can connect "
                          "unless HOST says otherwise; :0 any free port). Needs pip install 'rigsync[live]'")
    cap.add_argument("--live-fps", type=opt.number(LIVE_FPS), metavar="N",
                     help=f"previews per second per stream at most (default {_DEFAULTS.fps:g})")
    cap.add_argument("--live-width", type=opt.integer(LIVE_WIDTH), metavar="PX",
                     help=f"a preview's width at most, aspect kept (default {_DEFAULTS.max_width} px)")
    cap.add_argument("--live-layout", type=Path, metavar="FILE",
                     help="write a Foxglove layout for this rig (every stream in a grid, the health plots) to FILE")


def live_options(args: argparse.Namespace) -> LiveOptions | None:
    """The live view's options, or None without ``--live`` (its other options are refused then)."""
    if args.live is None:
        for option in ("live_fps", "live_width", "live_layout"):
            if getattr(args, option) is not None:
                raise OptionError(f"--{option.replace('_', '-')}", None, "is an option of the live view",
                                  "with --live [HOST:PORT]")
        return None
    host, port = args.live
    return LiveOptions(host=host, port=port, fps=args.live_fps or _DEFAULTS.fps,
                       max_width=args.live_width or _DEFAULTS.max_width)


def live_feed(options: LiveOptions | None, rig: RigSpec) -> LiveFeed | None:
    if options is None:
        return None
    from rigsync.live import LiveFeed

    return LiveFeed([f"{d.id}/{s.name}" for d in rig.devices for s in d.streams], options.fps)


def observers(feed: LiveFeed | None) -> dict[str, Any]:
    """The capture session's observers that hand frames and framesets to ``feed``."""
    return {} if feed is None else {"frame_observer": feed.frame, "frameset_observer": feed.frameset}


def start_live(options: LiveOptions, feed: LiveFeed, rig: RigSpec, layout: Path | None, stack: ExitStack,
               console: Console) -> LiveServer:
    """Listen (before the capture opens anything: a port in use ends it with nothing recorded), write the layout,
    and say where to connect."""
    from rigsync.live import LiveServer
    from rigsync.live.layout import foxglove_layout

    server = stack.enter_context(LiveServer(options, feed))
    console.print(Text(f"live view: {server.url} (Foxglove: Open connection > Foxglove WebSocket)"), highlight=False)
    if not options.loopback:
        console.print(Text.assemble(("warning:", "yellow"), f" the live view listens on {options.host}: whoever "
                                    "reaches this machine can watch (it has no authentication)"), highlight=False)
    if layout is not None:
        layout.write_text(json.dumps(foxglove_layout(rig), indent=2) + "\n", encoding="utf-8")
        console.print(Text(f"wrote {layout} (Foxglove: Layouts > Import from file)"), highlight=False)
    return server
