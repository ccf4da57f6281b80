"""Proof of sync from a finished recording: ``rigsync verify``.

* :mod:`rigsync.verify.result`: the verdict (checks with limits, plots' data, how each figure was computed),
  shared by every method and by the report.
* :mod:`rigsync.verify.stamps` (``verify_stamps``): what the recording's own stamps, framesets, clocks and PTP
  samples show, against the rig file's ``[verify]`` limits (:mod:`rigsync.verify.limits`: per group, with
  defaults by sync method); read by :mod:`~rigsync.verify.load`, checked by :mod:`~rigsync.verify.skew`,
  :mod:`~rigsync.verify.clocks`, :mod:`~rigsync.verify.drops` and :mod:`~rigsync.verify.ptp`.
* :mod:`rigsync.verify.run` (``verify_recording``): the whole run, as ``rigsync verify`` does it.
* the LED clock (``--ledclock``) and the flash method: what the images show, on a clock independent of the
  rig's.
* the report: one self-contained HTML file, and the plots as PNG.

Reads recordings through :mod:`rigsync.record` only; plans the rig the recording embeds (``rigsync.plan``: which
streams each group syncs, their declared delays, the roles); never imports capture, drivers or the CLI.
"""
