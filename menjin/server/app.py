"""The FastAPI application: API under /api/v1, console pages at /, one error shape for every refusal."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from menjin.gate.runtime import GateRuntime
from menjin.server import metrics
from menjin.server.api import (
    account_routes,
    audit_routes,
    bulk_routes,
    community_routes,
    control_routes,
    face_routes,
    fleet_routes,
    pass_routes,
    portal_routes,
    register_routes,
)
from menjin.server.link_runtime import ServerLink
from menjin.services import Services
from menjin.store.register import RegisterError

log = logging.getLogger("menjin.server")

MAX_BODY = 1 << 20  # JSON bodies
MAX_UPLOAD = 20 << 20  # spreadsheets


NUL = (b"\x00", b"%00", b"\\u0000")  # raw, in a URL or form, in JSON: PostgreSQL text cannot hold it
TEXT_BODIES = ("application/json", "application/x-www-form-urlencoded")


class BodyLimit(BaseHTTPMiddleware):
    """Refuse oversized bodies before they are read; uploads get a larger allowance than JSON. Refuse a
    NUL character in the query or a text body too: no field may hold one, and PostgreSQL would fail on it
    deep inside a query instead of saying what is wrong."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        kind = request.headers.get("content-type", "")
        limit = MAX_UPLOAD if kind.startswith("multipart/") else MAX_BODY
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return _error(413, "请求内容过大", f"request body larger than {limit} bytes")
        text = kind.startswith(TEXT_BODIES)  # an upload's bytes are its own business
        body = b""
        if request.method in ("POST", "PUT", "PATCH") and (length is None or text):
            body = await request.body()
            if len(body) > limit:
                return _error(413, "请求内容过大", f"request body larger than {limit} bytes")
        checked = (request.url.query.encode(), body if text else b"")
        if any(nul in part.lower() for part in checked for nul in NUL):
            return _error(400, "请求中含有空字符（NUL）", "the request contains a NUL character")
        return await call_next(request)


def _error(status: int, zh: str, en: str, **extra: object) -> JSONResponse:
    return JSONResponse({"detail": f"{zh} / {en}", "zh": zh, "en": en, **extra}, status_code=status)


def create_app(
    services: Services, link: ServerLink | None = None, sim_gates: Mapping[str, GateRuntime] | None = None
) -> FastAPI:
    """`link` is the running gate link (without it the routes that need gates answer 503); `sim_gates`
    are the demo's simulated gates, which the live page can act on."""
    app = FastAPI(title="menjin 门禁", version="0.1.0", docs_url="/api/docs", openapi_url="/api/openapi.json")
    app.state.services = services
    app.state.link = link
    app.state.sim_gates = dict(sim_gates or {})
    app.add_middleware(BodyLimit)

    api_prefix = "/api/v1"
    app.include_router(account_routes.router, prefix=api_prefix)
    app.include_router(register_routes.router(), prefix=api_prefix)
    app.include_router(community_routes.router, prefix=api_prefix)
    app.include_router(audit_routes.router, prefix=api_prefix)
    app.include_router(bulk_routes.router, prefix=api_prefix)
    app.include_router(fleet_routes.router, prefix=api_prefix)
    app.include_router(face_routes.router, prefix=api_prefix)
    app.include_router(portal_routes.router, prefix=api_prefix)
    app.include_router(pass_routes.router, prefix=api_prefix)
    app.include_router(control_routes.router, prefix=api_prefix)

    from menjin.server.web import console, notice

    console.mount(app)
    app.include_router(notice.router)
    app.include_router(metrics.router)
    metrics.token(services)  # the scrapers' key exists from the first start, for the operator to read

    @app.exception_handler(RegisterError)
    def register_error(request: Request, exc: RegisterError) -> JSONResponse:
        return _error(exc.status, exc.zh, exc.en, field=exc.field)

    @app.exception_handler(RequestValidationError)
    def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]), "problem": e["msg"]}
            for e in exc.errors()
        ]
        return _error(422, "请求内容有误", "the request is not valid", problems=problems)

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        zh, _, en = str(exc.detail).partition(" / ")
        return _error(exc.status_code, zh, en or zh)

    @app.exception_handler(Exception)
    def unexpected(request: Request, exc: Exception) -> JSONResponse:
        incident = uuid.uuid4().hex[:12]
        log.error("unhandled error %s on %s %s", incident, request.method, request.url.path, exc_info=exc)
        return _error(500, "服务器内部错误，已记录", "internal error, logged", incident=incident)

    return app
