"""The office's enrolment station: a camera's frames of one faces94 sitting in, 3–5 spaced photos that
pass the upload's checks out; refusals said as they happen, a clean give-up, and the whole flow against
the real API, through the `menjin face station` command over HTTP."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cache
from itertools import pairwise

import cv2
import numpy as np
import pytest
from conftest import World, login
from fastapi.testclient import TestClient
from test_browser import base_url
from test_face_api import CONSENT, upload
from typer.testing import CliRunner

from menjin import cli_face
from menjin.cli import app
from menjin.face.conditions import scarf
from menjin.face.detect import detect
from menjin.face.enrol import Accepted, accepted_face, read_image
from menjin.face.quality import REASONS, measure
from menjin.face.station import SETTLE, SPACING, Phase, Station
from menjin.sim.faces import PHOTOS, frames

pytestmark = pytest.mark.usefixtures("face_photos")
__all__ = ["base_url"]  # the uvicorn fixture, shared with test_browser
FPS = 5.0
START = 1000.0  # a monotonic clock does not start at zero


@cache
def sitting(who: str = "anpage") -> tuple[np.ndarray, ...]:
    """The person's recording, frame by frame, as the office camera would give it."""
    return tuple(cv2.imread(str(p)) for p in frames(PHOTOS / who))


@cache
def scarfed() -> tuple[np.ndarray, ...]:
    """The same sitting with a knitted scarf over mouth and nose."""
    rng = np.random.default_rng(4)
    return tuple(scarf(frame, detect(frame)[0], rng) for frame in sitting())


def stamped(images: Sequence[np.ndarray], start: float = START) -> list[tuple[float, np.ndarray]]:
    return [(start + n / FPS, image) for n, image in enumerate(images)]


def run(station: Station, camera: list[tuple[float, np.ndarray]]) -> list[str | None]:
    """Feed frames until the station is done or gives up; the reason it showed after each frame."""
    shown = []
    for at, frame in camera:
        status = station.feed(frame, at)
        shown.append(status.reason)
        if status.phase in (Phase.DONE, Phase.GAVE_UP):
            break
    return shown


def source(jpeg: bytes, camera: list[tuple[float, np.ndarray]]) -> int:
    """Which frame a photo was taken from (JPEG changes pixels a little, another frame a lot)."""
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).astype(np.float32)
    return int(np.argmin([np.abs(image - frame).mean() for _, frame in camera]))


def score(frame: np.ndarray) -> float:
    face = accepted_face(frame)
    assert isinstance(face, Accepted)
    return measure(face.face, face.chip).score


@pytest.mark.parametrize("wanted", [3, 5])
def test_spaced_photos_that_pass_the_upload_checks(wanted: int) -> None:
    camera = stamped(sitting())
    station = Station(wanted, timeout=10)
    run(station, camera)
    assert station.phase is Phase.DONE and station.status.message()[1] == "Photos taken"
    assert len(station.photos) == wanted and station.covered is None
    for jpeg in station.photos:
        image = read_image(jpeg)
        assert not isinstance(image, str) and isinstance(accepted_face(image), Accepted)
    taken = [camera[source(jpeg, camera)][0] for jpeg in station.photos]
    assert all(later - earlier >= SPACING for earlier, later in pairwise(taken))
    # The first photo is the best frame of the first window, not merely the first good frame.
    window = [frame for at, frame in camera if at < START + SPACING]
    assert source(station.photos[0], camera) == int(np.argmax([score(f) for f in window]))


def test_progress_is_shown_after_every_frame() -> None:
    station = Station(3, timeout=10)
    counts = []
    for at, frame in stamped(sitting("asamma")):
        status = station.feed(frame, at)
        counts.append(status.taken)
        if status.phase is Phase.DONE:
            break
    assert counts == sorted(counts) and counts[0] == 0 and counts[-1] == 3
    assert station.status.wanted == 3
    assert Station(3).status.message() == (
        "已拍 0/3 张，请正对镜头",
        "0 of 3 photos taken; look at the camera",
    )


def test_a_frozen_camera_gives_one_photo_then_says_why_and_gives_up() -> None:
    frozen = stamped([sitting()[0]] * 16)  # 3 s of one frame
    station = Station(3, timeout=2)
    shown = run(station, frozen)
    assert len(station.photos) == 1 and "same-picture" in shown
    assert station.phase is Phase.GAVE_UP and frozen[len(shown) - 1][0] >= START + 2
    zh, en = station.status.message()
    assert en.startswith("Timed out") and "check the camera" in en and "摄像头" in zh


def _canvas(face: np.ndarray | None) -> np.ndarray:
    """A 640×480 office background with, maybe, a face far from the camera."""
    frame = np.full((480, 640, 3), (90, 110, 100), np.uint8)
    if face is not None:
        frame[200:280, 300:372] = cv2.resize(face, (72, 80), interpolation=cv2.INTER_AREA)
    return frame


