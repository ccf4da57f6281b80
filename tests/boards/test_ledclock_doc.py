"""docs/ledclock.md's marker-printing snippet writes markers the board file describes, at their printed size."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import cv2
import pytest

from rigsync.boards.ledclock import default_board

DOC = Path(__file__).resolve().parents[2] / "docs" / "ledclock.md"


def _snippet() -> str:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(r"<!-- ledclock-markers:.*?-->\n```python\n(.*?)```", text, re.DOTALL)
    assert found, "docs/ledclock.md lost its marker snippet"
    return found.group(1)


def test_marker_snippet_prints_the_boards_markers_at_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The snippet writes one PNG per marker id of the reference board, each detected by OpenCV as that id, with a
    black square of size_mm at the DPI its pHYs chunk declares (so "actual size" prints it to scale)."""
    board = default_board()
    monkeypatch.chdir(tmp_path)
    exec(compile(_snippet(), str(DOC), "exec"), {})
    detector = cv2.aruco.ArucoDetector(cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, board.markers.dictionary)))
    for marker_id in board.markers.ids:
        path = tmp_path / f"ledclock-marker-{marker_id}.png"
        data = path.read_bytes()
        at = data.index(b"pHYs")
        ppm_x, ppm_y, unit = struct.unpack(">IIB", data[at + 4:at + 13])
        assert (ppm_x, ppm_y, unit) == (11811, 11811, 1)  # 300 dpi
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        corners, ids, _ = detector.detectMarkers(image)
        assert ids is not None and ids.ravel().tolist() == [marker_id]
        side_px = float(cv2.norm(corners[0][0][1] - corners[0][0][0]))
        assert side_px / ppm_x * 1000 == pytest.approx(board.markers.size_mm, abs=0.2)
