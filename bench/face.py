"""Face speed and memory at a gate (issue 4 targets: frame → decision p95 ≤ 150 ms at 640×480 with a
10,000-person gallery on 2 cores; 1:N search over 100,000 templates ≤ 2 ms; gate memory with models
loaded ≤ 300 MB).

"Frame → decision" is timed from the moment the attempt's last frame arrives (its detection included)
to the match: liveness over the attempt's frames, quality and chips, one embedding, the 1:N search.
Real faces94 people are enrolled; the rest of the gallery is filled with templates made by mixing
real ones, so the search does the same work as on real residents (accuracy is `menjin face evaluate`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import cv2
import numpy as np

from menjin.face.enrol import accepted_face, templates_from
from menjin.face.gallery import Gallery
from menjin.face.match import FaceIndex
from menjin.face.recognise import Tracker, probe_of
from menjin.face.thresholds import STANDARD
from menjin.sim import faces as sim_faces

GALLERY = 10_000
SEARCH = 100_000
ATTEMPTS = 40


def filled(real: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """`count` unit templates: the real ones, then blends of random pairs of them plus noise."""
    rng = np.random.default_rng(seed)
    pairs = rng.integers(0, len(real), (count - len(real), 2))
    mixed = (
        real[pairs[:, 0]] * 0.6 + real[pairs[:, 1]] * 0.4 + rng.normal(0, 0.03, (len(pairs), real.shape[1]))
    )
    out = np.vstack([real, mixed]).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def gate_index() -> FaceIndex:
    """What a gate holds: the detector, landmarks and ResNet loaded (by enrolling the real people) and a
    10,000-person index of plain and covered templates."""
    plain, covered = [], []
    for person in sim_faces.volunteers(19):
        photos = [accepted_face(cv2.imread(str(p))) for p in sim_faces.frames(person)[:3]]
        good = [p for p in photos if not isinstance(p, str)]
        if not good:
            continue  # as at the office: this person would be asked for better photos
        made = templates_from(good)
        plain.append(made.plain[0])
        covered.append(made.covered[0])
    return FaceIndex(
        Gallery(np.arange(GALLERY), filled(np.array(plain), GALLERY)),
        Gallery(np.arange(GALLERY), filled(np.array(covered), GALLERY, seed=1)),
    )


def frame_to_decision() -> tuple[float, float, float]:
    index = gate_index()
    rng = np.random.default_rng(3)
    people = [p for p in sim_faces.volunteers(19) if len(sim_faces.frames(p)) >= 16]  # whole recordings
    latencies, accepted = [], 0
    for attempt_no in range(ATTEMPTS):
        frames = sim_faces.live(people[attempt_no % len(people)], rng, start=8 + attempt_no % 6)
        tracker = Tracker()
        for frame in frames[:-1]:
            tracker.feed(frame)
        started = time.perf_counter()
        attempt = tracker.feed(frames[-1])
        if attempt is None:
            continue
        probe = probe_of(attempt)
        if not isinstance(probe, str):
            accepted += index.identify(probe, STANDARD).outcome.value == "accept"
        latencies.append(time.perf_counter() - started)
    ms = np.array(latencies) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95)), accepted / ATTEMPTS


def search_time() -> tuple[float, float, float]:
    rng = np.random.default_rng(5)
    templates = rng.normal(0, 1, (SEARCH, 128)).astype(np.float32)
    templates /= np.linalg.norm(templates, axis=1, keepdims=True)
    started = time.perf_counter()
    gallery = Gallery(np.arange(SEARCH), templates)
    build = time.perf_counter() - started
    times = []
    for row in rng.integers(0, SEARCH, 500):
        probe = templates[row] + rng.normal(0, 0.02, 128).astype(np.float32)
        started = time.perf_counter()
        gallery.search(probe / np.linalg.norm(probe))
        times.append(time.perf_counter() - started)
    ms = np.array(times) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95)), build


_MEMORY = """
import json, resource
from bench.face import gate_index
gate_index()
print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
"""


def gate_memory() -> float:
    """Peak RSS of a fresh process that loads the models and a 10,000-person gallery (plain + covered)."""
    out = subprocess.run([sys.executable, "-c", _MEMORY], check=True, capture_output=True, text=True)
    return float(json.loads(out.stdout.strip().splitlines()[-1]))


def run() -> list[dict]:
    p50, p95, accepted = frame_to_decision()
    s50, s95, build = search_time()
    memory = gate_memory()
    return [
        {
            "name": "Face: frame → decision, p95",
            "value": round(p95, 1),
            "unit": "ms",
            "notes": f"640×480, 5-frame attempts, {GALLERY:,}-person gallery (plain + covered); "
            f"p50 {p50:.1f} ms; target ≤ 150 ms; {accepted:.0%} of {ATTEMPTS} live attempts accepted",
        },
        {
            "name": f"Face: 1:N search over {SEARCH:,} templates, p95",
            "value": round(s95, 2),
            "unit": "ms",
            "notes": f"p50 {s50:.2f} ms, AS-norm included; gallery built in {build:.2f} s; target ≤ 2 ms",
        },
        {
            "name": "Face: gate process memory with models loaded",
            "value": round(memory),
            "unit": "MB",
            "notes": f"peak RSS: detector, 5-point landmarks, ResNet and a {GALLERY:,}-person gallery; "
            "target ≤ 300 MB",
        },
    ]
