"""The real camera driver, fed a video file (OpenCV reads files and cameras alike)."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from menjin.gate.drivers.camera import OpenCVCamera
from menjin.sim import faces

pytestmark = pytest.mark.usefixtures("face_photos")


@pytest.fixture
def video(tmp_path: Path) -> Path:
    """Ten frames of one person walking up to a gate, as a camera would record them."""
    frames = faces.live(faces.volunteers(1)[0], np.random.default_rng(1), start=2, count=10)
    path = tmp_path / "gate.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10, (640, 480))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def test_frames_from_a_camera_become_attempts(video: Path) -> None:
    attempts: list[list] = []
    done = threading.Event()

    def on_attempt(attempt: list) -> None:
        attempts.append(attempt)
        if len(attempts) == 2:
            done.set()

    camera = OpenCVCamera(str(video), wanted=lambda: True, fps=100)
    camera.start(on_attempt)
    assert done.wait(30)
    camera.close()
    assert [len(a) for a in attempts] == [5, 5]  # five frames of one tracked face per attempt
    assert all(frame.shape == (480, 640, 3) for frame, _ in attempts[0])


def test_the_camera_rests_while_the_gate_does_not_want_faces(video: Path) -> None:
    attempts: list[list] = []
    camera = OpenCVCamera(str(video), wanted=lambda: False, fps=100)
    camera.start(attempts.append)
    threading.Event().wait(1.5)
    camera.close()
    assert attempts == []
