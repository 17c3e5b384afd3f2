"""The console: server-rendered pages for staff and residents, Simplified Chinese first.

Pages reach data only through the services (`svc.register`, `svc.accounts`, `svc.audit`), one
transaction per step, so every read of personal data lands in the audit log exactly as through the API.
Form posts are checked against cross-site use (Origin/Referer) on top of the SameSite=Strict cookie.

A later feature adds a page with a route on `router` taking `Page` or `Depends(needs(...))`, answering
with `render(...)`, and an entry in `NAV`. Register lists are declared as `RegisterPage` specs and all
share one route pair and one template.

No postponed annotations: FastAPI must see the Annotated dependencies declared inside functions.
"""

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlencode, urlsplit

import jinja2
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from menjin import schemas as sc
from menjin.domain.actor import Actor
from menjin.domain.permissions import Permission
from menjin.domain.register import CredentialKind, CredentialStatus, Direction, GateKind, GateMode, PersonRole
from menjin.server.auth import COOKIE, Svc
from menjin.server.web import i18n
from menjin.services import Services
from menjin.store import register as rg
from menjin.store.accounts import SESSION_TIME, LoginRefused, actor_for
from menjin.store.households import read_household
from menjin.store.tables import Community
from menjin.tabular.columns import BY_KEY
from menjin.tabular.importer import import_file
from menjin.tabular.reader import RowError

HERE = Path(__file__).parent
LANG_COOKIE = "lang"
PAGE_SIZE = 20
CHOICE_LIMIT = 5000  # rows offered in one select; a community with more needs a search-first chooser
MAX_PAGE = 100_000

templates = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
)
templates.env.globals.update(t=i18n.t, html_lang=i18n.HTML_LANG)

router = APIRouter(include_in_schema=False)


# ---- who is looking, in which language ----------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """The signed-in account as pages need it: who acts, and how to greet them."""

    actor: Actor
    name: str
    community: str
    must_change_password: bool


class SignInFirst(Exception):
    """The page cannot be shown yet: the browser is sent to sign in or to replace its password."""

    def __init__(self, to: str) -> None:
        self.to = to


class Refused(Exception):
    """A friendly refusal page instead of the API's JSON error; `message` is a catalogue key."""

    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message


def language(request: Request) -> str:
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in i18n.LANGS:
            return candidate
    return i18n.DEFAULT


Lang = Annotated[str, Depends(language)]


def _signed_in(request: Request, svc: Svc) -> Viewer:
    token = request.cookies.get(COOKIE)
    with svc.db.transaction() as s:
        account = svc.accounts.resolve(s, token, svc.clock()) if token else None
        community = s.get(Community, account.community_id) if account else None
    if account is None or community is None:
        raise SignInFirst("/login")
    viewer = Viewer(
        actor_for(account),
        account.display_name or account.username,
        community.name,
        account.must_change_password,
    )
    request.state.viewer = viewer  # for the refusal page's navigation
    return viewer


Pending = Annotated[Viewer, Depends(_signed_in)]


def _ready(viewer: Pending) -> Viewer:
    """Signed in and past the one-time password: what every page but /password requires."""
    if viewer.must_change_password:
        raise SignInFirst("/password")
    return viewer


Page = Annotated[Viewer, Depends(_ready)]


def needs(permission: Permission) -> Callable[..., Viewer]:
    """The viewer, if their role may use `permission`; otherwise the friendly 403 page."""

    def dependency(viewer: Page) -> Viewer:
        if not viewer.actor.may(permission):
            raise Refused(403, "error.forbidden")
        return viewer

    dependency.permission = permission  # type: ignore[attr-defined]  # as auth.require: readable back
    return dependency


