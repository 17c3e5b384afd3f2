"""A resident's data rights: their access history, who read their data, a copy of it, corrections.

No postponed annotations: FastAPI must see the Annotated dependencies.
"""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
