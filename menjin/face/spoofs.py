"""Presentation attacks synthesised from one still photo, and live sequences put through the same camera.

Liveness can only be judged fairly if a live face and an attack reach it through identical processing, so
both are placed into a 640×480 scene at a realistic face size (inter-ocular 50–120 px) and every frame gets
the same camera effects: exposure flicker, defocus and motion blur, sensor noise, JPEG recompression. An
attack moves the photo as a hand would: a 3-D pose of the sheet or phone with tremor from frame to frame,
and paper that flexes (rendered by casting each camera ray onto the curved sheet). A screen adds its pixel
grid, point-sampled by the camera into moiré that shifts as the screen moves, and a glare that slides as it
tilts. Used by tests, the evaluation and the simulated camera.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

from menjin.face.detect import detect

ATTACK_KINDS = ("print", "print-cutout", "screen")
WIDTH, HEIGHT = 640, 480
FOCAL = 690.0  # pixels: a 640-pixel camera with a ~50° horizontal field of view


def still_photo_attack(
    photo_bgr: np.ndarray, frames: int, rng: np.random.Generator, kind: str
) -> list[np.ndarray]:
    """`frames` camera frames of `photo_bgr` presented as a hand-held print, a cut-out print or a screen."""
    if kind not in ATTACK_KINDS:
        raise ValueError(f"unknown attack kind {kind!r}; one of {ATTACK_KINDS}")
    eye_mid, iod, box = _face_geometry(photo_bgr)
    camera = _Camera(rng)
    if kind == "screen":
        sheet, alpha, eye_mid = _screen_content(photo_bgr, eye_mid, rng)
    else:
        sheet, alpha, eye_mid = _print_content(photo_bgr, eye_mid, box, rng, cutout=kind == "print-cutout")
    scale = rng.uniform(50, 120) / iod
    pose = _Pose(
        yaw=np.radians(rng.uniform(-12, 12)),
        pitch=np.radians(rng.uniform(-12, 12)),
        roll=np.radians(rng.uniform(-8, 8)),
        sag=0.0 if kind == "screen" else rng.uniform(-0.12, 0.12),
    )
    grid = (rng.uniform(0.6, 2.5), rng.uniform(0.1, 0.3))  # screen pixel pitch in camera pixels, contrast
    glare = (rng.uniform(0.15, 0.5), rng.uniform(-0.5, 0.5, 2), rng.uniform(0.3, 0.7))
    half_width = scale * sheet.shape[1] / 2
    out = []
    for _ in range(frames):
        pose = pose.tremble(rng)
        u, v = _cast(pose, camera.anchor, 2 * pose.sag / half_width)
        map_x = (u / scale + eye_mid[0]).astype(np.float32)
        map_y = (v / scale + eye_mid[1]).astype(np.float32)
        image = cv2.remap(sheet, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        mask = cv2.remap(alpha, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)[..., None]
        if kind == "screen":
            pitch, contrast = grid
            image *= (
                _pixel_grid(u / pitch, contrast, camera.defocus)
                * _pixel_grid(v / pitch, contrast, camera.defocus)
            )[..., None]
            image += _glare(glare, pose)[..., None]
        else:  # paper is lit from one side: its brightness follows the local tilt of the sheet
            tilt = pose.yaw + u * 2 * pose.sag / half_width
            image *= (1.0 + 0.8 * tilt - 0.5 * pose.pitch)[..., None].astype(np.float32)
        out.append(camera.shoot(mask * image + (1 - mask) * camera.scene))
    return out


def live_sequence(frames_bgr: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """Consecutive real frames of one person placed like an attack, with a small natural head drift."""
    eye_mid, iod, _ = _face_geometry(frames_bgr[0])
    scale = rng.uniform(50, 120) / iod
    camera = _Camera(rng)
    height, width = frames_bgr[0].shape[:2]
    edge = np.zeros((height, width), np.float32)
    edge[4:-4, 4:-4] = 1.0
    alpha = cv2.GaussianBlur(edge, (0, 0), 3)  # the recording's own background fades into the scene
    shift, angle, zoom = np.zeros(2), 0.0, 1.0
    out = []
    for frame in frames_bgr:
        shift = shift + rng.normal(0, 2.0, 2)
        angle += rng.normal(0, 0.7)
        zoom *= 1 + rng.normal(0, 0.007)
        m = cv2.getRotationMatrix2D((float(eye_mid[0]), float(eye_mid[1])), angle, scale * zoom)
        m[:, 2] += camera.anchor + shift - eye_mid
        image = cv2.warpAffine(frame.astype(np.float32), m, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR)
        mask = cv2.warpAffine(alpha, m, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR)[..., None]
        out.append(camera.shoot(mask * image + (1 - mask) * camera.scene))
    return out


def _face_geometry(image: np.ndarray) -> tuple[np.ndarray, float, tuple[float, float, float, float]]:
    """Eye midpoint, inter-ocular distance and box of the photo's subject: the face nearest its centre
    (portraits are centred; others may be cut by the edge), or a centred guess if none is found."""
    height, width = image.shape[:2]
    faces = detect(image)
    if not faces:
        return (
            np.array([width / 2, height * 0.42]),
            width * 0.28,
            (width * 0.2, height * 0.2, width * 0.6, height * 0.7),
        )
    subject = min(faces, key=lambda f: float(np.linalg.norm(f.centre - (width / 2, height / 2))))
    return subject.landmarks[:2].mean(axis=0).astype(np.float64), subject.size, subject.box


class _Camera:
    """A fixed gate camera: its scene behind the face and its per-sequence noise, blur and compression."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.anchor = np.array([WIDTH / 2, HEIGHT * 0.42]) + rng.uniform(-1, 1, 2) * (60, 40)
        wall = rng.uniform(70, 210) * rng.normal(1.0, 0.08, 3)  # a painted wall, lit unevenly, with grain
        light = cv2.resize(rng.uniform(0.6, 1.2, (3, 4)).astype(np.float32), (WIDTH, HEIGHT))
        grain = cv2.GaussianBlur(rng.standard_normal((HEIGHT, WIDTH), np.float32), (0, 0), 1.5)
        self.scene = (wall * light[..., None] + 20 * grain[..., None]).astype(np.float32)
        self.noise = rng.uniform(1.5, 4.0)
        self.defocus = rng.uniform(0.3, 0.9)
        self.quality = int(rng.integers(60, 91))

    def shoot(self, image: np.ndarray) -> np.ndarray:
        """One frame: exposure flicker, blur, sensor noise (partly signal-dependent), JPEG round trip."""
        rng = self.rng
        image = image * rng.normal(1.0, 0.03) + rng.normal(0, 2)
        image = cv2.GaussianBlur(image, (0, 0), self.defocus)
        half = rng.uniform(0.0, 1.0) * np.array([np.cos(angle := rng.uniform(0, np.pi)), np.sin(angle)])
        kernel = np.zeros((5, 5), np.float32)
        cv2.line(kernel, tuple(np.round(2 - half).astype(int)), tuple(np.round(2 + half).astype(int)), 1.0, 1)
        image = cv2.filter2D(image, -1, kernel / kernel.sum())
        sigma = self.noise * np.sqrt(0.5 + np.clip(image, 0, 255) / 255)
        image = image + rng.standard_normal(image.shape, np.float32) * sigma
        frame = np.clip(image, 0, 255).astype(np.uint8)
        _, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        return cv2.imdecode(jpeg, cv2.IMREAD_COLOR)


