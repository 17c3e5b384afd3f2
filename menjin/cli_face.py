"""`menjin face …`: the face recognition harness (issue 4), kept apart from the main command's module."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

face_app = typer.Typer(help="Face recognition: measure it honestly.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)

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
