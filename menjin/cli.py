"""The `menjin` command: set up, serve, import and export, manage accounts, verify the audit log."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, select

from menjin.cli_common import call_server, err, fail, out
from menjin.cli_face import face_app
from menjin.config import Settings
from menjin.domain.register import AccountRole, CredentialKind
from menjin.services import Services
from menjin.store.communities import create_community, system_actor
from menjin.store.register import RegisterError
from menjin.store.tables import Account, AuditEntry, Community, Gate

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from menjin.gate.runtime import GateRuntime
    from menjin.link.credentials import GateKit
    from menjin.server.link_runtime import ServerLink

app = typer.Typer(help="menjin 门禁 — access control residents can trust.", no_args_is_help=True)
user_app = typer.Typer(help="Console and portal accounts.", no_args_is_help=True)
audit_app = typer.Typer(help="The append-only audit log.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(audit_app, name="audit")
app.add_typer(face_app, name="face")

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
        fail(
            f"没有小区 {code or ''}；先运行 menjin init / no community {code or ''}: run `menjin init` first"
        )
    if len(rows) > 1:
        fail("有多个小区，请用 --community 指定 / several communities: choose one with --community")
    return rows[0]


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
        fail(f"{exc.zh} / {exc.en}")
    out.print(
        f"小区 / community [bold]{community.name}[/bold] ({community.code}) ready in {svc.settings.data_dir}"
    )
    _show_password(admin, password)


BrokerPort = Annotated[int, typer.Option(help="MQTT broker port (the embedded one listens there).")]
Broker = Annotated[str, typer.Option(help="embedded (default, nothing to install) or external (Mosquitto).")]


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    broker: Broker = "embedded",
    broker_host: Annotated[str, typer.Option()] = "127.0.0.1",
    broker_port: BrokerPort = 18830,
    data_dir: DataDir = None,
) -> None:
    """Run the server: API, console, and the gate link (with an embedded MQTT broker by default)."""
    _serve(_open(data_dir), host, port, broker, broker_host, broker_port)


def _serve(
    svc: Services,
    host: str,
    port: int,
    broker: str,
    broker_host: str,
    broker_port: int,
    with_link: Callable[[ServerLink], dict[str, GateRuntime]] | None = None,
) -> None:
    import uvicorn

    from menjin.server.app import create_app
    from menjin.server.link_runtime import ServerLink

    if broker not in ("embedded", "external"):
        fail("--broker 只能是 embedded 或 external / --broker is embedded or external")
    link = ServerLink(svc, broker_host, broker_port, embedded=broker == "embedded").start()
    sim_gates: dict[str, GateRuntime] = {}
    try:
        if with_link is not None:
            sim_gates = with_link(link)
        out.print(
            f"控制台 / console: [bold]http://{host}:{port}/[/bold]   API: http://{host}:{port}/api/docs"
        )
        out.print(f"MQTT ({broker}): {broker_host}:{broker_port}")
        uvicorn.run(create_app(svc, link, sim_gates), host=host, port=port, log_level="info")
    finally:
        for runtime in sim_gates.values():
            runtime.stop()
        link.stop()


@app.command("broker-config")
def broker_config(
    directory: Annotated[Path, typer.Argument(help="Where to write mosquitto.conf, passwd and acl.")],
    port: BrokerPort = 1883,
    tls_port: Annotated[
        int | None, typer.Option(help="Also listen with TLS here (for gates on the network).")
    ] = None,
    tls_bind: Annotated[str, typer.Option(help="Address the TLS listener binds to.")] = "0.0.0.0",
    cafile: Annotated[Path | None, typer.Option()] = None,
    certfile: Annotated[Path | None, typer.Option()] = None,
    keyfile: Annotated[Path | None, typer.Option()] = None,
    data_dir: DataDir = None,
) -> None:
    """Mosquitto's files for every current login (server and enrolled gates) with per-gate ACLs.
    Run again after enrolling a gate, then `kill -HUP` Mosquitto to reload them."""
    import os

    from menjin.link.credentials import acl
    from menjin.link.mosquitto import TlsListener, acl_file, config_file, password_file
    from menjin.server.fleet.provisioning import broker_logins

    svc = _open(data_dir)
    with svc.db.transaction() as s:
        logins = broker_logins(s, svc.keys)
    tls = None
    if tls_port is not None:
        if not (cafile and certfile and keyfile):
            fail("TLS 需要 --cafile --certfile --keyfile / TLS needs --cafile, --certfile and --keyfile")
        tls = TlsListener(tls_port, cafile, certfile, keyfile, tls_bind)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    (directory / "data").mkdir(exist_ok=True)
    files = {
        "passwd": password_file(logins),
        "acl": acl_file(acl(logins)),
        "mosquitto.conf": config_file(
            port=port,
            password_path=directory / "passwd",
            acl_path=directory / "acl",
            persistence_dir=directory / "data",
            log_path=directory / "mosquitto.log",
            tls=tls,
        ),
    }
    for name, text in files.items():
        fd = os.open(directory / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
    out.print(
        f"{len(logins)} logins → {directory}/mosquitto.conf; start: mosquitto -c {directory}/mosquitto.conf"
    )


@app.command("enrol-gate")
def enrol_gate(
    code: Annotated[str, typer.Argument(help="The gate's code, e.g. S1.")],
    community: CommunityCode = None,
    data_dir: DataDir = None,
) -> None:
    """A one-time enrolment code for a gate's installer (valid 24 h)."""
    from menjin.server.fleet.provisioning import enrol

    svc = _open(data_dir)
    place = _community(svc, community)
    with svc.db.transaction() as s:
        gate_id = s.scalar(select(Gate.id).where(Gate.community_id == place.id, Gate.code == code))
        if gate_id is None:
            fail(f"没有门禁 {code} / no gate {code}")
        secret = enrol(s, svc.audit, system_actor(place.id), gate_id, svc.clock())
    out.print(f"门禁 {code} 的登记码 / enrolment code: [bold green]{secret}[/bold green]")


