"""A face attempt at the gate: frames of one tracked face → quality → liveness → one embedding → match.

Several frames make one attempt (liveness needs motion across them), but only the best frame is
embedded, with its mirror image (on lfw_pairs that lowers FNMR at FMR 1e-4 from 7.3 % to 6.1 %): the
embedding is the slow step, and two keep frame → decision inside 150 ms. Rolling
figures (acquire rate, match rate, latency) go into the gate's heartbeat so the control room can see
a camera fogging up before residents complain.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from menjin.face import liveness
from menjin.face.detect import Detection, detect
from menjin.face.embed import chip, embed
from menjin.face.enrol import RIVAL_FACE
from menjin.face.match import Probe
from menjin.face.quality import GATE, Measures, measure, refusal

FRAMES = 5
LOST_AFTER = 2  # frames without a face end the track
MOVED = 0.6  # a centre jump of this many face widths is a different person


Attempt = list[tuple[np.ndarray, Detection]]


def subject(frame: np.ndarray) -> Detection | None:
    """The person at the gate: of the faces nearly as large as the largest, the one nearest the middle of
    the picture (the camera is aimed at where one stands; a neighbour at the edge is passing by)."""
    faces = detect(frame)
    if not faces:
        return None
    middle = np.array([frame.shape[1], frame.shape[0]]) / 2
    rivals = [face for face in faces if face.size >= RIVAL_FACE * faces[0].size]
    return min(rivals, key=lambda face: float(np.linalg.norm(face.centre - middle)))


class Tracker:
    """Collects consecutive frames of the same face (the `subject`) into attempts."""

    def __init__(self, frames: int = FRAMES) -> None:
        self.frames = frames
        self._track: Attempt = []
        self._lost = 0

    def feed(self, frame: np.ndarray) -> Attempt | None:
        """The frames of a complete attempt, or None while one is still being collected."""
        face = subject(frame)
        if face is None:
            self._lost += 1
            if self._lost >= LOST_AFTER:
                self._track = []
            return None
        self._lost = 0
        if self._track:
            previous = self._track[-1][1]
            if np.linalg.norm(face.centre - previous.centre) > MOVED * previous.box[2]:
                self._track = []
        self._track.append((frame, face))
        if len(self._track) < self.frames:
            return None
        attempt, self._track = self._track, []
        return attempt


def usable(frame: np.ndarray, face: Detection) -> tuple[Measures, np.ndarray] | str:
    """The face's measures and chip if it passes the gate's limits, else the reason."""
    face_chip = chip(frame, face)
    measures = measure(face, face_chip)
    return refusal(measures, GATE) or (measures, face_chip)


def probe_of(attempt: Attempt) -> Probe | str:
    """Liveness over all frames, then the embedding of the best usable frame (or why there is none)."""
    verdict = liveness.assess([f for f, _ in attempt], [d for _, d in attempt])
    if not verdict.live:
        return "not-live"
    checked = [usable(frame, face) for frame, face in attempt]
    good = [c for c in checked if not isinstance(c, str)]
    if not good:
        return next(c for c in checked if isinstance(c, str))
    measures, face_chip = max(good, key=lambda c: c[0].score)
    return Probe(embed(face_chip, mirrored=True), measures.covered)


class FaceStats:
    """Rolling rates over the last `window` observations, counting only what says something about the
    camera: acquisition over everyone a face gate should have seen; recognition over enrolled residents
    only (strangers and held-up photos count for nothing, so nobody can switch face off by waving
    photos, and a gate where many people never enrolled is not judged by them)."""

    def __init__(self, window: int = 50) -> None:
        self._acquired: deque[bool] = deque(maxlen=window)
        self._matched: deque[bool] = deque(maxlen=window)
        self._latency: deque[float] = deque(maxlen=window)

    def seen(self, acquired: bool, seconds: float | None = None) -> None:
        """A face attempt: the camera found a usable face, or not; `seconds` it took."""
        self._acquired.append(acquired)
        if acquired and seconds is not None:
            self._latency.append(seconds)

    def missed(self) -> None:
        """An enrolled resident came through a face gate by another way and the camera saw nobody."""
        self._acquired.append(False)

    def recognised(self, matched: bool) -> None:
        """An enrolled resident's face was recognised, or was seen and not recognised (they then showed
        a card or PIN)."""
        self._matched.append(matched)

    def reset(self) -> None:
        """Forget the window: after a change of mode, only fresh attempts may prove the camera good."""
        for window in (self._acquired, self._matched, self._latency):
            window.clear()

    def telemetry(self) -> dict[str, float]:
        """Keys as in `domain.health`, with how many attempts each rate rests on."""
        out: dict[str, float] = {
            "face_acquire_samples": len(self._acquired),
            "face_match_samples": len(self._matched),
        }
        if self._acquired:
            out["face_acquire_rate"] = sum(self._acquired) / len(self._acquired)
        if self._matched:
            out["face_match_rate"] = sum(self._matched) / len(self._matched)
        if self._latency:
            out["face_latency_p95_ms"] = float(np.percentile(self._latency, 95) * 1000)
        return out