@dataclass(frozen=True)
class _Pose:
    """A held sheet: its tilt (radians), offset and distance from the held position, and its flex (sag)."""

    yaw: float
    pitch: float
    roll: float
    sag: float  # edge depth / half width, signed: paper flexes towards or away from the camera
    shift: tuple[float, float] = (0.0, 0.0)
    depth: float = 1.0

    def tremble(self, rng: np.random.Generator) -> _Pose:
        """The next frame's pose: hand tremor and drift as a random walk."""
        return _Pose(
            yaw=self.yaw + np.radians(rng.normal(0, 1.5)),
            pitch=self.pitch + np.radians(rng.normal(0, 1.5)),
            roll=self.roll + np.radians(rng.normal(0, 0.8)),
            sag=self.sag + rng.normal(0, 0.015) if self.sag else 0.0,
            shift=tuple(np.add(self.shift, rng.normal(0, 3.0, 2))),
            depth=self.depth * (1 + rng.normal(0, 0.01)),
        )


@cache
def _pixels() -> np.ndarray:
    """Every camera pixel as (x, y, 1): the rays `_cast` follows (made once, on first use)."""
    xs, ys = np.meshgrid(np.arange(WIDTH, dtype=np.float64), np.arange(HEIGHT, dtype=np.float64))
    return np.stack([xs, ys, np.ones_like(xs)], axis=-1)


