"""Console pages (server-rendered). Placeholder mount until the console shell lands."""

from fastapi import FastAPI


def mount(app: FastAPI) -> None:
    return None
