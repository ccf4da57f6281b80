"""What the UVC driver's tests run against: lossless clips for OpenCV's own VideoCapture, a virtual capture
clock, and a strict fake of what cannot run here (a V4L2 webcam behind ``/dev/v4l/by-id``: no ``/dev/video*``).

The fake's properties are named as OpenCV names them and resolved through the installed ``cv2`` (a renamed or
missing constant fails at import); any other property id is an error, as is opening anything but a by-id link
through the V4L2 backend.
"""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np

CAPTURE_METHODS = ("isOpened", "read", "set", "get", "release")
"""The ``cv2.VideoCapture`` methods the driver calls (checked against the installed class)."""
PROPERTIES = {getattr(cv2, name): name for name in (
    "CAP_PROP_FRAME_WIDTH", "CAP_PROP_FRAME_HEIGHT", "CAP_PROP_FPS", "CAP_PROP_FOURCC", "CAP_PROP_AUTO_EXPOSURE",
    "CAP_PROP_EXPOSURE")}
"""Property id -> OpenCV name, for the properties a V4L2 webcam answers in the fake."""


def clip_images(count: int, width: int, height: int, seed: int = 0) -> list[np.ndarray]:
    """Distinct noise images (BGR): any lossy step or reordering shows in their pixels."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(count)]


def flat_images(count: int, width: int, height: int) -> list[np.ndarray]:
    """Frames of one grey level each (their number): quick to encode and decode, for long clips."""
    return [np.full((height, width, 3), n % 256, dtype=np.uint8) for n in range(count)]


WEBCAM_RIG = """
[[hosts]]
name = "h"

[[devices]]
id = "webcam"
model = "uvc-webcam"
serial = "UVCCLIP1"
host = "h"
connection = "usb:c0"
driver = "uvc"
streams = [{ kind = "color", width = 640, height = 480, fps = 30, format = "yuyv" }]
"""
"""One webcam, played from a clip in the tests (serial ``UVCCLIP1``, 640x480 at 30 fps)."""


def write_clip(path: Path, images: list[np.ndarray], fps: float) -> Path:
    """A lossless FFV1 Matroska clip of ``images`` through OpenCV's VideoWriter."""
    height, width = images[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"FFV1"), fps, (width, height))
    assert writer.isOpened(), f"OpenCV cannot write FFV1 to {path}"
    for image in images:
        writer.write(image)
    writer.release()
    return path


class VirtualClock:
    """A capture clock that jumps to whatever time is waited for (shared by the reader thread and the test)."""

    def __init__(self, start_ns: int = 1_000_000_000) -> None:
        self._now = start_ns
        self._lock = threading.Lock()

    def now_ns(self) -> int:
        with self._lock:
            return self._now

    def wait_until(self, host_ns: int) -> None:
        with self._lock:
            self._now = max(self._now, host_ns)


class FakeWebcam:
    """A V4L2 webcam: the modes it lists, its controls, the frames the test scripts, and its plug."""

    def __init__(self, modes: tuple[tuple[int, int], ...] = ((640, 480), (1280, 720)),
                 rates: tuple[float, ...] = (15.0, 30.0), manual_exposure: bool = True) -> None:
        self.modes, self.rates = modes, rates
        self.manual_exposure = manual_exposure
        """False: a webcam whose exposure_auto menu has no manual mode (it stays in aperture priority)."""
        self.plugged = True
        self.opens = 0
        self.writes: list[tuple[str, float]] = []
        """Every accepted ``set``, by OpenCV name, in order (across re-opens)."""
        self.controls = {"CAP_PROP_FRAME_WIDTH": float(modes[0][0]), "CAP_PROP_FRAME_HEIGHT": float(modes[0][1]),
                         "CAP_PROP_FPS": rates[-1], "CAP_PROP_FOURCC": float(cv2.VideoWriter.fourcc(*"YUYV")),
                         "CAP_PROP_AUTO_EXPOSURE": 3.0, "CAP_PROP_EXPOSURE": 156.0}
        self._frames: list[np.ndarray] = []
        self._changed = threading.Condition()

    def push(self, *images: np.ndarray) -> None:
        """Frames the sensor delivers next."""
        with self._changed:
            self._frames += images
            self._changed.notify_all()

    def unplug(self) -> None:
        with self._changed:
            self.plugged = False
            self._changed.notify_all()

    def replug(self) -> None:
        with self._changed:
            self.plugged = True

    def next_frame(self) -> np.ndarray | None:
        """Blocks like a V4L2 dequeue: until a frame, or None once unplugged."""
        with self._changed:
            self._changed.wait_for(lambda: self._frames or not self.plugged)
            return self._frames.pop(0) if self.plugged else None

    def set(self, name: str, value: float) -> bool:
        if name == "CAP_PROP_AUTO_EXPOSURE" and value not in ((1.0, 3.0) if self.manual_exposure else (3.0,)):
            return False  # V4L2 exposure_auto menu: manual, aperture priority
        if name == "CAP_PROP_FPS":
            value = min(self.rates, key=lambda r: abs(r - value))
        self.controls[name] = float(value)
        self.writes.append((name, float(value)))
        return True

    def get(self, name: str) -> float:
        if name in ("CAP_PROP_FRAME_WIDTH", "CAP_PROP_FRAME_HEIGHT"):  # S_FMT settles on a listed mode
            size = (int(self.controls["CAP_PROP_FRAME_WIDTH"]), int(self.controls["CAP_PROP_FRAME_HEIGHT"]))
            width, height = size if size in self.modes else self.modes[0]
            return float(width if name == "CAP_PROP_FRAME_WIDTH" else height)
        return self.controls[name]


class FakeCapture:
    """``cv2.VideoCapture`` on a fake webcam's node."""

    def __init__(self, camera: FakeWebcam | None) -> None:
        self._camera = camera if camera is not None and camera.plugged else None
        if self._camera is not None:
            self._camera.opens += 1

    def isOpened(self) -> bool:  # noqa: N802 (OpenCV's name)
        return self._camera is not None

    def read(self) -> tuple[bool, np.ndarray | None]:
        image = self._camera.next_frame() if self._camera is not None else None
        return image is not None, image

    def set(self, prop: int, value: float) -> bool:
        assert self._camera is not None, "set on a capture that is not open"
        return self._camera.set(PROPERTIES[prop], value)

    def get(self, prop: int) -> float:
        assert self._camera is not None, "get on a capture that is not open"
        return self._camera.get(PROPERTIES[prop])

    def release(self) -> None:
        self._camera = None


class FakeV4l2:
    """``/dev/v4l/by-id`` in a folder of the test's own (links to stand-in ``videoN`` nodes) and the opener that
    reaches the webcams behind them."""

    def __init__(self, root: Path) -> None:
        self.by_id = root / "v4l" / "by-id"
        self.by_id.mkdir(parents=True)
        self._cameras: dict[Path, FakeWebcam] = {}

    def attach(self, link_name: str, camera: FakeWebcam) -> Path:
        node = self.by_id.parent.parent / f"video{len(self._cameras) * 2}"
        node.touch()
        link = self.by_id / link_name
        link.symlink_to(Path("../..") / node.name)
        self._cameras[node.resolve()] = camera
        return link

    def open(self, path: str, api: int) -> FakeCapture:
        assert api == cv2.CAP_V4L2, f"webcams open through the V4L2 backend, not {api}"
        link = Path(path)
        assert link.parent == self.by_id, f"{path} is not a by-id link"
        return FakeCapture(self._cameras.get(link.resolve()))
