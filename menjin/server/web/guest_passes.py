"""Passes a resident or the office gives couriers, visitors and workers: issue, share, revoke.

No postponed annotations: FastAPI must see the Annotated dependencies.
"""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
