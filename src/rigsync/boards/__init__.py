"""Physical boards a rig films: the LED clock that proves sync from the images (and, later, calibration boards).

A board is a file (TOML) describing its geometry and timing; :mod:`rigsync.boards.ledclock` reads it into a
frozen model with the board's timing functions, shared by the simulator (which renders it) and by
``rigsync verify --ledclock`` (which decodes it). Imports nothing of rigsync above ``spec``'s table reader.
"""
