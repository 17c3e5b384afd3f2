"""`menjin face …`: the face recognition harness (issue 4), kept apart from the main command's module."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from menjin.cli_common import call_server, err, fail, out
from menjin.face.enrol import MAX_PHOTOS, MIN_PHOTOS

if TYPE_CHECKING:
    import numpy as np

    from menjin.face.station import Station

face_app = typer.Typer(help="Face recognition: measure it honestly.", no_args_is_help=True)

_SHOWN = (
    ("fte", "failure to enrol"),
    ("fta", "failure to acquire"),
    ("fmr", "FMR at accept"),
    ("fnmr", "FNMR at accept"),
    ("genuine_accept", "genuine: accept"),
    ("genuine_second_factor", "genuine: second factor"),
    ("genuine_reject", "genuine: reject"),
    ("impostor_accept", "impostor: accept"),
    ("impostor_second_factor", "impostor: second factor"),
    ("eer", "EER"),
    ("fnmr_at_fmr_1e-3", "FNMR @ FMR 1e-3"),
    ("fnmr_at_fmr_1e-4", "FNMR @ FMR 1e-4"),
    ("fpir", "FPIR (open set)"),
    ("fnir", "FNIR (open set)"),
)


@face_app.command()
def evaluate(
    directory: Annotated[
        Path, typer.Argument(help="A folder per person, photos inside.", exists=True, file_okay=False)
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    gallery: Annotated[
        int | None, typer.Option(help="Open set: enrol the first N people, the rest are strangers.")
    ] = None,
    level: Annotated[str, typer.Option(help="Security level: relaxed, standard or strict.")] = "standard",
    conditions: Annotated[bool, typer.Option(help="Also measure under synthetic winter conditions.")] = True,
    limit: Annotated[int | None, typer.Option(help="Only the first N people (a quick subset).")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 2,
    det: Annotated[Path | None, typer.Option(help="Where to write the DET curve PNG.")] = None,
) -> None:
    """Run the fixed protocol (README, "Face") on a photo set and report error rates."""
    from menjin.face.evaluate import evaluate as run
    from menjin.face.thresholds import LEVELS

    if level not in LEVELS:
        err.print(f"[red]unknown level {level!r}; choose one of {', '.join(LEVELS)}[/red]")
        raise typer.Exit(2)
    det_path = det or Path(f"det-{directory.resolve().name}.png")
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    ) as bar:

        def progress(total: int) -> Callable[[], None]:
            task = bar.add_task("embedding 提取特征", total=total)
            return lambda: bar.advance(task)

        report = run(
            directory, LEVELS[level], gallery=gallery, conditions=conditions, limit=limit, workers=workers,
            det_path=det_path, progress=progress,
        )  # fmt: skip
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    table = Table(
        "measure", "clean", *report["conditions"], title=f"{report['set']} · {report['people']} people"
    )  # type: ignore[arg-type]
    for key, label in _SHOWN:
        if key in report:
            row = [report[key], *(c.get(key) for c in report["conditions"].values())]  # type: ignore[attr-defined]
            table.add_row(label, *(_fmt(v) for v in row))
    out.print(table)
    out.print(f"DET curve: {det_path}")


def _fmt(value: object) -> str:
    return "—" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


@face_app.command()
def station(
    person_id: Annotated[int, typer.Argument(help="The resident's id in the register.")],
    server: Annotated[str, typer.Option(help="The menjin server's address, e.g. https://menjin.lan.")],
    token: Annotated[
        str,
        typer.Option(
            envvar="MENJIN_TOKEN",
            show_envvar=True,
            help="An enrolling account's login token (the variable keeps it out of the process list).",
        ),
    ],
    camera: Annotated[str, typer.Option(help="A camera device number, or an RTSP/HTTP address.")] = "0",
    photos: Annotated[int, typer.Option(min=MIN_PHOTOS, max=MAX_PHOTOS, help="Photos to take.")] = MIN_PHOTOS,
    covered: Annotated[
        bool, typer.Option("--covered", help="Then one more with the resident's scarf or mask on.")
    ] = False,
    timeout: Annotated[float, typer.Option(min=1.0, help="Seconds to try before giving up.")] = 60.0,
) -> None:
    """Enrol a resident's face with the office camera, under the same checks as an upload.

    No photo is taken without a recorded consent; photos stay in memory, the server keeps templates.
    """
    from menjin.face.station import Phase, Station

    url = f"{server.rstrip('/')}/api/v1/people/{person_id}"
    _check_consent(url, token)
    picker = Station(photos, timeout)
    frames = _camera_frames(camera)
    try:
        _shoot(picker, frames, photos + int(covered))
        if picker.phase is not Phase.DONE:
            zh, en = picker.status.message()
            fail(f"{zh} / {en}")
        if covered:
            out.input("请戴上围巾或口罩，然后按回车 / put the scarf or mask on, then press Enter: ")
            picker.want_covered()
            _shoot(picker, frames, photos + 1)
            if picker.phase is not Phase.DONE:
                zh, en = picker.status.message()
                err.print(
                    f"[yellow]没有戴围巾的照片，照常登记 / no covered photo, enrolling without: {en}[/yellow]"
                )
    finally:
        frames.close()
    parts = [("photos", photo) for photo in picker.photos] + [("covered", c) for c in [picker.covered] if c]
    files = [(name, (f"{n}.jpg", data, "image/jpeg")) for n, (name, data) in enumerate(parts)]
    status, answer = call_server("POST", f"{url}/face", token=token, files=files)
    if status != 201:
        _refused(status, answer)
    out.print(_verdict_table(answer["verdicts"]))
    if duplicate := answer["duplicate"]:
        out.print(f"[yellow]注意 / check: {duplicate['zh']} / {duplicate['en']}[/yellow]")
    out.print(
        f"[green]已登记人脸 / face enrolled: person {person_id}, credential {answer['credential_id']}[/green]"
    )


# What the operator can do about each refusal, after the server's own words.
_WHAT_NOW: dict[int, tuple[str, str]] = {
    401: ("请重新登录，并设置 MENJIN_TOKEN", "log in again and set MENJIN_TOKEN"),
    403: ("请用可以登记人脸的账户", "use an account that may enrol faces"),
    404: ("请核对人员编号", "check the person's id"),
    409: ("请先登记本人（或监护人）的同意，再拍照", "record the consent first, then take the photos"),
}


def _refused(status: int, answer: dict[str, Any]) -> NoReturn:
    if answer.get("verdicts"):
        out.print(_verdict_table(answer["verdicts"]))
    said = f"{answer['zh']} / {answer['en']}" if "zh" in answer else str(answer.get("detail", ""))
    zh, en = _WHAT_NOW.get(status, ("", ""))
    fail(f"{status}: {said}" + (f"\n{zh} / {en}" if zh else ""))


def _check_consent(url: str, token: str) -> None:
    """Nobody is photographed before the token, the person and a current consent have been checked."""
    status, answer = call_server("GET", f"{url}/face", token=token)
    if status != 200:
        _refused(status, answer)
    if answer["consent"] is None:
        zh, en = _WHAT_NOW[409]
        fail(
            f"尚未登记人脸识别同意，未拍照 / no consent to face recognition on record, no photo\n{zh} / {en}"
        )
    if answer["enrolled"]:
        out.print(
            "[yellow]此人已登记人脸，新照片将替换 / already enrolled: the new photos replace it[/yellow]"
        )


def _camera_frames(camera: str) -> Iterator[tuple[float, np.ndarray]]:
    """Frames stamped as they arrive; a camera that gives none is an error, not an endless wait."""
    import cv2

    capture = cv2.VideoCapture(int(camera) if camera.isdigit() else camera)
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                fail(f"摄像头没有画面 / camera {camera} gives no picture")
            yield time.monotonic(), frame
    finally:
        capture.release()


def _shoot(picker: Station, frames: Iterator[tuple[float, np.ndarray]], total: int) -> None:
    """Feed frames until the picker is done or gives up, with the count and its latest reason on screen."""
    from menjin.face.station import Phase

    columns = (
        TextColumn("拍照 / photos"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[say]}"),
    )
    with Progress(*columns, console=err) as bar:
        task = bar.add_task("photos", total=total, say="")
        for at, frame in frames:
            status = picker.feed(frame, at)
            zh, en = status.message()
            bar.update(task, completed=status.taken + (picker.covered is not None), say=f"{zh} / {en}")
            if status.phase in (Phase.DONE, Phase.GAVE_UP):
                return


def _verdict_table(verdicts: list[dict[str, Any]]) -> Table:
    table = Table("#", "part", "结果 / verdict", title="服务器的检查 / the server's checks")
    for v in verdicts:
        mark = "[green]✓[/green]" if v["accepted"] else "[red]✗[/red]"
        table.add_row(str(v["index"] + 1), v["part"], f"{mark} {v['zh']} / {v['en']}")
    return table
