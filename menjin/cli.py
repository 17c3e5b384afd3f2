"""The `menjin` command: set up, serve, import and export, manage accounts, verify the audit log."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, select

from menjin.config import Settings
from menjin.domain.register import AccountRole
from menjin.services import Services
from menjin.store.communities import create_community, system_actor
from menjin.store.register import RegisterError
from menjin.store.tables import Account, AuditEntry, Community

app = typer.Typer(help="menjin 门禁 — access control residents can trust.", no_args_is_help=True)
user_app = typer.Typer(help="Console and portal accounts.", no_args_is_help=True)
audit_app = typer.Typer(help="The append-only audit log.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(audit_app, name="audit")
out = Console()
err = Console(stderr=True)

DataDir = Annotated[Path | None, typer.Option(help="Data directory (default $MENJIN_DATA_DIR or ./var).")]
CommunityCode = Annotated[
    str | None, typer.Option("--community", "-c", help="Community code (default: the only one).")
]


def _open(data_dir: Path | None) -> Services:
    return Services.open(Settings.from_env(data_dir))


def _community(svc: Services, code: str | None) -> Community:
    with svc.db.transaction() as s:
        query = select(Community).order_by(Community.id)
        rows = list(s.scalars(query.where(Community.code == code) if code else query))
    if not rows:
        _fail(
            f"没有小区 {code or ''}；先运行 menjin init / no community {code or ''}: run `menjin init` first"
        )
    if len(rows) > 1:
        _fail("有多个小区，请用 --community 指定 / several communities: choose one with --community")
    return rows[0]


def _fail(message: str) -> None:
    out.print(f"[red]{message}[/red]")
    raise typer.Exit(1)


def _show_password(username: str, password: str) -> None:
    out.print(
        f"一次性密码 / one-time password for [bold]{username}[/bold]: [bold green]{password}[/bold green]"
    )
    out.print("首次登录后须修改 / it must be changed at first login")


@app.command()
def init(
    code: Annotated[str, typer.Option(help="Short code of the community.")] = "hx",
    name: Annotated[str, typer.Option(help="Name of the community.")] = "新小区",
    admin: Annotated[str, typer.Option(help="Username of the first administrator.")] = "admin",
    sample: Annotated[bool, typer.Option(help="Create the demo community instead.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Create the database (migrated), the keys, and a community with its first administrator."""
    svc = _open(data_dir)
    try:
        with svc.db.transaction() as s:
            if sample:
                from menjin.sim.sample import create_sample

                community, password = create_sample(svc, s)
                admin = "admin"
            else:
                community, password = create_community(s, svc.audit, code, name, admin_username=admin)
    except RegisterError as exc:
        _fail(f"{exc.zh} / {exc.en}")
    out.print(
        f"小区 / community [bold]{community.name}[/bold] ({community.code}) ready in {svc.settings.data_dir}"
    )
    _show_password(admin, password)


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    data_dir: DataDir = None,
) -> None:
    """Run the server (API, console)."""
    import uvicorn

    from menjin.server.app import create_app

    svc = _open(data_dir)
    out.print(f"控制台 / console: [bold]http://{host}:{port}/[/bold]   API: http://{host}:{port}/api/docs")
    uvicorn.run(create_app(svc), host=host, port=port, log_level="info")


@app.command()
def demo(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    scenario: Annotated[str | None, typer.Option(help="rush, outage or propped: a scripted day.")] = None,
    headless: Annotated[bool, typer.Option(help="Run the scenario without a server and exit.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the scenario report as one JSON object.")
    ] = False,
    residents: Annotated[int, typer.Option(help="Residents imported for a scenario.")] = 300,
    data_dir: DataDir = None,
) -> None:
    """The demo community: created on first run; a fresh one-time admin password whenever the old one
    has not been used yet (it was shown once and cannot be shown again). With --scenario --headless, a
    scripted day on a compressed clock instead, reported as JSON."""
    if scenario is not None:
        _scenario(scenario, headless, as_json, residents)
        return
    from menjin.sim.sample import CODE, create_sample

    svc = _open(data_dir)
    with svc.db.transaction() as s:
        community = s.scalar(select(Community).where(Community.code == CODE))
        if community is None:
            community, password = create_sample(svc, s)
            _show_password("admin", password)
        else:
            account = s.scalar(select(Account).where(Account.username == "admin"))
            if account is not None and account.must_change_password:
                new = svc.accounts.reset_password(s, system_actor(community.id, "demo"), account.id)
                _show_password("admin", new.password)
            else:
                out.print("管理员已设置密码；忘记时运行 menjin user reset admin / admin has set a password")
    out.print(f"示例表格 / sample spreadsheet: http://{host}:{port}/import")
    serve(host=host, port=port, data_dir=data_dir)


