"""What every `menjin` command shares: its consoles, how it gives up, and how it talks to a server."""

from __future__ import annotations

from typing import Any, NoReturn

import httpx2
import typer
from rich.console import Console

out = Console()
err = Console(stderr=True)


def fail(message: str) -> NoReturn:
    err.print(f"[red]{message}[/red]")
    raise typer.Exit(1)


def call_server(
    method: str,
    url: str,
    *,
    token: str | None = None,
    json: Any = None,
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
    timeout: float = 120.0,
) -> tuple[int, dict[str, Any]]:
    """Status and JSON answer: any HTTP status is an answer for the caller to explain; only an
    unreachable server ends the command here."""
    headers = {"Accept": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    try:
        response = httpx2.request(method, url, headers=headers, json=json, files=files, timeout=timeout)
    except httpx2.TransportError as exc:
        fail(f"连不上服务器 / cannot reach the server: {exc}")
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, {"detail": response.text[:300]}
