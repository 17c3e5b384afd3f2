"""Gate cameras: frames in, face attempts out, to `GateController.on_face`.

`OpenCVCamera` reads a real camera (a V4L2 device number or an RTSP/HTTP/file URL) in its own thread
and rests while the gate does not want faces (degraded or maintenance mode); `SimCamera` is the same
path fed by code, so the demo and the tests go through tracking, liveness and matching for real.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

import cv2
import numpy as np

from menjin.face.recognise import Attempt, Tracker

log = logging.getLogger("menjin.gate.camera")
OnAttempt = Callable[[Attempt], object]


class SimCamera:
    """`show` is someone standing in front of the camera for a few frames."""

    def __init__(self) -> None:
        self.tracker = Tracker()
        self.feedbacks: list[tuple[bool, str]] = []
        self._on_attempt: OnAttempt | None = None

    def start(self, on_attempt: OnAttempt) -> None:
        self._on_attempt = on_attempt

    def show(self, frames: Iterable[np.ndarray]) -> None:
        for frame in frames:
            attempt = self.tracker.feed(frame)
            if attempt is not None and self._on_attempt is not None:
                self._on_attempt(attempt)

    def feedback(self, granted: bool, prompt: str) -> None:
        self.feedbacks.append((granted, prompt))

    def close(self) -> None:
        self._on_attempt = None


class OpenCVCamera:
    def __init__(self, source: int | str, wanted: Callable[[], bool], fps: float = 10.0) -> None:
        self.source = source
        self.wanted = wanted
        self.period = 1.0 / fps
        self.tracker = Tracker()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, on_attempt: OnAttempt) -> None:
        self._thread = threading.Thread(target=self._run, args=(on_attempt,), name="camera", daemon=True)
        self._thread.start()

    def _run(self, on_attempt: OnAttempt) -> None:
        capture = cv2.VideoCapture(self.source)
        try:
            while not self._stop.is_set():
                if not self.wanted():
                    self._stop.wait(1.0)
                    continue
                started = time.monotonic()
                ok, frame = capture.read()
                if not ok:
                    log.warning("camera %s gave no frame; retrying", self.source)
                    capture.release()
                    self._stop.wait(2.0)
                    capture = cv2.VideoCapture(self.source)
                    continue
                try:
                    attempt = self.tracker.feed(frame)
                    if attempt is not None:
                        on_attempt(attempt)
                except Exception:  # one bad frame must not stop the camera
                    log.exception("face attempt failed")
                self._stop.wait(max(0.0, self.period - (time.monotonic() - started)))
        finally:
            capture.release()

    def feedback(self, granted: bool, prompt: str) -> None:
        log.info("camera screen: %s", prompt)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