def _scenario(name: str, headless: bool, as_json: bool, residents: int) -> None:
    import json

    from menjin.sim import scenarios

    if name not in scenarios.SCENARIOS:
        _fail(f"没有这个场景 / no scenario {name!r}: {', '.join(scenarios.SCENARIOS)}")
    if not headless:
        _fail("场景目前只能无界面运行，请加 --headless / scenarios run headless for now: add --headless")
    with _progress() as progress:
        progress.add_task(f"scenario {name}")
        report = scenarios.run(name, residents=residents)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
    else:
        out.print_json(data=report)
    events = report["events"]
    if events["lost"] or events["duplicated"]:
        raise typer.Exit(1)


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV (UTF-8 or GBK) or XLSX.")],
    dry_run: Annotated[bool, typer.Option(help="Check every row, write nothing.")] = False,
    community: CommunityCode = None,
    data_dir: DataDir = None,
) -> None:
    """Import units and residents; any bad row means nothing is written, and every bad row is listed."""
    from menjin.tabular.importer import import_file

    svc = _open(data_dir)
    place = _community(svc, community)
    with _progress() as progress:
        progress.add_task(f"importing {file.name}")
        with svc.db.transaction() as s:
            report = import_file(
                s, system_actor(place.id), svc.register, file.name, file.read_bytes(), dry_run=dry_run
            )
    if not report.ok:
        table = Table("行 row", "列 column", "原因 reason")
        for error in report.errors:
            table.add_row(str(error.row), error.column, f"{error.zh} / {error.en}")
        out.print(table)
        _fail(f"{len(report.errors)} 处错误，未写入任何数据 / {len(report.errors)} errors, nothing written")
    verb = "可导入 / would import" if dry_run else "已导入 / imported"
    out.print(f"{verb}: " + ", ".join(f"{k} {v}" for k, v in report.created.items()))


@app.command()
def export(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="Target .csv or .xlsx.")],
    community: CommunityCode = None,
    data_dir: DataDir = None,
) -> None:
    """Export units and residents in the import format (the export is itself logged as a read)."""
    from menjin.tabular.exporter import export as export_rows

    fmt = file.suffix.lower().lstrip(".")
    if fmt not in ("csv", "xlsx"):
        _fail("文件须为 .csv 或 .xlsx / the file must end in .csv or .xlsx")
    svc = _open(data_dir)
    place = _community(svc, community)
    with _progress() as progress:
        progress.add_task(f"exporting {file.name}")
        with svc.db.transaction() as s:
            data = export_rows(s, system_actor(place.id), svc.register, fmt)
    file.write_bytes(data)
    out.print(f"已导出 / exported to {file}")


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[AccountRole, typer.Option(help="admin, guard, resident, contractor or auditor")],
    person_id: Annotated[int | None, typer.Option(help="For residents: their person id.")] = None,
    community: CommunityCode = None,
    data_dir: DataDir = None,
) -> None:
    """Create an account; its one-time password is printed once."""
    svc = _open(data_dir)
    place = _community(svc, community)
    try:
        with svc.db.transaction() as s:
            new = svc.accounts.create(s, system_actor(place.id), username, role, person_id=person_id)
    except RegisterError as exc:
        _fail(f"{exc.zh} / {exc.en}")
    _show_password(username, new.password)


@user_app.command("reset")
def user_reset(username: str, data_dir: DataDir = None) -> None:
    """Give an account a new one-time password and end its sessions."""
    svc = _open(data_dir)
    with svc.db.transaction() as s:
        account = s.scalar(select(Account).where(Account.username == username))
        if account is None:
            _fail(f"没有账号 {username} / no account {username}")
        new = svc.accounts.reset_password(s, system_actor(account.community_id), account.id)
    _show_password(username, new.password)


@audit_app.command("verify")
def audit_verify(community: CommunityCode = None, data_dir: DataDir = None) -> None:
    """Check every community's hash chain (or one); exit 1 on any deleted, altered or reordered entry."""
    svc = _open(data_dir)
    with svc.db.transaction() as s:
        query = select(Community).order_by(Community.id)
        places = list(s.scalars(query.where(Community.code == community) if community else query))
        counts = dict(
            s.execute(select(AuditEntry.community_id, func.count()).group_by(AuditEntry.community_id)).all()
        )
    table = Table("小区 community", "条目 entries", "结果 result")
    bad = False
    with _progress() as progress:
        task = progress.add_task("verifying", total=len(places))
        for place in places:
            with svc.db.transaction() as s:
                problems = svc.audit.verify(s, place.id)
            bad |= bool(problems)
            table.add_row(
                place.code,
                str(counts.get(place.id, 0)),
                "[green]完整 intact[/green]" if not problems else "[red]" + "\n".join(problems) + "[/red]",
            )
            progress.advance(task)
    out.print(table)
    if bad:
        raise typer.Exit(1)


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=out, transient=True
    )


if __name__ == "__main__":
    app()
