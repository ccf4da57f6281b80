"""Proof of sync from a finished recording: ``rigsync verify``.

* :mod:`rigsync.verify.result`: the verdict (checks with limits, plots' data, how each figure was computed),
  shared by every method and by the report.
* stamps: what the recording's own stamps, framesets, clocks and PTP samples show, against the rig file's
  ``[verify]`` limits.
* the LED clock (``--ledclock``, :mod:`rigsync.verify.ledclock` and its ``ledclock_*`` modules:
  docs/ledclock-decode.md) and the flash method: what the images show, on a clock independent of the rig's.
* the report: one self-contained HTML file, and the plots as PNG.

Reads recordings through :mod:`rigsync.record` only; never imports capture, drivers or the CLI.
"""
