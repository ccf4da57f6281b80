"""linuxptp, checked and supervised: interface checks (ethtool), pmc monitoring, ptp4l/phc2sys supervision.

rigsync does not implement PTP; it runs and watches linuxptp, and turns what it reports into each host's
mapping to rig time (``rigsync.timebase.host``).
"""