@pytest.mark.parametrize(("face", "code"), [(None, "no-face"), (0, "too-small")], ids=["nobody", "too-far"])
def test_refusals_are_said_then_it_gives_up_cleanly(face: int | None, code: str) -> None:
    frame = _canvas(None if face is None else sitting()[face])
    station = Station(3, timeout=1.0)
    camera = stamped([frame] * 8)
    shown = run(station, camera)
    assert set(shown) == {code} and len(shown) == 6  # the sixth frame, 1 s after the first, is too late
    assert station.phase is Phase.GAVE_UP and station.photos == []
    zh, en = station.status.message()
    assert zh.startswith("超时") and REASONS[code][1] in en
    before = station.status
    assert station.feed(sitting()[0], START + 5) == before  # nothing more is taken once it gave up


def test_the_covered_photo_is_taken_only_when_asked_and_after_the_scarf_settles() -> None:
    camera = stamped(sitting())
    station = Station(3, timeout=10)
    shown = run(station, camera)
    with pytest.raises(RuntimeError):
        Station(3).want_covered()
    at, frame = camera[len(shown)]
    assert station.feed(frame, at).phase is Phase.DONE  # not asked: frames are ignored
    station.want_covered()
    covered = stamped(scarfed(), start=at + 10)
    run(station, covered)
    assert station.phase is Phase.DONE and station.covered is not None
    assert covered[source(station.covered, covered)][0] >= covered[0][0] + SETTLE
    with pytest.raises(RuntimeError):
        station.want_covered()


# The whole flow: consent, the station's photos, the server's enrolment.


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    return login(client, "admin")


@pytest.fixture
def resident(client: TestClient, admin: dict[str, str]) -> int:
    b = client.post("/api/v1/buildings", json={"name": "3"}, headers=admin).json()
    u = client.post("/api/v1/units", json={"building_id": b["id"], "room": "302"}, headers=admin).json()
    p = client.post(
        "/api/v1/people", json={"unit_id": u["id"], "name": "林芳", "role": "owner"}, headers=admin
    )
    return p.json()["id"]


@pytest.mark.usefixtures("engine_once")
def test_station_photos_enrol_through_the_api(
    client: TestClient, admin: dict[str, str], resident: int
) -> None:
    url = f"/api/v1/people/{resident}"
    station = Station(3, timeout=10)
    run(station, stamped(sitting()))
    refused = client.post(f"{url}/face", files=upload(station.photos), headers=admin)
    assert refused.status_code == 409 and refused.json()["code"] == "consent-required"
    assert client.post(f"{url}/face-consent", json=CONSENT, headers=admin).status_code == 201
    made = client.post(f"{url}/face", files=upload(station.photos), headers=admin)
    assert made.status_code == 201, made.text
    assert [v["accepted"] for v in made.json()["verdicts"]] == [True] * 3
    status = client.get(f"{url}/face", headers=admin).json()
    assert status["enrolled"] and status["kinds"] == {"plain": 1, "covered": 1}


@pytest.mark.usefixtures("engine_once")
def test_the_station_command(
    client: TestClient,
    world: World,
    admin: dict[str, str],
    resident: int,
    base_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened: list[str] = []
    withdraw_after: list[int] = []  # withdraw the consent after this many frames, once

    def camera(source: str) -> Iterator[tuple[float, np.ndarray]]:
        opened.append(source)
        for n, (at, frame) in enumerate(stamped(sitting() + scarfed())):  # then the scarf goes on
            if n in withdraw_after:
                withdraw_after.clear()
                world.services.faces.withdraw(world.admin, resident)
            yield at, frame

    monkeypatch.setattr(cli_face, "_camera_frames", camera)
    token = admin["Authorization"].removeprefix("Bearer ")

    def station(*args: str, token: str = token) -> tuple[int, str]:
        result = CliRunner().invoke(
            app, ["face", "station", str(resident), "--server", base_url, "--camera", "2", *args],
            env={"MENJIN_TOKEN": token, "COLUMNS": "200"}, input="\n",
        )  # fmt: skip
        return result.exit_code, result.output

    code, said = station(token="not-a-token")
    assert code == 1 and "401" in said and "MENJIN_TOKEN" in said and not opened
    code, said = station()
    assert code == 1 and "no consent" in said and "record the consent first" in said and not opened

    client.post(f"/api/v1/people/{resident}/face-consent", json=CONSENT, headers=admin)
    withdraw_after.append(3)  # the resident withdraws while being photographed
    code, said = station()
    assert code == 1 and opened == ["2"], said
    assert "409" in said and "consent" in said and "record the consent first" in said

    client.post(f"/api/v1/people/{resident}/face-consent", json=CONSENT, headers=admin)
    code, said = station("--photos", "3", "--covered")
    assert code == 0, said
    assert "press Enter" in said and "4/4" in said and "face enrolled" in said
    assert said.count("✓") == 4 and said.count("covered │ ✓") == 1
    status = client.get(f"/api/v1/people/{resident}/face", headers=admin).json()
    assert status["enrolled"] and status["kinds"] == {"plain": 1, "covered": 2}