@app.command()
def gate(
    gate_id: Annotated[str, typer.Option("--id", help="The gate's code, e.g. S1.")],
    enrol_code: Annotated[
        str | None, typer.Option("--enrol", help="One-time code, first start only.")
    ] = None,
    server: Annotated[str, typer.Option(help="Server URL for enrolment.")] = "http://127.0.0.1:8000",
    gate_dir: Annotated[
        Path | None, typer.Option(help="Where this gate keeps its kit, cache, outbox.")
    ] = None,
    traffic: Annotated[float, typer.Option(help="Simulated card reads per second (testing).")] = 0.0,
    camera: Annotated[
        str | None, typer.Option(help="Face camera: a device number (0) or a video/RTSP URL.")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Run one gate controller: decides locally from its cache, with or without the server."""
    import random
    import signal
    import threading

    from menjin.gate.drivers.sim import SimRelay
    from menjin.gate.runtime import GateRuntime, load_kit, save_kit

    directory = gate_dir or Settings.from_env(data_dir).data_dir / "gates" / gate_id
    kit = load_kit(directory)
    if kit is None:
        if enrol_code is None:
            fail("这台门禁还没有登记：请用 --enrol 登记码 / not enrolled yet: pass --enrol CODE")
        kit = _redeem(server, enrol_code)
        save_kit(kit, directory)
    runtime = GateRuntime(kit, directory, SimRelay()).start()
    eye = None
    if camera is not None:
        from menjin.gate.drivers.camera import OpenCVCamera

        controller = runtime.controller
        eye = OpenCVCamera(int(camera) if camera.isdigit() else camera, controller.wants_faces)
        eye.start(lambda attempt: controller.on_face(attempt, eye))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    err.print(f"gate {kit.gate} of {kit.community} running; broker {kit.broker_host}:{kit.broker_port}")
    rng = random.Random()
    while not stop.wait(1 / traffic if traffic > 0 else 1):
        view = runtime.controller.view()
        cards = [lookup for kind, lookup in (view.credentials if view else {}) if kind == "card"]
        if traffic > 0 and cards:
            runtime.controller.on_read(CredentialKind.CARD, rng.choice(cards))
    if eye is not None:
        eye.close()
    runtime.stop()


def _redeem(server: str, code: str) -> GateKit:
    from menjin.link.credentials import GateKit

    status, answer = call_server(
        "POST", f"{server.rstrip('/')}/api/v1/gate-enrolment", json={"code": code}, timeout=15
    )
    if status != 200:
        fail(f"登记被拒绝 / enrolment refused: {answer.get('detail', answer)}")
    return GateKit.model_validate(answer)


@app.command()
def demo(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    scenario: Annotated[
        str | None,
        typer.Option(
            help="rush, outage, propped, withdraw, courier, snowstorm, fire or fall: a scripted day."
        ),
    ] = None,
    headless: Annotated[bool, typer.Option(help="Run the scenario without a server and exit.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the scenario report as one JSON object.")
    ] = False,
    residents: Annotated[int, typer.Option(help="Residents imported for a scenario.")] = 300,
    broker_port: BrokerPort = 18830,
    data_dir: DataDir = None,
) -> None:
    """The demo community, created on first run, with an administrator and a resident's portal account
    (`resident`); a fresh one-time password for either whenever the old one has not been used yet (it
    was shown once and cannot be shown again). With --scenario --headless, a scripted day on a
    compressed clock instead, reported as JSON."""
    if scenario is not None:
        _scenario(scenario, headless, as_json, residents)
        return
    from menjin.sim.sample import CODE, RESIDENT_ACCOUNT, create_resident_account, create_sample

    svc = _open(data_dir)
    with svc.db.transaction() as s:
        community = s.scalar(select(Community).where(Community.code == CODE))
        if community is None:
            community, password = create_sample(svc, s)
            _show_password("admin", password)
            fresh: int | None = community.id
        else:
            fresh = None
            _demo_password(svc, s, community.id, "admin")
        if s.scalar(select(Account.id).where(Account.username == RESIDENT_ACCOUNT)) is None:
            _show_password(RESIDENT_ACCOUNT, create_resident_account(svc, s, community.id))
        elif fresh is None:
            _demo_password(svc, s, community.id, RESIDENT_ACCOUNT)
    if fresh is not None:
        _demo_faces(svc, fresh)
    out.print(f"示例表格 / sample spreadsheet: http://{host}:{port}/import")
    _serve(
        svc, host, port, "embedded", "127.0.0.1", broker_port, lambda link: _demo_gates(svc, link, DEMO_GATES)
    )


def _demo_password(svc: Services, s: Session, community_id: int, username: str) -> None:
    """A fresh one-time password for a demo account whose last one was never used (it was shown once
    and cannot be shown again); an account whose owner chose a password keeps it."""
    account = s.scalar(select(Account).where(Account.username == username))
    if account is not None and account.must_change_password:
        new = svc.accounts.reset_password(s, system_actor(community_id, "demo"), account.id)
        _show_password(username, new.password)
    else:
        out.print(
            f"{username} 已设置密码；忘记时运行 menjin user reset {username} / {username} has set a password"
        )


DEMO_GATES = ("S1", "N1", "V1")
DEMO_FACES = 8


def _demo_faces(svc: Services, community_id: int) -> None:
    """Volunteer residents with consented faces from the shared photo set, for the live page's camera."""
    from menjin.sim import faces

    if not faces.PHOTOS.is_dir():
        err.print(f"[yellow]没有人脸照片 / no face photos at {faces.PHOTOS}: no faces in the demo[/yellow]")
        return
    with _progress() as progress:
        progress.add_task(f"登记 {DEMO_FACES} 位志愿者的人脸（已同意）/ enrolling {DEMO_FACES} faces")
        faces.add_volunteers(svc, community_id, DEMO_FACES)


def _demo_gates(svc: Services, link: ServerLink, codes: tuple[str, ...]) -> dict[str, GateRuntime]:
    """The demo's simulated gates, enrolled on first run (their kits kept under the data directory)."""
    from menjin.gate.drivers.sim import SimRelay
    from menjin.gate.runtime import GateRuntime, load_kit, save_kit
    from menjin.server.fleet.provisioning import enrol, redeem
    from menjin.sim.sample import CODE

    kits = []
    for code in codes:
        directory = svc.settings.data_dir / "gates" / code
        kit = load_kit(directory)
        if kit is None:
            with svc.db.transaction() as s:
                gate = s.scalar(select(Gate).join(Community).where(Community.code == CODE, Gate.code == code))
                secret = enrol(s, svc.audit, system_actor(gate.community_id, "demo"), gate.id, svc.clock())
                kit = redeem(s, svc.register, secret, svc.clock(), link.host, link.port)
            save_kit(kit, directory)
        kits.append(kit)
    link.reload_broker()
    out.print("模拟门禁 / simulated gates: " + ", ".join(codes))
    return {
        kit.gate: GateRuntime(kit, svc.settings.data_dir / "gates" / kit.gate, SimRelay()).start()
        for kit in kits
    }


def _scenario(name: str, headless: bool, as_json: bool, residents: int) -> None:
    import json

    from menjin.sim import scenarios

    if name not in scenarios.SCENARIOS:
        fail(f"没有这个场景 / no scenario {name!r}: {', '.join(scenarios.SCENARIOS)}")
    if not headless:
        fail("场景目前只能无界面运行，请加 --headless / scenarios run headless for now: add --headless")
    with _progress() as progress:
        progress.add_task(f"scenario {name}")
        report = scenarios.run(name, residents=residents)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
    else:
        out.print_json(data=report)
    if not report["ok"]:
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
        fail(f"{len(report.errors)} 处错误，未写入任何数据 / {len(report.errors)} errors, nothing written")
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
        fail("文件须为 .csv 或 .xlsx / the file must end in .csv or .xlsx")
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
        fail(f"{exc.zh} / {exc.en}")
    _show_password(username, new.password)


@user_app.command("reset")
def user_reset(username: str, data_dir: DataDir = None) -> None:
    """Give an account a new one-time password and end its sessions."""
    svc = _open(data_dir)
    with svc.db.transaction() as s:
        account = s.scalar(select(Account).where(Account.username == username))
        if account is None:
            fail(f"没有账号 {username} / no account {username}")
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
