"""The ROS 2 message definitions (``ros2msg`` schema text) of the ``ros2`` export profile.

The standard ones (``sensor_msgs/msg/Image``, ``sensor_msgs/msg/CameraInfo``) are written with every type they use,
as rosbag2 stores them, so any reader decodes them from the file alone. ``rigsync_msgs`` is rigsync's own small
package: a frame's stamps and a frameset, which no standard message holds (docs/recording.md, ROS 2 export).
"""

from __future__ import annotations

_SEP = "=" * 80

_TIME = "int32 sec\nuint32 nanosec\n"
_HEADER = "builtin_interfaces/Time stamp\nstring frame_id\n"
_ROI = "uint32 x_offset\nuint32 y_offset\nuint32 height\nuint32 width\nbool do_rectify\n"


def _with(main: str, *deps: tuple[str, str]) -> str:
    """A message definition followed by the definitions it uses, as ros2msg schemas hold them."""
    return main + "".join(f"{_SEP}\nMSG: {name}\n{text}" for name, text in deps)


IMAGE = "sensor_msgs/msg/Image"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"
FRAME_STAMP = "rigsync_msgs/msg/FrameStamp"
FRAMESET = "rigsync_msgs/msg/Frameset"

FRAME_STAMP_MSG = """\
# One recorded frame's stamps (rigsync's /rigsync/frames record).
# header.stamp: rig time, estimated start of exposure; header.frame_id: the camera's optical frame.
std_msgs/Header header
string device            # rigsync device id, as in the rig file
string stream            # color, depth, ir...
string image_topic       # the ROS topic of the frame's sensor_msgs/Image
uint64 seq               # the device's frame counter
int64 error_bound_ns     # bound on |header.stamp - true start of exposure|
bool locked              # false while the device's clock is acquired or a clock step absorbed
int64 device_ts_ns       # the device's own timestamp (device clock)
int64 host_rx_ns         # the receiving host's CLOCK_MONOTONIC when the frame arrived
int64 exposure_ns        # as the device reported it; -1: not reported
string[] flags           # corrupt, interfered, after_reconnect
string[] time_flags      # acquiring, slewing, host_unsynced, ptp_unlocked, ptp_warn, ptp_error
"""

FRAMESET_MEMBER_MSG = """\
string device
string stream
string image_topic       # its sensor_msgs/Image has this header.stamp on this topic
uint64 seq
builtin_interfaces/Time stamp   # the member's rig time
int64 device_ts_ns
int64 host_rx_ns
int64 error_bound_ns
"""

FRAMESET_MISSING_MSG = """\
string device
string stream
string image_topic
string reason            # dropped, disconnected, not_received, unmatched, corrupt, stopped
"""

FRAMESET_MSG = """\
# The frames of the rig taken at one moment (rigsync's /rigsync/framesets record).
# header.stamp: the frameset's rig time (its centre, see rigsync's docs/recording.md).
std_msgs/Header header
uint64 frameset_id
int64 spread_ns          # the set's skew, measured after each member's declared delay is removed
FramesetMember[] members
FramesetMissing[] missing
"""

DEFINITIONS: dict[str, str] = {
    IMAGE: _with("std_msgs/Header header\nuint32 height\nuint32 width\nstring encoding\nuint8 is_bigendian\n"
                 "uint32 step\nuint8[] data\n", ("std_msgs/Header", _HEADER), ("builtin_interfaces/Time", _TIME)),
    CAMERA_INFO: _with("std_msgs/Header header\nuint32 height\nuint32 width\nstring distortion_model\nfloat64[] d\n"
                       "float64[9] k\nfloat64[9] r\nfloat64[12] p\nuint32 binning_x\nuint32 binning_y\n"
                       "RegionOfInterest roi\n", ("std_msgs/Header", _HEADER), ("builtin_interfaces/Time", _TIME),
                       ("sensor_msgs/RegionOfInterest", _ROI)),
    FRAME_STAMP: _with(FRAME_STAMP_MSG, ("std_msgs/Header", _HEADER), ("builtin_interfaces/Time", _TIME)),
    FRAMESET: _with(FRAMESET_MSG, ("std_msgs/Header", _HEADER), ("builtin_interfaces/Time", _TIME),
                    ("rigsync_msgs/FramesetMember", FRAMESET_MEMBER_MSG),
                    ("rigsync_msgs/FramesetMissing", FRAMESET_MISSING_MSG)),
}
"""Each exported type's ros2msg schema text, with the definitions it depends on."""