def _cast(pose: _Pose, anchor: np.ndarray, curvature: float) -> tuple[np.ndarray, np.ndarray]:
    """Where each camera pixel's ray meets the sheet, in sheet coordinates (camera pixels at unit depth).

    The sheet is a cylinder of the given curvature about its vertical axis through the eyes (a plane at 0),
    posed at depth FOCAL·depth and rotated by yaw, pitch, roll.
    """
    cy, sy = np.cos(pose.yaw), np.sin(pose.yaw)
    cp, sp = np.cos(pose.pitch), np.sin(pose.pitch)
    cr, sr = np.cos(pose.roll), np.sin(pose.roll)
    rotation = (
        np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
        @ np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
        @ np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    )
    centre = np.array([anchor[0] + pose.shift[0], anchor[1] + pose.shift[1]])
    to_ray = np.linalg.inv(np.array([[FOCAL, 0, centre[0]], [0, FOCAL, centre[1]], [0, 0, 1]]))
    d = _pixels() @ (rotation.T @ to_ray).T  # ray directions in the sheet's frame
    o = rotation.T @ -np.array([0.0, 0.0, FOCAL * pose.depth])  # the camera in the sheet's frame
    dx, dy, dz = d[..., 0], d[..., 1], d[..., 2]
    b = 2 * curvature * (o[0] * dx + o[2] * dz) - 2 * dz
    c = curvature * (o[0] ** 2 + o[2] ** 2) - 2 * o[2]
    if curvature:  # the nearest hit in front of the camera
        a = curvature * (dx**2 + dz**2)
        q = -(b + np.copysign(np.sqrt(np.maximum(b**2 - 4 * a * c, 0)), b)) / 2
        hits = np.stack([c / q, q / a])
        s = np.where(hits > 0, hits, np.inf).min(axis=0)
    else:
        s = -c / b
    x, y, z = o[0] + s * dx, o[1] + s * dy, o[2] + s * dz
    u = np.arctan2(curvature * x, 1 - curvature * z) / curvature if curvature else x
    return u, y


def _print_content(
    photo: np.ndarray,
    eye_mid: np.ndarray,
    box: tuple[float, float, float, float],
    rng: np.random.Generator,
    cutout: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The photo as printed (flatter contrast, lifted blacks, tint, paper fibres), its outline, its eyes."""
    image = photo.astype(np.float32)
    grey = image.mean(axis=2, keepdims=True)
    image = grey + rng.uniform(0.7, 0.95) * (image - grey)
    image = rng.uniform(10, 30) + rng.uniform(0.75, 0.95) * image
    image *= rng.normal(1.0, 0.03, 3).astype(np.float32)
    image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.4, 0.9))
    fibres = cv2.GaussianBlur(rng.normal(0, 1, image.shape[:2]).astype(np.float32), (0, 0), 0.8)
    image *= (1 + 0.04 * fibres)[..., None]
    height, width = image.shape[:2]
    if cutout:  # cut along the face outline with scissors
        alpha = np.zeros((height, width), np.float32)
        x, y, w, h = box
        cv2.ellipse(
            alpha, (round(x + w / 2), round(y + h / 2)), (round(0.6 * w), round(0.6 * h)), 0, 0, 360, 1.0, -1
        )
        return image, alpha, eye_mid
    margin = round(0.06 * max(height, width))
    paper = np.full((height + 2 * margin, width + 2 * margin, 3), rng.uniform(200, 240), np.float32)
    paper[margin:-margin, margin:-margin] = image
    return paper, np.ones(paper.shape[:2], np.float32), eye_mid + margin


def _screen_content(
    photo: np.ndarray, eye_mid: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The photo on a phone screen (emissive gamma, a bluish white point, brighter than the room) inside its
    black bezel, and where its eyes now are."""
    image = 255 * (photo.astype(np.float32) / 255) ** rng.uniform(0.75, 1.3)
    image *= np.array([rng.uniform(1.02, 1.12), 1.0, rng.uniform(0.88, 0.98)], np.float32)
    image = image * rng.uniform(1.0, 1.2) + rng.uniform(0, 15)
    height, width = photo.shape[:2]
    bezel = round(rng.uniform(0.04, 0.08) * max(height, width))
    phone = np.full((height + 2 * bezel, width + 2 * bezel, 3), rng.uniform(8, 25), np.float32)
    phone[bezel:-bezel, bezel:-bezel] = image
    return phone, np.ones(phone.shape[:2], np.float32), eye_mid + bezel


def _pixel_grid(cycles: np.ndarray, contrast: float, blur: float) -> np.ndarray:
    """One axis of the screen's pixel grid (dark gaps between pixels) as the camera records it.

    `cycles` counts grid periods at each camera pixel. The lens blur and each sensor pixel's area average the
    grid before it is sampled, so only what survives them aliases into moiré.
    """
    dy, dx = np.gradient(cycles)  # local grid frequency, cycles per camera pixel
    survives = np.sinc(dx) * np.sinc(dy) * np.exp(-2 * (np.pi * blur) ** 2 * (dx**2 + dy**2))
    return (1 - contrast * (0.5 - 0.5 * survives * np.cos(2 * np.pi * cycles))).astype(np.float32)


def _glare(glare: tuple[float, np.ndarray, float], pose: _Pose) -> np.ndarray:
    """A light reflected by the glass: it slides across the screen twice as far as the screen tilts."""
    strength, where, size = glare
    cx = WIDTH * (0.5 + where[0]) + 2 * FOCAL * pose.yaw
    cy = HEIGHT * (0.5 + where[1]) - 2 * FOCAL * pose.pitch
    distance2 = (_pixels()[..., 0] - cx) ** 2 + (_pixels()[..., 1] - cy) ** 2
    return (255 * strength * np.exp(-distance2 / (2 * (size * WIDTH / 2) ** 2))).astype(np.float32)