def _same_origin(request: Request) -> None:
    """Refuse a form post whose Origin (or, lacking one, Referer) names another site than this one."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is not None and urlsplit(source).netloc != request.headers.get("host", ""):
        raise Refused(403, "error.cross_site")


SameOrigin = Depends(_same_origin)


async def _form(request: Request) -> AsyncIterator[FormData]:
    """The posted form, read before the (synchronous, thread-pooled) page handler runs."""
    form = await request.form()
    try:
        yield form
    finally:
        await form.close()


Form = Annotated[FormData, Depends(_form)]


# ---- rendering --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str
    permission: Permission | None = None  # None: every signed-in account


NAV = (
    NavItem("/", "nav.home"),
    NavItem("/buildings", "nav.buildings", Permission.REGISTER_READ),
    NavItem("/units", "nav.units", Permission.REGISTER_READ),
    NavItem("/residents", "nav.residents", Permission.PEOPLE_READ),
    NavItem("/gates", "nav.gates", Permission.REGISTER_READ),
    NavItem("/live", "nav.live", Permission.REGISTER_READ),
    NavItem("/alarms", "nav.alarms", Permission.REGISTER_READ),
    NavItem("/emergency", "nav.emergency", Permission.GATES_COMMAND),
    NavItem("/history", "nav.history", Permission.PEOPLE_READ),
    NavItem("/tickets", "nav.tickets", Permission.TICKETS_READ),
    NavItem("/reports", "nav.reports", Permission.REGISTER_READ),
    NavItem("/passes", "nav.passes", Permission.CREDENTIALS_WRITE),  # the office's passes
    NavItem("/passes", "nav.passes", Permission.SELF_WRITE),  # a resident's own
    NavItem("/import", "nav.import", Permission.BULK_IMPORT),
)


def url_with(request: Request, **params: object) -> str:
    """This page's path and query with some parameters replaced: language switch and paging links."""
    query = {**request.query_params, **{k: str(v) for k, v in params.items()}}
    return f"{request.url.path}?{urlencode(query)}"


