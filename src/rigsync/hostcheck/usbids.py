"""How each catalogued USB camera shows up on the bus: vendor and product ids (from the vendors' own SDK sources),
which of its USB devices carries the camera's serial number, and whether it needs a USB 3 link.

A camera can be several USB devices: an Azure Kinect is a hub with a depth device (``045e:097c``, whose serial
number descriptor is the camera's serial), a colour device and a microphone array; a ZED Mini/2/2i is a video
device (no serial number descriptor) and a HID sensor device (whose serial number is the camera's).
"""

from __future__ import annotations

from dataclasses import dataclass

K4A_RULES = ("microsoft/Azure-Kinect-Sensor-SDK scripts/99-k4a.rules (045e:097a/097b hubs, 097c depth, 097d "
             "colour, 097e microphones); src/usbcommand/usbcommand.c: the serial number is the depth device's "
             "iSerialNumber")
ZED_DEFINES = ("stereolabs/zed-open-capture include/defines.hpp (vendor 2b03; video f582 ZED, f682 ZED Mini, f780 "
               "ZED 2, f880 ZED 2i; HID sensors f681/f781/f881); src/videocapture.cpp reads the serial from the "
               "camera's flash, src/sensorcapture.cpp matches it against the HID device's serial number")
RS_PIDS = ("IntelRealSense/librealsense src/ds/d400/d400-private.h (vendor 8086; 0ad3 D415, 0b07 D435, 0b3a "
           "D435i); the serial is read from the firmware, not the USB descriptor")
OB_RULES = ("orbbec/OrbbecSDK misc/scripts/99-obsensor-libusb.rules (vendor 2bc5; 066b Femto Bolt, 0670 Gemini 2); "
            "whether the USB serial number descriptor is the camera's serial is not documented there")
SEED_ZED_USB3 = "seeds/000: USB ZED cameras 'connect over USB 3.0'"
K4A_USB3 = ("99-k4a.rules lists the depth and colour devices behind the Kinect's 'Generic Superspeed USB Hub' (USB 3); "
            "Azure Kinect DK hardware specification (learn.microsoft.com/azure/kinect-dk/hardware-specification)")


@dataclass(frozen=True, slots=True)
class UsbIds:
    """One camera model on the bus."""

    vendor: str
    """``idVendor`` as sysfs writes it (4 lower-case hex digits)."""
    video: tuple[str, ...]
    """``idProduct`` of the device that carries the images (its link speed is the camera's)."""
    serial_on: tuple[str, ...]
    """``idProduct`` of the devices whose serial number descriptor is the camera's serial (empty: the serial is
    not on the bus, the camera is matched by model)."""
    usb3: bool
    """The vendor requires a USB 3 link whatever the streams (else: only when the streams exceed USB 2)."""
    source: str


_ZED = {"zed": ("f582", ""), "zed-mini": ("f682", "f681"), "zed-2": ("f780", "f781"), "zed-2i": ("f880", "f881")}

IDS: dict[str, UsbIds] = {
    "azure-kinect-dk": UsbIds("045e", ("097c",), ("097c",), True, f"{K4A_RULES}; {K4A_USB3}"),
    **{key: UsbIds("2b03", (video,), (hid,) if hid else (), True, f"{ZED_DEFINES}; {SEED_ZED_USB3}")
       for key, (video, hid) in _ZED.items()},
    "realsense-d415": UsbIds("8086", ("0ad3",), (), False, RS_PIDS),
    "realsense-d435": UsbIds("8086", ("0b07",), (), False, RS_PIDS),
    "realsense-d435i": UsbIds("8086", ("0b3a",), (), False, RS_PIDS),
    "orbbec-femto-bolt": UsbIds("2bc5", ("066b",), (), False, OB_RULES),
    "orbbec-gemini-2": UsbIds("2bc5", ("0670",), (), False, OB_RULES),
}
"""By catalog model key. A USB model missing here (a generic UVC webcam) is found by its serial number alone."""

USB2_MB_S = 60.0
"""USB 2.0 high speed signals at 480 Mb/s = 60 MB/s before any protocol overhead: streams above it need USB 3."""
USB3_MBPS = 5000.0
"""sysfs ``speed`` of a USB 3 link: 5000 (3.x Gen 1), 10000 (Gen 2), 20000 (Gen 2x2); 480 is USB 2.0 high speed."""
