"""The live view: a capture served to Foxglove while it runs (``rigsync capture ... --live``), and the Foxglove
layout that shows it (docs/live.md). Needs foxglove-sdk (``pip install 'rigsync[live]'``) to serve; the rest
(options, the capture's feed, previews, the layout) runs without it."""

from rigsync.live.feed import LiveFeed
from rigsync.live.options import LiveOptions, parse_endpoint
from rigsync.live.server import LiveServer

__all__ = ["LiveFeed", "LiveOptions", "LiveServer", "parse_endpoint"]
