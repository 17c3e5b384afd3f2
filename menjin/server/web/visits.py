"""A visitor at a gate asks a household to let them in; the household answers from the portal.

No postponed annotations: FastAPI must see the Annotated dependencies.
"""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
