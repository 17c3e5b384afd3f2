"""CRUD routes for every register resource, made by one factory from the resource's rules and schemas.

No postponed annotations here: FastAPI must see the closure-local body and actor types themselves."""

import inspect
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from menjin import schemas as sc
from menjin.domain.actor import Actor
from menjin.server.auth import Svc, require
from menjin.store import register as rg


@dataclass(frozen=True)
class ApiResource:
    resource: rg.Resource
    body: type[sc.In]
    out: type[sc.Out]
    path: str = ""

    @property
    def url(self) -> str:
        return "/" + (self.path or self.resource.name.replace("_", "-"))


API_RESOURCES = (
    ApiResource(rg.BUILDINGS, sc.BuildingIn, sc.BuildingOut),
    ApiResource(rg.UNITS, sc.UnitIn, sc.UnitOut),
    ApiResource(rg.PEOPLE, sc.PersonIn, sc.PersonOut),
    ApiResource(rg.GATES, sc.GateIn, sc.GateOut),
    ApiResource(rg.CREDENTIALS, sc.CredentialIn, sc.CredentialOut),
    ApiResource(rg.SCHEDULES, sc.ScheduleIn, sc.ScheduleOut),
    ApiResource(rg.HOLIDAYS, sc.HolidayIn, sc.HolidayOut),
    ApiResource(rg.ACCESS_GROUPS, sc.AccessGroupIn, sc.AccessGroupOut),
)

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]


def _add(router: APIRouter, api: ApiResource) -> None:
    res, Out, Body = api.resource, api.out, api.body
    Patch = sc.partial(Body)
    reader = Annotated[Actor, Depends(require(res.read))]
    writer = Annotated[Actor, Depends(require(res.write))]
    tag = res.name

    def filters_dep(**kwargs: Any) -> dict[str, Any]:
        return kwargs

    # Query filters declared per resource (e.g. ?unit_id=), all optional.
    filters_dep.__signature__ = _filter_signature(res)  # type: ignore[attr-defined]

    @router.get(api.url, response_model=sc.Page[Out], tags=[tag], name=f"list_{res.name}")
    def list_rows(
        actor: reader,
        svc: Svc,
        filters: Annotated[dict, Depends(filters_dep)],
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Any:
        with svc.db.transaction() as s:
            rows, total = svc.register.list(s, actor, res, filters, limit, offset)
            return {
                "items": [Out.model_validate(r) for r in rows],
                "total": total,
                "limit": limit,
                "offset": offset,
            }

    @router.post(api.url, response_model=Out, status_code=201, tags=[tag], name=f"create_{res.name}")
    def create_row(body: Body, actor: writer, svc: Svc) -> Any:  # type: ignore[valid-type]
        with svc.db.transaction() as s:
            return Out.model_validate(svc.register.create(s, actor, res, body.model_dump()))

    @router.get(api.url + "/{row_id}", response_model=Out, tags=[tag], name=f"get_{res.name}")
    def get_row(row_id: sc.Id, actor: reader, svc: Svc) -> Any:
        with svc.db.transaction() as s:
            return Out.model_validate(svc.register.get(s, actor, res, row_id))

    @router.patch(api.url + "/{row_id}", response_model=Out, tags=[tag], name=f"update_{res.name}")
    def update_row(row_id: sc.Id, body: Patch, actor: writer, svc: Svc) -> Any:  # type: ignore[valid-type]
        with svc.db.transaction() as s:
            return Out.model_validate(
                svc.register.update(s, actor, res, row_id, body.model_dump(exclude_unset=True))
            )

    @router.delete(api.url + "/{row_id}", status_code=204, tags=[tag], name=f"delete_{res.name}")
    def delete_row(row_id: sc.Id, actor: writer, svc: Svc) -> None:
        with svc.db.transaction() as s:
            svc.register.delete(s, actor, res, row_id)


def _filter_signature(res: rg.Resource) -> inspect.Signature:
    """One optional query parameter per filter column, typed like the column, and `q` where the
    resource has a free-text search."""
    params = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=Query(None, ge=1, le=sc.MAX_ID) if python is int else Query(None, max_length=60),
            annotation=python | None,
        )
        for name, column in res.filters.items()
        if (python := column.expression.type.python_type)
    ]
    if res.search is not None:
        params.append(
            inspect.Parameter(
                rg.SEARCH,
                inspect.Parameter.KEYWORD_ONLY,
                default=Query(None, max_length=60),
                annotation=str | None,
            )
        )
    return inspect.Signature(params)


def router() -> APIRouter:
    r = APIRouter()
    for api in API_RESOURCES:
        _add(r, api)
    return r