def paging(request: Request, number: int, total: int, size: int = PAGE_SIZE) -> dict[str, Any]:
    """What the `pager` macro shows: this page of how many, and links either side that keep the query."""
    pages = max(1, -(-total // size))
    return {
        "total": total,
        "number": number,
        "pages": pages,
        "prev_url": url_with(request, page=number - 1) if number > 1 else "",
        "next_url": url_with(request, page=number + 1) if number < pages else "",
    }


def render(
    request: Request, template: str, viewer: Viewer | None, status: int = 200, **context: Any
) -> Response:
    """A page in the request's language; following a `?lang=` link also remembers the choice."""
    lang = language(request)
    nav = [] if viewer is None or viewer.must_change_password else _nav(viewer.actor)
    response = templates.TemplateResponse(
        request,
        template,
        {
            "lang": lang,
            "viewer": viewer,
            "role": i18n.label(viewer.actor.role, lang) if viewer else "",
            "nav": nav,
            "here": request.url.path,
            "switch_url": url_with(request, lang="en" if lang == "zh" else "zh"),
            **context,
        },
        status_code=status,
    )
    if request.query_params.get("lang") in i18n.LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    return response


def _nav(actor: Actor) -> list[NavItem]:
    """The entries the actor's role may use; a menu of one entry (a resident's home) is no menu."""
    items = [item for item in NAV if item.permission is None or actor.may(item.permission)]
    return items if len(items) > 1 else []


def see_other(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=303)


# ---- forms ------------------------------------------------------------------------------------------

Choices = Callable[["Reading"], list[tuple[str, str]]]
# "checks" is several checkboxes filling one list field; the others are HTML input types or <select>.
InputKind = Literal["text", "search", "number", "tel", "password", "file", "select", "checkbox", "checks"]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Input:
    """One form control; `name` is the field of the API body it fills, so form and API validate alike."""

    name: str
    label: str  # catalogue key
    kind: InputKind = "text"
    required: bool = False
    choices: Choices | None = None
    autocomplete: str = "off"
    default: Any = ""  # what a fresh form shows
    accept: str = ""  # file inputs
    cast: Callable[[str], Any] = str  # filters only: the query string value as the filter column wants it


@dataclass
class FormState:
    """What a form shows: the values entered, and what was wrong with them in the viewer's language."""

    values: Mapping[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    problem: str = ""

    @classmethod
    def fresh(cls, inputs: tuple[Input, ...]) -> "FormState":
        return cls({i.name: i.default for i in inputs})

    @classmethod
    def posted(cls, inputs: tuple[Input, ...], form: FormData) -> "FormState":
        values: dict[str, Any] = {}
        for i in inputs:
            if i.kind == "checks":
                values[i.name] = [str(v) for v in form.getlist(i.name)]
            elif i.kind == "checkbox":
                values[i.name] = i.name in form
            elif i.kind != "file":
                values[i.name] = str(form.get(i.name) or "").strip()
        return cls(values)

    def body(self) -> dict[str, Any]:
        """The values as an API body: blank fields left out so the schema's defaults apply."""
        return {k: v for k, v in self.values.items() if v != ""}

    def invalid(self, inputs: tuple[Input, ...], exc: ValidationError, lang: str) -> None:
        names = {i.name for i in inputs}
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else ""
            message = i18n.t("form.required" if error["type"] == "missing" else "form.invalid", lang)
            if name in names:
                self.errors.setdefault(name, message)
            else:
                self.problem = message
        self.problem = self.problem or i18n.t("form.fix", lang)

    def refused(self, inputs: tuple[Input, ...], exc: rg.RegisterError, lang: str) -> None:
        message = i18n.pick(exc.zh, exc.en, lang)
        if exc.field in {i.name for i in inputs}:
            self.errors[exc.field] = message
            self.problem = i18n.t("form.fix", lang)
        else:
            self.problem = message


def _validated(
    model: type[M], inputs: tuple[Input, ...], data: Mapping[str, Any], state: FormState, lang: str
) -> M | None:
    """The body as the API would accept it, or None with the reasons noted on `state`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        state.invalid(inputs, exc, lang)
        return None


# ---- register lists ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """One page's transaction, as option lists and table cells see it."""

    register: rg.Register
    session: Session
    actor: Actor
    lang: str

    def rows(
        self,
        resource: rg.Resource,
        filters: Mapping[str, Any] | None = None,
        limit: int = CHOICE_LIMIT,
        offset: int = 0,
    ) -> tuple[list[Any], int]:
        return self.register.list(self.session, self.actor, resource, filters, limit, offset)


@dataclass(frozen=True)
class Column:
    label: str  # catalogue key
    show: Callable[[Any, str], object]  # (row, lang) -> cell text
    permission: Permission | None = None  # shown only to roles that may use it (an action's button)


@dataclass(frozen=True)
class RegisterPage:
    """A paged list of one register resource, optional filters, and an add form for those who may write."""

    path: str
    title: str
    add_title: str
    resource: rg.Resource
    body: type[sc.In]
    columns: tuple[Column, ...]
    inputs: tuple[Input, ...]
    filters: tuple[Input, ...] = ()
    counted: tuple[Mapping[str, Any], ...] = ({},)  # filter sets whose totals the home page adds up


def _enum_choices(enum: type[Any]) -> Choices:
    return lambda reading: i18n.choices(enum, reading.lang)


def _building_choices(reading: Reading) -> list[tuple[str, str]]:
    return [(str(b.id), b.name) for b in reading.rows(rg.BUILDINGS)[0]]


def _unit_choices(reading: Reading) -> list[tuple[str, str]]:
    return [(str(u.id), u.label) for u in reading.rows(rg.UNITS)[0]]


def _whole(text: str) -> int | None:
    """A row id or page number from a query string; anything that cannot be one counts as absent."""
    return int(text) if text.isdigit() and 1 <= int(text) < 2**31 else None


def _enum_cell(enum: type[Any], name: str) -> Callable[[Any, str], str]:
    return lambda row, lang: i18n.label(enum(getattr(row, name)), lang)


def _notice_link(gate: Any, lang: str) -> Markup:
    """The gate's public notice (公示牌) with its print versions, one tap from the office's list."""
    return Markup('<a class="button secondary" href="/notice/gate/{}">{}</a>').format(
        gate.id, i18n.t("notice.column", lang)
    )


def _invitation_link(person: Any, lang: str) -> Markup:
    """The resident portal's way in: the office issues a one-time code on the person's own page."""
    return Markup('<a class="button secondary" href="/residents/{}/invitation">{}</a>').format(
        person.id, i18n.t("invitation.issue", lang)
    )


def _yes_no(value: bool, lang: str) -> str:
    return i18n.t("yes" if value else "no", lang)


PAGES = (
    RegisterPage(
        "/buildings",
        "buildings.title",
        "buildings.add",
        rg.BUILDINGS,
        sc.BuildingIn,
        columns=(
            Column("field.building_name", lambda b, lang: b.name),
            Column("field.floors", lambda b, lang: b.floors or ""),
            Column("field.notes", lambda b, lang: b.notes),
        ),
        inputs=(
            Input("name", "field.building_name", required=True),
            Input("floors", "field.floors", "number"),
            Input("notes", "field.notes"),
        ),
    ),
    RegisterPage(
        "/units",
        "units.title",
        "units.add",
        rg.UNITS,
        sc.UnitIn,
        columns=(
            Column("field.unit", lambda u, lang: u.label),
            Column("field.building", lambda u, lang: u.building.name),
            Column("field.entrance", lambda u, lang: u.entrance),
            Column("field.room", lambda u, lang: u.room),
            Column("field.floor", lambda u, lang: "" if u.floor is None else u.floor),
        ),
        inputs=(
            Input("building_id", "field.building", "select", True, _building_choices),
            Input("entrance", "field.entrance", default="1"),
            Input("room", "field.room", required=True),
            Input("floor", "field.floor", "number"),
        ),
        filters=(Input("building_id", "field.building", "select", choices=_building_choices, cast=_whole),),
    ),
    RegisterPage(
        "/residents",
        "residents.title",
        "residents.add",
        rg.PEOPLE,
        sc.PersonIn,
        columns=(
            Column("field.name", lambda p, lang: p.name),
            Column("field.role", _enum_cell(PersonRole, "role")),
            Column("field.unit", lambda p, lang: p.unit_label),
            Column("field.phone", lambda p, lang: p.phone),
            Column("invitation.column", _invitation_link, Permission.ACCOUNTS_MANAGE),
        ),
        inputs=(
            Input("name", "field.name", required=True),
            Input("role", "field.role", "select", True, _enum_choices(PersonRole)),
            Input("unit_id", "field.unit", "select", choices=_unit_choices),
            Input("phone", "field.phone", "tel"),
        ),
        filters=(Input(rg.SEARCH, "field.search", "search"),),
        counted=tuple({"role": r.value} for r in PersonRole if r.lives_here),
    ),
    RegisterPage(
        "/gates",
        "gates.title",
        "gates.add",
        rg.GATES,
        sc.GateIn,
        columns=(
            Column("field.code", lambda g, lang: g.code),
            Column("field.gate_name", lambda g, lang: g.name),
            Column("field.kind", _enum_cell(GateKind, "kind")),
            Column("field.direction", _enum_cell(Direction, "direction")),
            Column("field.escape_route", lambda g, lang: _yes_no(g.escape_route, lang)),
            Column("field.mode", _enum_cell(GateMode, "mode")),
            Column("field.buildings", lambda g, lang: "、".join(b.name for b in g.buildings)),
            Column("notice.column", _notice_link),
        ),
        inputs=(
            Input("code", "field.code", required=True),
            Input("name", "field.gate_name", required=True),
            Input("kind", "field.kind", "select", True, _enum_choices(GateKind)),
            Input(
                "direction", "field.direction", "select", True, _enum_choices(Direction), Direction.BOTH.value
            ),
            Input("escape_route", "field.escape_route", "checkbox"),
            Input("building_ids", "field.buildings", "checks", choices=_building_choices),
        ),
    ),
)


def _show_list(
    request: Request, page: RegisterPage, viewer: Viewer, svc: Services, state: FormState, status: int = 200
) -> Response:
    lang = language(request)
    raw = {f.name: request.query_params.get(f.name, "").strip() for f in page.filters}
    filters = {f.name: f.cast(raw[f.name]) if raw[f.name] else None for f in page.filters}
    number = min(_whole(request.query_params.get("page", "")) or 1, MAX_PAGE)
    may_write = viewer.actor.may(page.resource.write)
    with svc.db.transaction() as s:
        reading = Reading(svc.register, s, viewer.actor, lang)
        rows, total = reading.rows(page.resource, filters, PAGE_SIZE, (number - 1) * PAGE_SIZE)
        columns = [c for c in page.columns if c.permission is None or viewer.actor.may(c.permission)]
        cells = [[column.show(row, lang) for column in columns] for row in rows]
        shown = (*page.filters, *(page.inputs if may_write else ()))
        choices = {i.name: i.choices(reading) for i in shown if i.choices}
    return render(
        request,
        "register.html",
        viewer,
        status,
        page=page,
        labels=[c.label for c in columns],
        cells=cells,
        **paging(request, number, total),
        filter_values=raw,
        choices=choices,
        may_write=may_write,
        form=state,
        saved="saved" in request.query_params,
    )


def _add_register_page(page: RegisterPage) -> None:
    Reader = Annotated[Viewer, Depends(needs(page.resource.read))]
    Writer = Annotated[Viewer, Depends(needs(page.resource.write))]

    @router.get(page.path, name=f"console_{page.resource.name}")
    def show(request: Request, viewer: Reader, svc: Svc) -> Response:
        return _show_list(request, page, viewer, svc, FormState.fresh(page.inputs))

    @router.post(page.path, dependencies=[SameOrigin])
    def add(request: Request, viewer: Writer, svc: Svc, form: Form, lang: Lang) -> Response:
        state = FormState.posted(page.inputs, form)
        body = _validated(page.body, page.inputs, state.body(), state, lang)
        if body is not None:
            try:
                with svc.db.transaction() as s:
                    svc.register.create(s, viewer.actor, page.resource, body.model_dump())
            except rg.RegisterError as exc:
                state.refused(page.inputs, exc, lang)
            else:
                return see_other(f"{page.path}?saved=1")
        return _show_list(request, page, viewer, svc, state, status=422)


for _page in PAGES:
    _add_register_page(_page)


# ---- sign in, password, sign out --------------------------------------------------------------------

LOGIN_INPUTS = (
    Input("username", "login.username", required=True, autocomplete="username"),
    Input("password", "login.password", "password", required=True, autocomplete="current-password"),
)
PASSWORD_INPUTS = (
    Input("old_password", "password.old", "password", required=True, autocomplete="current-password"),
    Input("new_password", "password.new", "password", required=True, autocomplete="new-password"),
    Input("confirm", "password.confirm", "password", required=True, autocomplete="new-password"),
)


def _form_page(
    request: Request,
    viewer: Viewer | None,
    kind: str,
    inputs: tuple[Input, ...],
    state: FormState,
    status: int,
) -> Response:
    """The login and password pages: a title, an explanation and one form."""
    return render(request, "form_page.html", viewer, status, kind=kind, inputs=inputs, form=state)


@router.get("/login")
def login_form(request: Request) -> Response:
    return _form_page(request, None, "login", LOGIN_INPUTS, FormState.fresh(LOGIN_INPUTS), 200)


@router.post("/login", dependencies=[SameOrigin])
def login(request: Request, svc: Svc, form: Form, lang: Lang) -> Response:
    entered = FormState.posted(LOGIN_INPUTS, form)
    state = FormState({"username": entered.values["username"]})  # a password is never echoed back
    body = _validated(sc.LoginIn, LOGIN_INPUTS, entered.body(), state, lang)
    if body is None:
        return _form_page(request, None, "login", LOGIN_INPUTS, state, 422)
    with svc.db.transaction() as s:
        result = svc.accounts.login(s, body.username, body.password, svc.clock())
    if isinstance(result, LoginRefused):
        state.problem = i18n.pick(result.zh, result.en, lang)
        return _form_page(request, None, "login", LOGIN_INPUTS, state, 401)
    account, token = result
    return start_session(request, token, "/password" if account.must_change_password else "/")


def start_session(request: Request, token: str, to: str) -> Response:
    """On to `to`, carrying the new session's cookie: after a login or a redeemed invitation."""
    response = see_other(to)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(SESSION_TIME.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/password")
def password_form(request: Request, viewer: Pending) -> Response:
    return _form_page(request, viewer, "password", PASSWORD_INPUTS, FormState.fresh(PASSWORD_INPUTS), 200)


@router.post("/password", dependencies=[SameOrigin])
def change_password(request: Request, viewer: Pending, svc: Svc, form: Form, lang: Lang) -> Response:
    entered = FormState.posted(PASSWORD_INPUTS, form).body()
    state = FormState()  # passwords are never echoed back
    if entered.pop("confirm", "") != entered.get("new_password", ""):
        state.errors["confirm"] = i18n.t("password.mismatch", lang)
        state.problem = i18n.t("form.fix", lang)
    elif body := _validated(sc.PasswordChangeIn, PASSWORD_INPUTS, entered, state, lang):
        try:
            with svc.db.transaction() as s:
                svc.accounts.change_password(s, viewer.actor, body.old_password, body.new_password)
        except rg.RegisterError as exc:
            state.refused(PASSWORD_INPUTS, exc, lang)
        else:
            return see_other("/")
    return _form_page(request, viewer, "password", PASSWORD_INPUTS, state, 422)


@router.post("/logout", dependencies=[SameOrigin])
def logout(request: Request, svc: Svc) -> Response:
    token = request.cookies.get(COOKIE)
    if token:
        with svc.db.transaction() as s:
            svc.accounts.logout(s, token)
    response = see_other("/login")
    response.delete_cookie(COOKIE)
    return response


# ---- home: counts for staff, the household for residents ----------------------------------------------


@router.get("/")
def home(request: Request, viewer: Page, svc: Svc) -> Response:
    """Residents see their household; staff see one tile per register list their role may open."""
    if viewer.actor.may(Permission.SELF_READ):
        return _household(request, viewer, svc)
    pages = {page.path: page for page in PAGES}
    counts = []
    with svc.db.transaction() as s:
        reading = Reading(svc.register, s, viewer.actor, language(request))
        for item in _nav(viewer.actor):
            if page := pages.get(item.path):  # limit 0: a count reads nobody's personal data
                counts.append((item, sum(reading.rows(page.resource, f, limit=0)[1] for f in page.counted)))
    return render(request, "home.html", viewer, counts=counts)


def _household(request: Request, viewer: Viewer, svc: Services) -> Response:
    """Only ever the viewer's own household, read exactly as GET /api/v1/me/household reads it."""
    lang = language(request)
    with svc.db.transaction() as s:
        home = read_household(s, viewer.actor, svc.audit)
    members = [(p.name, i18n.label(PersonRole(p.role), lang), p.phone) for p in home.members]
    ways = [(p.name, _ways_in(p.id, home.credentials, lang)) for p in home.members]
    unit = home.unit.label if home.unit else ""
    return render(request, "household.html", viewer, unit=unit, members=members, ways=ways)


_READABLE = {CredentialKind.CARD, CredentialKind.PLATE, CredentialKind.EBIKE_TAG}  # PINs, QR and face: opaque


def _ways_in(person_id: int, credentials: list[Any], lang: str) -> list[tuple[str, str]]:
    """Every way in, in plain words, for one member: what they have of each kind, or 'not set up'."""
    ways = []
    for kind in CredentialKind:
        held = [
            (f"{c.label or c.value} " if kind in _READABLE else "")
            + i18n.label(CredentialStatus(c.status), lang)
            for c in credentials
            if c.person_id == person_id and c.kind == kind and not c.duress
        ]
        ways.append((i18n.label(kind, lang), "、".join(held) or i18n.t("household.none", lang)))
    return ways


# ---- bulk import --------------------------------------------------------------------------------------

IMPORT_INPUTS = (
    Input("file", "import.file", "file", required=True, accept=".xlsx,.csv"),
    Input("dry_run", "import.dry_run", "checkbox", default=True),
)
Importer = Annotated[Viewer, Depends(needs(Permission.BULK_IMPORT))]


@router.get("/import")
def import_form(request: Request, viewer: Importer) -> Response:
    return render(request, "import.html", viewer, inputs=IMPORT_INPUTS, form=FormState.fresh(IMPORT_INPUTS))


@router.post("/import", dependencies=[SameOrigin])
def import_upload(request: Request, viewer: Importer, svc: Svc, form: Form, lang: Lang) -> Response:
    state = FormState.posted(IMPORT_INPUTS, form)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        state.errors["file"] = i18n.t("import.no_file", lang)
        state.problem = i18n.t("form.fix", lang)
        return render(request, "import.html", viewer, 422, inputs=IMPORT_INPUTS, form=state)
    try:
        with svc.db.transaction() as s:
            report = import_file(
                s,
                viewer.actor,
                svc.register,
                upload.filename,
                upload.file.read(),
                dry_run=state.values["dry_run"],
            )
    except rg.RegisterError as exc:
        state.refused(IMPORT_INPUTS, exc, lang)
        return render(request, "import.html", viewer, 422, inputs=IMPORT_INPUTS, form=state)
    return render(
        request,
        "import.html",
        viewer,
        200 if report.ok else 422,
        inputs=IMPORT_INPUTS,
        form=state,
        report=report,
        created=[(i18n.t(f"import.created.{what}", lang), n) for what, n in report.created.items()],
        problems=[_problem(e, lang) for e in report.errors],
    )


def _problem(error: RowError, lang: str) -> tuple[object, str, str]:
    """A table row: the spreadsheet line (blank for the whole file), the column as headed, the reason."""
    column = BY_KEY.get(error.column)
    shown = i18n.pick(column.zh, column.key, lang) if column else error.column
    return error.row or "", shown, i18n.pick(error.zh, error.en, lang)


def mount(app: FastAPI) -> None:
    from menjin.server.web import (
        control,
        guest_passes,
        live,
        portal,
        reports,
        rights,
        tickets,
        visits,
    )  # built on this module

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(router)
    app.include_router(live.router)
    app.include_router(portal.router)
    app.include_router(guest_passes.router)
    app.include_router(visits.router)
    app.include_router(rights.router)
    app.include_router(control.router)
    app.include_router(tickets.router)
    app.include_router(reports.router)

    @app.exception_handler(SignInFirst)
    def sign_in_first(request: Request, exc: SignInFirst) -> Response:
        return see_other(exc.to)

    @app.exception_handler(Refused)
    def refused(request: Request, exc: Refused) -> Response:
        viewer = getattr(request.state, "viewer", None)  # set once the session was recognised
        return render(request, "error.html", viewer, exc.status, message=exc.message)
