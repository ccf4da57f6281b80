"""Physical boards a rig films: the LED clock that proves sync from the images, and ChArUco calibration boards.

A board is a file (TOML) describing its geometry (and timing); :mod:`rigsync.boards.ledclock` reads an LED
clock into a frozen model with the board's timing functions, shared by the simulator (which renders it) and by
``rigsync verify --ledclock`` (which decodes it); :mod:`rigsync.boards.charuco` reads a ChArUco board, shared by
the simulator (``sim_charuco.toml`` is the board it renders) and by calibration. Imports nothing of rigsync
above ``spec``'s table reader.
"""
